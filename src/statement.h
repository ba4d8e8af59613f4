/*
 * statement.h: the SQL the engine runs for a step.
 *
 * The batched DELETE selects its victims and deletes them in one statement
 * (DESIGN.md section 8): victims are the next `limit` rows after the keyset
 * cursor in key order that match the predicate, locked FOR UPDATE SKIP
 * LOCKED so that a row the application holds is passed over, not waited
 * on, then deleted by ctid.  Its one result row holds the number of rows
 * deleted, the number selected, and the last key selected (the next
 * cursor).
 *
 * A batch may also be bounded above by a key (the window, found by
 * STMT_WINDOW): with both bounds known when the statement is planned, the
 * planner sees a small key range and never picks a plan that reads every
 * remaining matching row in each batch, which would make a run cost the
 * square of the rows it deletes.
 *
 * A step on one plain table walks its heap blocks instead (engine.c): the
 * bounds are then ctids, read by a TID range scan, the physical order a
 * single DELETE reads the table in.  Such a window is first deleted whole
 * by a plain DELETE (stmt_build_window_delete(), no LIMIT and no row
 * locks taken ahead of the delete, hence about the cost per row of one
 * DELETE), and by the capped, SKIP LOCKED statement only when that one
 * would wait for a row lock or delete more than the batch size.
 */
#ifndef SWEEPER_STATEMENT_H
#define SWEEPER_STATEMENT_H

#include <stddef.h>

#include "rule.h"

enum stmt_kind {
	STMT_DELETE,         /* one batch, between the bounds */
	STMT_WINDOW,         /* the key `limit` rows after bounds->after */
	STMT_COUNT,          /* dry run: count every matching row */
	STMT_SKIPPED_USERS,  /* named users a rule's user filter excludes */
	STMT_VICTIM_KEYS     /* the keys (as text) of the first `limit` rows a
			      * batch between the bounds would delete, in key
			      * order, locked FOR UPDATE SKIP LOCKED like the
			      * batch's victims: to split a batch the database
			      * refused into smaller ones (engine.c) */
};

/* What the bounds of a batch are, and whether its victims are ordered. */
enum stmt_walk {
	STMT_WALK_KEY = 0,   /* key > after AND key <= upto; victims in key order */
	STMT_WALK_BLOCKS,    /* ctid >= after AND ctid < upto; in no order */
	STMT_WALK_FREE,      /* no bounds and no order: the predicate's index finds them */
	STMT_WALK_USERS,     /* rows of the users the filter keeps in users blocks after..upto */
	STMT_WALK_KEYS       /* only the rows whose key is in bounds->keys; in key order */
};

/*
 * The users a STMT_WALK_USERS batch is bounded by: " AND t.user =
 * ANY(ARRAY(SELECT u.id FROM users AS u WHERE u.ctid >= after AND u.ctid <
 * upto AND (filter)))".  The filter's parameters must be the step's
 * first ones, with the same values: it is written with the same $n.
 */
struct stmt_users {
	const char *table;       /* unquoted, from [schema] */
	const char *id_column;   /* unquoted, from [schema] */
	const char *filter;      /* the rule's user filter, over alias u */
};

/*
 * Bounds as text (keys or ctids); NULL means unbounded on that side.
 * `keys` and `excluded` are array literals of keys as text ('{"5","9"}'),
 * whose element type the key column gives: " AND t.key = ANY($n)" lets
 * the key's index find them.
 */
struct stmt_bounds {
	const char *after;   /* key > after (the keyset cursor), or ctid >= after */
	const char *upto;    /* key <= upto (the end of the window), or ctid < upto */
	enum stmt_walk walk;
	const struct stmt_users *users;   /* STMT_WALK_USERS only */
	const char *keys;    /* STMT_WALK_KEYS only: the rows to take */
	/* Any walk: rows to pass over (the ones the database refused to
	 * delete earlier in the step), or NULL for none. */
	const char *excluded;
};

/* Restriction of a scoped run to named users. */
struct stmt_scope {
	const char *users_table;      /* unquoted, from [schema] */
	const char *user_id_column;   /* unquoted, from [schema] */
	const char *ids;              /* text[] literal of the users' ids */
};

/*
 * The audit ledger a batch records its deletions in (ledger.h): the
 * batch's statement then also inserts, in the same statement and so the
 * same transaction, one row per user (NULL for a step without a user
 * column) with the number of rows deleted.
 */
struct stmt_ledger {
	const char *deletions;   /* quoted "schema"."deletions" */
	const char *run_id;      /* the run's uuid, as text */
};

struct stmt {
	char *sql;                    /* owned */
	const char *params[2 * RULE_MAX_PARAMS + 5]; /* borrowed values */
	int nparams;
};

/*
 * Build the statement of `kind` for `step` (or, for STMT_SKIPPED_USERS,
 * for the rule's user filter: `step` is then unused and may be NULL).
 * `scope` is NULL for an unscoped run; `bounds` (NULL for none) limits
 * STMT_DELETE and STMT_WINDOW to a key range; `many_tables` matches
 * victims on (tableoid, ctid) instead of ctid alone, for partitioned and
 * inherited tables where a ctid is not unique.  Parameter values are
 * borrowed from the step, scope and bounds, which must outlive the
 * statement.  Returns 0, or -1 with one line in err when an identifier
 * cannot be quoted.
 */
int stmt_build(struct stmt *st, const struct rule *rule,
	       const struct step *step, enum stmt_kind kind, long long limit,
	       const struct stmt_scope *scope,
	       const struct stmt_bounds *bounds, int many_tables, char *err,
	       size_t errlen);

/*
 * STMT_DELETE, recording its deletions in `ledger` unless it is NULL.  The
 * run id, the rule's name and the step's table travel as parameters.  The
 * result row is the same as without a ledger.
 */
int stmt_build_delete(struct stmt *st, const struct rule *rule,
		      const struct step *step, long long limit,
		      const struct stmt_scope *scope,
		      const struct stmt_bounds *bounds, int many_tables,
		      const struct stmt_ledger *ledger, char *err,
		      size_t errlen);

/*
 * The plain DELETE of a block window: every row between the bounds (which
 * must be STMT_WALK_BLOCKS or STMT_WALK_USERS; `upto` may be NULL) that
 * matches the
 * predicate, with no LIMIT and no FOR UPDATE.  It waits for rows other
 * sessions hold: run it under a short lock_timeout.  The result row has
 * the same columns as STMT_DELETE's: deleted, selected (the same number)
 * and a NULL last key.  Returns 0, or -1 with one line in err.
 */
int stmt_build_window_delete(struct stmt *st, const struct rule *rule,
			     const struct step *step,
			     const struct stmt_bounds *bounds,
			     const struct stmt_ledger *ledger, char *err,
			     size_t errlen);

/* Free the SQL text; *st may be rebuilt. */
void stmt_free(struct stmt *st);

#endif /* SWEEPER_STATEMENT_H */
