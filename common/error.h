/*
 * The one success convention of libwebsands: 0 means success, every
 * failure is a small positive value from this enum.
 */
#ifndef WEBSANDS_ERROR_H
#define WEBSANDS_ERROR_H

enum ws_err {
	WS_OK = 0,
	WS_ERR_NOMEM,		/* an allocation failed */
	WS_ERR_INVALID,		/* bad input or configuration */
	WS_ERR_IO,		/* a system call or socket failed */
	WS_ERR_TIMEOUT,		/* a bounded wait ran out */
	WS_ERR_UNAVAILABLE,	/* a dependency is down or its breaker open */
	WS_ERR_NOTFOUND,	/* no such row, key or file */
	WS_ERR_CONFLICT,	/* a unique value is taken, a race was lost */
	WS_ERR_TOOBIG,		/* a size limit was exceeded */
	WS_ERR_DB,		/* the database answered with an error */
	WS_ERR_INTERNAL		/* a bug or an impossible state */
};

/* A static, human-readable name for err; never NULL. */
const char	*ws_err_name(int err);

#endif
