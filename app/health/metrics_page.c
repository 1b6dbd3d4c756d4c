/*
 * GET /metrics: the counters every WebSands process on this host keeps
 * in METRICS_DIR, summed, in the Prometheus text format.
 */
#include "app.h"
#include "buf.h"
#include "health.h"
#include "metrics.h"

/* Bounds the page so a directory full of stale files cannot exhaust us. */
#define METRICS_PAGE_MAX	(8u * 1024 * 1024)

void
health_metrics(struct req *r, struct resp *rs)
{
	struct buf	 out;

	buf_init(&out, METRICS_PAGE_MAX);
	if (metrics_render(ws_app.cfg.metrics_dir, &out) != 0 ||
	    resp_text(rs, 200, "text/plain; version=0.0.4; charset=utf-8",
	    buf_str(&out), out.len) != 0)
		resp_problem(rs, r, 500, "INTERNAL_ERROR", NULL, NULL);
	buf_cleanup(&out);
}
