/*
 * scope.h: runs restricted to named users (--user-id, --user-email,
 * --users-file).
 */
#ifndef SWEEPER_SCOPE_H
#define SWEEPER_SCOPE_H

#include <stddef.h>

#include <libpq-fe.h>

#include "config.h"

/* The named users a filter (a rule's) leaves out, found at the lookup. */
struct scope_left_out {
	const void *owner;   /* whose filter: compared, never read */
	char **ids;          /* in text order; the array is owned, the ids
			      * are found ids */
	size_t n;
	size_t alloc;
};

struct scope_block;

/* The lists' strings are owned by the scope (kept in `blocks`) but for
 * `unknown`'s, each malloc()ed, which the run's summary takes over. */
struct scope {
	char **ids;          /* given ids, owned */
	size_t nids;
	int *id_line;        /* for each id, its line in the users file, or
			      * 0 when the command line gave it; owned */
	char *file;          /* the users file's name ("stdin" for -), or
			      * NULL; owned */
	char **emails;       /* given emails, owned */
	size_t nemails;
	char **found;        /* ids of the users that exist, as text, owned,
			      * in id order */
	size_t nfound;
	char **unknown;      /* inputs matching no user, owned */
	size_t nunknown;
	char *ids_literal;   /* `found` as a PostgreSQL text[] literal */
	struct scope_left_out *left_out; /* one per filter scope_resolve()
					  * was given, owned */
	size_t nleft_out;
	/* Room allocated in the arrays above, grown by doubling. */
	size_t ids_alloc, lines_alloc, emails_alloc, found_alloc;
	size_t unknown_alloc;
	struct scope_block *blocks; /* where the strings are kept, owned */
};

/* Add one id or email given on the command line (copied). */
void scope_add(struct scope *s, const char *value, int is_email);

/* Limits of a users file, stdin included: bytes in all, and per line. */
#define SCOPE_FILE_MAX (16 * 1024 * 1024)
#define SCOPE_LINE_MAX 1024

/*
 * Read a users file ("-" is stdin): one user per line, an email when it
 * holds '@', an id otherwise.  Blank lines are ignored, and so is a
 * comment: from a '#' that starts the line (after blanks) or follows a
 * blank, to the end of the line ("42  # ticket 1234"); a '#' inside a
 * word is part of it, as an email may hold one.  A file is read as
 * safe_file.h reads (a regular file, a symbolic link followed); more than
 * SCOPE_FILE_MAX bytes, a line over SCOPE_LINE_MAX bytes, a NUL byte, a
 * control character, bytes that are not UTF-8, two words on a line and
 * an email with nothing before or after its '@' are refused.  Returns 0,
 * or -1 with one line in err naming the file (or stdin) and line, the
 * line shown escaped (a usage error).  Whether an id is one the users
 * table can hold is known only from the database: scope_resolve() says
 * so, naming the file and line.
 */
int scope_read_file(struct scope *s, const char *path, char *err,
		    size_t errlen);

/*
 * Look the given users up in the [schema] users table, once per run: ids
 * as written (an integer or text id through the id column's index),
 * emails without regard to case (through an index on lower(email), where
 * there is one).  Fills found (the ids of the column's own type, as
 * text, which every statement of the run compares typed), unknown and
 * ids_literal.  Each of the `nfilters` filters is evaluated for every
 * found user in the same statements (its users left out: scope_left_out()),
 * so that a rule need not send the users again to learn whom it skips.
 * Returns 0, or -1 with one line in err; *bad_input is then
 * 1 when the fault is in the ids given (not a whole number for an integer
 * id column: a usage error, naming the file and line of an id a users
 * file gave) rather than in the database or config.
 * Returns -2, also with a line in err, when the lookup failed on other
 * sessions' work (a lock or statement timeout: retry_reason()), which is
 * no fault of the config.
 */
/*
 * A condition a scoped run's users are checked against as they are looked
 * up: a rule's user filter (sweeper/plugin.h), written on the users
 * table's alias u with its own placeholders $1..$nparams.  All borrowed,
 * for the call only; `owner` names whose it is (scope_left_out()).
 */
struct scope_filter {
	const void *owner;
	const char *sql;
	int nparams;
	char *const *params;
};

int scope_resolve(struct scope *s, PGconn *conn, const struct config *cfg,
		  const struct scope_filter *filters, size_t nfilters,
		  int *bad_input, char *err, size_t errlen);

/*
 * The found users the filter of `owner` left out when scope_resolve()
 * looked them up, in text order: sets *ids (borrowed from the scope) and
 * *n and returns 1, or returns 0 when that filter was not given.
 */
int scope_left_out(const struct scope *s, const void *owner,
		   char *const **ids, size_t *n);

/*
 * Check that the [schema] users table and its id and email columns exist
 * (scoped runs and --check-config rely on them).  Returns 0, or -1 with one
 * line in err naming the three keys; -2 with one line in err when the
 * check met another session's lock or a timeout (retry_reason()).
 */
int scope_check_users_table(PGconn *conn, const struct config *cfg,
			    char *err, size_t errlen);

/*
 * A PostgreSQL array literal of the strings, each double-quoted with
 * backslash and double quote escaped.  The caller frees it.
 */
char *scope_text_array(char *const *items, size_t n);

/* Free everything; the struct is zeroed.  Accepts a zeroed struct. */
void scope_free(struct scope *s);

#endif /* SWEEPER_SCOPE_H */
