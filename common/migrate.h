/*
 * Schema migrations: the files NNNN_name.sql in a directory, applied in
 * order, each in its own transaction, under an advisory lock so two
 * runs cannot interleave.  Each applied file is recorded with its
 * SHA-256; a recorded file whose content changed stops the run.
 */
#ifndef WEBSANDS_MIGRATE_H
#define WEBSANDS_MIGRATE_H

#include <stddef.h>

/*
 * Applies pending migrations from dir to the database at url.  The
 * number applied goes to *applied.  Returns 0, or an error with a
 * message for a person in err: WS_ERR_CONFLICT for a changed applied
 * file, WS_ERR_UNAVAILABLE, WS_ERR_DB, WS_ERR_IO.
 */
int	 migrate_run(const char *url, const char *dir, int *applied,
	    char *err, size_t errlen);

#endif
