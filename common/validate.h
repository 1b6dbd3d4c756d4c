/*
 * Validation of request bodies at the edge, from a table of field ->
 * rule, so a handler only ever sees fields that exist, have the right
 * type and fit their bounds.  Unknown fields are refused, so nothing
 * can be mass-assigned.
 */
#ifndef WEBSANDS_VALIDATE_H
#define WEBSANDS_VALIDATE_H

#include <stddef.h>
#include <jansson.h>

#include "http.h"

enum field_type {
	FIELD_STRING,
	FIELD_BOOL,
	FIELD_INT,
	FIELD_ENUM	/* a string out of choices, "a|b|c" */
};

/* A check beyond type and length: NULL when fine, else a message. */
typedef const char	*(*field_check_fn)(const char *value);

struct field_rule {
	const char	*name;
	enum field_type	 type;
	int		 required;
	size_t		 min_len;	/* strings: characters, not bytes */
	size_t		 max_len;	/* strings: characters; 0 = 1024 */
	long		 min, max;	/* FIELD_INT */
	const char	*choices;	/* FIELD_ENUM */
	field_check_fn	 check;		/* optional */
	int		 multiline;	/* allow CR, LF and TAB */
};

/*
 * Checks body against rules[0..n).  Every problem is collected per
 * field; if there is any, it replies 400 VALIDATION_FAILED with an
 * `errors` object of field -> [messages] and returns non-zero.
 * Strings must be valid UTF-8 (jansson guarantees it) without NUL or,
 * unless multiline, any control character.
 */
int	 validate_or_reply(struct req *r, struct resp *rs,
	    json_t *body, const struct field_rule *rules, size_t n);
/* The same without replying: problems appended to errors. */
int	 validate_body(json_t *body, const struct field_rule *rules,
	    size_t n, json_t *errors);
/* Appends msg to errors[field], creating the list. 0 or WS_ERR_NOMEM. */
int	 validate_add_error(json_t *errors, const char *field,
	    const char *msg);
/* Code points in a valid UTF-8 string of len bytes. */
size_t	 validate_utf8_chars(const char *s, size_t len);

/* 3-50 of letters, digits, '_' and '-'. */
const char *validate_username(const char *v);
/* An address of at most 254 bytes, local part at most 64. */
const char *validate_email(const char *v);

/*
 * Copies an address into out (outlen bytes, truncating) in lower
 * case: the one form addresses are stored and compared in.
 */
void	 validate_email_lower(char *out, size_t outlen, const char *in);

#endif
