/* The handlers of websands-health, one file per resource. */
#ifndef WEBSANDS_HEALTH_H
#define WEBSANDS_HEALTH_H

#include "http.h"

/* GET /health: liveness, touching no dependency. */
void	 health_live(struct req *r, struct resp *rs);
/* GET /health/ready: each dependency with its status and latency. */
void	 health_ready(struct req *r, struct resp *rs);
/* GET /metrics: the Prometheus text of every process in METRICS_DIR. */
void	 health_metrics(struct req *r, struct resp *rs);

#endif
