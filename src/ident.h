/*
 * ident.h: quoting of SQL identifiers taken from configuration.
 */
#ifndef SWEEPER_IDENT_H
#define SWEEPER_IDENT_H

#include <stddef.h>

/*
 * Longest name PostgreSQL keeps, in bytes (NAMEDATALEN - 1).  It cuts a
 * longer one to this length without an error, so a long name would quietly
 * name another table or column: every part longer than this is refused.
 */
#define IDENT_NAME_MAX 63

/* Returns of the quoting functions besides 0. */
enum ident_error {
	IDENT_INVALID = -1,   /* not a name (see below) */
	IDENT_TOO_LONG = -2   /* a part longer than IDENT_NAME_MAX bytes */
};

/*
 * Quote `name` for use as an SQL identifier.  `name` is "name" or
 * "schema.name"; a part may itself be written in double quotes to hold a
 * dot ("\"odd.schema\".table"), with "" for a double quote inside.  Every
 * part is emitted double-quoted with embedded double quotes doubled, so no
 * text from config can end the identifier: "a\"b" gives "a""b".
 *
 * Writes at most `size` bytes including the NUL into `buf`.  Returns 0;
 * IDENT_TOO_LONG when a part, as PostgreSQL will read it (without its
 * quotes, "" counted once), is longer than IDENT_NAME_MAX bytes; or
 * IDENT_INVALID when `name` is empty, has an empty part, more than two
 * parts, an unterminated quote, a control character or a byte sequence
 * that is not UTF-8, or when the result does not fit.  `buf` holds "" on
 * failure.
 */
int ident_quote(const char *name, char *buf, size_t size);

/*
 * Like ident_quote(), but only one part is allowed (column names): a dot
 * outside double quotes is an error.
 */
int ident_quote_column(const char *name, char *buf, size_t size);

/* Longest quoted identifier the sweeper builds, NUL included. */
#define IDENT_MAX 520

#endif /* SWEEPER_IDENT_H */
