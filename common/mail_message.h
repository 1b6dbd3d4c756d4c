/*
 * Building one RFC 5322 message: the headers WebSands sends (Date,
 * From, To, Subject, Message-ID, MIME-Version, Auto-Submitted) and a
 * multipart/alternative body with a text/plain and a text/html part,
 * both UTF-8 and quoted-printable.  Every line ends in CRLF and is at
 * most 78 bytes, a line of a part never starts with ".", and a header
 * value is refused if it holds CR or LF, so no value can add a header,
 * a recipient or a MIME part.
 */
#ifndef WEBSANDS_MAIL_MESSAGE_H
#define WEBSANDS_MAIL_MESSAGE_H

#include <stddef.h>
#include <time.h>

#include "buf.h"

#define MAIL_ADDR_MAX		254	/* bytes of an address */
#define MAIL_MESSAGE_ID_MAX	(MAIL_ADDR_MAX + 64)
#define MAIL_MESSAGE_MAX	(1024 * 1024)	/* bytes of a message */
#define MAIL_SUBJECT_MAX	1024		/* bytes of a subject */
#define MAIL_NAME_MAX		128		/* bytes of a display name */

struct mail_message {
	const char	*from;		/* MAIL_FROM, a bare address */
	const char	*from_name;	/* its display name, or NULL */
	const char	*to;		/* the recipient, a bare address */
	const char	*subject;	/* UTF-8, one line */
	const char	*text;		/* UTF-8, the text/plain part */
	const char	*html;		/* UTF-8, the text/html part */
};

/*
 * 1 if addr is an address WebSands will send to or from: at most
 * MAIL_ADDR_MAX bytes, a dot-atom local part of at most 64 bytes, one
 * "@", and a domain of letters, digits and hyphens in dot-separated
 * labels.  Quoted local parts, address literals, spaces, control
 * characters and anything outside ASCII are refused.  Else 0.
 */
int	 mail_message_addr_valid(const char *addr);

/*
 * Appends the whole message for m, dated now, to out (CRLF line ends,
 * ready for SMTP DATA) and copies its Message-ID, with its angle
 * brackets, into msgid (of idlen bytes, at least MAIL_MESSAGE_ID_MAX).
 * Returns 0, WS_ERR_INVALID (an address that is not valid, a header
 * value with CR, LF or another control character, a missing part),
 * WS_ERR_TOOBIG (over MAIL_SUBJECT_MAX, MAIL_NAME_MAX or
 * MAIL_MESSAGE_MAX) or WS_ERR_NOMEM; out is unchanged then.
 */
int	 mail_message_build(const struct mail_message *m, time_t now,
	    struct buf *out, char *msgid, size_t idlen);

/*
 * Appends src (n bytes) to out as quoted-printable (RFC 2045 6.7):
 * line breaks become CRLF, lines are at most 76 bytes, and "." at the
 * start of a line is encoded.  Returns 0 or a buf error.
 */
int	 mail_message_qp_encode(struct buf *out, const char *src, size_t n);

#endif
