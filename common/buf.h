/*
 * A growable byte buffer.  The contents are always NUL-terminated so a
 * buffer of text can be handed to C string functions; the length does
 * not count that NUL.
 */
#ifndef WEBSANDS_BUF_H
#define WEBSANDS_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char	*data;	/* NULL until the first append */
	size_t	 len;
	size_t	 cap;
	size_t	 max;	/* 0: unbounded; else appends past it fail */
};

/* Sets b empty with an optional size cap (0: none).  Cannot fail. */
void	 buf_init(struct buf *b, size_t max);
/* Frees what b holds and leaves it empty; NULL-safe. */
void	 buf_cleanup(struct buf *b);
/* Empties b but keeps its memory. */
void	 buf_reset(struct buf *b);
/* Each returns 0, WS_ERR_NOMEM or WS_ERR_TOOBIG; b is unchanged then. */
int	 buf_append(struct buf *b, const void *p, size_t n);
int	 buf_puts(struct buf *b, const char *s);
int	 buf_putc(struct buf *b, char c);
int	 buf_printf(struct buf *b, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
int	 buf_vprintf(struct buf *b, const char *fmt, va_list ap)
	    __attribute__((format(printf, 2, 0)));
/* The contents as a C string: "" when empty, never NULL. */
const char *buf_str(const struct buf *b);

#endif
