/*
 * websands-mailer: start-up and the main loop.  One connection LISTENs
 * for new mail and another claims and records rows; between bursts
 * the mailer sleeps until a notification or MAILER_POLL_S, whichever
 * comes first, so a lost notification or a retry coming due is still
 * picked up.  A database that is down is retried with backoff; the
 * mailer never exits for it.
 */
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <sodium.h>

#include "config.h"
#include "db.h"
#include "error.h"
#include "log.h"
#include "mail_message.h"
#include "mail_template.h"
#include "mailer.h"
#include "metrics.h"
#include "outbox.h"

#ifndef WEBSANDS_VERSION
#define WEBSANDS_VERSION	"0"
#endif
#ifndef WEBSANDS_TEMPLATE_DIR
#define WEBSANDS_TEMPLATE_DIR	"templates"
#endif

#define EXIT_CONFIG		78	/* EX_CONFIG */
#define WAIT_SLICE_MS		250
#define DB_BACKOFF_MIN_MS	500
#define DB_BACKOFF_MAX_MS	30000

volatile sig_atomic_t	 mailer_stop;

#define MC(f)	offsetof(struct mailer_config, f)
static const struct config_spec mailer_specs[] = {
	{ "SMTP_URL", CONFIG_STRING, MC(smtp_url), "smtp://127.0.0.1:25",
	    0, 0, NULL, 0, "SMTP server, smtp://HOST:PORT or "
	    "smtps://HOST:PORT; a path names the EHLO domain" },
	{ "SMTP_TLS", CONFIG_ENUM, MC(smtp_tls), "required", 0, 0,
	    "required|off", 0, "required: STARTTLS (or smtps://) with a "
	    "verified certificate; off: plain text to a local relay" },
	{ "SMTP_USER", CONFIG_STRING, MC(smtp_user), NULL, 0, 0, NULL, 0,
	    "user for SMTP AUTH; unset: no AUTH" },
	{ "SMTP_PASSWORD", CONFIG_STRING, MC(smtp_password), NULL, 0, 0,
	    NULL, CONFIG_SECRET, "password for SMTP AUTH" },
	{ "MAIL_FROM", CONFIG_STRING, MC(mail_from), NULL, 0, 0, NULL,
	    CONFIG_REQUIRED, "sender address of every mail" },
	{ "MAIL_FROM_NAME", CONFIG_STRING, MC(mail_from_name), "WebSands",
	    0, 0, NULL, 0, "display name of the sender" },
	{ "MAIL_RATE", CONFIG_INT, MC(mail_rate), "100", 0, 600000, NULL,
	    0, "mails per minute at most, per mailer process; 0: no limit" },
	{ "SMTP_MAX_ATTEMPTS", CONFIG_INT, MC(smtp_max_attempts), "8", 1,
	    100, NULL, 0, "tries before a mail is marked failed" },
	{ "SMTP_RETRY_BASE_S", CONFIG_INT, MC(smtp_retry_base_s), "30", 1,
	    3600, NULL, 0, "first retry delay; doubles per try, up to 1 h" },
	{ "SMTP_TIMEOUT_S", CONFIG_INT, MC(smtp_timeout_s), "30", 1, 600,
	    NULL, 0, "longest time one SMTP transaction may take" },
	{ "TEMPLATE_DIR", CONFIG_PATH, MC(template_dir),
	    WEBSANDS_TEMPLATE_DIR, 0, 0, NULL, 0,
	    "directory of the mail templates, one subdirectory a locale" },
	{ "MAILER_POLL_S", CONFIG_INT, MC(poll_s), "5", 1, 3600, NULL, 0,
	    "longest sleep between looks at the outbox" },
};
#undef MC
static const size_t mailer_nspecs = sizeof(mailer_specs) /
    sizeof(mailer_specs[0]);

struct mailer {
	struct ws_config	 wcfg;
	struct mailer_config	 cfg;
	struct db_conn		*listen;
	struct db_conn		*work;
	struct smtp		*smtp;
	struct rate		 rate;
	struct outbox_worker	 worker;
	long			 smtp_pause_ms;	/* 0: the server works */
	int			 once;
	int			 once_smtp_down; /* --once met a dead server */
};

static void
on_signal(int sig)
{
	(void)sig;
	mailer_stop = 1;
}

static void
usage(FILE *f)
{
	size_t	 i;

	fprintf(f, "usage: %s [--config FILE] [--once] [--version] "
	    "[--help]\n\n"
	    "Delivers the WebSands mail outbox over SMTP.\n"
	    "  --config FILE  read settings from an env file\n"
	    "  --once         send what is due now, then exit\n\n"
	    "Settings (environment), besides DATABASE_URL, PUBLIC_URL,\n"
	    "LOG_LEVEL and METRICS_DIR:\n", MAILER_NAME);
	for (i = 0; i < mailer_nspecs; i++)
		fprintf(f, "  %-18s %s%s%s%s\n", mailer_specs[i].name,
		    mailer_specs[i].help,
		    mailer_specs[i].def != NULL ? " (default: " : "",
		    mailer_specs[i].def != NULL ? mailer_specs[i].def : "",
		    mailer_specs[i].def != NULL ? ")" : "");
}

/*
 * SMTP_URL: smtp:// or smtps://, printable, and without credentials,
 * which belong in SMTP_USER and SMTP_PASSWORD where they are kept out
 * of logs.
 */
static int
smtp_url_valid(const char *url)
{
	const char	*host, *p;
	size_t		 hostlen;

	if (url == NULL || strlen(url) > 1024)
		return 0;
	if (strncmp(url, "smtp://", 7) == 0)
		host = url + 7;
	else if (strncmp(url, "smtps://", 8) == 0)
		host = url + 8;
	else
		return 0;
	for (p = url; *p != '\0'; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
			return 0;
	hostlen = strcspn(host, "/?#");
	return hostlen > 0 && memchr(host, '@', hostlen) == NULL;
}

static int
has_control(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s == 0x7f)
			return 1;
	return 0;
}

/* Checks what config_load cannot; writes the problem into err. */
static int
mailer_validate(struct mailer *m, char *err, size_t errlen)
{
	const char * const	*names;
	struct mail_template	 t;
	int			 rc;

	if (m->wcfg.database_url == NULL) {
		snprintf(err, errlen, "DATABASE_URL: required");
		return WS_ERR_INVALID;
	}
	if (m->wcfg.public_url == NULL ||
	    (strncmp(m->wcfg.public_url, "https://", 8) != 0 &&
	    strncmp(m->wcfg.public_url, "http://", 7) != 0)) {
		snprintf(err, errlen, "PUBLIC_URL: required by %s for the "
		    "links in mail, an http:// or https:// URL", MAILER_NAME);
		return WS_ERR_INVALID;
	}
	if (!smtp_url_valid(m->cfg.smtp_url)) {
		snprintf(err, errlen, "SMTP_URL: must be smtp://HOST[:PORT] "
		    "or smtps://HOST[:PORT], without credentials");
		return WS_ERR_INVALID;
	}
	if (!mail_message_addr_valid(m->cfg.mail_from)) {
		snprintf(err, errlen, "MAIL_FROM: not a plain address "
		    "(name@example.org)");
		return WS_ERR_INVALID;
	}
	if (m->cfg.mail_from_name != NULL &&
	    (strlen(m->cfg.mail_from_name) > MAIL_NAME_MAX ||
	    has_control(m->cfg.mail_from_name))) {
		snprintf(err, errlen, "MAIL_FROM_NAME: one line of at most "
		    "%d bytes", MAIL_NAME_MAX);
		return WS_ERR_INVALID;
	}
	/* Every template must load in English, so a missing or broken
	 * file stops the start instead of failing mail one by one. */
	for (names = mail_template_names(); *names != NULL; names++) {
		rc = mail_template_load(&t, m->cfg.template_dir, *names,
		    "en");
		mail_template_cleanup(&t);
		if (rc != 0) {
			snprintf(err, errlen, "TEMPLATE_DIR: template en/%s: "
			    "%s", *names, ws_err_name(rc));
			return WS_ERR_INVALID;
		}
	}
	return 0;
}

static void
mailer_disconnect(struct mailer *m)
{
	db_conn_close(m->listen);
	db_conn_close(m->work);
	m->listen = NULL;
	m->work = NULL;
}

/*
 * Opens both connections.  LISTEN comes first, so a mail queued while
 * the outbox is being drained still wakes the wait that follows.
 */
static int
mailer_connect(struct mailer *m)
{
	const char	*url = m->wcfg.database_url;
	long		 to = m->wcfg.db_connect_timeout_s;
	int		 rc;

	if (m->listen == NULL) {
		if ((rc = db_conn_open(&m->listen, url, to)) != 0)
			return rc;
		if ((rc = db_conn_listen(m->listen, OUTBOX_CHANNEL)) != 0) {
			mailer_disconnect(m);
			return rc;
		}
	}
	if (m->work == NULL && (rc = db_conn_open(&m->work, url, to)) != 0)
		return rc;
	return 0;
}

/*
 * Pauses after the SMTP server failed: 1 s, doubling with each failure
 * in a row up to SMTP_RETRY_BASE_S (and at most a minute), so a dead
 * server is probed with one mail now and then rather than every due
 * mail in turn.
 */
static void
mailer_smtp_pause(struct mailer *m)
{
	long	 cap = m->cfg.smtp_retry_base_s * 1000;
	char	 ms[24];

	if (cap > 60000)
		cap = 60000;
	m->smtp_pause_ms = m->smtp_pause_ms == 0 ? 1000 :
	    m->smtp_pause_ms * 2;
	if (m->smtp_pause_ms > cap)
		m->smtp_pause_ms = cap < 1000 ? 1000 : cap;
	snprintf(ms, sizeof(ms), "%ld", m->smtp_pause_ms);
	log_event(LOG_WARN, "smtp_unavailable", "retry_in_ms", ms, NULL);
	mailer_sleep_ms(m->smtp_pause_ms);
}

/* Sends every due row, one at a time.  0, or -1 if the database failed. */
static int
mailer_drain(struct mailer *m)
{
	int	 rc;

	while (!mailer_stop) {
		if (rate_wait(&m->rate))
			break;
		rc = outbox_worker_run_one(&m->worker, m->work);
		if (rc == OUTBOX_WORK_IDLE)
			break;
		if (rc == OUTBOX_WORK_DB_ERROR)
			return -1;
		if (rc == OUTBOX_WORK_SMTP_DOWN) {
			if (m->once) {
				m->once_smtp_down = 1;
				break;
			}
			mailer_smtp_pause(m);
		} else
			m->smtp_pause_ms = 0;
	}
	return 0;
}

/*
 * Waits for a notification for up to MAILER_POLL_S, in short slices
 * so a stop request is seen quickly.  -1 if the connection broke.
 */
static int
mailer_wait(struct mailer *m)
{
	long long	 end = mailer_now_ms() + m->cfg.poll_s * 1000;
	long long	 left;
	int		 rc;

	while (!mailer_stop && (left = end - mailer_now_ms()) > 0) {
		rc = db_conn_wait_notify(m->listen, left < WAIT_SLICE_MS ?
		    (long)left : WAIT_SLICE_MS);
		if (rc == 0)
			return 0;
		if (rc != WS_ERR_TIMEOUT && !mailer_stop)
			return -1;
	}
	return 0;
}

static int
mailer_run(struct mailer *m)
{
	char	 ms[24];
	long	 backoff = 0;
	int	 failed;

	while (!mailer_stop) {
		failed = mailer_connect(m) != 0 || mailer_drain(m) != 0;
		/* Going idle: give the SMTP server its connection back. */
		smtp_close(m->smtp);
		if (!failed && m->once)
			return m->once_smtp_down ? 1 : 0;
		if (!failed)
			failed = mailer_wait(m) != 0;
		if (!failed) {
			backoff = 0;
			continue;
		}
		mailer_disconnect(m);
		if (m->once)
			return 1;
		backoff = backoff == 0 ? DB_BACKOFF_MIN_MS :
		    backoff * 2 > DB_BACKOFF_MAX_MS ? DB_BACKOFF_MAX_MS :
		    backoff * 2;
		snprintf(ms, sizeof(ms), "%ld", backoff);
		log_event(LOG_WARN, "db_unavailable", "retry_in_ms", ms, NULL);
		mailer_sleep_ms(backoff);
	}
	return 0;
}

static void
mailer_cleanup(struct mailer *m)
{
	mailer_disconnect(m);
	smtp_free(m->smtp);
	if (m->cfg.smtp_password != NULL)
		sodium_memzero(m->cfg.smtp_password,
		    strlen(m->cfg.smtp_password));
	config_free(mailer_specs, mailer_nspecs, &m->cfg);
	config_free(ws_config_specs, ws_config_nspecs, &m->wcfg);
}

static int
mailer_parse_args(struct mailer *m, int argc, char **argv,
    const char **config)
{
	int	 i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			*config = argv[++i];
		else if (strcmp(argv[i], "--once") == 0)
			m->once = 1;
		else if (strcmp(argv[i], "--version") == 0) {
			printf("%s %s\n", MAILER_NAME, WEBSANDS_VERSION);
			return 0;
		} else if (strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "%s: unknown argument: %s\n",
			    MAILER_NAME, argv[i]);
			usage(stderr);
			return 2;
		}
	}
	return -1;
}

int
main(int argc, char **argv)
{
	struct mailer		 m;
	struct sigaction	 sa;
	const char		*config = NULL;
	char			 err[512];
	int			 status;

	memset(&m, 0, sizeof(m));
	if ((status = mailer_parse_args(&m, argc, argv, &config)) >= 0)
		return status;

	status = EXIT_CONFIG;
	if (config_load(ws_config_specs, ws_config_nspecs, &m.wcfg, config,
	    err, sizeof(err)) != 0 ||
	    config_load(mailer_specs, mailer_nspecs, &m.cfg, config, err,
	    sizeof(err)) != 0 ||
	    mailer_validate(&m, err, sizeof(err)) != 0) {
		fprintf(stderr, "%s: %s\n", MAILER_NAME, err);
		goto out;
	}
	log_init(MAILER_NAME, (enum log_level)m.wcfg.log_level);
	if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != 0) {
		fprintf(stderr, "%s: cannot initialise libsodium or libcurl\n",
		    MAILER_NAME);
		status = 1;
		goto out;
	}
	if (m.wcfg.metrics_dir != NULL && m.wcfg.metrics_dir[0] != '\0' &&
	    metrics_open(m.wcfg.metrics_dir, MAILER_NAME) != 0)
		log_event(LOG_WARN, "metrics_unavailable", "dir",
		    m.wcfg.metrics_dir, NULL);
	if (m.cfg.smtp_tls == MAILER_TLS_OFF && m.cfg.smtp_user != NULL &&
	    strncmp(m.cfg.smtp_url, "smtp://", 7) == 0)
		log_event(LOG_WARN, "smtp_auth_in_clear", "note",
		    "SMTP_TLS=off sends SMTP_PASSWORD unencrypted", NULL);

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: a signal must cut a sleep short. */
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);

	status = 1;
	if (smtp_new(&m.smtp, &m.cfg) != 0)
		goto out;
	rate_init(&m.rate, m.cfg.mail_rate);
	m.worker.cfg = &m.cfg;
	m.worker.public_url = m.wcfg.public_url;
	m.worker.smtp = m.smtp;
	m.worker.rate = &m.rate;
	log_event(LOG_INFO, "start", "version", WEBSANDS_VERSION, "smtp",
	    m.cfg.smtp_url, "tls", m.cfg.smtp_tls == MAILER_TLS_OFF ? "off" :
	    "required", "once", m.once ? "yes" : "no", NULL);
	status = mailer_run(&m);
	log_event(LOG_INFO, "stop", "status", status == 0 ? "ok" : "error",
	    NULL);
	curl_global_cleanup();
	metrics_close();
out:
	mailer_cleanup(&m);
	return status;
}
