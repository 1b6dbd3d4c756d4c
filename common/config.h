/*
 * Configuration from the environment or an env file.  Each program
 * describes the values it reads with a table of config_spec; the
 * loader fills a struct of the caller's through the offsets in that
 * table, validating every value, and reports the first bad one by name.
 */
#ifndef WEBSANDS_CONFIG_H
#define WEBSANDS_CONFIG_H

#include <stddef.h>

enum config_type {
	CONFIG_STRING,	/* char *, strdup'ed; NULL when unset and no default */
	CONFIG_INT,	/* long, within [min, max] */
	CONFIG_BOOL,	/* int 0/1 from true|false|1|0|yes|no|on|off */
	CONFIG_ENUM,	/* int: index into a '|'-separated list in choices */
	CONFIG_URL,	/* char *: postgresql://, http(s)://, ... */
	CONFIG_PATH	/* char *: a path that must exist */
};

#define CONFIG_REQUIRED	0x1	/* unset and no default: an error */
#define CONFIG_SECRET	0x2	/* never echoed in a message or log */
#define CONFIG_NONE	0x4	/* the string "none" means unset (NULL) */

struct config_spec {
	const char		*name;	/* the environment variable */
	enum config_type	 type;
	size_t			 offset; /* offsetof(target struct, field) */
	const char		*def;	/* default as text, or NULL */
	long			 min, max; /* CONFIG_INT bounds */
	const char		*choices; /* CONFIG_ENUM: "a|b|c" */
	int			 flags;
	const char		*help;	/* one line for --help and the README */
};

/*
 * Reads the env file at path (NULL: the file named by WEBSANDS_CONFIG,
 * if set) into the environment without overriding variables that are
 * already set, then fills target from specs[0..n).  Lines are NAME=VALUE,
 * with # comments and optional surrounding quotes on VALUE.
 * Returns 0, or WS_ERR_INVALID with a message naming the variable in
 * err (of errlen bytes).  Strings in target are the caller's to free
 * with config_free.
 */
int	 config_load(const struct config_spec *specs, size_t n,
	    void *target, const char *path, char *err, size_t errlen);
/* Frees the strings config_load put into target; NULL-safe. */
void	 config_free(const struct config_spec *specs, size_t n,
	    void *target);

/* The settings every WebSands process shares. */
struct ws_config {
	char	*database_url;
	char	*database_read_url;
	long	 db_pool_size;
	long	 db_acquire_timeout_ms;
	long	 db_connect_timeout_s;
	long	 db_statement_timeout_ms;
	char	*memcached_servers;
	long	 memcached_timeout_ms;
	int	 log_level;		/* enum log_level */
	char	*metrics_dir;
	long	 body_limit;
	char	*trusted_proxies;
	char	*public_url;
	long	 breaker_failures;
	long	 breaker_open_ms;
	long	 shutdown_grace_s;
};

extern const struct config_spec	ws_config_specs[];
extern const size_t		ws_config_nspecs;

#endif
