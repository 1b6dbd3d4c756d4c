/*
 * websands-mailer: delivers the email_outbox over SMTP (design.md 9).
 * main.c reads the configuration and runs the loop, outbox_worker.c
 * claims and delivers one row, smtp.c speaks SMTP through libcurl and
 * rate.c spaces the sends out to MAIL_RATE per minute.
 */
#ifndef WEBSANDS_MAILER_H
#define WEBSANDS_MAILER_H

#include <signal.h>
#include <stddef.h>

#include "db.h"

#define MAILER_NAME		"websands-mailer"
#define MAILER_BACKOFF_MAX_S	3600	/* longest wait between attempts */

enum mailer_tls {
	MAILER_TLS_REQUIRED = 0,	/* STARTTLS or smtps://, verified */
	MAILER_TLS_OFF			/* plain text, for a local relay */
};

/* The mailer's own settings, beside the shared struct ws_config. */
struct mailer_config {
	char	*smtp_url;
	int	 smtp_tls;		/* enum mailer_tls */
	char	*smtp_user;
	char	*smtp_password;
	char	*mail_from;
	char	*mail_from_name;
	long	 mail_rate;		/* per minute; 0: no limit */
	long	 smtp_max_attempts;
	long	 smtp_retry_base_s;
	long	 smtp_timeout_s;
	char	*template_dir;
	long	 poll_s;
};

/* Set by SIGTERM and SIGINT: finish the mail in flight, then exit. */
extern volatile sig_atomic_t	mailer_stop;

/* Milliseconds on the monotonic clock. */
long long	 mailer_now_ms(void);
/* Sleeps ms, waking early when mailer_stop is set; 1 if it was. */
int		 mailer_sleep_ms(long ms);

/*
 * The sending rate: a token bucket holding one token, refilled every
 * 60000 / MAIL_RATE ms, so sends are spaced evenly and never burst.
 * The limit is per mailer process.
 */
struct rate {
	double	 interval_ms;	/* 0: no limit */
	double	 next_ms;	/* when the next token is there */
};

void	 rate_init(struct rate *r, long per_minute);
/* Waits for a token without taking it; 1 if mailer_stop cut it short. */
int	 rate_wait(struct rate *r);
/* Takes the token for one send. */
void	 rate_take(struct rate *r);

/* The outcome of one SMTP transaction. */
struct smtp_result {
	int	 sent;		/* the server accepted the message */
	int	 permanent;	/* a 5xx that another try cannot cure */
	int	 server_fault;	/* no server, or it refused the mailer
				 * itself (TLS, AUTH): not this message */
	long	 code;		/* the last SMTP reply code, 0 if none */
	char	 error[512];	/* for last_error and the log; no secret */
};

struct smtp;

/* A sender for cfg (kept by reference).  0 or WS_ERR_NOMEM. */
int	 smtp_new(struct smtp **out, const struct mailer_config *cfg);
void	 smtp_free(struct smtp *s);
/*
 * Sends msg (len bytes, CRLF line ends) from MAIL_FROM to to, reusing
 * the open connection when there is one.  Fills r and returns 0 when
 * the server accepted it, else WS_ERR_UNAVAILABLE.
 */
int	 smtp_send(struct smtp *s, const char *to, const char *msg,
	    size_t len, struct smtp_result *r);
/* Closes the connection (QUIT) until the next send; NULL-safe. */
void	 smtp_close(struct smtp *s);

enum outbox_work {
	OUTBOX_WORK_DONE = 0,	/* one row handled and committed */
	OUTBOX_WORK_IDLE,	/* nothing is due */
	OUTBOX_WORK_SMTP_DOWN,	/* the SMTP server failed, not the mail */
	OUTBOX_WORK_DB_ERROR	/* the database failed; reconnect */
};

struct outbox_worker {
	const struct mailer_config *cfg;
	const char	*public_url;
	struct smtp	*smtp;
	struct rate	*rate;
};

/*
 * Claims the oldest due row with FOR UPDATE SKIP LOCKED, takes a rate
 * token, renders and sends it holding the row lock, records the
 * outcome and commits.  A failure of the server itself (no answer,
 * TLS or AUTH refused) only records last_error: it costs the mail no
 * attempt, so an SMTP outage of any length loses nothing, and the
 * caller pauses instead of trying every due row against a dead
 * server.  Returns an enum outbox_work value.
 */
int	 outbox_worker_run_one(struct outbox_worker *w, struct db_conn *c);
/* The wait before the next try after attempts failed ones, in s. */
long	 outbox_worker_backoff_s(long base_s, long attempts);

#endif
