/*
 * websands-mailer end to end: mail queued in the stack's PostgreSQL is
 * delivered by real websands-mailer processes to real SMTP servers (the
 * stack's aiosmtpd sink, or tests/harness/smtp-fault.py when a test
 * needs a server that fails or goes away), and counted as it arrives
 * in their Maildirs.
 *
 * The stack's own mailer is stopped for the whole program, so only the
 * mailers started here claim rows, and started again at the end.  Each
 * test sends to its own domain, <test>-<run>.mailtest.example, and
 * recipients n0, n1, ... in it, so a test counts only its own mail
 * and sees whether each one arrived exactly once.
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "buf.h"
#include "db.h"
#include "error.h"
#include "itest.h"
#include "outbox.h"

#define DOMAIN_SUFFIX	".mailtest.example"
#define MAX_CHILDREN	8
#define MAX_MAILS	256
#define POLL_MS		50
#define PORT_FIRST	28000
#define PORT_LAST	28099

static char		 run_tag[32];	/* unique to this run of the file */
static char		 work_dir[512];	/* logs and Maildirs of this run */
static struct child {
	pid_t	 pid;		/* 0: a free slot */
	int	 reaped;
	int	 status;	/* exit status once reaped, -1: signal */
}			 children[MAX_CHILDREN];
static struct db_conn	*db;
static int		 pg_stopped;

static void
sleep_ms(long ms)
{
	struct timespec	 ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* The domain of one test: "<name>-<run>.mailtest.example". */
static void
test_domain(char *out, size_t outlen, const char *name)
{
	int	 n;

	n = snprintf(out, outlen, "%s-%s" DOMAIN_SUFFIX, name, run_tag);
	assert_true(n > 0 && (size_t)n < outlen);
}

/* ---- the database ---- */

static void
db_reopen(void)
{
	db_conn_close(db);
	db = NULL;
	assert_int_equal(db_conn_open(&db, itest_env("WS_DATABASE_URL"), 5),
	    0);
}

static void
sql_exec(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
sql_exec(const char *fmt, ...)
{
	struct buf	 sql;
	va_list		 ap;

	buf_init(&sql, 0);
	va_start(ap, fmt);
	assert_int_equal(buf_vprintf(&sql, fmt, ap), 0);
	va_end(ap);
	assert_int_equal(db_exec(db, buf_str(&sql)), 0);
	buf_cleanup(&sql);
}

/* The first cell of a query as a number (an empty result is -1). */
static long
sql_long(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static long
sql_long(const char *fmt, ...)
{
	struct db_res	*res = NULL;
	struct buf	 sql;
	va_list		 ap;
	long		 v = -1;

	buf_init(&sql, 0);
	va_start(ap, fmt);
	assert_int_equal(buf_vprintf(&sql, fmt, ap), 0);
	va_end(ap);
	assert_int_equal(db_query(db, buf_str(&sql), 0, NULL, &res), 0);
	if (db_res_nrows(res) > 0 && !db_res_isnull(res, 0, 0))
		v = strtol(db_res_value(res, 0, 0), NULL, 10);
	db_res_free(res);
	buf_cleanup(&sql);
	return v;
}

/* Rows of this test's domain in a status ("" for all). */
static long
rows_in(const char *domain, const char *status)
{
	if (*status == '\0')
		return sql_long("SELECT count(*) FROM email_outbox WHERE "
		    "recipient LIKE '%%@%s'", domain);
	return sql_long("SELECT count(*) FROM email_outbox WHERE "
	    "recipient LIKE '%%@%s' AND status = '%s'", domain, status);
}

/* One column of the row of a recipient, as text (copied into out). */
static void
row_field(const char *rcpt, const char *expr, char *out, size_t outlen)
{
	struct db_res	*res = NULL;
	const char	*params[1] = { rcpt };
	struct buf	 sql;

	buf_init(&sql, 0);
	assert_int_equal(buf_printf(&sql, "SELECT (%s)::text FROM "
	    "email_outbox WHERE recipient = $1", expr), 0);
	assert_int_equal(db_query(db, buf_str(&sql), 1, params, &res), 0);
	assert_int_equal(db_res_nrows(res), 1);
	snprintf(out, outlen, "%s", db_res_value(res, 0, 0));
	db_res_free(res);
	buf_cleanup(&sql);
}

/*
 * Queues n mails of tmpl to nI@domain (I from 0) in one
 * transaction, then NOTIFY, as a handler's commit would.
 */
static void
queue_bulk(const char *domain, int n, const char *tmpl)
{
	assert_int_equal(db_begin(db), 0);
	sql_exec("INSERT INTO email_outbox (recipient, template, vars) "
	    "SELECT 'n' || i || '@%s', '%s', jsonb_build_object('username', "
	    "'user' || i, 'link_path', '/verify-email#token=t' || i) "
	    "FROM generate_series(0, %d) AS i", domain, tmpl, n - 1);
	sql_exec("NOTIFY " OUTBOX_CHANNEL);
	assert_int_equal(db_commit(db), 0);
}

/* Queues one mail through outbox_queue, in a transaction of its own. */
static void
queue_one(const char *rcpt, const char *tmpl, const char *locale,
    json_t *vars)
{
	assert_int_equal(db_begin(db), 0);
	assert_int_equal(outbox_queue(db, NULL, rcpt, tmpl, locale, vars),
	    0);
	assert_int_equal(db_commit(db), 0);
	json_decref(vars);
}

/* ---- processes ---- */

static void
child_add(pid_t pid)
{
	size_t	 i;

	for (i = 0; i < MAX_CHILDREN; i++)
		if (children[i].pid == 0) {
			children[i].pid = pid;
			children[i].reaped = 0;
			return;
		}
	fail_msg("too many child processes");
}

static struct child *
child_find(pid_t pid)
{
	size_t	 i;

	for (i = 0; i < MAX_CHILDREN; i++)
		if (pid > 0 && children[i].pid == pid)
			return &children[i];
	fail_msg("process %ld is not ours", (long)pid);
	return NULL;
}

/* Reaps ch if it has exited; 1 if it has. */
static int
child_reap(struct child *ch)
{
	int	 st;

	if (!ch->reaped && waitpid(ch->pid, &st, WNOHANG) == ch->pid) {
		ch->reaped = 1;
		ch->status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	}
	return ch->reaped;
}

static int
child_alive(pid_t pid)
{
	return !child_reap(child_find(pid));
}

/*
 * Stops a child of ours with SIGTERM (SIGKILL after wait_ms) and
 * returns its exit status, or -1 if it was killed by a signal.  A
 * child already reaped is never signalled: its pid may be reused.
 */
static int
child_stop(pid_t pid, long wait_ms)
{
	struct child	*ch = child_find(pid);
	long long	 end = itest_now_ms() + wait_ms;
	int		 st, status;

	if (!child_reap(ch)) {
		kill(pid, SIGTERM);
		while (!child_reap(ch) && itest_now_ms() < end)
			sleep_ms(20);
	}
	if (!ch->reaped) {
		kill(pid, SIGKILL);
		waitpid(pid, &st, 0);
		ch->status = -1;
	}
	status = ch->status;
	ch->pid = 0;
	return status;
}

static void
children_stop_all(void)
{
	size_t	 i;

	for (i = 0; i < MAX_CHILDREN; i++)
		if (children[i].pid != 0)
			child_stop(children[i].pid, 5000);
}

/* Starts argv with envp (NULL: ours), its output appended to log. */
static pid_t
spawn(char * const argv[], char * const envp[], const char *log)
{
	pid_t	 pid;
	int	 fd;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
		}
		if ((fd = open("/dev/null", O_RDONLY)) >= 0)
			dup2(fd, 0);
		if (envp != NULL)
			execve(argv[0], argv, envp);
		else
			execv(argv[0], argv);
		_exit(127);
	}
	child_add(pid);
	return pid;
}

static int
port_open(int port)
{
	struct sockaddr_in	 sa;
	int			 fd, ok;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
		return 0;
	ok = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

/* A loopback port of our range that nothing listens on or holds. */
static int
free_port(void)
{
	struct sockaddr_in	 sa;
	int			 fd, port, ok;

	for (port = PORT_FIRST; port <= PORT_LAST; port++) {
		memset(&sa, 0, sizeof(sa));
		sa.sin_family = AF_INET;
		sa.sin_port = htons((uint16_t)port);
		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		if ((fd = socket(AF_INET, SOCK_STREAM, 0)) < 0)
			continue;
		ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
		close(fd);
		if (ok)
			return port;
	}
	fail_msg("no free port in %d-%d", PORT_FIRST, PORT_LAST);
	return -1;
}

/* A new, empty Maildir under work_dir; its path into out. */
static void
make_maildir(char *out, size_t outlen, const char *name)
{
	static const char	*sub[] = { "tmp", "new", "cur" };
	char			 p[600];
	size_t			 i;

	snprintf(out, outlen, "%s/%s", work_dir, name);
	assert_true(mkdir(out, 0700) == 0 || errno == EEXIST);
	for (i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/%s", out, sub[i]);
		assert_true(mkdir(p, 0700) == 0 || errno == EEXIST);
	}
}

/* Starts smtp-fault.py on port into maildir; returns when it listens. */
static pid_t
start_fault_smtp(int port, const char *maildir, const char *delay)
{
	char	 script[512], ports[16], log[600];
	char	*argv[10];
	pid_t	 pid;
	int	 i;

	snprintf(script, sizeof(script), "%s/tests/harness/smtp-fault.py",
	    itest_env("WS_SOURCE_DIR"));
	snprintf(ports, sizeof(ports), "%d", port);
	snprintf(log, sizeof(log), "%s/smtp-%d.log", work_dir, port);
	argv[0] = (char *)(uintptr_t)"/usr/bin/python3";
	argv[1] = script;
	argv[2] = (char *)(uintptr_t)"--port";
	argv[3] = ports;
	argv[4] = (char *)(uintptr_t)"--maildir";
	argv[5] = (char *)(uintptr_t)maildir;
	argv[6] = (char *)(uintptr_t)"--data-delay";
	argv[7] = (char *)(uintptr_t)(delay != NULL ? delay : "0");
	argv[8] = NULL;
	pid = spawn(argv, NULL, log);
	for (i = 0; i < 200 && !port_open(port); i++) {
		assert_true(child_alive(pid));
		sleep_ms(POLL_MS);
	}
	assert_true(port_open(port));
	return pid;
}

/* The path of the websands-mailer that was built. */
static void
mailer_path(char *out, size_t outlen)
{
	const char	*b = itest_env("WS_BUILD_DIR");

	snprintf(out, outlen, "%s/websands-mailer", b);
	if (access(out, X_OK) == 0)
		return;
	snprintf(out, outlen, "%s/app/mailer/websands-mailer", b);
	assert_int_equal(access(out, X_OK), 0);
}

struct mailer_opts {
	int		 port;		/* SMTP port on 127.0.0.1 */
	const char	*rate;		/* MAIL_RATE */
	const char	*attempts;	/* SMTP_MAX_ATTEMPTS */
	const char	*poll_s;	/* MAILER_POLL_S */
};

/*
 * Starts a websands-mailer with a clean environment of its own, its
 * log in work_dir/<name>.log, and waits until it has started.
 */
static pid_t
start_mailer(const char *name, const struct mailer_opts *o)
{
	char		 prog[700], log[600], *argv[2], *envp[16];
	char		 e[14][640];
	struct buf	 text;
	long long	 end;
	size_t		 n = 0, i;
	pid_t		 pid;

	mailer_path(prog, sizeof(prog));
	snprintf(log, sizeof(log), "%s/%s.log", work_dir, name);
	unlink(log);
	snprintf(e[n++], sizeof(e[0]), "DATABASE_URL=%s",
	    itest_env("WS_DATABASE_URL"));
	snprintf(e[n++], sizeof(e[0]), "PUBLIC_URL=%s",
	    itest_env("WS_PUBLIC_URL"));
	snprintf(e[n++], sizeof(e[0]), "TEMPLATE_DIR=%s/templates",
	    itest_env("WS_SOURCE_DIR"));
	snprintf(e[n++], sizeof(e[0]), "SMTP_URL=smtp://127.0.0.1:%d",
	    o->port);
	snprintf(e[n++], sizeof(e[0]), "SMTP_TLS=off");
	snprintf(e[n++], sizeof(e[0]), "MAIL_FROM=websands@localhost");
	snprintf(e[n++], sizeof(e[0]), "MAIL_RATE=%s", o->rate);
	snprintf(e[n++], sizeof(e[0]), "SMTP_MAX_ATTEMPTS=%s", o->attempts);
	snprintf(e[n++], sizeof(e[0]), "SMTP_RETRY_BASE_S=1");
	snprintf(e[n++], sizeof(e[0]), "SMTP_TIMEOUT_S=10");
	snprintf(e[n++], sizeof(e[0]), "MAILER_POLL_S=%s", o->poll_s);
	snprintf(e[n++], sizeof(e[0]), "LOG_LEVEL=info");
	snprintf(e[n++], sizeof(e[0]), "METRICS_DIR=%s/metrics", work_dir);
	for (i = 0; i < n; i++)
		envp[i] = e[i];
	envp[n] = NULL;
	argv[0] = prog;
	argv[1] = NULL;
	pid = spawn(argv, envp, log);

	/* Started means configured and about to LISTEN. */
	end = itest_now_ms() + 5000;
	buf_init(&text, 0);
	while (itest_now_ms() < end) {
		buf_reset(&text);
		snprintf(prog, sizeof(prog), "cat '%s' 2>/dev/null", log);
		itest_run(prog, &text);
		if (strstr(buf_str(&text), "event=start") != NULL)
			break;
		if (!child_alive(pid))
			fail_msg("%s exited: %s", name, buf_str(&text));
		sleep_ms(POLL_MS);
	}
	assert_non_null(strstr(buf_str(&text), "event=start"));
	buf_cleanup(&text);
	sleep_ms(200);
	return pid;
}

/* How many lines of the log of name contain needle (and needle2). */
static int
log_count(const char *name, const char *needle, const char *needle2)
{
	char	 path[600], line[2048];
	FILE	*f;
	int	 n = 0;

	snprintf(path, sizeof(path), "%s/%s.log", work_dir, name);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, needle) != NULL && (needle2 == NULL ||
		    strstr(line, needle2) != NULL))
			n++;
	fclose(f);
	return n;
}

/* ---- the Maildirs ---- */

static int
read_whole(const char *path, struct buf *out)
{
	char	 chunk[8192];
	ssize_t	 r;
	int	 fd;

	if ((fd = open(path, O_RDONLY)) < 0)
		return -1;
	while ((r = read(fd, chunk, sizeof(chunk))) > 0)
		if (buf_append(out, chunk, (size_t)r) != 0)
			break;
	close(fd);
	return 0;
}

/*
 * Reads a stored message with CRs dropped (the stack's sink stores LF
 * line ends, smtp-fault.py the CRLF it got), so both parse alike.
 */
static int
read_mail(const char *path, struct buf *out)
{
	struct buf	 raw;
	size_t		 i;

	buf_init(&raw, 0);
	buf_reset(out);
	if (read_whole(path, &raw) != 0) {
		buf_cleanup(&raw);
		return -1;
	}
	for (i = 0; i < raw.len; i++)
		if (raw.data[i] != '\r')
			buf_putc(out, raw.data[i]);
	buf_cleanup(&raw);
	return 0;
}

/*
 * The unfolded value of the header name in msg (LF line ends), copied
 * into out; returns how many such headers the message has.
 */
static int
header(const char *msg, const char *name, char *out, size_t outlen)
{
	const char	*p = msg, *eol;
	size_t		 nlen = strlen(name), o = 0;
	int		 count = 0;

	if (outlen > 0)
		out[0] = '\0';
	while (*p != '\0' && *p != '\n') {
		eol = strchr(p, '\n');
		if (eol == NULL)
			break;
		if (strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
			count++;
			p += nlen + 1;
			o = 0;
			for (;;) {
				while (*p == ' ' || *p == '\t')
					p++;
				while (p < eol && o + 1 < outlen)
					out[o++] = *p++;
				out[o] = '\0';
				p = eol + 1;
				if (*p != ' ' && *p != '\t')
					break;
				eol = strchr(p, '\n');
				if (eol == NULL)
					break;
			}
			continue;
		}
		p = eol + 1;
	}
	return count;
}

/* The index I of an address "[prefix-]nI@domain", or -1. */
static int
mail_index(const char *to, const char *domain)
{
	const char	*at = strchr(to, '@'), *p;
	char		*end;
	long		 v;

	if (at == NULL || strcmp(at + 1, domain) != 0)
		return -1;
	for (p = at; p > to && p[-1] != '-'; p--)
		;
	if (*p != 'n')
		return -1;
	v = strtol(p + 1, &end, 10);
	if (end != at || v < 0 || v >= MAX_MAILS)
		return -1;
	return (int)v;
}

/*
 * Counts the messages in maildir/new to domain, each index into
 * counts (of MAX_MAILS, may be NULL); returns the total.  If path is
 * not NULL it gets the file of the last one with index want.
 */
static int
count_mail(const char *maildir, const char *domain, int *counts,
    int want, char *path, size_t pathlen)
{
	struct dirent	*e;
	struct buf	 msg;
	char		 dir[600], f[1200], to[512];
	DIR		*d;
	int		 total = 0, idx;

	if (counts != NULL)
		memset(counts, 0, MAX_MAILS * sizeof(*counts));
	snprintf(dir, sizeof(dir), "%s/new", maildir);
	if ((d = opendir(dir)) == NULL)
		return 0;
	buf_init(&msg, 0);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(f, sizeof(f), "%s/%s", dir, e->d_name);
		if (read_mail(f, &msg) != 0)
			continue;
		if (header(buf_str(&msg), "To", to, sizeof(to)) != 1)
			continue;
		if ((idx = mail_index(to, domain)) < 0)
			continue;
		total++;
		if (counts != NULL)
			counts[idx]++;
		if (path != NULL && idx == want)
			snprintf(path, pathlen, "%s", f);
	}
	closedir(d);
	buf_cleanup(&msg);
	return total;
}

/* Waits until at least n mails to domain arrived; returns the count. */
static int
wait_mail(const char *maildir, const char *domain, int n, long timeout_ms)
{
	long long	 end = itest_now_ms() + timeout_ms;
	int		 got;

	while ((got = count_mail(maildir, domain, NULL, 0, NULL, 0)) < n &&
	    itest_now_ms() < end)
		sleep_ms(POLL_MS);
	return got;
}

/* Every one of mails 0..n-1 arrived exactly once, and nothing else. */
static void
assert_each_once(const char *maildir, const char *domain, int n)
{
	int	 counts[MAX_MAILS], total, i;

	total = count_mail(maildir, domain, counts, 0, NULL, 0);
	for (i = 0; i < n; i++)
		if (counts[i] != 1)
			fail_msg("mail n%d@%s arrived %d times", i, domain,
			    counts[i]);
	assert_int_equal(total, n);
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * The decoded body of the part of type (e.g. "text/plain") of msg
 * (LF line ends) into out; fails the test if there is none.
 */
static void
mail_part(const char *msg, const char *type, struct buf *out)
{
	char		 ct[512], delim[128], want[256];
	const char	*b, *p, *end;
	size_t		 blen;

	assert_int_equal(header(msg, "Content-Type", ct, sizeof(ct)), 1);
	assert_non_null(strstr(ct, "multipart/alternative"));
	assert_non_null(b = strstr(ct, "boundary=\""));
	b += 10;
	blen = strcspn(b, "\"");
	snprintf(delim, sizeof(delim), "\n--%.*s", (int)blen, b);
	snprintf(want, sizeof(want), "%s\nContent-Type: %s; charset=utf-8\n"
	    "Content-Transfer-Encoding: quoted-printable\n\n", delim, type);
	p = strstr(msg, want);
	if (p == NULL)
		fail_msg("no %s part", type);
	p += strlen(want);
	assert_non_null(end = strstr(p, delim));
	buf_reset(out);
	for (; p < end; p++) {
		if (*p != '=') {
			buf_putc(out, *p);
		} else if (p[1] == '\n') {
			p++;
		} else {
			assert_true(hexval(p[1]) >= 0 && hexval(p[2]) >= 0);
			buf_putc(out, (char)(hexval(p[1]) * 16 +
			    hexval(p[2])));
			p += 2;
		}
	}
}

/* A Subject value with its RFC 2047 words decoded, into out. */
static void
decode_subject(const char *v, struct buf *out)
{
	unsigned char	 bin[256];
	const char	*p = v, *end, *b64end;
	size_t		 binlen;

	buf_reset(out);
	if (strncmp(v, "=?UTF-8?B?", 10) != 0) {
		buf_puts(out, v);
		return;
	}
	while (*p != '\0') {
		while (*p == ' ')
			p++;
		assert_int_equal(strncmp(p, "=?UTF-8?B?", 10), 0);
		p += 10;
		assert_non_null(end = strstr(p, "?="));
		assert_int_equal(sodium_base642bin(bin, sizeof(bin), p,
		    (size_t)(end - p), NULL, &binlen, &b64end,
		    sodium_base64_VARIANT_ORIGINAL), 0);
		buf_append(out, bin, binlen);
		p = end + 2;
	}
}

/* ---- fixtures ---- */

static int
group_setup(void **state)
{
	const char	*run = getenv("WS_RUN_DIR");
	char		 p[600];

	(void)state;
	if (sodium_init() < 0)
		return -1;
	snprintf(run_tag, sizeof(run_tag), "r%ldx%ld", (long)getpid(),
	    (long)time(NULL));
	snprintf(work_dir, sizeof(work_dir), "%s/mailtest-XXXXXX",
	    run != NULL && *run != '\0' ? run : "/tmp");
	if (mkdtemp(work_dir) == NULL)
		return -1;
	/* The stack's sink stores into WS_MAIL_DIR; a Maildir needs its
	 * three subdirectories even before the first message. */
	if (getenv("WS_MAIL_DIR") != NULL) {
		snprintf(p, sizeof(p), "%s/new", getenv("WS_MAIL_DIR"));
		mkdir(p, 0755);
		snprintf(p, sizeof(p), "%s/tmp", getenv("WS_MAIL_DIR"));
		mkdir(p, 0755);
		snprintf(p, sizeof(p), "%s/cur", getenv("WS_MAIL_DIR"));
		mkdir(p, 0755);
	}
	/* Only the mailers of these tests may claim rows meanwhile. */
	if (itest_stack("mailer-stop") != 0)
		return -1;
	if (db_conn_open(&db, getenv("WS_DATABASE_URL"), 5) != 0)
		return -1;
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	children_stop_all();
	if (pg_stopped && itest_stack("pg-start") == 0)
		pg_stopped = 0;
	if (db == NULL || db_exec(db, "SELECT 1") != 0) {
		db_conn_close(db);
		db = NULL;
		db_conn_open(&db, getenv("WS_DATABASE_URL"), 5);
	}
	/* This run's rows go, so no later test sees them as backlog. */
	if (db != NULL) {
		char	 sql[256];

		snprintf(sql, sizeof(sql), "DELETE FROM email_outbox WHERE "
		    "recipient LIKE '%%-%s" DOMAIN_SUFFIX "'", run_tag);
		db_exec(db, sql);
	}
	db_conn_close(db);
	db = NULL;
	return itest_stack("mailer-start") == 0 ? 0 : -1;
}

static int
test_teardown(void **state)
{
	(void)state;
	children_stop_all();
	if (pg_stopped && itest_stack("pg-start") == 0) {
		pg_stopped = 0;
		db_conn_close(db);
		db = NULL;
		db_conn_open(&db, getenv("WS_DATABASE_URL"), 5);
	}
	return 0;
}

static int
sink_port(void)
{
	return atoi(itest_env("WS_SMTP_PORT"));
}

/* ---- the tests ---- */

static void
test_queued_mail_arrives_once(void **state)
{
	struct mailer_opts	 o = { sink_port(), "0", "8", "30" };
	struct buf		 msg, part;
	const char		*sink = itest_env("WS_MAIL_DIR");
	const char		*pub = itest_env("WS_PUBLIC_URL");
	char			 dom[128], rcpt[160], path[1200], v[512];
	char			 link[600], href[700], id[400];
	int			 counts[MAX_MAILS];
	size_t			 plen;

	(void)state;
	test_domain(dom, sizeof(dom), "basic");
	snprintf(rcpt, sizeof(rcpt), "n0@%s", dom);
	plen = strlen(pub);
	while (plen > 0 && pub[plen - 1] == '/')
		plen--;
	snprintf(link, sizeof(link), "%.*s/verify-email#token=tok-%s",
	    (int)plen, pub, run_tag);
	start_mailer("basic", &o);

	/* MAILER_POLL_S=30: only the NOTIFY at commit can wake it soon. */
	snprintf(v, sizeof(v), "/verify-email#token=tok-%s", run_tag);
	queue_one(rcpt, "verify_email", "en", json_pack("{s:s,s:s}",
	    "username", "Ada", "link_path", v));
	assert_int_equal(wait_mail(sink, dom, 1, 10000), 1);
	sleep_ms(1500);
	assert_int_equal(count_mail(sink, dom, counts, 0, path,
	    sizeof(path)), 1);
	assert_int_equal(counts[0], 1);

	buf_init(&msg, 0);
	buf_init(&part, 0);
	assert_int_equal(read_mail(path, &msg), 0);
	assert_int_equal(header(buf_str(&msg), "Subject", v, sizeof(v)), 1);
	assert_string_equal(v, "Confirm your email address");
	assert_int_equal(header(buf_str(&msg), "From", v, sizeof(v)), 1);
	assert_non_null(strstr(v, "<websands@localhost>"));
	assert_int_equal(header(buf_str(&msg), "To", v, sizeof(v)), 1);
	assert_string_equal(v, rcpt);
	assert_int_equal(header(buf_str(&msg), "Date", v, sizeof(v)), 1);
	assert_non_null(strstr(v, " +0000"));
	assert_int_equal(header(buf_str(&msg), "MIME-Version", v,
	    sizeof(v)), 1);
	assert_int_equal(header(buf_str(&msg), "Message-ID", id,
	    sizeof(id)), 1);
	assert_non_null(strstr(id, "@localhost>"));

	mail_part(buf_str(&msg), "text/plain", &part);
	assert_non_null(strstr(buf_str(&part), "Hello Ada,"));
	if (strstr(buf_str(&part), link) == NULL)
		fail_msg("no link %s in the text part:\n%s", link,
		    buf_str(&part));
	mail_part(buf_str(&msg), "text/html", &part);
	snprintf(href, sizeof(href), "href=\"%s\"", link);
	assert_non_null(strstr(buf_str(&part), href));
	assert_null(strstr(buf_str(&part), "{{"));

	/* The row: sent once, its Message-ID kept, its token dropped. */
	row_field(rcpt, "status", v, sizeof(v));
	assert_string_equal(v, "sent");
	row_field(rcpt, "attempts", v, sizeof(v));
	assert_string_equal(v, "1");
	row_field(rcpt, "message_id", v, sizeof(v));
	assert_string_equal(v, id);
	row_field(rcpt, "sent_at IS NOT NULL AND last_error IS NULL", v,
	    sizeof(v));
	assert_string_equal(v, "true");
	row_field(rcpt, "vars ? 'link_path'", v, sizeof(v));
	assert_string_equal(v, "false");
	buf_cleanup(&part);
	buf_cleanup(&msg);
}

static void
test_locale_and_fallback(void **state)
{
	struct mailer_opts	 o = { sink_port(), "0", "8", "1" };
	struct buf		 msg, subj;
	const char		*sink = itest_env("WS_MAIL_DIR");
	char			 dom[128], rcpt[160], path[1200], v[512];

	(void)state;
	test_domain(dom, sizeof(dom), "locale");
	start_mailer("locale", &o);
	snprintf(rcpt, sizeof(rcpt), "n0@%s", dom);
	queue_one(rcpt, "verify_email", "de", json_pack("{s:s}", "username",
	    "J\xc3\xbcrgen"));
	snprintf(rcpt, sizeof(rcpt), "n1@%s", dom);
	queue_one(rcpt, "verify_email", "fr-CA", json_pack("{s:s}",
	    "username", "Zo\xc3\xa9"));
	assert_int_equal(wait_mail(sink, dom, 2, 10000), 2);

	buf_init(&msg, 0);
	buf_init(&subj, 0);
	count_mail(sink, dom, NULL, 0, path, sizeof(path));
	assert_int_equal(read_mail(path, &msg), 0);
	header(buf_str(&msg), "Subject", v, sizeof(v));
	decode_subject(v, &subj);
	assert_string_equal(buf_str(&subj),
	    "Best\xc3\xa4tigen Sie Ihre E-Mail-Adresse");
	count_mail(sink, dom, NULL, 1, path, sizeof(path));
	assert_int_equal(read_mail(path, &msg), 0);
	header(buf_str(&msg), "Subject", v, sizeof(v));
	assert_string_equal(v, "Confirm your email address");
	buf_cleanup(&subj);
	buf_cleanup(&msg);
}

static void
test_hostile_values_do_not_inject(void **state)
{
	struct mailer_opts	 o = { sink_port(), "0", "8", "1" };
	struct buf		 msg, part, subj;
	const char		*sink = itest_env("WS_MAIL_DIR");
	char			 dom[128], rcpt[160], path[1200], v[1024];
	char			 bcc1[200], bcc2[200], name[512], ip[512];

	(void)state;
	test_domain(dom, sizeof(dom), "inject");
	snprintf(rcpt, sizeof(rcpt), "n0@%s", dom);
	snprintf(bcc1, sizeof(bcc1), "n1@%s", dom);
	snprintf(bcc2, sizeof(bcc2), "n2@%s", dom);
	snprintf(name, sizeof(name), "<script>alert(1)</script>\r\n"
	    "Bcc: %s\r\nSubject: hijacked\r\n\r\n{{link}} %%s", bcc1);
	snprintf(ip, sizeof(ip), "203.0.113.9\r\nBcc: %s\nTo: %s\r\n"
	    "Subject: hijacked", bcc2, bcc2);

	/* What outbox_queue refuses never reaches the table. */
	assert_int_equal(db_begin(db), 0);
	snprintf(v, sizeof(v), "%s\r\nBcc: %s", rcpt, bcc1);
	assert_int_equal(outbox_queue(db, NULL, v, "mfa_enabled", "en",
	    NULL), WS_ERR_INVALID);
	assert_int_equal(outbox_queue(db, NULL, rcpt, "mfa_enabled\r\n",
	    "en", NULL), WS_ERR_INVALID);
	db_rollback(db);

	start_mailer("inject", &o);
	queue_one(rcpt, "new_signin_after_failures", "en",
	    json_pack("{s:s,s:s,s:s,s:i,s:s}", "username", name, "ip", ip,
	    "time", "2026-12-03 13:06 UTC", "failed_attempts", 4,
	    "link_path", "/forgot-password"));
	assert_int_equal(wait_mail(sink, dom, 1, 10000), 1);
	sleep_ms(1500);
	/* Neither Bcc address got anything. */
	assert_int_equal(count_mail(sink, dom, NULL, 0, path, sizeof(path)),
	    1);

	buf_init(&msg, 0);
	buf_init(&part, 0);
	buf_init(&subj, 0);
	assert_int_equal(read_mail(path, &msg), 0);
	assert_int_equal(header(buf_str(&msg), "Bcc", v, sizeof(v)), 0);
	assert_int_equal(header(buf_str(&msg), "Cc", v, sizeof(v)), 0);
	assert_int_equal(header(buf_str(&msg), "To", v, sizeof(v)), 1);
	assert_string_equal(v, rcpt);
	/* The sink records the envelope: one recipient only. */
	assert_int_equal(header(buf_str(&msg), "X-RcptTo", v, sizeof(v)), 1);
	assert_string_equal(v, rcpt);
	assert_int_equal(header(buf_str(&msg), "Subject", v, sizeof(v)), 1);
	decode_subject(v, &subj);
	assert_null(strpbrk(buf_str(&subj), "\r\n"));
	assert_non_null(strstr(buf_str(&subj), "from 203.0.113.9Bcc: "));

	mail_part(buf_str(&msg), "text/html", &part);
	assert_non_null(strstr(buf_str(&part),
	    "&lt;script&gt;alert(1)&lt;/script&gt;"));
	assert_null(strstr(buf_str(&part), "<script>"));
	/* Substituted once: the value's {{link}} and %s stay literal. */
	assert_non_null(strstr(buf_str(&part), "{{link}} %s"));
	mail_part(buf_str(&msg), "text/plain", &part);
	assert_non_null(strstr(buf_str(&part),
	    "Hello <script>alert(1)</script>  Bcc: "));
	assert_non_null(strstr(buf_str(&part), "{{link}} %s"));
	buf_cleanup(&subj);
	buf_cleanup(&part);
	buf_cleanup(&msg);
}

static void
test_rate_limit_holds(void **state)
{
	struct mailer_opts	 o = { sink_port(), "120", "8", "1" };
	const char		*sink = itest_env("WS_MAIL_DIR");
	char			 dom[128];
	long long		 t0, took;

	(void)state;
	test_domain(dom, sizeof(dom), "rate");
	start_mailer("rate", &o);
	/* 120 a minute is one each 500 ms: 21 mails need 10 s at least. */
	t0 = itest_now_ms();
	queue_bulk(dom, 21, "verify_email");
	assert_true(wait_mail(sink, dom, 10, 15000) >= 10);
	assert_true(count_mail(sink, dom, NULL, 0, NULL, 0) < 21);
	assert_int_equal(wait_mail(sink, dom, 21, 20000), 21);
	took = itest_now_ms() - t0;
	print_message("21 mails at MAIL_RATE=120 took %lld ms\n", took);
	assert_true(took >= 10000);
	assert_true(took < 20000);
	sleep_ms(600);
	assert_each_once(sink, dom, 21);
}

static void
test_tempfail_retried_permfail_failed(void **state)
{
	struct mailer_opts	 o = { 0, "0", "3", "1" };
	char			 dom[128], box[600], r[4][200], v[512];
	long long		 t0, end, took = 0;
	int			 counts[MAX_MAILS];

	(void)state;
	test_domain(dom, sizeof(dom), "retry");
	make_maildir(box, sizeof(box), "retry-mail");
	o.port = free_port();
	start_fault_smtp(o.port, box, NULL);
	start_mailer("retry", &o);

	snprintf(r[0], sizeof(r[0]), "n0@%s", dom);
	snprintf(r[1], sizeof(r[1]), "tempfail-n1@%s", dom);
	snprintf(r[2], sizeof(r[2]), "permfail-n2@%s", dom);
	snprintf(r[3], sizeof(r[3]), "tempfail2-n3@%s", dom);
	t0 = itest_now_ms();
	queue_one(r[0], "mfa_enabled", "en", NULL);
	queue_one(r[1], "mfa_enabled", "en", NULL);
	queue_one(r[2], "mfa_enabled", "en", NULL);
	queue_one(r[3], "mfa_enabled", "en", NULL);

	end = t0 + 20000;
	while (itest_now_ms() < end && rows_in(dom, "pending") > 0) {
		if (took == 0 && count_mail(box, dom, counts, 0, NULL, 0) > 0 &&
		    counts[3] > 0)
			took = itest_now_ms() - t0;
		sleep_ms(POLL_MS);
	}
	if (took == 0)
		took = itest_now_ms() - t0;
	assert_int_equal(rows_in(dom, "pending"), 0);

	row_field(r[0], "status || ' ' || attempts", v, sizeof(v));
	assert_string_equal(v, "sent 1");
	/* 451 every time: tried SMTP_MAX_ATTEMPTS times, then failed. */
	row_field(r[1], "status || ' ' || attempts", v, sizeof(v));
	assert_string_equal(v, "failed 3");
	row_field(r[1], "last_error", v, sizeof(v));
	assert_non_null(strstr(v, "451"));
	/* 550: failed at once, with the server's code recorded. */
	row_field(r[2], "status || ' ' || attempts", v, sizeof(v));
	assert_string_equal(v, "failed 1");
	row_field(r[2], "last_error", v, sizeof(v));
	assert_non_null(strstr(v, "550"));
	/* 451 twice, then accepted, after waits of 1 s and 2 s. */
	row_field(r[3], "status || ' ' || attempts", v, sizeof(v));
	assert_string_equal(v, "sent 3");
	row_field(r[3], "coalesce(last_error, 'none')", v, sizeof(v));
	assert_string_equal(v, "none");
	assert_true(took >= 3000);

	count_mail(box, dom, counts, 0, NULL, 0);
	assert_int_equal(counts[0], 1);
	assert_int_equal(counts[1], 0);
	assert_int_equal(counts[2], 0);
	assert_int_equal(counts[3], 1);
}

static void
test_smtp_down_mail_waits(void **state)
{
	struct mailer_opts	 o = { 0, "0", "2", "1" };
	char			 dom[128], box[600];
	long long		 end;

	(void)state;
	test_domain(dom, sizeof(dom), "down");
	make_maildir(box, sizeof(box), "down-mail");
	/* Nothing listens on the port yet. */
	o.port = free_port();
	start_mailer("down", &o);
	queue_bulk(dom, 50, "password_reset");

	end = itest_now_ms() + 10000;
	while (itest_now_ms() < end && sql_long("SELECT count(*) FROM "
	    "email_outbox WHERE recipient LIKE '%%@%s' AND last_error IS "
	    "NOT NULL", dom) == 0)
		sleep_ms(POLL_MS);
	/* Longer than SMTP_MAX_ATTEMPTS=2 tries would take. */
	sleep_ms(4000);
	assert_true(log_count("down", "event=smtp_unavailable", NULL) >= 2);
	/* The mailer tried, and an outage cost no mail an attempt. */
	assert_true(sql_long("SELECT count(*) FROM email_outbox WHERE "
	    "recipient LIKE '%%@%s' AND last_error LIKE '%%curl%%'",
	    dom) >= 1);
	assert_int_equal(rows_in(dom, "pending"), 50);
	assert_int_equal(sql_long("SELECT count(*) FROM email_outbox WHERE "
	    "recipient LIKE '%%@%s' AND attempts = 0", dom), 50);
	assert_int_equal(count_mail(box, dom, NULL, 0, NULL, 0), 0);

	start_fault_smtp(o.port, box, NULL);
	assert_int_equal(wait_mail(box, dom, 50, 25000), 50);
	sleep_ms(1000);
	assert_each_once(box, dom, 50);
	assert_int_equal(rows_in(dom, "sent"), 50);
	assert_int_equal(sql_long("SELECT count(*) FROM email_outbox WHERE "
	    "recipient LIKE '%%@%s' AND attempts = 1", dom), 50);
}

static void
test_two_mailers_send_each_once(void **state)
{
	struct mailer_opts	 o = { 0, "0", "8", "1" };
	char			 dom[128], box[600], needle[200];
	int			 a, b;

	(void)state;
	test_domain(dom, sizeof(dom), "pair");
	make_maildir(box, sizeof(box), "pair-mail");
	o.port = free_port();
	start_fault_smtp(o.port, box, NULL);
	start_mailer("pair-a", &o);
	start_mailer("pair-b", &o);
	queue_bulk(dom, 200, "verify_email");
	assert_int_equal(wait_mail(box, dom, 200, 30000), 200);
	sleep_ms(1500);
	assert_each_once(box, dom, 200);
	assert_int_equal(rows_in(dom, "sent"), 200);
	assert_int_equal(sql_long("SELECT count(DISTINCT message_id) FROM "
	    "email_outbox WHERE recipient LIKE '%%@%s'", dom), 200);

	/* Both took part, and between them sent each mail once. */
	snprintf(needle, sizeof(needle), "to_domain=%s ", dom);
	a = log_count("pair-a", "event=mail_sent ", needle);
	b = log_count("pair-b", "event=mail_sent ", needle);
	print_message("mailer a sent %d, mailer b sent %d\n", a, b);
	assert_int_equal(a + b, 200);
	assert_true(a > 0);
	assert_true(b > 0);
}

static void
test_sigterm_loses_nothing(void **state)
{
	struct mailer_opts	 o = { 0, "0", "8", "1" };
	char			 dom[128], box[600];
	pid_t			 pid;
	int			 arrived, st, counts[MAX_MAILS], i;
	long			 sent;

	(void)state;
	test_domain(dom, sizeof(dom), "term");
	make_maildir(box, sizeof(box), "term-mail");
	o.port = free_port();
	/* Each DATA takes 200 ms, so a signal lands mid-send. */
	start_fault_smtp(o.port, box, "0.2");
	pid = start_mailer("term-a", &o);
	queue_bulk(dom, 30, "password_changed");
	assert_true(wait_mail(box, dom, 5, 10000) >= 5);

	st = child_stop(pid, 5000);
	assert_int_equal(st, 0);
	assert_int_equal(log_count("term-a", "event=stop", NULL), 1);
	arrived = count_mail(box, dom, counts, 0, NULL, 0);
	for (i = 0; i < 30; i++)
		assert_true(counts[i] <= 1);
	/* What arrived is recorded as sent, and the rest still waits. */
	sent = rows_in(dom, "sent");
	print_message("%d of 30 sent before SIGTERM\n", arrived);
	assert_int_equal(sent, arrived);
	assert_true(arrived < 30);
	assert_int_equal(rows_in(dom, "pending"), 30 - sent);
	assert_int_equal(rows_in(dom, "failed"), 0);

	start_mailer("term-b", &o);
	assert_int_equal(wait_mail(box, dom, 30, 20000), 30);
	sleep_ms(1000);
	assert_each_once(box, dom, 30);
	assert_int_equal(rows_in(dom, "sent"), 30);
}

static void
test_database_outage_survived(void **state)
{
	struct mailer_opts	 o = { sink_port(), "0", "8", "1" };
	const char		*sink = itest_env("WS_MAIL_DIR");
	char			 dom[128], rcpt[160];
	pid_t			 pid;

	(void)state;
	test_domain(dom, sizeof(dom), "dbdown");
	pid = start_mailer("dbdown", &o);
	pg_stopped = 1;
	assert_int_equal(itest_stack("pg-stop"), 0);
	sleep_ms(3000);
	/* It logs and waits; it never exits for a database. */
	assert_true(child_alive(pid));
	assert_true(log_count("dbdown", "event=db_unavailable",
	    NULL) >= 1);
	assert_int_equal(itest_stack("pg-start"), 0);
	pg_stopped = 0;
	db_reopen();
	snprintf(rcpt, sizeof(rcpt), "n0@%s", dom);
	queue_one(rcpt, "account_locked", "en", json_pack("{s:s,s:s}",
	    "username", "ada", "link_path", "/forgot-password"));
	assert_int_equal(wait_mail(sink, dom, 1, 15000), 1);
	assert_true(child_alive(pid));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_queued_mail_arrives_once,
		    test_teardown),
		cmocka_unit_test_teardown(test_locale_and_fallback,
		    test_teardown),
		cmocka_unit_test_teardown(test_hostile_values_do_not_inject,
		    test_teardown),
		cmocka_unit_test_teardown(test_rate_limit_holds,
		    test_teardown),
		cmocka_unit_test_teardown(
		    test_tempfail_retried_permfail_failed, test_teardown),
		cmocka_unit_test_teardown(test_smtp_down_mail_waits,
		    test_teardown),
		cmocka_unit_test_teardown(test_two_mailers_send_each_once,
		    test_teardown),
		cmocka_unit_test_teardown(test_sigterm_loses_nothing,
		    test_teardown),
		cmocka_unit_test_teardown(test_database_outage_survived,
		    test_teardown),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
