/*
 * Logging: one line per event on stderr, in the form
 *   2026-12-03T13:06:22.123Z level=info component=websands-health
 *       request_id=... event=request key=value ...
 * (on one line).  Values are quoted when they hold anything but
 * [A-Za-z0-9._:/@+-], and inside quotes '"', '\\' and every byte
 * outside printable ASCII is escaped, so client input cannot forge a
 * line or a field.  Never pass a password, token or secret.
 */
#ifndef WEBSANDS_LOG_H
#define WEBSANDS_LOG_H

#include <stddef.h>

enum log_level {
	LOG_DEBUG = 0,
	LOG_INFO,
	LOG_WARN,
	LOG_ERROR
};

/* Sets the component name and the lowest level written. */
void	 log_init(const char *component, enum log_level min);
/* The request id of the calling thread (NULL clears it); copied. */
void	 log_set_request_id(const char *id);
const char *log_request_id(void);
/*
 * Writes one event: the key/value pairs are const char * strings,
 * terminated by a NULL key.  A NULL value is written as "-".
 */
void	 log_event(enum log_level level, const char *event, ...)
	    __attribute__((sentinel));
/* Escapes s into out (NUL-terminated, truncated to outlen) as a value. */
void	 log_escape(char *out, size_t outlen, const char *s);
/* The name of a level ("debug"...); NULL for an unknown one. */
const char *log_level_name(enum log_level level);

#endif
