/*
 * The password policy of design.md 7, checked when a password is set
 * (register, change, reset):
 *   INVALID_UTF8  the password is not valid UTF-8;
 *   TOO_SHORT     fewer than min_length characters (Unicode code
 *                 points, not bytes);
 *   TOO_LONG      more than max_bytes bytes: 72 while bcrypt is the
 *                 active hash (it would ignore the rest), else the
 *                 documented cap of PASSWORD_MAX (1024) bytes;
 *   NO_UPPER, NO_LOWER, NO_DIGIT, NO_SPECIAL
 *                 the composition rules the requirements ask for.
 *                 OWASP ASVS 6.2.5 advises against them, so they are
 *                 one switch (composition) that is on by default;
 *   COMMON        the password is in the deny-list file, compared
 *                 without regard to ASCII case;
 *   CONTEXT       it contains, without regard to case, the username,
 *                 the local part of the email address, a piece of
 *                 either split at . _ - +, or a context word
 *                 ("websands", "admin" unless configured otherwise),
 *                 each only when it is at least 4 characters long.
 * Each rule has a stable code (the names above) and a message for
 * people.
 */
#ifndef WEBSANDS_PASSWORD_POLICY_H
#define WEBSANDS_PASSWORD_POLICY_H

#include <stddef.h>
#include <jansson.h>

#include "password.h"

enum password_rule {
	PASSWORD_RULE_INVALID_UTF8	= 0x001,
	PASSWORD_RULE_TOO_SHORT		= 0x002,
	PASSWORD_RULE_TOO_LONG		= 0x004,
	PASSWORD_RULE_NO_UPPER		= 0x008,
	PASSWORD_RULE_NO_LOWER		= 0x010,
	PASSWORD_RULE_NO_DIGIT		= 0x020,
	PASSWORD_RULE_NO_SPECIAL	= 0x040,
	PASSWORD_RULE_COMMON		= 0x080,
	PASSWORD_RULE_CONTEXT		= 0x100
};

#define PASSWORD_POLICY_MIN_LENGTH	8
/* Context words shorter than this are not looked for. */
#define PASSWORD_POLICY_CONTEXT_MIN	4
/* The largest deny-list file password_denylist_load reads. */
#define PASSWORD_DENYLIST_FILE_MAX	((size_t)64 * 1024 * 1024)

/* A loaded deny-list; read-only after loading, so thread-safe. */
struct password_denylist;

struct password_policy {
	size_t	 min_length;	/* code points */
	size_t	 max_bytes;	/* at most PASSWORD_MAX */
	int	 composition;	/* require upper, lower, digit, special */
	/* The deny-list, or NULL for none; not owned. */
	const struct password_denylist *denylist;
	/*
	 * Context words, NULL-terminated, or NULL for the built-in
	 * "websands" and "admin"; not owned.
	 */
	const char * const *context_words;
};

/*
 * Sets p to the default policy for algo: 8 characters, 72 bytes with
 * bcrypt or PASSWORD_MAX with Argon2id, composition on, no deny-list,
 * the built-in context words.
 */
void	 password_policy_init(struct password_policy *p,
	    enum password_algo algo);

/*
 * Loads the deny-list at path: one password a line (LF or CRLF), lines
 * starting with "#" and empty lines skipped, lines longer than
 * PASSWORD_MAX ignored.  Kept as a sorted array of ASCII-lowercased
 * strings.  *out is the caller's to free with password_denylist_free.
 * Returns 0, WS_ERR_NOTFOUND, WS_ERR_IO, WS_ERR_TOOBIG (file over
 * PASSWORD_DENYLIST_FILE_MAX) or WS_ERR_NOMEM.
 */
int	 password_denylist_load(struct password_denylist **out,
	    const char *path);
void	 password_denylist_free(struct password_denylist *d);
/* The number of distinct entries loaded. */
size_t	 password_denylist_count(const struct password_denylist *d);
/* 1 if pw is on the list, ignoring ASCII case; else 0. */
int	 password_denylist_contains(const struct password_denylist *d,
	    const char *pw);

/*
 * Checks pw (username and email may be NULL) and returns the rules it
 * fails as a mask of enum password_rule, 0 when it passes.  When pw
 * is not valid UTF-8 or is longer than PASSWORD_MAX, only
 * INVALID_UTF8 and TOO_LONG are looked at.
 */
unsigned password_policy_eval(const struct password_policy *p,
	    const char *pw, const char *username, const char *email);

/*
 * As password_policy_eval, and appends one message per failed rule to
 * the array errors["password"] (created when absent; errors is a JSON
 * object, as in a problem reply).  Returns 0 when pw passes,
 * WS_ERR_INVALID when it does not, WS_ERR_NOMEM.
 */
int	 password_policy_check(const struct password_policy *p,
	    const char *pw, const char *username, const char *email,
	    json_t *errors);

/* The stable code of rule ("TOO_SHORT"); NULL for an unknown one. */
const char *password_rule_code(enum password_rule rule);

/*
 * Writes the message for rule under p ("must be at least 8 characters
 * long") into out; returns 0 or WS_ERR_INVALID for an unknown rule or
 * an outlen too small.
 */
int	 password_rule_message(const struct password_policy *p,
	    enum password_rule rule, char *out, size_t outlen);

#endif
