/*
 * The password policy of password_policy.h.  Letters are told apart
 * with the C library's Unicode tables (the C.UTF-8 locale, held as a
 * locale object so no thread's global locale changes); where that
 * locale is missing, only ASCII letters count as upper or lower case.
 * Copies of the password made here are wiped before they go out of
 * scope.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <locale.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wctype.h>

#include <sodium.h>

#include "error.h"
#include "password_policy.h"

/* The longest username or email piece looked for inside a password. */
#define CONTEXT_MAX	320

struct password_denylist {
	char	*data;		/* the file, lines split and lowercased */
	char	**v;		/* sorted, distinct entries into data */
	size_t	 n;
};

static const char * const default_context_words[] = {
	"websands", "admin", NULL
};

static pthread_once_t	 ctype_once = PTHREAD_ONCE_INIT;
static locale_t		 ctype_loc = (locale_t)0;

static void
ctype_init(void)
{
	ctype_loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

void
password_policy_init(struct password_policy *p, enum password_algo algo)
{
	memset(p, 0, sizeof(*p));
	p->min_length = PASSWORD_POLICY_MIN_LENGTH;
	p->max_bytes = algo == PASSWORD_BCRYPT ? PASSWORD_BCRYPT_MAX :
	    PASSWORD_MAX;
	p->composition = 1;
	p->denylist = NULL;
	p->context_words = NULL;
}

/*
 * Decodes the code point at s (n > 0 bytes left) into *cp and returns
 * its length, or 0 when the bytes are not well-formed UTF-8: overlong
 * forms, surrogates and values past U+10FFFF are refused.
 */
static size_t
utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t	 c;
	size_t		 len, i;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		c = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		c = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		c = s[0] & 0x07;
	} else
		return 0;
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && c < 0x800) || (len == 4 && c < 0x10000) ||
	    c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* The character classes the composition rules look for. */
#define CLASS_UPPER	0x1
#define CLASS_LOWER	0x2
#define CLASS_DIGIT	0x4
#define CLASS_SPECIAL	0x8

static unsigned
char_class(uint32_t cp)
{
	if (cp >= '0' && cp <= '9')
		return CLASS_DIGIT;
	if (cp < 0x80) {
		if (cp >= 'A' && cp <= 'Z')
			return CLASS_UPPER;
		if (cp >= 'a' && cp <= 'z')
			return CLASS_LOWER;
		return CLASS_SPECIAL;
	}
	if (ctype_loc == (locale_t)0)
		return CLASS_SPECIAL;
	if (iswupper_l((wint_t)cp, ctype_loc))
		return CLASS_UPPER;
	if (iswlower_l((wint_t)cp, ctype_loc))
		return CLASS_LOWER;
	/* A letter of a script without case is neither, nor special. */
	if (iswalnum_l((wint_t)cp, ctype_loc))
		return 0;
	return CLASS_SPECIAL;
}

/*
 * Walks pw once: *chars gets its length in code points and *classes
 * the classes seen.  Returns 0, or -1 when pw is not valid UTF-8.
 */
static int
scan(const char *pw, size_t len, size_t *chars, unsigned *classes)
{
	const unsigned char	*s = (const unsigned char *)pw;
	uint32_t		 cp;
	size_t			 i, k;

	*chars = 0;
	*classes = 0;
	for (i = 0; i < len; i += k) {
		if ((k = utf8_next(s + i, len - i, &cp)) == 0)
			return -1;
		(*chars)++;
		*classes |= char_class(cp);
	}
	return 0;
}

/* Copies s (n bytes) into out lowercased in ASCII, NUL-terminated. */
static void
ascii_lower(char *out, const char *s, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)s[i]);
	out[n] = '\0';
}

/* 1 if hay (hlen bytes) contains needle (n > 0 bytes). */
static int
has_bytes(const char *hay, size_t hlen, const char *needle, size_t n)
{
	size_t	 i;

	for (i = 0; n <= hlen && i <= hlen - n; i++)
		if (hay[i] == needle[0] && memcmp(hay + i, needle, n) == 0)
			return 1;
	return 0;
}

/*
 * 1 if the lowered password low (of len bytes) contains word (n bytes,
 * any case), when word is long enough to matter.
 */
static int
contains_word(const char *low, size_t len, const char *word, size_t n)
{
	char	 w[CONTEXT_MAX + 1];

	if (n < PASSWORD_POLICY_CONTEXT_MIN || n > CONTEXT_MAX)
		return 0;
	ascii_lower(w, word, n);
	return has_bytes(low, len, w, n);
}

/*
 * 1 if low contains s (n bytes) or a piece of s between the separators
 * . _ - +, so "alice.smith" catches "Smith2024!" as well.
 */
static int
contains_pieces(const char *low, size_t len, const char *s, size_t n)
{
	size_t	 i, start;

	if (contains_word(low, len, s, n))
		return 1;
	start = 0;
	for (i = 0; i <= n; i++) {
		if (i < n && strchr("._-+", s[i]) == NULL)
			continue;
		if (i - start < n && contains_word(low, len, s + start,
		    i - start))
			return 1;
		start = i + 1;
	}
	return 0;
}

static int
has_context(const struct password_policy *p, const char *low, size_t len,
    const char *username, const char *email)
{
	const char * const	*w;
	const char		*at;

	if (username != NULL &&
	    contains_pieces(low, len, username, strlen(username)))
		return 1;
	if (email != NULL) {
		at = strrchr(email, '@');
		if (contains_pieces(low, len, email, at != NULL ?
		    (size_t)(at - email) : strlen(email)))
			return 1;
	}
	w = p->context_words != NULL ? p->context_words :
	    default_context_words;
	for (; *w != NULL; w++)
		if (contains_word(low, len, *w, strlen(*w)))
			return 1;
	return 0;
}

static int
entry_cmp(const void *a, const void *b)
{
	return strcmp(*(char * const *)a, *(char * const *)b);
}

int
password_denylist_contains(const struct password_denylist *d,
    const char *pw)
{
	char		 low[PASSWORD_MAX + 1];
	const char	*key = low;
	size_t		 len;
	int		 found;

	if (d == NULL || pw == NULL || d->n == 0)
		return 0;
	len = strnlen(pw, PASSWORD_MAX + 1);
	if (len > PASSWORD_MAX)
		return 0;
	ascii_lower(low, pw, len);
	found = bsearch(&key, d->v, d->n, sizeof(d->v[0]), entry_cmp) !=
	    NULL;
	sodium_memzero(low, sizeof(low));
	return found;
}

size_t
password_denylist_count(const struct password_denylist *d)
{
	return d != NULL ? d->n : 0;
}

void
password_denylist_free(struct password_denylist *d)
{
	if (d == NULL)
		return;
	free(d->v);
	free(d->data);
	free(d);
}

/* Reads the whole regular file at path into a new NUL-ended buffer. */
static int
read_file(const char *path, char **out, size_t *outlen)
{
	struct stat	 st;
	char		*data = NULL;
	size_t		 len = 0;
	ssize_t		 r;
	int		 fd, rc = WS_ERR_IO;

	*out = NULL;
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return errno == ENOENT ? WS_ERR_NOTFOUND : WS_ERR_IO;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode))
		goto out;
	if ((uintmax_t)st.st_size > PASSWORD_DENYLIST_FILE_MAX) {
		rc = WS_ERR_TOOBIG;
		goto out;
	}
	if ((data = malloc((size_t)st.st_size + 1)) == NULL) {
		rc = WS_ERR_NOMEM;
		goto out;
	}
	/* A file that grows while it is read is cut at its first size. */
	while (len < (size_t)st.st_size) {
		r = read(fd, data + len, (size_t)st.st_size - len);
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1)
			goto out;
		if (r == 0)
			break;
		len += (size_t)r;
	}
	data[len] = '\0';
	*out = data;
	*outlen = len;
	data = NULL;
	rc = 0;
out:
	free(data);
	close(fd);
	return rc;
}

int
password_denylist_load(struct password_denylist **out, const char *path)
{
	struct password_denylist	*d = NULL;
	char				*p, *end, *nl;
	size_t				 len, lines, i, j, n;
	int				 rc;

	*out = NULL;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return WS_ERR_NOMEM;
	if ((rc = read_file(path, &d->data, &len)) != 0)
		goto out;
	lines = 1;
	for (i = 0; i < len; i++)
		if (d->data[i] == '\n')
			lines++;
	rc = WS_ERR_NOMEM;
	if ((d->v = calloc(lines, sizeof(d->v[0]))) == NULL)
		goto out;
	end = d->data + len;
	for (p = d->data; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		*nl = '\0';
		n = (size_t)(nl - p);
		if (n > 0 && p[n - 1] == '\r')
			p[--n] = '\0';
		if (n == 0 || p[0] == '#' || n > PASSWORD_MAX ||
		    memchr(p, '\0', n) != NULL)
			continue;
		ascii_lower(p, p, n);
		d->v[d->n++] = p;
	}
	qsort(d->v, d->n, sizeof(d->v[0]), entry_cmp);
	/* Drop duplicates, which case folding makes common. */
	for (i = j = 0; i < d->n; i++)
		if (j == 0 || strcmp(d->v[j - 1], d->v[i]) != 0)
			d->v[j++] = d->v[i];
	d->n = j;
	*out = d;
	d = NULL;
	rc = 0;
out:
	password_denylist_free(d);
	return rc;
}

unsigned
password_policy_eval(const struct password_policy *p, const char *pw,
    const char *username, const char *email)
{
	char		 low[PASSWORD_MAX + 1];
	size_t		 len, chars, max;
	unsigned	 classes, failed = 0;

	if (pw == NULL)
		return PASSWORD_RULE_TOO_SHORT;
	pthread_once(&ctype_once, ctype_init);
	max = p->max_bytes == 0 || p->max_bytes > PASSWORD_MAX ?
	    PASSWORD_MAX : p->max_bytes;
	len = strnlen(pw, PASSWORD_MAX + 1);
	if (len > max)
		failed |= PASSWORD_RULE_TOO_LONG;
	if (scan(pw, len, &chars, &classes) != 0)
		failed |= PASSWORD_RULE_INVALID_UTF8;
	/* Past these, the other rules would judge garbage. */
	if (len > PASSWORD_MAX || (failed & PASSWORD_RULE_INVALID_UTF8))
		return failed;
	if (chars < p->min_length)
		failed |= PASSWORD_RULE_TOO_SHORT;
	if (p->composition) {
		if (!(classes & CLASS_UPPER))
			failed |= PASSWORD_RULE_NO_UPPER;
		if (!(classes & CLASS_LOWER))
			failed |= PASSWORD_RULE_NO_LOWER;
		if (!(classes & CLASS_DIGIT))
			failed |= PASSWORD_RULE_NO_DIGIT;
		if (!(classes & CLASS_SPECIAL))
			failed |= PASSWORD_RULE_NO_SPECIAL;
	}
	if (password_denylist_contains(p->denylist, pw))
		failed |= PASSWORD_RULE_COMMON;
	ascii_lower(low, pw, len);
	if (has_context(p, low, len, username, email))
		failed |= PASSWORD_RULE_CONTEXT;
	sodium_memzero(low, sizeof(low));
	return failed;
}

const char *
password_rule_code(enum password_rule rule)
{
	switch (rule) {
	case PASSWORD_RULE_INVALID_UTF8:
		return "INVALID_UTF8";
	case PASSWORD_RULE_TOO_SHORT:
		return "TOO_SHORT";
	case PASSWORD_RULE_TOO_LONG:
		return "TOO_LONG";
	case PASSWORD_RULE_NO_UPPER:
		return "NO_UPPER";
	case PASSWORD_RULE_NO_LOWER:
		return "NO_LOWER";
	case PASSWORD_RULE_NO_DIGIT:
		return "NO_DIGIT";
	case PASSWORD_RULE_NO_SPECIAL:
		return "NO_SPECIAL";
	case PASSWORD_RULE_COMMON:
		return "COMMON";
	case PASSWORD_RULE_CONTEXT:
		return "CONTEXT";
	}
	return NULL;
}

int
password_rule_message(const struct password_policy *p,
    enum password_rule rule, char *out, size_t outlen)
{
	const char	*msg = NULL;
	size_t		 max;
	int		 n;

	switch (rule) {
	case PASSWORD_RULE_INVALID_UTF8:
		msg = "must be valid UTF-8 text";
		break;
	case PASSWORD_RULE_TOO_SHORT:
		n = snprintf(out, outlen, "must be at least %zu characters "
		    "long", p->min_length);
		return n < 0 || (size_t)n >= outlen ? WS_ERR_INVALID : 0;
	case PASSWORD_RULE_TOO_LONG:
		max = p->max_bytes == 0 || p->max_bytes > PASSWORD_MAX ?
		    PASSWORD_MAX : p->max_bytes;
		n = snprintf(out, outlen, "must be at most %zu bytes long",
		    max);
		return n < 0 || (size_t)n >= outlen ? WS_ERR_INVALID : 0;
	case PASSWORD_RULE_NO_UPPER:
		msg = "must contain an uppercase letter";
		break;
	case PASSWORD_RULE_NO_LOWER:
		msg = "must contain a lowercase letter";
		break;
	case PASSWORD_RULE_NO_DIGIT:
		msg = "must contain a digit";
		break;
	case PASSWORD_RULE_NO_SPECIAL:
		msg = "must contain a character that is neither a letter "
		    "nor a digit";
		break;
	case PASSWORD_RULE_COMMON:
		msg = "is too common; choose one that is harder to guess";
		break;
	case PASSWORD_RULE_CONTEXT:
		msg = "must not contain the username, the email address or "
		    "the name of the service";
		break;
	}
	if (msg == NULL)
		return WS_ERR_INVALID;
	n = snprintf(out, outlen, "%s", msg);
	return n < 0 || (size_t)n >= outlen ? WS_ERR_INVALID : 0;
}

/* The rules in the order their messages are reported. */
static const enum password_rule rule_order[] = {
	PASSWORD_RULE_INVALID_UTF8, PASSWORD_RULE_TOO_SHORT,
	PASSWORD_RULE_TOO_LONG, PASSWORD_RULE_NO_UPPER,
	PASSWORD_RULE_NO_LOWER, PASSWORD_RULE_NO_DIGIT,
	PASSWORD_RULE_NO_SPECIAL, PASSWORD_RULE_COMMON,
	PASSWORD_RULE_CONTEXT
};

int
password_policy_check(const struct password_policy *p, const char *pw,
    const char *username, const char *email, json_t *errors)
{
	json_t		*list;
	char		 msg[128];
	unsigned	 failed;
	size_t		 i;

	if ((failed = password_policy_eval(p, pw, username, email)) == 0)
		return 0;
	if (!json_is_object(errors))
		return WS_ERR_INVALID;
	list = json_object_get(errors, "password");
	if (list == NULL) {
		if ((list = json_array()) == NULL ||
		    json_object_set_new(errors, "password", list) != 0)
			return WS_ERR_NOMEM;
	} else if (!json_is_array(list))
		return WS_ERR_INVALID;
	for (i = 0; i < sizeof(rule_order) / sizeof(rule_order[0]); i++) {
		if (!(failed & rule_order[i]))
			continue;
		if (password_rule_message(p, rule_order[i], msg,
		    sizeof(msg)) != 0)
			continue;
		if (json_array_append_new(list, json_string(msg)) != 0)
			return WS_ERR_NOMEM;
	}
	return WS_ERR_INVALID;
}
