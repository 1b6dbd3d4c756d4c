/*
 * A growable, always NUL-terminated byte buffer.  Every size is computed
 * in size_t and checked for overflow before anything is allocated, and
 * a failed append leaves the contents exactly as they were.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "error.h"

/* The first allocation; small enough for a header, big enough to matter. */
#define BUF_MIN_CAP	64

void
buf_init(struct buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

void
buf_cleanup(struct buf *b)
{
	if (b == NULL)
		return;
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void
buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

/*
 * Makes room for n more bytes plus the terminating NUL.  The capacity
 * doubles so that a long run of small appends costs linear time, but it
 * never goes past what max allows.
 */
static int
buf_reserve(struct buf *b, size_t n)
{
	size_t	 need, ncap;
	char	*p;

	if (n > SIZE_MAX - 1 - b->len)
		return WS_ERR_TOOBIG;
	need = b->len + n;
	if (b->max != 0 && need > b->max)
		return WS_ERR_TOOBIG;
	if (need + 1 <= b->cap)
		return 0;
	ncap = b->cap != 0 ? b->cap : BUF_MIN_CAP;
	while (ncap < need + 1) {
		if (ncap > SIZE_MAX / 2) {
			ncap = need + 1;
			break;
		}
		ncap *= 2;
	}
	if (b->max != 0 && ncap > b->max + 1)
		ncap = b->max + 1;
	if ((p = realloc(b->data, ncap)) == NULL)
		return WS_ERR_NOMEM;
	if (b->data == NULL)
		p[0] = '\0';
	b->data = p;
	b->cap = ncap;
	return 0;
}

int
buf_append(struct buf *b, const void *p, size_t n)
{
	int	 rc;

	if (n == 0)
		return 0;
	if ((rc = buf_reserve(b, n)) != 0)
		return rc;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int
buf_puts(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int
buf_putc(struct buf *b, char c)
{
	return buf_append(b, &c, 1);
}

int
buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
	va_list	 cp;
	int	 n, m, rc;

	/* The first pass only measures; the second writes in place. */
	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0)
		return WS_ERR_TOOBIG;
	if (n == 0)
		return 0;
	if ((rc = buf_reserve(b, (size_t)n)) != 0)
		return rc;
	m = vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	if (m != n) {
		/* The arguments changed under us; keep the old contents. */
		b->data[b->len] = '\0';
		return WS_ERR_INTERNAL;
	}
	b->len += (size_t)n;
	return 0;
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list	 ap;
	int	 rc;

	va_start(ap, fmt);
	rc = buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

const char *
buf_str(const struct buf *b)
{
	return b->data != NULL ? b->data : "";
}
