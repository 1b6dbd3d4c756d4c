/*
 * `websands keys generate | rotate | list`.  The work is done by
 * common/keyring.c; this file parses arguments, finds KEYS_DIR and
 * prints for an operator.
 */
#include <sys/stat.h>

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "cli_keys.h"
#include "config.h"
#include "error.h"
#include "jwt.h"
#include "keyring.h"

/* The operation itself failed; the usage and config cases have sysexits. */
#define KEYS_EXIT_FAIL	1

struct keys_cfg {
	char	*keys_dir;
};

static const struct config_spec keys_specs[] = {
	{ "KEYS_DIR", CONFIG_PATH, offsetof(struct keys_cfg, keys_dir),
	    NULL, 0, 0, NULL, CONFIG_REQUIRED,
	    "directory of the token-signing keys (<kid>.pem, <kid>.json)" },
};

struct keys_args {
	const char	*verb;
	const char	*config;
	const char	*alg;
	long long	 grace;
};

static void
keys_usage(FILE *f)
{
	fprintf(f,
	    "usage: websands keys generate [--alg RS256|PS256|ES256|EdDSA]\n"
	    "       websands keys rotate [--alg ALG] [--grace SECONDS]\n"
	    "       websands keys list\n"
	    "each takes --config FILE; KEYS_DIR names the key directory\n");
}

/* The value of option name at argv[*i] ("--name V" or "--name=V"). */
static const char *
keys_optval(int argc, char **argv, int *i, const char *name)
{
	size_t	 n = strlen(name);

	if (strncmp(argv[*i], name, n) != 0)
		return NULL;
	if (argv[*i][n] == '=')
		return argv[*i] + n + 1;
	if (argv[*i][n] != '\0' || *i + 1 >= argc)
		return NULL;
	return argv[++*i];
}

static int
keys_parse(int argc, char **argv, struct keys_args *a)
{
	const char	*v;
	char		*end;
	int		 i = 0;

	memset(a, 0, sizeof(*a));
	a->grace = JWT_ACCESS_TTL_DEFAULT + JWT_LEEWAY_DEFAULT;
	if (argc > 0 && strcmp(argv[0], "keys") == 0)
		i++;
	if (i >= argc)
		return EX_USAGE;
	a->verb = argv[i++];
	for (; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			keys_usage(stdout);
			return -1;
		}
		if ((v = keys_optval(argc, argv, &i, "--config")) != NULL)
			a->config = v;
		else if ((v = keys_optval(argc, argv, &i, "--alg")) != NULL)
			a->alg = v;
		else if ((v = keys_optval(argc, argv, &i, "--grace")) !=
		    NULL) {
			errno = 0;
			a->grace = strtoll(v, &end, 10);
			if (errno != 0 || end == v || *end != '\0' ||
			    a->grace < 0 || a->grace > 366LL * 24 * 3600) {
				fprintf(stderr, "websands keys: --grace "
				    "takes seconds, 0 to 31622400\n");
				return EX_USAGE;
			}
		} else {
			fprintf(stderr, "websands keys: unknown argument "
			    "'%s'\n", argv[i]);
			return EX_USAGE;
		}
	}
	if (a->alg != NULL && strcmp(a->verb, "list") == 0)
		return EX_USAGE;
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
keys_list(const char *dir)
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
		fprintf(stderr, "websands keys: cannot load the keys in "
		    "KEYS_DIR %s: %s (the log line above says why)\n", dir,
		    ws_err_name(rc));
		return KEYS_EXIT_FAIL;
	}
	printf("%-22s  %-5s  %-20s  %-20s  %s\n", "KID", "ALG", "CREATED",
	    "RETIRES", "STATE");
	for (i = 0; i < keyring_count(kr); i++) {
		if (keyring_info(kr, i, 0, &ki) != 0)
			break;
		keys_date(ki.created_at, created, sizeof(created));
		keys_date(ki.retire_at, retire, sizeof(retire));
		printf("%-22s  %-5s  %-20s  %-20s  %s\n", ki.kid,
		    keyring_alg_name(ki.alg), created, retire,
		    states[ki.state]);
	}
	if (keyring_signer(kr) == NULL)
		fprintf(stderr, "websands keys: no key signs; run "
		    "`websands keys rotate`\n");
	keyring_free(kr);
	return EX_OK;
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
keys_run(const struct keys_args *a, const char *dir)
{
	enum keyring_alg	 alg = KEYRING_RS256;
	char			 kid[KEYRING_KID_SIZE];
	int			 rc;

	if (strcmp(a->verb, "list") == 0)
		return keys_list(dir);
	if (strcmp(a->verb, "generate") == 0) {
		if (a->alg != NULL && keyring_alg_parse(a->alg, &alg) != 0)
			goto badalg;
		rc = keyring_generate(dir, alg, kid);
	} else if (strcmp(a->verb, "rotate") == 0) {
		if (a->alg != NULL && keyring_alg_parse(a->alg, &alg) != 0)
			goto badalg;
		rc = a->alg != NULL ? 0 : keys_signer_alg(dir, &alg);
		if (rc == 0)
			rc = keyring_rotate(dir, alg, a->grace, kid);
	} else {
		fprintf(stderr, "websands keys: unknown verb '%s'\n",
		    a->verb);
		keys_usage(stderr);
		return EX_USAGE;
	}
	if (rc != 0) {
		fprintf(stderr, "websands keys %s: failed in KEYS_DIR %s: "
		    "%s (the log line above says why)\n", a->verb, dir,
		    ws_err_name(rc));
		return KEYS_EXIT_FAIL;
	}
	printf("%s %s\n", kid, keyring_alg_name(alg));
	if (strcmp(a->verb, "rotate") == 0)
		printf("older keys verify for %lld more seconds; restart "
		    "or reload every responder so they see the new key\n",
		    a->grace);
	return EX_OK;
badalg:
	fprintf(stderr, "websands keys: --alg must be RS256, PS256, ES256 "
	    "or EdDSA\n");
	return EX_USAGE;
}

int
cli_keys(int argc, char **argv)
{
	struct keys_cfg	 cfg;
	struct stat	 st;
	char		 err[512];
	struct keys_args a;
	int		 rc;

	memset(&cfg, 0, sizeof(cfg));
	if ((rc = keys_parse(argc, argv, &a)) != 0) {
		if (rc == -1)
			return EX_OK;
		keys_usage(stderr);
		return rc;
	}
	if (config_load(keys_specs, sizeof(keys_specs) /
	    sizeof(keys_specs[0]), &cfg, a.config, err, sizeof(err)) != 0) {
		fprintf(stderr, "websands keys: %s\n", err);
		return EX_CONFIG;
	}
	if (stat(cfg.keys_dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
		fprintf(stderr, "websands keys: KEYS_DIR %s is not a "
		    "directory\n", cfg.keys_dir);
		rc = EX_CONFIG;
		goto out;
	}
	rc = keys_run(&a, cfg.keys_dir);
out:
	config_free(keys_specs, sizeof(keys_specs) / sizeof(keys_specs[0]),
	    &cfg);
	return rc;
}
