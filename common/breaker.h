/*
 * A circuit breaker per dependency, so a dead database or memcached
 * fails fast instead of making every request wait out a timeout.
 * Closed: calls pass; threshold failures in a row open it.  Open:
 * calls are refused until open_ms has passed.  Half-open: one probe
 * call passes; its success closes the breaker, its failure reopens it.
 * Thread-safe.
 */
#ifndef WEBSANDS_BREAKER_H
#define WEBSANDS_BREAKER_H

#include <pthread.h>

enum breaker_state {
	BREAKER_CLOSED = 0,
	BREAKER_OPEN,
	BREAKER_HALF_OPEN
};

struct breaker {
	pthread_mutex_t		 mu;
	const char		*name;	/* for logs and metrics; not copied */
	enum breaker_state	 state;
	int			 failures;
	int			 threshold;
	long			 open_ms;
	long long		 opened_at_ms;
	int			 probing; /* a half-open probe is out */
};

void	 breaker_init(struct breaker *b, const char *name, int threshold,
	    long open_ms);
void	 breaker_cleanup(struct breaker *b);
/* 1 if a call may go ahead now, 0 to fail fast. */
int	 breaker_allow(struct breaker *b);
void	 breaker_success(struct breaker *b);
void	 breaker_failure(struct breaker *b);
enum breaker_state breaker_get_state(struct breaker *b);
const char *breaker_state_name(enum breaker_state s);
/* The same with an explicit monotonic clock in ms, for tests. */
int	 breaker_allow_at(struct breaker *b, long long now_ms);
void	 breaker_failure_at(struct breaker *b, long long now_ms);

#endif
