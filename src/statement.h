/*
 * statement.h: the text of every statement a step runs, built from the
 * step's names (quoted once, by the plan) and the rule's SQL.  Pure: no
 * connection, no I/O, so that tests can hold the SQL each walk builds to
 * golden text (tests/unit/test_plan_sql.c).
 *
 * Values never enter the text: every bound, limit, key list and the
 * rule's own values travel as parameters, so one text serves every batch
 * of a step and is prepared once per connection (plan.h, db_run()).  Each
 * text comes with its slots: where the value of each $n comes from.
 *
 * A batch selects its victims and deletes them in one statement: a
 * window's plain DELETE (no LIMIT, no row locks taken ahead, about the
 * cost per row of one DELETE), or a capped one (LIMIT n FOR UPDATE SKIP
 * LOCKED, so that a row the application holds is passed over, then
 * deleted by ctid).  Its one result row holds the rows deleted, the rows
 * selected and the last key selected (the key walk's next cursor); a
 * window's DELETE without a ledger returns no row, and its command tag's
 * count is both the rows deleted and the rows selected (batch.c).
 */
#ifndef SWEEPER_STATEMENT_H
#define SWEEPER_STATEMENT_H

#include <stddef.h>

/* What a statement does. */
enum stmt_kind {
	STMT_WINDOW_DELETE = 0, /* a window of a windowed walk, deleted whole */
	STMT_CAPPED_DELETE,     /* the first `limit` rows between the bounds,
				 * FOR UPDATE SKIP LOCKED, deleted by ctid */
	STMT_KEYS_DELETE,       /* the rows whose keys are listed: a part of a
				 * batch the database refused (batch.c) */
	STMT_KEY_WINDOW,        /* the key `limit` keys after the cursor: the
				 * end of a key walk's window */
	STMT_VICTIM_KEYS,       /* the keys (as text) of the rows a capped
				 * batch would take, in key order, locked like
				 * its victims: to split a refused batch */
	STMT_COUNT,             /* dry run: the matching rows no earlier step
				 * of the run on the same table deletes */
	STMT_ESTIMATE,          /* every matching row: the planner's estimate
				 * chooses the walk (EXPLAIN only) */
	STMT_FEW_USERS,         /* the users the rule's user filter keeps,
				 * counted up to `limit`: whether a walk by
				 * users takes them in one window */
	STMT_KINDS
};

/* How a walk bounds its batches (doc/design.md "How a run works"). */
enum stmt_walk {
	STMT_WALK_KEY = 0,      /* t.key > after AND t.key <= upto; in key order */
	STMT_WALK_BLOCKS,       /* t.ctid >= after AND t.ctid < upto */
	STMT_WALK_USERS,        /* the rows of the users the rule's filter keeps
				 * in users blocks after..upto */
	STMT_WALK_NAMED,        /* the rows of a window of the named users */
	STMT_WALK_INDEX         /* no bounds: the predicate's index finds them */
};

/*
 * The optional parts of a statement, a bit each: its shape.  A window's
 * upper bound is absent for the last window, a key walk's lower bound
 * before its first batch, and the excluded keys until the database
 * refuses a row.
 */
#define STMT_AFTER    0x1u   /* the lower bound */
#define STMT_UPTO     0x2u   /* the upper bound */
#define STMT_EXCLUDED 0x4u   /* " AND NOT (t.key = ANY($n))" */
#define STMT_JOINED   0x8u   /* a walk by users joins its window's users
				 * (IN) instead of listing them (ARRAY()) */
#define STMT_UNLOCKED 0x10u  /* a capped batch of the walk by index takes
				 * its victims without locking them first, and
				 * its DELETE checks the predicate again */
#define STMT_SHAPES   32

/* Where the value of a parameter comes from. */
enum stmt_slot_kind {
	SLOT_STEP = 0,       /* the step's own parameter `index` */
	SLOT_FILTER,         /* the rule's user filter's parameter `index` */
	SLOT_EARLIER,        /* parameter `index` of earlier step `step` */
	SLOT_LEDGER_RUN,     /* the run id */
	SLOT_LEDGER_RULE,    /* the rule's name */
	SLOT_LEDGER_TABLE,   /* the step's table, as written */
	SLOT_AFTER,          /* the lower bound */
	SLOT_UPTO,           /* the upper bound */
	SLOT_LIMIT,          /* LIMIT */
	SLOT_OFFSET,         /* OFFSET: a key window's length less one */
	SLOT_EXCLUDED,       /* keys to pass over, an array literal */
	SLOT_KEYS,           /* keys to take, an array literal */
	SLOT_USERS,          /* the window's named users, an array literal */
	SLOT_SCOPE           /* every named user, an array literal */
};

struct stmt_slot {
	enum stmt_slot_kind kind;
	int step;            /* SLOT_EARLIER: which earlier step */
	int index;           /* SLOT_STEP, SLOT_FILTER, SLOT_EARLIER */
};

/*
 * An earlier step of the run on the same table, whose rows a dry run's
 * count passes over: its predicate over alias t, with its own $1..$n.
 * `user` (quoted) is its user column in a scoped run, whose rows it
 * deletes only for the named users; NULL otherwise.
 */
struct stmt_earlier {
	const char *predicate;
	int nparams;
	const char *user;
};

/*
 * What every text of a step is built from.  Names are quoted (ident.h);
 * the predicate and filter are the rule's, over aliases t and u.
 */
struct stmt_source {
	const char *table;        /* the step's table */
	const char *key;          /* its key column, or NULL when it has none
				   * (only walks that need none then work) */
	const char *user;         /* its user column, or NULL */
	const char *users;        /* the users table: walk by users and
				   * skipped users */
	const char *user_id;      /* its id column */
	const char *predicate;    /* the step's predicate, $1..$npredicate */
	int npredicate;
	const char *joined;       /* the same over t and its user u, with
				   * the same parameters, or NULL (struct
				   * sweeper_step's joined_predicate) */
	const char *filter;       /* the rule's user filter, or NULL */
	int nfilter;
	int many_tables;          /* partitioned or inherited: victims are
				   * matched on (tableoid, ctid) */
	enum stmt_walk walk;
	const char *ledger;       /* the ledger's deletions table, or NULL */
	int scoped;               /* counts and estimates keep to the named
				   * users (SLOT_SCOPE) */
	const struct stmt_earlier *earlier;   /* STMT_COUNT */
	size_t nearlier;
};

/* A built statement.  Owned: free with stmt_text_free(). */
struct stmt_text {
	char *sql;
	struct stmt_slot *slots;  /* nparams entries: $1 is slots[0] */
	int nparams;
};

/*
 * Build the statement of `kind` with `shape` (STMT_AFTER | ...) for the
 * step `src` describes into *out.  Bits of `shape` that the kind or the
 * walk has no use for are ignored.  Returns 0, or -1 with one line in
 * err: a kind that needs a key where the step has none, a walk by users
 * without a user column, a placeholder of the rule's SQL that cannot be
 * renumbered (sql_params.h).  *out is then zeroed.
 */
int stmt_build(struct stmt_text *out, const struct stmt_source *src,
	       enum stmt_kind kind, unsigned shape, char *err, size_t errlen);

/* Free what *t owns; *t is zeroed and may be built again. */
void stmt_text_free(struct stmt_text *t);

/* A short name of the kind, for statement names and --explain. */
const char *stmt_kind_name(enum stmt_kind kind);

#endif /* SWEEPER_STATEMENT_H */
