/*
 * Request-body validation from a rule table.  The messages are fixed
 * strings written here, never echoes of the input, so an error reply
 * cannot carry a client's payload back out.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "error.h"
#include "validate.h"

#define VALIDATE_DEFAULT_MAX	1024

size_t
validate_utf8_chars(const char *s, size_t len)
{
	size_t	 i, n = 0;

	/* Every byte that does not continue a sequence starts a char. */
	for (i = 0; i < len; i++)
		if (((unsigned char)s[i] & 0xC0) != 0x80)
			n++;
	return n;
}

int
validate_add_error(json_t *errors, const char *field, const char *msg)
{
	json_t	*list;

	if ((list = json_object_get(errors, field)) == NULL) {
		if ((list = json_array()) == NULL ||
		    json_object_set_new(errors, field, list) != 0)
			return WS_ERR_NOMEM;
	}
	return json_array_append_new(list, json_string(msg)) == 0 ?
	    0 : WS_ERR_NOMEM;
}

static const struct field_rule *
validate_find(const struct field_rule *rules, size_t n, const char *name)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		if (strcmp(rules[i].name, name) == 0)
			return &rules[i];
	return NULL;
}

static int
validate_choice(const char *choices, const char *v)
{
	size_t	 vlen = strlen(v);
	const char *p = choices, *bar;

	while (p != NULL && *p != '\0') {
		bar = strchr(p, '|');
		if ((size_t)(bar != NULL ? bar - p : (long)strlen(p)) ==
		    vlen && strncmp(p, v, vlen) == 0)
			return 1;
		p = bar != NULL ? bar + 1 : NULL;
	}
	return 0;
}

/* The problem with one string value, or NULL. */
static const char *
validate_string(const struct field_rule *fr, const json_t *v)
{
	const char	*s = json_string_value(v);
	size_t		 len = json_string_length(v), chars, i, max;

	/* jansson keeps "\u0000" inside strings; C code must never. */
	if (strlen(s) != len)
		return "must not contain NUL characters";
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if ((c < 0x20 || c == 0x7f) && !(fr->multiline &&
		    (c == '\n' || c == '\r' || c == '\t')))
			return "must not contain control characters";
	}
	chars = validate_utf8_chars(s, len);
	max = fr->max_len != 0 ? fr->max_len : VALIDATE_DEFAULT_MAX;
	if (chars < fr->min_len)
		return fr->min_len == 1 ? "must not be empty" :
		    "is too short";
	if (chars > max)
		return "is too long";
	if (fr->type == FIELD_ENUM && !validate_choice(fr->choices, s))
		return "is not one of the allowed values";
	if (fr->check != NULL)
		return fr->check(s);
	return NULL;
}

static const char *
validate_value(const struct field_rule *fr, const json_t *v)
{
	json_int_t	 i;

	switch (fr->type) {
	case FIELD_STRING:
	case FIELD_ENUM:
		if (!json_is_string(v))
			return "must be a string";
		return validate_string(fr, v);
	case FIELD_BOOL:
		return json_is_boolean(v) ? NULL : "must be true or false";
	case FIELD_INT:
		if (!json_is_integer(v))
			return "must be an integer";
		i = json_integer_value(v);
		if (i < fr->min || i > fr->max)
			return "is out of range";
		return NULL;
	}
	return "has an unknown type";
}

int
validate_body(json_t *body, const struct field_rule *rules,
    size_t n, json_t *errors)
{
	const struct field_rule	*fr;
	const char		*key, *msg;
	json_t			*v;
	size_t			 i;
	int			 bad = 0;

	json_object_foreach(body, key, v) {
		if ((fr = validate_find(rules, n, key)) == NULL) {
			/* The key itself came from the client: bound it. */
			if (strlen(key) > 64 || validate_add_error(errors,
			    key, "is not a known field") != 0)
				validate_add_error(errors, "_body",
				    "has unknown fields");
			bad = 1;
			continue;
		}
		if (json_is_null(v) && !fr->required)
			continue;
		if ((msg = validate_value(fr, v)) != NULL) {
			validate_add_error(errors, key, msg);
			bad = 1;
		}
	}
	for (i = 0; i < n; i++) {
		v = json_object_get(body, rules[i].name);
		if (rules[i].required && (v == NULL || json_is_null(v))) {
			validate_add_error(errors, rules[i].name,
			    "is required");
			bad = 1;
		}
	}
	return bad ? WS_ERR_INVALID : 0;
}

int
validate_or_reply(struct req *r, struct resp *rs, json_t *body,
    const struct field_rule *rules, size_t n)
{
	json_t	*errors;
	int	 rc;

	if ((errors = json_object()) == NULL) {
		resp_problem(rs, r, 500, "INTERNAL_ERROR", NULL, NULL);
		return WS_ERR_NOMEM;
	}
	if ((rc = validate_body(body, rules, n, errors)) != 0)
		resp_problem(rs, r, 400, "VALIDATION_FAILED",
		    "The request has invalid fields.", errors);
	json_decref(errors);
	return rc;
}

const char *
validate_username(const char *v)
{
	size_t	 i, len = strlen(v);

	if (len < 3 || len > 50)
		return "must be 3 to 50 characters";
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)v[i]) && v[i] != '_' &&
		    v[i] != '-')
			return "may hold only letters, digits, '_' and '-'";
	return NULL;
}

/*
 * A deliberately plain address check: one '@', a local part of
 * printable ASCII without the characters that mean something to a
 * shell, a header or an SMTP command, and a domain of dot-separated
 * labels.  Addresses outside it (quoted local parts, IP literals) are
 * legal but not worth their risk here.
 */
const char *
validate_email(const char *v)
{
	const char	*at, *p, *label;
	size_t		 len = strlen(v);

	if (len > 254 || (at = strchr(v, '@')) == NULL ||
	    strchr(at + 1, '@') != NULL)
		return "is not a valid email address";
	if (at == v || at - v > 64)
		return "is not a valid email address";
	for (p = v; p < at; p++)
		if (!isalnum((unsigned char)*p) &&
		    strchr(".!#%&'*+/=?^_{}~-", *p) == NULL)
			return "is not a valid email address";
	if (v[0] == '.' || at[-1] == '.' || strstr(v, "..") != NULL)
		return "is not a valid email address";
	label = at + 1;
	for (p = label; ; p++) {
		if (*p == '.' || *p == '\0') {
			if (p == label || p - label > 63 || label[0] == '-' ||
			    p[-1] == '-')
				return "is not a valid email address";
			if (*p == '\0')
				break;
			label = p + 1;
		} else if (!isalnum((unsigned char)*p) && *p != '-')
			return "is not a valid email address";
	}
	if (strchr(at + 1, '.') == NULL)
		return "is not a valid email address";
	return NULL;
}

void
validate_email_lower(char *out, size_t outlen, const char *in)
{
	size_t	 i;

	snprintf(out, outlen, "%s", in);
	for (i = 0; out[i] != '\0'; i++)
		out[i] = (char)tolower((unsigned char)out[i]);
}
