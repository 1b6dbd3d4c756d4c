/*
 * `websands user create | list`.  `user create --admin` is how the
 * first administrator comes to exist: nothing over HTTP can grant the
 * role to an account when there is no administrator yet.
 *
 * The password never appears on the command line, where other users
 * of the machine could read it in the process list and the shell
 * would keep it in its history.  It is typed at the terminal with
 * echo off (twice), or read as one line from stdin when stdin is not
 * a terminal, so a script can pipe it from a secret store.
 */
#include <ctype.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <sodium.h>

#include "audit.h"
#include "cli.h"
#include "cli_admin.h"
#include "error.h"
#include "password.h"
#include "password_policy.h"
#include "uuid.h"
#include "password_settings.h"
#include "validate.h"

/* A line of password input: the longest password and its newline. */
#define USER_LINE_MAX		(PASSWORD_MAX + 2)
#define USER_LIST_DEFAULT	100
#define USER_LIST_MAX		100000

struct user_args {
	const char	*cmd;
	const char	*verb;
	const char	*config;
	const char	*username;
	const char	*email;
	const char	*role;
	const char	*status;
	long		 limit;
	int		 admin;
};

/* The terminal's settings while echo is off, for a signal to restore. */
static struct termios		 user_tty_saved;
static volatile sig_atomic_t	 user_tty_off;

static void
user_tty_restore(int sig)
{
	if (user_tty_off)
		tcsetattr(STDIN_FILENO, TCSANOW, &user_tty_saved);
	signal(sig, SIG_DFL);
	raise(sig);
}

/*
 * Reads one line from fd into out (without the newline or a CR before
 * it), a byte at a time so that no stdio buffer keeps a copy.
 * Returns 0, WS_ERR_NOTFOUND at end of input before any byte, or
 * WS_ERR_TOOBIG for a line that does not fit (the rest is consumed).
 */
static int
user_read_line(int fd, char *out, size_t outlen)
{
	size_t	 n = 0;
	ssize_t	 r;
	char	 ch;
	int	 any = 0, big = 0;

	while ((r = read(fd, &ch, 1)) == 1) {
		any = 1;
		if (ch == '\n')
			break;
		if (n + 1 < outlen)
			out[n++] = ch;
		else
			big = 1;
	}
	sodium_memzero(&ch, sizeof(ch));
	if (n > 0 && out[n - 1] == '\r')
		n--;
	out[n] = '\0';
	if (!any)
		return WS_ERR_NOTFOUND;
	return big ? WS_ERR_TOOBIG : 0;
}

/* Prompts on the terminal and reads a line with echo off. */
static int
user_prompt(const char *prompt, char *out, size_t outlen)
{
	struct termios	 t;
	int		 rc;

	fputs(prompt, stderr);
	fflush(stderr);
	if (tcgetattr(STDIN_FILENO, &user_tty_saved) != 0)
		return WS_ERR_IO;
	t = user_tty_saved;
	t.c_lflag &= ~(tcflag_t)ECHO;
	t.c_lflag |= ECHONL;
	user_tty_off = 1;
	signal(SIGINT, user_tty_restore);
	signal(SIGTERM, user_tty_restore);
	signal(SIGHUP, user_tty_restore);
	signal(SIGQUIT, user_tty_restore);
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &t) != 0) {
		user_tty_off = 0;
		return WS_ERR_IO;
	}
	rc = user_read_line(STDIN_FILENO, out, outlen);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &user_tty_saved);
	user_tty_off = 0;
	return rc;
}

/* The new password, from the terminal (typed twice) or stdin. */
static int
user_read_password(const char *cmd, char *pw, size_t len)
{
	char	 again[USER_LINE_MAX];
	int	 rc;

	if (!isatty(STDIN_FILENO)) {
		rc = user_read_line(STDIN_FILENO, pw, len);
	} else if ((rc = user_prompt("New password: ", pw, len)) == 0 &&
	    (rc = user_prompt("Repeat it: ", again, sizeof(again))) == 0 &&
	    strcmp(pw, again) != 0) {
		fprintf(stderr, "websands %s: the two passwords differ\n",
		    cmd);
		rc = WS_ERR_INVALID;
	}
	sodium_memzero(again, sizeof(again));
	if (rc == WS_ERR_NOTFOUND || (rc == 0 && pw[0] == '\0'))
		fprintf(stderr, "websands %s: no password was given on "
		    "stdin\n", cmd);
	else if (rc == WS_ERR_TOOBIG)
		fprintf(stderr, "websands %s: the password is longer than "
		    "%d bytes\n", cmd, PASSWORD_MAX);
	else if (rc == WS_ERR_IO)
		fprintf(stderr, "websands %s: cannot turn off the terminal's "
		    "echo\n", cmd);
	if (rc == 0 && pw[0] == '\0')
		rc = WS_ERR_INVALID;
	return rc;
}

/* Checks pw against the policy; prints why it fails. */
static int
user_policy(const char *cmd, const struct password_policy *pol,
    const char *pw, const char *username, const char *email)
{
	json_t	*errors, *msg;
	size_t	 i;
	int	 rc = WS_ERR_INVALID;

	if ((errors = json_object()) == NULL)
		return WS_ERR_NOMEM;
	if (password_policy_check(pol, pw, username, email, errors) == 0)
		rc = 0;
	else {
		fprintf(stderr, "websands %s: the password is not "
		    "acceptable:\n", cmd);
		json_array_foreach(json_object_get(errors, "password"), i,
		    msg)
			fprintf(stderr, "  - it %s\n", json_string_value(msg));
	}
	json_decref(errors);
	return rc;
}

/* Inserts the account and its event; 0, WS_ERR_CONFLICT or an error. */
static int
user_insert(struct db_conn *c, const struct user_args *a,
    const char *email, const char *hash, char id[UUID_LEN + 1])
{
	struct audit_event	 ev = { .type = "user_created" };
	struct db_res		*res = NULL;
	const char		*params[5];
	json_t			*details;
	int			 rc;

	uuid_new(id);
	params[0] = id;
	params[1] = a->username;
	params[2] = email;
	params[3] = hash;
	params[4] = a->admin ? "admin" : "user";
	details = json_pack("{s:s,s:s}", "via", "cli", "role", params[4]);
	ev.user_id = id;
	ev.details = details;
	if ((rc = db_begin(c)) != 0)
		goto out;
	if ((rc = db_query(c, "INSERT INTO users (id, username, email,"
	    " password_hash, role, email_verified_at) VALUES ($1::uuid,"
	    " $2, $3, $4, $5, now()) ON CONFLICT DO NOTHING RETURNING id",
	    5, params, &res)) != 0)
		goto out;
	if (db_res_nrows(res) != 1) {
		rc = WS_ERR_CONFLICT;
		goto out;
	}
	if ((rc = audit_record(c, &ev)) == 0)
		rc = db_commit(c);
out:
	if (rc != 0)
		db_rollback(c);
	json_decref(details);
	db_res_free(res);
	return rc;
}

static int
user_create(struct user_args *a)
{
	struct password_settings ps;
	struct password_policy	 pol;
	struct ws_config	 cfg;
	struct db_conn		*c = NULL;
	const char		*why;
	char			 pw[USER_LINE_MAX], hash[PASSWORD_HASH_MAX];
	char			 email[256], id[UUID_LEN + 1], err[512];
	int			 status = CLI_FAIL, rc, opened = 0, applied = 0;

	memset(&ps, 0, sizeof(ps));
	memset(&pol, 0, sizeof(pol));
	pw[0] = hash[0] = '\0';
	if (a->username == NULL || a->email == NULL)
		return cli_usage_error(a->cmd, "create needs --username and "
		    "--email");
	if ((why = validate_username(a->username)) != NULL ||
	    strlen(a->username) < 3 || strlen(a->username) > 50) {
		fprintf(stderr, "websands %s: the username %s\n", a->cmd,
		    why != NULL ? why : "must have 3 to 50 characters");
		return CLI_FAIL;
	}
	if (strlen(a->email) > 254 ||
	    (why = validate_email(a->email)) != NULL) {
		fprintf(stderr, "websands %s: the address %s\n", a->cmd,
		    why != NULL ? why : "is too long");
		return CLI_FAIL;
	}
	/* Addresses are kept in lower case, as registration keeps them. */
	validate_email_lower(email, sizeof(email),
	    a->email);
	/*
	 * The settings websands-auth and websands-users read, so an
	 * account made here gets the same hash and the same rules.
	 */
	if (config_load(password_settings_specs, password_settings_nspecs,
	    &ps, a->config, err, sizeof(err)) != 0 ||
	    password_settings_apply(&ps, &pol, err, sizeof(err)) != 0) {
		fprintf(stderr, "websands %s: configuration: %s\n", a->cmd,
		    err);
		goto out;
	}
	applied = 1;
	if (cli_admin_open(a->cmd, a->config, &cfg, &c) != CLI_OK)
		goto out;
	opened = 1;
	if (user_read_password(a->cmd, pw, sizeof(pw)) != 0 ||
	    user_policy(a->cmd, &pol, pw, a->username, email) != 0)
		goto out;
	if (password_hash(pw, hash) != 0) {
		fprintf(stderr, "websands %s: cannot hash the password\n",
		    a->cmd);
		goto out;
	}
	rc = user_insert(c, a, email, hash, id);
	if (rc == WS_ERR_CONFLICT) {
		fprintf(stderr, "websands %s: the username or the address is "
		    "taken\n", a->cmd);
		goto out;
	}
	if (rc != 0) {
		fprintf(stderr, "websands %s: the account could not be "
		    "created (%s)\n", a->cmd, ws_err_name(rc));
		goto out;
	}
	/* The id alone on stdout, for scripts; the words on stderr. */
	printf("%s\n", id);
	fflush(stdout);
	fprintf(stderr, "websands %s: created %s %s, verified\n", a->cmd,
	    a->admin ? "administrator" : "user", a->username);
	status = CLI_OK;
out:
	sodium_memzero(pw, sizeof(pw));
	sodium_memzero(hash, sizeof(hash));
	if (applied) {
		password_settings_cleanup(&pol);
		password_cleanup();
	}
	if (opened)
		cli_admin_close(&cfg, c);
	config_free(password_settings_specs, password_settings_nspecs, &ps);
	return status;
}

static int
user_list(struct user_args *a)
{
	struct ws_config	 cfg;
	struct db_conn		*c = NULL;
	struct db_res		*res = NULL;
	const char		*params[3];
	char			 limit[24];
	size_t			 i, j;
	int			 status = CLI_FAIL;

	if (cli_admin_open(a->cmd, a->config, &cfg, &c) != CLI_OK)
		return CLI_FAIL;
	snprintf(limit, sizeof(limit), "%ld", a->limit);
	params[0] = a->role;
	params[1] = a->status;
	params[2] = limit;
	if (db_query(c, "SELECT id, username, email, role, status,"
	    " CASE WHEN email_verified_at IS NULL THEN 'no' ELSE 'yes' END,"
	    " to_char(created_at AT TIME ZONE 'UTC',"
	    " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
	    " FROM users WHERE ($1::text IS NULL OR role = $1::text)"
	    " AND ($2::text IS NULL OR status = $2::text)"
	    " ORDER BY created_at, id LIMIT $3::int", 3, params,
	    &res) != 0) {
		fprintf(stderr, "websands %s: the accounts could not be "
		    "read\n", a->cmd);
		goto out;
	}
	printf("ID\tUSERNAME\tEMAIL\tROLE\tSTATUS\tVERIFIED\tCREATED\n");
	for (i = 0; i < db_res_nrows(res); i++) {
		for (j = 0; j < 7; j++) {
			cli_admin_print(stdout, db_res_value(res, i, j));
			fputs(j < 6 ? "\t" : "\n", stdout);
		}
	}
	status = CLI_OK;
out:
	db_res_free(res);
	cli_admin_close(&cfg, c);
	return status;
}

/* Reads the options after the verb; CLI_OK or what to return. */
static int
user_parse(int argc, char **argv, struct user_args *a)
{
	const char	*v, *lim = NULL;
	int		 i, r, create = strcmp(a->verb, "create") == 0;

	for (i = 2; i < argc; i++) {
		if (cli_is_help(argv[i])) {
			cli_print_usage(stdout, a->cmd);
			return -1;
		}
		if (strcmp(argv[i], "--password") == 0 ||
		    strncmp(argv[i], "--password=", 11) == 0)
			return cli_usage_error(a->cmd, "a password is never "
			    "taken from the command line; type it when "
			    "asked or give it on stdin");
		if ((r = cli_opt_value(argc, argv, &i, "config", &v)) != 0)
			a->config = v;
		else if (create && strcmp(argv[i], "--admin") == 0) {
			a->admin = 1;
			continue;
		} else if (create && (r = cli_opt_value(argc, argv, &i,
		    "username", &v)) != 0)
			a->username = v;
		else if (create && (r = cli_opt_value(argc, argv, &i,
		    "email", &v)) != 0)
			a->email = v;
		else if (!create && (r = cli_opt_value(argc, argv, &i,
		    "role", &v)) != 0)
			a->role = v;
		else if (!create && (r = cli_opt_value(argc, argv, &i,
		    "status", &v)) != 0)
			a->status = v;
		else if (!create && (r = cli_opt_value(argc, argv, &i,
		    "limit", &v)) != 0)
			lim = v;
		else
			return cli_usage_error(a->cmd, "unexpected argument "
			    "\"%.64s\"", argv[i]);
		if (r < 0)
			return cli_usage_error(a->cmd, "%.64s needs a value",
			    argv[i]);
	}
	if (a->role != NULL && strcmp(a->role, "user") != 0 &&
	    strcmp(a->role, "admin") != 0)
		return cli_usage_error(a->cmd, "--role is user or admin");
	if (a->status != NULL && strcmp(a->status, "active") != 0 &&
	    strcmp(a->status, "suspended") != 0)
		return cli_usage_error(a->cmd,
		    "--status is active or suspended");
	if (lim != NULL && cli_admin_parse_long(lim, 1, USER_LIST_MAX,
	    &a->limit) != 0)
		return cli_usage_error(a->cmd, "--limit takes 1 to %d",
		    USER_LIST_MAX);
	return CLI_OK;
}

int
cmd_user(int argc, char **argv)
{
	struct user_args	 a;
	int			 rc;

	memset(&a, 0, sizeof(a));
	a.cmd = argv[0];
	a.limit = USER_LIST_DEFAULT;
	if (argc < 2)
		return cli_usage_error(a.cmd, "create or list?");
	if (cli_is_help(argv[1])) {
		cli_print_usage(stdout, a.cmd);
		return CLI_OK;
	}
	a.verb = argv[1];
	if (strcmp(a.verb, "create") != 0 && strcmp(a.verb, "list") != 0)
		return cli_usage_error(a.cmd, "no verb \"%.64s\"", a.verb);
	if ((rc = user_parse(argc, argv, &a)) != CLI_OK)
		return rc < 0 ? CLI_OK : rc;
	return strcmp(a.verb, "create") == 0 ? user_create(&a) :
	    user_list(&a);
}
