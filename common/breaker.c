/*
 * The circuit breaker of breaker.h.  All state sits behind one mutex;
 * a state change is logged and published as a gauge after the mutex
 * is released, so a slow stderr never holds up other threads.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "breaker.h"
#include "log.h"
#include "metrics.h"

/* What a call changed, to be reported once the mutex is released. */
struct breaker_change {
	int			 changed;
	enum breaker_state	 to;
	int			 failures;
};

static long long
breaker_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Only names made of plain characters become a metrics label; a name
 * is chosen by code, never by a client, so this only guards against a
 * programming slip producing a broken exposition line.
 */
static int
breaker_name_ok(const char *name)
{
	static const char	 ok[] = "abcdefghijklmnopqrstuvwxyz"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.:-";
	size_t			 n;

	if (name == NULL)
		return 0;
	n = strlen(name);
	return n > 0 && n < 64 && strspn(name, ok) == n;
}

static void
breaker_publish(const struct breaker *b, enum breaker_state s)
{
	char	 labels[96];
	int	 n;

	if (!breaker_name_ok(b->name))
		return;
	n = snprintf(labels, sizeof(labels), "breaker=\"%s\"", b->name);
	if (n < 0 || (size_t)n >= sizeof(labels))
		return;
	metrics_gauge("websands_breaker_open", labels,
	    s == BREAKER_CLOSED ? 0 : 1);
}

static void
breaker_report(const struct breaker *b, const struct breaker_change *ch)
{
	char	 failures[16];

	if (!ch->changed)
		return;
	snprintf(failures, sizeof(failures), "%d", ch->failures);
	log_event(ch->to == BREAKER_CLOSED ? LOG_INFO : LOG_WARN,
	    "breaker_state", "breaker", b->name != NULL ? b->name : "-",
	    "state", breaker_state_name(ch->to), "failures", failures,
	    NULL);
	breaker_publish(b, ch->to);
}

/* Moves b to state s under its mutex, noting the change for later. */
static void
breaker_set(struct breaker *b, enum breaker_state s,
    struct breaker_change *ch)
{
	if (b->state == s)
		return;
	b->state = s;
	ch->changed = 1;
	ch->to = s;
	ch->failures = b->failures;
}

void
breaker_init(struct breaker *b, const char *name, int threshold,
    long open_ms)
{
	memset(b, 0, sizeof(*b));
	pthread_mutex_init(&b->mu, NULL);
	b->name = name;
	b->state = BREAKER_CLOSED;
	b->threshold = threshold > 0 ? threshold : 1;
	b->open_ms = open_ms > 0 ? open_ms : 0;
	breaker_publish(b, BREAKER_CLOSED);
}

void
breaker_cleanup(struct breaker *b)
{
	if (b == NULL)
		return;
	pthread_mutex_destroy(&b->mu);
}

int
breaker_allow_at(struct breaker *b, long long now_ms)
{
	struct breaker_change	 ch = { 0 };
	int			 allow = 0;

	pthread_mutex_lock(&b->mu);
	switch (b->state) {
	case BREAKER_CLOSED:
		allow = 1;
		break;
	case BREAKER_OPEN:
		if (now_ms - b->opened_at_ms < b->open_ms)
			break;
		/* The wait is over: this caller is the one probe. */
		breaker_set(b, BREAKER_HALF_OPEN, &ch);
		b->probing = 1;
		b->opened_at_ms = now_ms;
		allow = 1;
		break;
	case BREAKER_HALF_OPEN:
		/*
		 * A probe whose caller never reported back (it gave up
		 * waiting for something else) must not wedge the breaker
		 * half-open for ever, so after another open_ms a new
		 * probe may go.
		 */
		if (b->probing && now_ms - b->opened_at_ms < b->open_ms)
			break;
		b->probing = 1;
		b->opened_at_ms = now_ms;
		allow = 1;
		break;
	}
	pthread_mutex_unlock(&b->mu);
	breaker_report(b, &ch);
	return allow;
}

int
breaker_allow(struct breaker *b)
{
	return breaker_allow_at(b, breaker_now_ms());
}

void
breaker_success(struct breaker *b)
{
	struct breaker_change	 ch = { 0 };

	pthread_mutex_lock(&b->mu);
	b->failures = 0;
	b->probing = 0;
	breaker_set(b, BREAKER_CLOSED, &ch);
	pthread_mutex_unlock(&b->mu);
	breaker_report(b, &ch);
}

void
breaker_failure_at(struct breaker *b, long long now_ms)
{
	struct breaker_change	 ch = { 0 };

	pthread_mutex_lock(&b->mu);
	if (b->failures < b->threshold)
		b->failures++;
	switch (b->state) {
	case BREAKER_CLOSED:
		if (b->failures >= b->threshold) {
			b->opened_at_ms = now_ms;
			breaker_set(b, BREAKER_OPEN, &ch);
		}
		break;
	case BREAKER_HALF_OPEN:
		/* The probe failed: wait another full period. */
		b->probing = 0;
		b->opened_at_ms = now_ms;
		breaker_set(b, BREAKER_OPEN, &ch);
		break;
	case BREAKER_OPEN:
		/*
		 * A call that started before the breaker opened is only
		 * now reporting; the open period is not extended by it.
		 */
		break;
	}
	pthread_mutex_unlock(&b->mu);
	breaker_report(b, &ch);
}

void
breaker_failure(struct breaker *b)
{
	breaker_failure_at(b, breaker_now_ms());
}

enum breaker_state
breaker_get_state(struct breaker *b)
{
	enum breaker_state	 s;

	pthread_mutex_lock(&b->mu);
	s = b->state;
	pthread_mutex_unlock(&b->mu);
	return s;
}

const char *
breaker_state_name(enum breaker_state s)
{
	switch (s) {
	case BREAKER_CLOSED:
		return "closed";
	case BREAKER_OPEN:
		return "open";
	case BREAKER_HALF_OPEN:
		return "half_open";
	}
	return "unknown";
}
