/*
 * The mailer's clock, its interruptible sleep and its sending rate.
 */
#include <errno.h>
#include <time.h>

#include "mailer.h"

/* Sleeps are cut into slices so a stop request is seen quickly even
 * if its signal arrived just before the sleep began. */
#define SLEEP_SLICE_MS	200

long long
mailer_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double
now_ms_precise(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* Sleeps ms (fractions allowed) unless mailer_stop is set. */
static int
sleep_precise(double ms)
{
	struct timespec	 ts;
	double		 end = now_ms_precise() + ms, left, slice;

	while (!mailer_stop && (left = end - now_ms_precise()) > 0) {
		slice = left < SLEEP_SLICE_MS ? left : SLEEP_SLICE_MS;
		ts.tv_sec = (time_t)(slice / 1000);
		ts.tv_nsec = (long)((slice - (double)ts.tv_sec * 1000) *
		    1e6);
		/* EINTR is the point: a signal ends the slice at once. */
		if (nanosleep(&ts, NULL) == -1 && errno != EINTR)
			break;
	}
	return mailer_stop ? 1 : 0;
}

int
mailer_sleep_ms(long ms)
{
	return sleep_precise((double)ms);
}

void
rate_init(struct rate *r, long per_minute)
{
	r->interval_ms = per_minute > 0 ? 60000.0 / (double)per_minute : 0;
	r->next_ms = 0;
}

int
rate_wait(struct rate *r)
{
	double	 now;

	if (r->interval_ms == 0)
		return mailer_stop ? 1 : 0;
	now = now_ms_precise();
	if (r->next_ms > now)
		return sleep_precise(r->next_ms - now);
	return mailer_stop ? 1 : 0;
}

void
rate_take(struct rate *r)
{
	double	 now;

	if (r->interval_ms == 0)
		return;
	/* The bucket holds one token: time spent idle is not saved up
	 * for a burst later. */
	now = now_ms_precise();
	r->next_ms = (r->next_ms > now ? r->next_ms : now) + r->interval_ms;
}
