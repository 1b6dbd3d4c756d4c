/*
 * Query parameters of the admin lists, parsed strictly at the edge: a
 * value is either exactly what the parameter allows or the request
 * gets 400.  Nothing here builds SQL; the handlers pass the parsed
 * values as statement parameters.
 */
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "b64url.h"
#include "error.h"
#include "validate.h"

/* A query key we may echo as an errors member: short and plain. */
static int
admin_key_plain(const char *k, size_t n)
{
	size_t	 i;

	if (n == 0 || n > 32)
		return 0;
	for (i = 0; i < n; i++) {
		char c = k[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '_' || c == '-' ||
		    c == '.'))
			return 0;
	}
	return 1;
}

int
admin_param_known(const struct req *r, const char * const *allowed,
    json_t *errors)
{
	const char	*p, *amp, *eq;
	char		 key[33];
	size_t		 n, kn, i;
	int		 bad = 0, known;

	for (p = r->query; p != NULL && *p != '\0'; p = amp) {
		amp = strchr(p, '&');
		n = amp != NULL ? (size_t)(amp - p) : strlen(p);
		if (amp != NULL)
			amp++;
		if (n == 0)
			continue;
		eq = memchr(p, '=', n);
		kn = eq != NULL ? (size_t)(eq - p) : n;
		known = 0;
		for (i = 0; allowed[i] != NULL; i++)
			if (strlen(allowed[i]) == kn &&
			    memcmp(allowed[i], p, kn) == 0)
				known = 1;
		if (known)
			continue;
		bad = 1;
		if (admin_key_plain(p, kn)) {
			memcpy(key, p, kn);
			key[kn] = '\0';
			validate_add_error(errors, key,
			    "is not a known parameter");
		} else
			validate_add_error(errors, "_query",
			    "has a parameter that is not known");
	}
	return bad ? WS_ERR_INVALID : 0;
}

int
admin_param(const struct req *r, const char *name, char *out,
    size_t outlen, json_t *errors)
{
	int	 rc;

	rc = req_query(r, name, out, outlen);
	if (rc == WS_ERR_NOTFOUND)
		return rc;
	if (rc == WS_ERR_TOOBIG) {
		validate_add_error(errors, name, "is too long");
		return WS_ERR_INVALID;
	}
	if (rc != 0) {
		validate_add_error(errors, name,
		    "must be given once and be well encoded");
		return WS_ERR_INVALID;
	}
	if (out[0] == '\0') {
		validate_add_error(errors, name, "must not be empty");
		return WS_ERR_INVALID;
	}
	if (!admin_text_ok(out)) {
		validate_add_error(errors, name,
		    "must be UTF-8 text without control characters");
		return WS_ERR_INVALID;
	}
	return 0;
}

int
admin_parse_long(const char *s, long min, long max, long *out)
{
	long	 v = 0;
	size_t	 i, n = strlen(s);

	/* 18 digits cannot overflow a long; more is out of range anyway. */
	if (n == 0 || n > 18 || (n > 1 && s[0] == '0'))
		return WS_ERR_INVALID;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return WS_ERR_INVALID;
		v = v * 10 + (s[i] - '0');
	}
	if (v < min || v > max)
		return WS_ERR_INVALID;
	*out = v;
	return 0;
}

int
admin_parse_bool(const char *s, int *out)
{
	if (strcmp(s, "true") == 0)
		*out = 1;
	else if (strcmp(s, "false") == 0)
		*out = 0;
	else
		return WS_ERR_INVALID;
	return 0;
}

/* n decimal digits at s into *v; 0 when they are all digits. */
static int
admin_digits(const char *s, size_t n, int *v)
{
	size_t	 i;

	*v = 0;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return WS_ERR_INVALID;
		*v = *v * 10 + (s[i] - '0');
	}
	return 0;
}

static int
admin_days_in_month(int y, int m)
{
	static const int	 days[12] = { 31, 28, 31, 30, 31, 30, 31, 31,
				    30, 31, 30, 31 };

	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return days[m - 1];
}

int
admin_parse_rfc3339(const char *s)
{
	int	 y, mo, d, h, mi, se, oh, om;
	size_t	 n = strlen(s), i = 19;

	/* "YYYY-MM-DDTHH:MM:SS" is 19 characters, the zone at least 1. */
	if (n < 20 || n > 40)
		return WS_ERR_INVALID;
	if (admin_digits(s, 4, &y) || s[4] != '-' ||
	    admin_digits(s + 5, 2, &mo) || s[7] != '-' ||
	    admin_digits(s + 8, 2, &d) || (s[10] != 'T' && s[10] != 't') ||
	    admin_digits(s + 11, 2, &h) || s[13] != ':' ||
	    admin_digits(s + 14, 2, &mi) || s[16] != ':' ||
	    admin_digits(s + 17, 2, &se))
		return WS_ERR_INVALID;
	/* Year 0 does not exist for PostgreSQL; 60 is a leap second. */
	if (y < 1 || mo < 1 || mo > 12 || d < 1 ||
	    d > admin_days_in_month(y, mo) || h > 23 || mi > 59 || se > 60)
		return WS_ERR_INVALID;
	if (s[i] == '.') {
		size_t start = ++i;

		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == start || i - start > 9)
			return WS_ERR_INVALID;
	}
	if ((s[i] == 'Z' || s[i] == 'z') && i + 1 == n)
		return 0;
	/* PostgreSQL takes offsets up to 15:59; real ones stop at 14. */
	if ((s[i] != '+' && s[i] != '-') || n - i != 6 ||
	    admin_digits(s + i + 1, 2, &oh) || s[i + 3] != ':' ||
	    admin_digits(s + i + 4, 2, &om) || oh > 15 || om > 59)
		return WS_ERR_INVALID;
	return 0;
}

int
admin_text_ok(const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;
	unsigned		 cp;
	size_t			 k, more;

	while (*p != '\0') {
		if (*p < 0x80) {
			if (*p < 0x20 || *p == 0x7f)
				return 0;
			p++;
			continue;
		}
		if (*p >= 0xC2 && *p <= 0xDF) {
			cp = *p & 0x1F;
			more = 1;
		} else if (*p >= 0xE0 && *p <= 0xEF) {
			cp = *p & 0x0F;
			more = 2;
		} else if (*p >= 0xF0 && *p <= 0xF4) {
			cp = *p & 0x07;
			more = 3;
		} else
			return 0;
		for (k = 1; k <= more; k++) {
			if ((p[k] & 0xC0) != 0x80)
				return 0;
			cp = (cp << 6) | (p[k] & 0x3F);
		}
		/* Overlong forms, surrogates and past U+10FFFF. */
		if ((more == 2 && cp < 0x800) || (more == 3 && cp < 0x10000) ||
		    (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF)
			return 0;
		/* C1 controls are controls too. */
		if (cp >= 0x80 && cp <= 0x9F)
			return 0;
		p += more + 1;
	}
	return 1;
}

int
admin_like_prefix(const char *prefix, char *out, size_t outlen)
{
	size_t	 o = 0;

	for (; *prefix != '\0'; prefix++) {
		if (*prefix == '\\' || *prefix == '%' || *prefix == '_') {
			if (o + 1 >= outlen)
				return WS_ERR_TOOBIG;
			out[o++] = '\\';
		}
		if (o + 1 >= outlen)
			return WS_ERR_TOOBIG;
		out[o++] = *prefix;
	}
	if (o + 2 > outlen)
		return WS_ERR_TOOBIG;
	out[o++] = '%';
	out[o] = '\0';
	return 0;
}

int
admin_cursor_encode(const char * const *parts, size_t n, char **out)
{
	json_t	*a;
	char	*js = NULL;
	size_t	 i;
	int	 rc = WS_ERR_NOMEM;

	*out = NULL;
	if ((a = json_array()) == NULL)
		return rc;
	for (i = 0; i < n; i++)
		if (json_array_append_new(a, json_string(parts[i])) != 0)
			goto out;
	if ((js = json_dumps(a, JSON_COMPACT)) == NULL)
		goto out;
	rc = b64url_encode_alloc(js, strlen(js), out);
out:
	free(js);
	json_decref(a);
	return rc;
}

int
admin_cursor_decode(const char *cursor, size_t n, json_t **out)
{
	unsigned char	*raw = NULL;
	json_t		*a = NULL;
	size_t		 len, i;
	int		 rc = WS_ERR_INVALID;

	*out = NULL;
	if (strlen(cursor) > ADMIN_CURSOR_MAX ||
	    b64url_decode_alloc(cursor, strlen(cursor), &raw, &len) != 0)
		goto out;
	a = json_loadb((const char *)raw, len, JSON_REJECT_DUPLICATES,
	    NULL);
	if (!json_is_array(a) || json_array_size(a) != n)
		goto out;
	for (i = 0; i < n; i++) {
		const json_t *v = json_array_get(a, i);

		if (!json_is_string(v) ||
		    strlen(json_string_value(v)) != json_string_length(v) ||
		    !admin_text_ok(json_string_value(v)))
			goto out;
	}
	*out = a;
	a = NULL;
	rc = 0;
out:
	json_decref(a);
	free(raw);
	return rc;
}
