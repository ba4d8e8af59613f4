/*
 * table_facts.h: what a step's plan needs to know of its table, read from
 * the catalog in one query: whether a ctid names a row there, its size
 * and rows per block, its primary key, whether an index serves its user
 * column, and the same of the users table a walk by users reads.
 */
#ifndef SWEEPER_TABLE_FACTS_H
#define SWEEPER_TABLE_FACTS_H

#include <stddef.h>

#include <libpq-fe.h>

#include "db.h"

struct table_facts {
	long long oid;              /* pg_class oid: the same table however
				     * its name is written */
	int many_tables;            /* partitioned, or a parent in an
				     * inheritance tree: a ctid names no row */
	double rows_per_block;      /* the planner's average; 0 unknown */
	double rows;                /* reltuples; 0 when never analysed */
	long long nblocks;          /* heap blocks now */
	char primary_key[DB_NAME_LEN];  /* a one-column primary key, or "" */
	int key_exists;             /* the step's key column is a column */
	int user_exists;            /* the step's user column is a column */
	char user_index[DB_NAME_LEN];   /* a valid index, not partial, that
					 * leads with the user column, or "" */
	/* The users table, when one was named and exists (oid 0: not). */
	long long users_oid;
	int users_many_tables;
	double users_rows_per_block;
	double users_rows;
	long long users_nblocks;
	long long read_ms;          /* when they were read (clock.h) */
};

/*
 * How long a walk that starts after its plan read the facts takes their
 * sizes as they are: a fleet's target, or the first step of a run, walks
 * a moment after its preflight.  Later it reads them again
 * (table_facts_size()), since the table may have grown meanwhile, by
 * hours of earlier steps; a window's last has no end either way, so only
 * the windows' lengths depend on it.
 */
#define TABLE_FACTS_FRESH_MS 1000

/* Whether the facts were read less than TABLE_FACTS_FRESH_MS ago. */
int table_facts_fresh(const struct table_facts *f);

/* The table's rows per row of the users table; 0 when either is unknown. */
double table_facts_rows_per_user(const struct table_facts *f);

/*
 * Read the facts of `table` into *f: `key` and `user` are the step's key
 * and user columns, `users` the users table (each quoted, ident.h; NULL
 * for none).  Reading the size takes the tables' lock (ACCESS SHARE),
 * under the connection's lock_timeout.  Returns 0; 1 when the table does
 * not exist; -1 with one line in err and the SQLSTATE in `state`.
 */
int table_facts_read(PGconn *conn, const char *table, const char *key,
		     const char *user, const char *users,
		     struct table_facts *f, char state[DB_SQLSTATE_LEN],
		     char *err, size_t errlen);

/*
 * The size now, in heap blocks, of the table with pg_class oid `oid`,
 * into *nblocks: where a windowed walk that starts now ends.  Returns 0,
 * or -1 with one line in err and the SQLSTATE in `state`.
 */
int table_facts_size(PGconn *conn, long long oid, long long *nblocks,
		     char state[DB_SQLSTATE_LEN], char *err, size_t errlen);

#endif /* SWEEPER_TABLE_FACTS_H */
