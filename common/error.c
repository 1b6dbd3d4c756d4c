/*
 * Names for the values of enum ws_err, for logs and start-up messages.
 */
#include "error.h"

const char *
ws_err_name(int err)
{
	switch (err) {
	case WS_OK:
		return "ok";
	case WS_ERR_NOMEM:
		return "out of memory";
	case WS_ERR_INVALID:
		return "invalid input or configuration";
	case WS_ERR_IO:
		return "input/output error";
	case WS_ERR_TIMEOUT:
		return "timed out";
	case WS_ERR_UNAVAILABLE:
		return "unavailable";
	case WS_ERR_NOTFOUND:
		return "not found";
	case WS_ERR_CONFLICT:
		return "conflict";
	case WS_ERR_TOOBIG:
		return "too big";
	case WS_ERR_DB:
		return "database error";
	case WS_ERR_INTERNAL:
		return "internal error";
	default:
		return "unknown error";
	}
}
