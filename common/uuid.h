/* UUIDs in their text form, as PostgreSQL's uuid type reads them. */
#ifndef WEBSANDS_UUID_H
#define WEBSANDS_UUID_H

#define UUID_LEN	36	/* characters, without the NUL */

/* A random (version 4) UUID into out, lower-case. */
void	 uuid_new(char out[UUID_LEN + 1]);
/*
 * Whether s is exactly 8-4-4-4-12 hex digits, so a path parameter can
 * be refused with 404 before it reaches a uuid cast in SQL.
 */
int	 uuid_valid(const char *s);

#endif
