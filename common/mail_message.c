/*
 * RFC 5322 / MIME message building for the mailer.  Written by hand
 * because what it needs is small (a few headers, RFC 2047 words,
 * quoted-printable) and its safety properties are easier to check
 * here than through a general MIME library.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "error.h"
#include "mail_message.h"

/* Bytes of UTF-8 per RFC 2047 word: 52 base64 characters, no padding
 * but in the last word, and a word of 64 characters in all. */
#define WORD_BYTES	39

static int
is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9');
}

/* RFC 5322 atext: the characters of a dot-atom besides the dots. */
static int
is_atext(char c)
{
	return c != '\0' && (is_alnum(c) ||
	    strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

int
mail_message_addr_valid(const char *addr)
{
	const char	*at, *p, *label;
	size_t		 len;

	if (addr == NULL)
		return 0;
	len = strnlen(addr, MAIL_ADDR_MAX + 1);
	if (len == 0 || len > MAIL_ADDR_MAX)
		return 0;
	if ((at = strchr(addr, '@')) == NULL || strchr(at + 1, '@') != NULL)
		return 0;
	if (at == addr || at - addr > 64)
		return 0;
	for (p = addr; p < at; p++) {
		if (*p == '.') {
			if (p == addr || p + 1 == at || p[1] == '.')
				return 0;
		} else if (!is_atext(*p))
			return 0;
	}
	for (p = at + 1;; p++) {
		label = p;
		while (is_alnum(*p) || *p == '-')
			p++;
		if (p == label || p - label > 63 || *label == '-' ||
		    p[-1] == '-')
			return 0;
		if (*p == '\0')
			return 1;
		if (*p != '.')
			return 0;
	}
}

/* 0 if s holds no control character (so no CR or LF), else 1. */
static int
has_control(const char *s)
{
	const unsigned char	*p;

	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 1;
	return 0;
}

/* 1 if s can be written into a header as it is: printable ASCII,
 * nothing a reader could take for an encoded word. */
static int
is_plain(const char *s)
{
	const unsigned char	*p;

	for (p = (const unsigned char *)s; *p != '\0'; p++)
		if (*p < 0x20 || *p > 0x7e)
			return 0;
	return strstr(s, "=?") == NULL;
}

/*
 * Appends s as RFC 2047 B-encoded words, the first after a space and
 * each further one on a folded line of its own.  Words end only
 * between UTF-8 characters, as RFC 2047 requires.
 */
static int
put_words(struct buf *out, const char *s)
{
	char	 b64[sodium_base64_ENCODED_LEN(WORD_BYTES,
	    sodium_base64_VARIANT_ORIGINAL)];
	size_t	 len = strlen(s), off = 0, take;
	int	 rc;

	while (off < len) {
		take = len - off < WORD_BYTES ? len - off : WORD_BYTES;
		while (take > 0 && off + take < len &&
		    ((unsigned char)s[off + take] & 0xc0) == 0x80)
			take--;
		if (take == 0)
			take = len - off < WORD_BYTES ? len - off : WORD_BYTES;
		sodium_bin2base64(b64, sizeof(b64),
		    (const unsigned char *)s + off, take,
		    sodium_base64_VARIANT_ORIGINAL);
		rc = buf_printf(out, "%s=?UTF-8?B?%s?=",
		    off == 0 ? " " : "\r\n ", b64);
		if (rc != 0)
			return rc;
		off += take;
	}
	return 0;
}

static int
put_subject(struct buf *out, const char *subject)
{
	int	 rc;

	if (has_control(subject))
		return WS_ERR_INVALID;
	if (strlen(subject) > MAIL_SUBJECT_MAX)
		return WS_ERR_TOOBIG;
	if ((rc = buf_puts(out, "Subject:")) != 0)
		return rc;
	/* Plain text only when it fits the 78-byte line as it is. */
	if (is_plain(subject) && strlen(subject) <= 78 - 9)
		rc = buf_printf(out, " %s", subject);
	else
		rc = put_words(out, subject);
	if (rc != 0)
		return rc;
	return buf_puts(out, "\r\n");
}

static int
put_from(struct buf *out, const char *name, const char *addr)
{
	const char	*p;
	int		 rc;

	if ((rc = buf_puts(out, "From:")) != 0)
		return rc;
	if (name != NULL && name[0] != '\0') {
		if (has_control(name))
			return WS_ERR_INVALID;
		if (strlen(name) > MAIL_NAME_MAX)
			return WS_ERR_TOOBIG;
		if (!is_plain(name))
			rc = put_words(out, name);
		else {
			/* A quoted string, so "," or ":" in the name
			 * cannot end the phrase. */
			rc = buf_puts(out, " \"");
			for (p = name; rc == 0 && *p != '\0'; p++) {
				if (*p == '"' || *p == '\\')
					rc = buf_putc(out, '\\');
				if (rc == 0)
					rc = buf_putc(out, *p);
			}
			if (rc == 0)
				rc = buf_putc(out, '"');
		}
		if (rc != 0)
			return rc;
		return buf_printf(out, " <%s>\r\n", addr);
	}
	return buf_printf(out, " %s\r\n", addr);
}

static int
put_date(struct buf *out, time_t now)
{
	static const char	*days[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
	    "Fri", "Sat" };
	static const char	*months[] = { "Jan", "Feb", "Mar", "Apr", "May",
	    "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm		 tm;

	/* Names from tables, not strftime, so no locale can change them. */
	if (gmtime_r(&now, &tm) == NULL || tm.tm_wday < 0 ||
	    tm.tm_wday > 6 || tm.tm_mon < 0 || tm.tm_mon > 11)
		return WS_ERR_INVALID;
	return buf_printf(out, "Date: %s, %02d %s %04d %02d:%02d:%02d "
	    "+0000\r\n", days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* Writes n random bytes as 2n hex digits into out (2n + 1 bytes). */
static int
random_hex(char *out, size_t n)
{
	unsigned char	 raw[32];

	if (n > sizeof(raw) || sodium_init() < 0)
		return WS_ERR_INTERNAL;
	randombytes_buf(raw, n);
	sodium_bin2hex(out, 2 * n + 1, raw, n);
	return 0;
}

int
mail_message_qp_encode(struct buf *out, const char *src, size_t n)
{
	static const char	 hex[] = "0123456789ABCDEF";
	const unsigned char	*s = (const unsigned char *)src;
	char			 tok[4];
	size_t			 i, col = 0, tlen;
	unsigned char		 c;
	int			 eol, rc;

	for (i = 0; i < n; i++) {
		c = s[i];
		if (c == '\r' || c == '\n') {
			if (c == '\r' && i + 1 < n && s[i + 1] == '\n')
				i++;
			if ((rc = buf_puts(out, "\r\n")) != 0)
				return rc;
			col = 0;
			continue;
		}
		eol = i + 1 == n || s[i + 1] == '\r' || s[i + 1] == '\n';
		/* A soft break leaves room for its "=" within 76 bytes;
		 * the last token of a line needs no such room. */
		tlen = (c >= 33 && c <= 126 && c != '=') ||
		    ((c == ' ' || c == '\t') && !eol) ? 1 : 3;
		if (col + tlen > (eol ? 76 : 75)) {
			if ((rc = buf_puts(out, "=\r\n")) != 0)
				return rc;
			col = 0;
		}
		/* A "." opening a line is encoded so that no line of the
		 * body can look like the end of SMTP DATA. */
		if (tlen == 1 && !(c == '.' && col == 0)) {
			tok[0] = (char)c;
		} else {
			tlen = 3;
			tok[0] = '=';
			tok[1] = hex[c >> 4];
			tok[2] = hex[c & 0x0f];
		}
		if ((rc = buf_append(out, tok, tlen)) != 0)
			return rc;
		col += tlen;
	}
	return 0;
}

static int
put_part(struct buf *out, const char *boundary, const char *type,
    const char *body)
{
	int	 rc;

	rc = buf_printf(out, "\r\n--%s\r\n"
	    "Content-Type: %s; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n\r\n",
	    boundary, type);
	if (rc != 0)
		return rc;
	return mail_message_qp_encode(out, body, strlen(body));
}

int
mail_message_build(const struct mail_message *m, time_t now,
    struct buf *out, char *msgid, size_t idlen)
{
	struct buf	 msg;
	char		 idhex[33], bhex[33], boundary[64];
	char		 id[MAIL_MESSAGE_ID_MAX];
	const char	*domain;
	int		 rc, idn, len;

	buf_init(&msg, MAIL_MESSAGE_MAX);
	rc = WS_ERR_INVALID;
	if (m == NULL || m->subject == NULL || m->text == NULL ||
	    m->html == NULL || msgid == NULL || idlen == 0)
		goto out;
	/* Validated again here, whatever the caller did before. */
	if (!mail_message_addr_valid(m->from) ||
	    !mail_message_addr_valid(m->to))
		goto out;
	domain = strchr(m->from, '@') + 1;

	if ((rc = random_hex(idhex, 16)) != 0 ||
	    (rc = random_hex(bhex, 16)) != 0)
		goto out;
	idn = snprintf(id, sizeof(id), "<%s.%lld@%s>", idhex,
	    (long long)now, domain);
	rc = WS_ERR_TOOBIG;
	if (idn < 0 || (size_t)idn >= sizeof(id) || (size_t)idn >= idlen)
		goto out;
	/* "=_" cannot occur in quoted-printable text, so no part can
	 * contain this boundary. */
	len = snprintf(boundary, sizeof(boundary), "=_ws_%s", bhex);
	if (len < 0 || (size_t)len >= sizeof(boundary))
		goto out;

	if ((rc = put_date(&msg, now)) != 0 ||
	    (rc = put_from(&msg, m->from_name, m->from)) != 0 ||
	    (rc = buf_printf(&msg, "To: %s\r\n", m->to)) != 0 ||
	    (rc = put_subject(&msg, m->subject)) != 0)
		goto out;
	rc = buf_printf(&msg, "Message-ID: %s\r\n"
	    "MIME-Version: 1.0\r\n"
	    "Auto-Submitted: auto-generated\r\n"
	    "Content-Type: multipart/alternative;\r\n"
	    " boundary=\"%s\"\r\n"
	    "\r\n"
	    "This is a message in MIME format.\r\n", id, boundary);
	if (rc != 0)
		goto out;
	if ((rc = put_part(&msg, boundary, "text/plain", m->text)) != 0 ||
	    (rc = put_part(&msg, boundary, "text/html", m->html)) != 0)
		goto out;
	if ((rc = buf_printf(&msg, "\r\n--%s--\r\n", boundary)) != 0)
		goto out;
	if ((rc = buf_append(out, msg.data, msg.len)) != 0)
		goto out;
	memcpy(msgid, id, (size_t)idn + 1);
	rc = 0;
out:
	buf_cleanup(&msg);
	return rc;
}
