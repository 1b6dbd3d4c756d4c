/*
 * Unit tests of message building: the addresses accepted, the headers
 * and their encoding, the multipart structure, quoted-printable parts
 * that decode to what went in, and the refusal of anything that could
 * add a header or a recipient.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "buf.h"
#include "error.h"
#include "mail_message.h"

static const struct mail_message base_msg = {
	.from = "websands@mail.example.org",
	.from_name = "WebSands",
	.to = "ada@example.com",
	.subject = "Confirm your email address",
	.text = "Hello Ada,\n\nopen https://example.org/v#token=abc\n",
	.html = "<p>Hello Ada,</p>\n",
};

/* The header block of msg (up to the first empty line) into out. */
static void
header_block(const char *msg, char *out, size_t outlen)
{
	const char	*end = strstr(msg, "\r\n\r\n");

	assert_non_null(end);
	assert_true((size_t)(end - msg) + 3 < outlen);
	memcpy(out, msg, (size_t)(end - msg) + 2);
	out[end - msg + 2] = '\0';
}

/*
 * The unfolded value of header name in the header block hb, or NULL;
 * *count gets how many such headers there are.
 */
static char *
header_value(const char *hb, const char *name, int *count)
{
	const char	*p = hb, *eol;
	char		*val = NULL;
	size_t		 nlen = strlen(name), vlen = 0;

	*count = 0;
	while (*p != '\0') {
		eol = strstr(p, "\r\n");
		assert_non_null(eol);
		if (strncasecmp(p, name, nlen) == 0 && p[nlen] == ':') {
			(*count)++;
			free(val);
			val = calloc(1, strlen(hb) + 1);
			assert_non_null(val);
			p += nlen + 1;
			while (*p == ' ')
				p++;
			vlen = 0;
			for (;;) {
				memcpy(val + vlen, p, (size_t)(eol - p));
				vlen += (size_t)(eol - p);
				p = eol + 2;
				if (*p != ' ' && *p != '\t')
					break;
				eol = strstr(p, "\r\n");
			}
			val[vlen] = '\0';
			continue;
		}
		p = eol + 2;
	}
	return val;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes quoted-printable (strictly: upper-case hex only). */
static void
qp_decode(const char *s, size_t n, struct buf *out)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (s[i] != '=') {
			assert_int_equal(buf_putc(out, s[i]), 0);
			continue;
		}
		assert_true(i + 2 < n + 1);
		if (s[i + 1] == '\r' && s[i + 2] == '\n') {
			i += 2;
			continue;
		}
		assert_true(hexval(s[i + 1]) >= 0 && hexval(s[i + 2]) >= 0);
		assert_int_equal(buf_putc(out, (char)(hexval(s[i + 1]) * 16 +
		    hexval(s[i + 2]))), 0);
		i += 2;
	}
}

/* Decodes a header value of one or more =?UTF-8?B?...?= words. */
static void
words_decode(const char *v, struct buf *out)
{
	unsigned char	 bin[256];
	const char	*p = v, *end, *b64end;
	size_t		 binlen;

	while (*p != '\0') {
		while (*p == ' ')
			p++;
		assert_int_equal(strncmp(p, "=?UTF-8?B?", 10), 0);
		p += 10;
		end = strstr(p, "?=");
		assert_non_null(end);
		assert_int_equal(sodium_base642bin(bin, sizeof(bin), p,
		    (size_t)(end - p), NULL, &binlen, &b64end,
		    sodium_base64_VARIANT_ORIGINAL), 0);
		assert_int_equal(buf_append(out, bin, binlen), 0);
		p = end + 2;
	}
}

/* Every line ends in CRLF and is at most max bytes long. */
static void
assert_lines(const char *msg, size_t len, size_t max)
{
	size_t	 i, col = 0;

	for (i = 0; i < len; i++) {
		if (msg[i] == '\r') {
			assert_true(i + 1 < len && msg[i + 1] == '\n');
			i++;
			col = 0;
			continue;
		}
		assert_true(msg[i] != '\n');
		col++;
		assert_true(col <= max);
	}
	assert_true(len >= 2 && msg[len - 2] == '\r' && msg[len - 1] == '\n');
}

struct parsed {
	char	 hb[8192];
	char	*boundary;
	char	*text_hdr, *text_body;	/* raw, still encoded */
	char	*html_hdr, *html_body;
	int	 nparts;
};

static void
parsed_cleanup(struct parsed *p)
{
	free(p->boundary);
	free(p->text_hdr);
	free(p->text_body);
	free(p->html_hdr);
	free(p->html_body);
}

/* Splits a built message into its headers and its two parts. */
static void
parse(const char *msg, struct parsed *p)
{
	char		*ct, *b, delim[128], *part[8];
	const char	*s, *next;
	int		 count, n = 0, i;
	size_t		 dlen;

	memset(p, 0, sizeof(*p));
	header_block(msg, p->hb, sizeof(p->hb));
	ct = header_value(p->hb, "Content-Type", &count);
	assert_int_equal(count, 1);
	assert_non_null(strstr(ct, "multipart/alternative;"));
	b = strstr(ct, "boundary=\"");
	assert_non_null(b);
	b += 10;
	p->boundary = strndup(b, strcspn(b, "\""));
	free(ct);

	snprintf(delim, sizeof(delim), "\r\n--%s", p->boundary);
	dlen = strlen(delim);
	s = strstr(msg, delim);
	while (s != NULL && n < 8) {
		s += dlen;
		if (strncmp(s, "--\r\n", 4) == 0) {
			assert_string_equal(s, "--\r\n");
			break;
		}
		assert_int_equal(strncmp(s, "\r\n", 2), 0);
		s += 2;
		next = strstr(s, delim);
		assert_non_null(next);
		part[n++] = strndup(s, (size_t)(next - s));
		s = next;
	}
	p->nparts = n;
	assert_int_equal(n, 2);
	for (i = 0; i < n; i++) {
		char	*sep = strstr(part[i], "\r\n\r\n");
		char	**hdr = i == 0 ? &p->text_hdr : &p->html_hdr;
		char	**body = i == 0 ? &p->text_body : &p->html_body;

		assert_non_null(sep);
		*hdr = strndup(part[i], (size_t)(sep - part[i]) + 2);
		*body = strdup(sep + 4);
		free(part[i]);
	}
}

static void
build_ok(const struct mail_message *m, struct buf *out, char *id)
{
	buf_init(out, 0);
	assert_int_equal(mail_message_build(m, 1764767182, out, id,
	    MAIL_MESSAGE_ID_MAX), 0);
}

static void
test_addresses(void **state)
{
	char	 longaddr[300];

	(void)state;
	assert_true(mail_message_addr_valid("ada@example.com"));
	assert_true(mail_message_addr_valid("websands@localhost"));
	assert_true(mail_message_addr_valid("a.b+tag@sub-1.example.co.uk"));
	assert_true(mail_message_addr_valid("o'brien@example.com"));
	assert_true(mail_message_addr_valid("x!#$%&*/=?^_`{|}~-@e.org"));
	assert_false(mail_message_addr_valid(""));
	assert_false(mail_message_addr_valid(NULL));
	assert_false(mail_message_addr_valid("ada"));
	assert_false(mail_message_addr_valid("ada@"));
	assert_false(mail_message_addr_valid("@example.com"));
	assert_false(mail_message_addr_valid("a@b@example.com"));
	assert_false(mail_message_addr_valid("ada@example.com\r\nBcc: x@y.z"));
	assert_false(mail_message_addr_valid("ada@example.com\n"));
	assert_false(mail_message_addr_valid("ada @example.com"));
	assert_false(mail_message_addr_valid("<ada@example.com>"));
	assert_false(mail_message_addr_valid("ada@example.com,b@x.org"));
	assert_false(mail_message_addr_valid("\"a b\"@example.com"));
	assert_false(mail_message_addr_valid(".ada@example.com"));
	assert_false(mail_message_addr_valid("ada.@example.com"));
	assert_false(mail_message_addr_valid("a..da@example.com"));
	assert_false(mail_message_addr_valid("ada@-example.com"));
	assert_false(mail_message_addr_valid("ada@example-.com"));
	assert_false(mail_message_addr_valid("ada@example..com"));
	assert_false(mail_message_addr_valid("ada@example.com."));
	assert_false(mail_message_addr_valid("ada@[127.0.0.1]"));
	assert_false(mail_message_addr_valid("j\xc3\xbcrgen@example.com"));
	assert_false(mail_message_addr_valid("ada@ex_ample.com"));
	/* 65 bytes of local part, a 64-byte label, 255 bytes in all. */
	memset(longaddr, 'a', 65);
	strcpy(longaddr + 65, "@example.com");
	assert_false(mail_message_addr_valid(longaddr));
	strcpy(longaddr + 64, "@example.com");
	assert_true(mail_message_addr_valid(longaddr));
	strcpy(longaddr, "a@");
	memset(longaddr + 2, 'b', 64);
	strcpy(longaddr + 66, ".org");
	assert_false(mail_message_addr_valid(longaddr));
	strcpy(longaddr, "a@");
	memset(longaddr + 2, 'b', 62);
	longaddr[64] = '.';
	memset(longaddr + 65, 'c', 62);
	longaddr[127] = '.';
	memset(longaddr + 128, 'd', 62);
	longaddr[190] = '.';
	memset(longaddr + 191, 'e', 63);
	longaddr[254] = '\0';
	assert_true(mail_message_addr_valid(longaddr));
	strcat(longaddr, "e");
	assert_false(mail_message_addr_valid(longaddr));
}

static void
test_headers(void **state)
{
	struct buf	 out;
	char		 id[MAIL_MESSAGE_ID_MAX], hb[4096], *v;
	int		 count;

	(void)state;
	build_ok(&base_msg, &out, id);
	header_block(buf_str(&out), hb, sizeof(hb));
	v = header_value(hb, "Date", &count);
	assert_int_equal(count, 1);
	assert_string_equal(v, "Wed, 03 Dec 2025 13:06:22 +0000");
	free(v);
	v = header_value(hb, "From", &count);
	assert_int_equal(count, 1);
	assert_string_equal(v, "\"WebSands\" <websands@mail.example.org>");
	free(v);
	v = header_value(hb, "To", &count);
	assert_int_equal(count, 1);
	assert_string_equal(v, "ada@example.com");
	free(v);
	v = header_value(hb, "Subject", &count);
	assert_int_equal(count, 1);
	assert_string_equal(v, "Confirm your email address");
	free(v);
	v = header_value(hb, "Message-ID", &count);
	assert_int_equal(count, 1);
	assert_string_equal(v, id);
	assert_int_equal(id[0], '<');
	assert_non_null(strstr(id, "@mail.example.org>"));
	assert_int_equal(strlen(strstr(id, "@")), strlen(
	    "@mail.example.org>"));
	free(v);
	v = header_value(hb, "MIME-Version", &count);
	assert_string_equal(v, "1.0");
	free(v);
	/* Nothing else: no Bcc, no Cc, no second To. */
	assert_null(header_value(hb, "Bcc", &count));
	assert_null(header_value(hb, "Cc", &count));
	assert_lines(buf_str(&out), out.len, 78);
	buf_cleanup(&out);
}

static void
test_date_is_utc_rfc5322(void **state)
{
	struct mail_message	 m = base_msg;
	struct buf		 out;
	char			 id[MAIL_MESSAGE_ID_MAX];

	(void)state;
	buf_init(&out, 0);
	assert_int_equal(mail_message_build(&m, 0, &out, id, sizeof(id)), 0);
	assert_int_equal(strncmp(buf_str(&out),
	    "Date: Thu, 01 Jan 1970 00:00:00 +0000\r\n", 39), 0);
	buf_cleanup(&out);
}

static void
test_multipart_structure(void **state)
{
	struct parsed	 p;
	struct buf	 out, dec;
	char		 id[MAIL_MESSAGE_ID_MAX];

	(void)state;
	build_ok(&base_msg, &out, id);
	parse(buf_str(&out), &p);
	assert_int_equal(strncmp(p.boundary, "=_ws_", 5), 0);
	assert_int_equal(strlen(p.boundary), 5 + 32);
	assert_string_equal(p.text_hdr,
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n");
	assert_string_equal(p.html_hdr,
	    "Content-Type: text/html; charset=utf-8\r\n"
	    "Content-Transfer-Encoding: quoted-printable\r\n");
	buf_init(&dec, 0);
	qp_decode(p.text_body, strlen(p.text_body), &dec);
	assert_string_equal(buf_str(&dec),
	    "Hello Ada,\r\n\r\nopen https://example.org/v#token=abc\r\n");
	buf_reset(&dec);
	qp_decode(p.html_body, strlen(p.html_body), &dec);
	assert_string_equal(buf_str(&dec), "<p>Hello Ada,</p>\r\n");
	buf_cleanup(&dec);
	parsed_cleanup(&p);
	buf_cleanup(&out);
}

static void
test_random_ids_and_boundaries(void **state)
{
	struct parsed	 p1, p2;
	struct buf	 o1, o2;
	char		 id1[MAIL_MESSAGE_ID_MAX], id2[MAIL_MESSAGE_ID_MAX];

	(void)state;
	build_ok(&base_msg, &o1, id1);
	build_ok(&base_msg, &o2, id2);
	assert_string_not_equal(id1, id2);
	parse(buf_str(&o1), &p1);
	parse(buf_str(&o2), &p2);
	assert_string_not_equal(p1.boundary, p2.boundary);
	parsed_cleanup(&p1);
	parsed_cleanup(&p2);
	buf_cleanup(&o1);
	buf_cleanup(&o2);
}

static void
test_qp_round_trip(void **state)
{
	struct mail_message	 m = base_msg;
	struct parsed		 p;
	struct buf		 out, dec, in;
	char			 id[MAIL_MESSAGE_ID_MAX];
	int			 i;

	(void)state;
	buf_init(&in, 0);
	/* Long lines, "=" signs, trailing blanks, UTF-8, a lone "." and
	 * something that looks like our boundary. */
	for (i = 0; i < 300; i++)
		buf_putc(&in, (char)('a' + i % 26));
	buf_puts(&in, "\r\nx=y==z trailing  \r\n.\r\n..dots\r\n");
	buf_puts(&in, "Gr\xc3\xbc\xc3\x9f\xc3\xa9 \xe2\x82\xac \t\r\n");
	buf_puts(&in, "--=_ws_0123\r\nFrom: x\r\n");
	for (i = 0; i < 200; i++)
		buf_puts(&in, "\xc3\xa9");
	buf_puts(&in, "\r\nend without newline");
	m.text = buf_str(&in);
	m.html = buf_str(&in);
	build_ok(&m, &out, id);
	assert_lines(buf_str(&out), out.len, 78);
	/* No line of the message is a lone "." (the end of DATA). */
	assert_null(strstr(buf_str(&out), "\r\n.\r\n"));
	assert_null(strstr(buf_str(&out), "\r\n--=_ws_0123"));
	parse(buf_str(&out), &p);
	buf_init(&dec, 0);
	qp_decode(p.text_body, strlen(p.text_body), &dec);
	assert_string_equal(buf_str(&dec), buf_str(&in));
	buf_reset(&dec);
	qp_decode(p.html_body, strlen(p.html_body), &dec);
	assert_string_equal(buf_str(&dec), buf_str(&in));
	buf_cleanup(&dec);
	parsed_cleanup(&p);
	buf_cleanup(&out);
	buf_cleanup(&in);
}

static void
test_qp_bare_line_ends_become_crlf(void **state)
{
	struct buf	 out;

	(void)state;
	buf_init(&out, 0);
	assert_int_equal(mail_message_qp_encode(&out, "a\nb\rc\r\n\n", 8), 0);
	assert_string_equal(buf_str(&out), "a\r\nb\r\nc\r\n\r\n");
	buf_reset(&out);
	assert_int_equal(mail_message_qp_encode(&out, "end \t", 5), 0);
	assert_string_equal(buf_str(&out), "end =09");
	buf_reset(&out);
	assert_int_equal(mail_message_qp_encode(&out, ".x\r\n.", 5), 0);
	assert_string_equal(buf_str(&out), "=2Ex\r\n=2E");
	buf_cleanup(&out);
}

static void
test_subject_utf8_encoded_word(void **state)
{
	struct mail_message	 m = base_msg;
	struct buf		 out, dec;
	char			 id[MAIL_MESSAGE_ID_MAX], hb[4096], *v;
	int			 count;

	(void)state;
	m.subject = "Best\xc3\xa4tigen Sie Ihre E-Mail-Adresse \xe2\x80\x94 "
	    "\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac\xe2\x82\xac "
	    "\xc3\xa4\xc3\xb6\xc3\xbc\xc3\x9f \xf0\x9f\x94\x91 WebSands";
	build_ok(&m, &out, id);
	assert_lines(buf_str(&out), out.len, 78);
	header_block(buf_str(&out), hb, sizeof(hb));
	v = header_value(hb, "Subject", &count);
	assert_int_equal(count, 1);
	/* Several words, so the header was folded. */
	assert_non_null(strstr(hb, "?=\r\n =?UTF-8?B?"));
	buf_init(&dec, 0);
	words_decode(v, &dec);
	assert_string_equal(buf_str(&dec), m.subject);
	free(v);
	buf_cleanup(&dec);
	buf_cleanup(&out);
}

static void
test_subject_ascii_but_long_or_tricky(void **state)
{
	struct mail_message	 m = base_msg;
	struct buf		 out, dec;
	char			 id[MAIL_MESSAGE_ID_MAX], hb[4096], *v;
	char			 subj[301];
	int			 count;

	(void)state;
	memset(subj, 'x', 300);
	subj[300] = '\0';
	m.subject = subj;
	build_ok(&m, &out, id);
	assert_lines(buf_str(&out), out.len, 78);
	header_block(buf_str(&out), hb, sizeof(hb));
	v = header_value(hb, "Subject", &count);
	buf_init(&dec, 0);
	words_decode(v, &dec);
	assert_string_equal(buf_str(&dec), subj);
	free(v);
	buf_cleanup(&out);
	/* Text that a reader would decode must not pass as it is. */
	m.subject = "=?UTF-8?B?QmNjOiB4?=";
	build_ok(&m, &out, id);
	header_block(buf_str(&out), hb, sizeof(hb));
	v = header_value(hb, "Subject", &count);
	buf_reset(&dec);
	words_decode(v, &dec);
	assert_string_equal(buf_str(&dec), m.subject);
	free(v);
	buf_cleanup(&dec);
	buf_cleanup(&out);
}

static void
test_from_name_quoted_or_encoded(void **state)
{
	struct mail_message	 m = base_msg;
	struct buf		 out, dec;
	char			 id[MAIL_MESSAGE_ID_MAX], hb[4096], *v, *lt;
	int			 count;

	(void)state;
	m.from_name = "Web \"Sands\", Inc: \\";
	build_ok(&m, &out, id);
	header_block(buf_str(&out), hb, sizeof(hb));
	v = header_value(hb, "From", &count);
	assert_string_equal(v, "\"Web \\\"Sands\\\", Inc: \\\\\" "
	    "<websands@mail.example.org>");
	free(v);
	buf_cleanup(&out);

	m.from_name = "S\xc3\xa4nds";
	build_ok(&m, &out, id);
	header_block(buf_str(&out), hb, sizeof(hb));
	v = header_value(hb, "From", &count);
	lt = strstr(v, " <websands@mail.example.org>");
	assert_non_null(lt);
	*lt = '\0';
	buf_init(&dec, 0);
	words_decode(v, &dec);
	assert_string_equal(buf_str(&dec), "S\xc3\xa4nds");
	free(v);
	buf_cleanup(&dec);
	buf_cleanup(&out);

	m.from_name = NULL;
	build_ok(&m, &out, id);
	header_block(buf_str(&out), hb, sizeof(hb));
	v = header_value(hb, "From", &count);
	assert_string_equal(v, "websands@mail.example.org");
	free(v);
	buf_cleanup(&out);
}

/* Builds m and expects err with out left as it was. */
static void
assert_refused(const struct mail_message *m, int err)
{
	struct buf	 out;
	char		 id[MAIL_MESSAGE_ID_MAX] = "unchanged";

	buf_init(&out, 0);
	buf_puts(&out, "before");
	assert_int_equal(mail_message_build(m, 1764767182, &out, id,
	    sizeof(id)), err);
	assert_string_equal(buf_str(&out), "before");
	assert_string_equal(id, "unchanged");
	buf_cleanup(&out);
}

static void
test_header_injection_refused(void **state)
{
	struct mail_message	 m;

	(void)state;
	m = base_msg;
	m.subject = "Hello\r\nBcc: victim@example.net";
	assert_refused(&m, WS_ERR_INVALID);
	m.subject = "Hello\nSubject: other";
	assert_refused(&m, WS_ERR_INVALID);
	m.subject = "Hello\rX: y";
	assert_refused(&m, WS_ERR_INVALID);
	m.subject = "tab\there";
	assert_refused(&m, WS_ERR_INVALID);
	m = base_msg;
	m.to = "ada@example.com\r\nBcc: victim@example.net";
	assert_refused(&m, WS_ERR_INVALID);
	m.to = "ada@example.com, victim@example.net";
	assert_refused(&m, WS_ERR_INVALID);
	m = base_msg;
	m.from = "websands@example.org\nBcc: x@example.net";
	assert_refused(&m, WS_ERR_INVALID);
	m = base_msg;
	m.from_name = "WebSands\r\nBcc: x@example.net";
	assert_refused(&m, WS_ERR_INVALID);
	m = base_msg;
	m.html = NULL;
	assert_refused(&m, WS_ERR_INVALID);
}

static void
test_body_cannot_add_headers(void **state)
{
	struct mail_message	 m = base_msg;
	struct buf		 out;
	char			 id[MAIL_MESSAGE_ID_MAX], hb[4096], *v;
	int			 count;

	(void)state;
	m.text = "\r\n\r\nBcc: victim@example.net\r\nSubject: x\r\n";
	m.html = "\r\nBcc: victim@example.net\r\n";
	build_ok(&m, &out, id);
	header_block(buf_str(&out), hb, sizeof(hb));
	assert_null(header_value(hb, "Bcc", &count));
	v = header_value(hb, "Subject", &count);
	assert_int_equal(count, 1);
	free(v);
	buf_cleanup(&out);
}

static void
test_limits(void **state)
{
	struct mail_message	 m = base_msg;
	char			 big[MAIL_SUBJECT_MAX + 2], *huge;
	char			 name[MAIL_NAME_MAX + 2];

	(void)state;
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	m.subject = big;
	assert_refused(&m, WS_ERR_TOOBIG);
	m = base_msg;
	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	m.from_name = name;
	assert_refused(&m, WS_ERR_TOOBIG);
	m = base_msg;
	huge = malloc(MAIL_MESSAGE_MAX);
	assert_non_null(huge);
	memset(huge, '=', MAIL_MESSAGE_MAX - 1);
	huge[MAIL_MESSAGE_MAX - 1] = '\0';
	m.text = huge;
	assert_refused(&m, WS_ERR_TOOBIG);
	free(huge);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addresses),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_date_is_utc_rfc5322),
		cmocka_unit_test(test_multipart_structure),
		cmocka_unit_test(test_random_ids_and_boundaries),
		cmocka_unit_test(test_qp_round_trip),
		cmocka_unit_test(test_qp_bare_line_ends_become_crlf),
		cmocka_unit_test(test_subject_utf8_encoded_word),
		cmocka_unit_test(test_subject_ascii_but_long_or_tricky),
		cmocka_unit_test(test_from_name_quoted_or_encoded),
		cmocka_unit_test(test_header_injection_refused),
		cmocka_unit_test(test_body_cannot_add_headers),
		cmocka_unit_test(test_limits),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
