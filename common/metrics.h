/*
 * Metrics in a per-process shared-memory file (design.md 11).  Each
 * process maps METRICS_DIR/COMPONENT.PID.metrics and updates counters
 * in it with atomic adds, so recording costs no lock and no system
 * call; websands-health reads every file in the directory and sums
 * them for /metrics.  Counters of processes that have exited still
 * count (a counter never goes down); gauges count only while their
 * process lives.
 */
#ifndef WEBSANDS_METRICS_H
#define WEBSANDS_METRICS_H

#include "buf.h"

/* Creates the directory if needed and maps this process's file. */
int	 metrics_open(const char *dir, const char *component);
void	 metrics_close(void);
/* Counts one request of route (a pattern) and method, by status. */
void	 metrics_request(const char *route, const char *method, int status,
	    double seconds);
/*
 * Adds delta to the counter name{labels} (labels in Prometheus form
 * without braces, e.g. "result=\"ok\"", or ""), or sets a gauge.
 * Silently dropped when the file is full or not open.
 */
void	 metrics_count(const char *name, const char *labels, long delta);
void	 metrics_gauge(const char *name, const char *labels, long value);
/*
 * Appends the Prometheus text exposition of every file in dir to out,
 * summed over processes, with websands_processes{component} counting
 * the live ones.  Returns 0 or an error.
 */
int	 metrics_render(const char *dir, struct buf *out);

#endif
