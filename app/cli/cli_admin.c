/*
 * Helpers shared by the user, audit, purge and outbox commands.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "cli_admin.h"
#include "error.h"

int
cli_admin_open(const char *cmd, const char *path, struct ws_config *cfg,
    struct db_conn **c)
{
	*c = NULL;
	if (cli_load_config(cmd, path, cfg) != CLI_OK)
		return CLI_FAIL;
	if (db_conn_open(c, cfg->database_url,
	    cfg->db_connect_timeout_s) != 0) {
		/* The URL may hold a password: it is not repeated here. */
		fprintf(stderr, "websands %s: cannot connect to the database "
		    "of DATABASE_URL\n", cmd);
		cli_free_config(cfg);
		*c = NULL;
		return CLI_FAIL;
	}
	return CLI_OK;
}

void
cli_admin_close(struct ws_config *cfg, struct db_conn *c)
{
	db_conn_close(c);
	cli_free_config(cfg);
}

int
cli_admin_parse_long(const char *s, long min, long max, long *out)
{
	long	 v = 0;
	size_t	 i, n = strlen(s);

	if (n == 0 || n > 18)
		return -1;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

void
cli_admin_print(FILE *f, const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;

	for (; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			fputc('?', f);
		else if (*p == 0xC2 && p[1] >= 0x80 && p[1] <= 0x9F) {
			/* U+0080..U+009F: C1 controls in UTF-8. */
			fputc('?', f);
			p++;
		} else
			fputc(*p, f);
	}
}
