/*
 * `websands keys generate | rotate | list`.  The work is done by
 * common/keyring.c; this file parses arguments, reads the settings and
 * prints for an operator.  The settings are the auth responder's own
 * table (authn.h), so a rotation's grace period follows the token
 * lifetime the responders really use.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authn.h"
#include "cli.h"
#include "cli_keys.h"
#include "config.h"
#include "error.h"
#include "keyring.h"

/* A grace past a year is a typo, not a rotation plan. */
#define KEYS_GRACE_MAX	(366LL * 24 * 3600)

struct keys_args {
	const char	*cmd;		/* argv[0], for messages */
	const char	*verb;
	const char	*config;
	const char	*alg;
	long long	 grace;		/* -1: from the configuration */
};

static int
keys_parse(int argc, char **argv, struct keys_args *a)
{
	const char	*v;
	char		*end;
	int		 i, r;

	memset(a, 0, sizeof(*a));
	a->cmd = argc > 0 ? argv[0] : "keys";
	a->grace = -1;
	if (argc < 2)
		return cli_usage_error(a->cmd, "generate, rotate or list?");
	if (cli_is_help(argv[1])) {
		cli_print_usage(stdout, a->cmd);
		return -1;
	}
	a->verb = argv[1];
	if (strcmp(a->verb, "generate") != 0 &&
	    strcmp(a->verb, "rotate") != 0 && strcmp(a->verb, "list") != 0)
		return cli_usage_error(a->cmd, "no verb \"%.64s\"", a->verb);
	for (i = 2; i < argc; i++) {
		if (cli_is_help(argv[i])) {
			cli_print_usage(stdout, a->cmd);
			return -1;
		}
		if ((r = cli_opt_value(argc, argv, &i, "config", &v)) != 0) {
			if (r < 0)
				return cli_usage_error(a->cmd,
				    "--config needs a file name");
			a->config = v;
		} else if (strcmp(a->verb, "list") != 0 &&
		    (r = cli_opt_value(argc, argv, &i, "alg", &v)) != 0) {
			if (r < 0)
				return cli_usage_error(a->cmd,
				    "--alg needs RS256, PS256, ES256 or EdDSA");
			a->alg = v;
		} else if (strcmp(a->verb, "rotate") == 0 &&
		    (r = cli_opt_value(argc, argv, &i, "grace", &v)) != 0) {
			errno = 0;
			if (r > 0)
				a->grace = strtoll(v, &end, 10);
			if (r < 0 || errno != 0 || end == v || *end != '\0' ||
			    a->grace < 0 || a->grace > KEYS_GRACE_MAX)
				return cli_usage_error(a->cmd, "--grace takes "
				    "seconds, 0 to %lld", KEYS_GRACE_MAX);
		} else
			return cli_usage_error(a->cmd,
			    "unexpected argument \"%.64s\"", argv[i]);
	}
	return 0;
}

static void
keys_date(long long t, char *out, size_t outlen)
{
	struct tm	 tm;
	time_t		 tt = (time_t)t;

	if (t == 0 || gmtime_r(&tt, &tm) == NULL ||
	    strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, outlen, "-");
}

static int
keys_list(const struct keys_args *a, const char *dir)
{
	static const char *const states[] = {
		[KEYRING_SIGNING] = "signing",
		[KEYRING_VERIFYING] = "verifying",
		[KEYRING_RETIRED] = "retired"
	};
	struct keyring		*kr = NULL;
	struct keyring_info	 ki;
	char			 created[32], retire[32];
	size_t			 i;
	int			 rc;

	if ((rc = keyring_load(dir, &kr)) != 0) {
		fprintf(stderr, "websands %s: cannot load the keys in "
		    "KEYS_DIR %s: %s (the log line above says why)\n",
		    a->cmd, dir, ws_err_name(rc));
		return CLI_FAIL;
	}
	printf("%-22s  %-5s  %-20s  %-20s  %s\n", "KID", "ALG", "CREATED",
	    "RETIRES", "STATE");
	for (i = 0; keyring_info(kr, i, 0, &ki) == 0; i++) {
		keys_date(ki.created_at, created, sizeof(created));
		keys_date(ki.retire_at, retire, sizeof(retire));
		printf("%-22s  %-5s  %-20s  %-20s  %s\n", ki.kid,
		    keyring_alg_name(ki.alg), created, retire,
		    states[ki.state]);
	}
	if (keyring_signer(kr) == NULL)
		fprintf(stderr, "websands %s: no key signs; run "
		    "\"websands keys rotate\"\n", a->cmd);
	keyring_free(kr);
	return CLI_OK;
}

/* Without --alg, a rotation keeps the signer's algorithm. */
static int
keys_signer_alg(const char *dir, enum keyring_alg *alg)
{
	struct keyring		*kr = NULL;
	const struct keyring_key *k;
	int			 rc;

	if ((rc = keyring_load(dir, &kr)) != 0)
		return rc;
	if ((k = keyring_signer(kr)) != NULL)
		*alg = keyring_key_alg(k);
	keyring_free(kr);
	return 0;
}

static int
keys_change(const struct keys_args *a, const char *dir, long long grace)
{
	enum keyring_alg	 alg = KEYRING_RS256;
	char			 kid[KEYRING_KID_SIZE];
	int			 rc, rotate = strcmp(a->verb, "rotate") == 0;

	if (a->alg != NULL && keyring_alg_parse(a->alg, &alg) != 0)
		return cli_usage_error(a->cmd, "--alg must be RS256, PS256, "
		    "ES256 or EdDSA");
	rc = rotate && a->alg == NULL ? keys_signer_alg(dir, &alg) : 0;
	if (rc == 0)
		rc = rotate ? keyring_rotate(dir, alg, grace, kid) :
		    keyring_generate(dir, alg, kid);
	if (rc != 0) {
		fprintf(stderr, "websands %s %s: failed in KEYS_DIR %s: %s "
		    "(the log line above says why)\n", a->cmd, a->verb, dir,
		    ws_err_name(rc));
		return CLI_FAIL;
	}
	printf("%s %s\n", kid, keyring_alg_name(alg));
	if (rotate)
		printf("the older keys verify for %lld more seconds; restart "
		    "the responders so that they load the new key\n", grace);
	return CLI_OK;
}

int
cli_keys(int argc, char **argv)
{
	struct authn_config	 cfg;
	struct keys_args	 a;
	struct stat		 st;
	char			 err[512];
	long long		 grace;
	int			 rc;

	memset(&cfg, 0, sizeof(cfg));
	/* The data keys are another file with another life cycle. */
	if (argc > 1 && strcmp(argv[1], "rotate-data") == 0)
		return cli_keys_rotate_data(argc - 1, argv + 1);
	if ((rc = keys_parse(argc, argv, &a)) != 0)
		return rc < 0 ? CLI_OK : rc;
	if (config_load(authn_config_specs, authn_config_nspecs, &cfg,
	    a.config, err, sizeof(err)) != 0) {
		fprintf(stderr, "websands %s: configuration: %s\n", a.cmd,
		    err);
		return CLI_FAIL;
	}
	if (stat(cfg.keys_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "websands %s: KEYS_DIR %s is not a "
		    "directory\n", a.cmd, cfg.keys_dir);
		rc = CLI_FAIL;
		goto out;
	}
	/* Every token an old key signed is expired, leeway and all. */
	grace = a.grace >= 0 ? a.grace :
	    (long long)cfg.access_ttl_s + cfg.leeway_s;
	if (strcmp(a.verb, "list") == 0)
		rc = keys_list(&a, cfg.keys_dir);
	else
		rc = keys_change(&a, cfg.keys_dir, grace);
out:
	config_free(authn_config_specs, authn_config_nspecs, &cfg);
	return rc;
}
