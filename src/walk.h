/*
 * walk.h: how a step goes through its table, batch after batch
 * (doc/design.md "How a run works").  Each walk is one small table of operations in a
 * file of its own:
 *
 *   walk_blocks.c  windows of the table's heap blocks, each deleted by
 *                  one plain DELETE (a plain table, no index serves the
 *                  predicate)
 *   walk_users.c   windows of the users table's blocks, the rows of the
 *                  users the rule's filter keeps there (a rule with a user
 *                  filter, an index on the step's user column)
 *   walk_named.c   windows of the named users of a scoped run
 *   walk_index.c   capped batches the predicate's index finds, no bounds
 *   walk_key.c     capped batches in key order from a keyset cursor,
 *                  within key windows (partitioned tables, a fixed
 *                  batch_size, PostgreSQL 13 and older)
 *
 * The three windowed walks share their windows (walk.c): each window is
 * deleted whole by a plain DELETE first, and in capped SKIP LOCKED
 * batches when that DELETE would wait for a row another session holds,
 * holds more rows than the batch size, or is refused (batch.c decides,
 * the walk keeps the window until a capped batch comes up short).
 *
 * A walk covers a part of its step: the whole of it, or a part that
 * split() handed out, disjoint from the others, so that several
 * connections can walk one step at once.
 */
#ifndef SWEEPER_WALK_H
#define SWEEPER_WALK_H

#include <stddef.h>

#include <libpq-fe.h>

#include "batch_sizer.h"
#include "db.h"
#include "plan.h"
#include "window_sizer.h"

/*
 * A key window starts at this many times the batch size and doubles, up
 * to the maximum, while matching rows are sparse: it bounds the rows one
 * batch reads when few rows match.  The factor applies to the current
 * batch size, so the window follows an adaptive size down as well as up.
 */
#define WALK_KEY_WINDOW_START 4
#define WALK_KEY_WINDOW_MAX 64

/*
 * A walk by users joins its window's users (STMT_JOINED) once its windows
 * delete this many rows per block of the users table, on average (the
 * window sizer's density): about one row per user found is where reading
 * each user once through the users' primary key starts to beat looking
 * the user up again for each row (walk.c).
 */
#define WALK_USERS_JOIN_DENSITY 1.0

/*
 * A walk by users whose rule's user filter keeps at most this many users
 * (counted when the walk starts) takes them in one window of the whole
 * users table (walk_users.c).
 */
#define WALK_USERS_FEW 1000

/* How batches are sized ([sweeper] batch_*; batch_size > 0 fixes it). */
struct walk_sizing {
	long long batch_size;
	long long batch_min;
	long long batch_max;
	long long batch_target_ms;
};

/* The named users of a scoped run: their ids as text, in id order. */
struct walk_named_users {
	char *const *ids;       /* borrowed */
	size_t n;
};

struct walk;

struct walk_ops {
	const char *name;       /* "blocks", "users", "named users", ... */
	/*
	 * Set the walk up where its step starts: read what it needs now
	 * (the table's size), or with `conn` NULL take it from the plan's
	 * facts (the preflight's first batch).  Returns 0, or -1 with the
	 * SQLSTATE in `state` and one line in err.
	 */
	int (*start)(struct walk *w, PGconn *conn, char state[DB_SQLSTATE_LEN],
		     char *err, size_t errlen);
	/* Size the next batch: its LIMIT and its bounds. */
	void (*next)(struct walk *w);
	/*
	 * Inside the batch's transaction, before its DELETE: what the
	 * bounds need from the database (a key window's end).  NULL when
	 * nothing.  Returns 0, or -1 with the SQLSTATE in `state` and one
	 * line in err.
	 */
	int (*in_batch)(struct walk *w, PGconn *conn,
			char state[DB_SQLSTATE_LEN], char *err, size_t errlen);
	/* Move past the batch just run; 0 when the walk is done. */
	int (*advance)(struct walk *w);
	/* Where the last batch was, for its log line ("blocks 0-12"). */
	void (*describe)(const struct walk *w, char *buf, size_t size);
	/*
	 * Hand out what is left of the walk (started, before its next
	 * batch) as at most `n` disjoint parts into parts[0..*nparts), each
	 * a walk of its own to run on its own connection; a walk that
	 * cannot be split gives one part, a copy of itself.  `conn` reads
	 * what the split needs (a key walk's key quantiles).  Returns 0, or
	 * -1 with one line in err.
	 */
	int (*split)(const struct walk *w, PGconn *conn, struct walk *parts,
		     size_t n, size_t *nparts, char *err, size_t errlen);
};

struct walk {
	const struct walk_ops *ops;
	struct plan *plan;              /* borrowed */
	struct walk_sizing sizing;
	struct walk_named_users named;  /* named walk only */
	int unprepared;                 /* send statements with their text
					 * (the preflight's first batch) */
	long long few;                  /* walk by users: > 0 when the rule's
					 * filter keeps at most this many
					 * users, taken in one window */

	/* The next batch (next()). */
	long long limit;                /* LIMIT, or a window's cap */
	int plain;                      /* the window's plain DELETE, or an
					 * unlocked batch of the walk by index */
	/* Its bounds as text, owned; NULL: none on that side. */
	char *after;
	char *upto;
	char *users;                    /* named walk: the window's users */

	/* Windowed walks: windows of units (blocks, or named users). */
	struct window_sizer ws;
	long long end;                  /* the part ends before this unit;
					 * < 0: where the table ends */
	long long nunits;               /* units when the walk started */
	long long pos;                  /* the current window's first unit */
	long long len;                  /* its length */
	int new_window;                 /* the next batch starts the next */
	int capped;                     /* the window goes in capped batches
					 * (by index: the rest of the walk) */
	int capped_only;                /* every window does (fixed size) */
	long long overflow;             /* a plain DELETE's rows over the cap */

	/* Capped walks (key, index): the LIMIT. */
	struct batch_sizer sz;
	/* Key walk; strings owned, NULL: none. */
	char *cursor;                   /* the last key passed */
	char *last_key;                 /* the part ends at this key */
	long long factor;               /* window = factor x batch size */
	long long window;               /* keys in the next batch's window */

	/* The last batch (batch.c). */
	long long deleted;
	long long selected;
	char *last_victim;              /* key of its last victim, owned */
	double ms;                      /* its last try's time */
	int isolated;                   /* it was split (refused rows) */

	/*
	 * Rows the database refused to delete (batch.c): their keys as
	 * text, and as an array literal every later batch of the walk
	 * passes over.  Owned.
	 */
	char **refused;
	size_t nrefused;
	char *excluded;
	/* While a refused batch is split: the keys of the part to delete
	 * (borrowed), in place of the walk's bounds. */
	const char *only_keys;
	/* The last failed statement's message (without its SQLSTATE) and
	 * the constraint it names ("" for none). */
	char fail_message[1024];
	char fail_constraint[DB_NAME_LEN];
};

/*
 * Set *w up to walk `plan`'s step by the plan's walk, with `sizing` and
 * (for a named walk) `named` (borrowed; it must outlive the walk).
 * Nothing is read yet: call w->ops->start().
 */
void walk_init(struct walk *w, struct plan *plan,
	       const struct walk_sizing *sizing,
	       const struct walk_named_users *named);

/* Whether the walk goes by windows (blocks, users or named users). */
int walk_windowed(const struct walk *w);

/*
 * Whether the next batch goes plain first, taking no row lock ahead: a
 * window's plain DELETE, or an unlocked batch of the walk by index
 * (STMT_UNLOCKED), until one would wait for a row another session holds
 * (the window, or the rest of the walk by index, then goes capped).
 */
int walk_tries_plain(const struct walk *w);

/*
 * The statement of the walk's next batch: its kind and shape (the plain
 * DELETE of a window, or a capped batch; a refused batch's part while
 * w->only_keys is set), and the values of its parameters (borrowed from
 * the walk).
 */
void walk_statement(const struct walk *w, enum stmt_kind *kind,
		    unsigned *shape, struct plan_values *v);

/*
 * The same for the keys of the rows a capped batch would take
 * (STMT_VICTIM_KEYS), to split a refused batch.
 */
void walk_victims_statement(const struct walk *w, unsigned *shape,
			    struct plan_values *v);

/*
 * Learn from the batch just run (w->deleted, w->selected, w->ms): the
 * LIMIT's sizer, or the windows' when a window went whole.
 */
void walk_learn(struct walk *w);

/* Pass over the row with key `key` for the rest of the walk. */
void walk_exclude(struct walk *w, const char *key);

/* Free what the walk owns; *w is zeroed. */
void walk_free(struct walk *w);

/* The table of each walk (walk_*.c). */
extern const struct walk_ops walk_blocks_ops;
extern const struct walk_ops walk_users_ops;
extern const struct walk_ops walk_named_ops;
extern const struct walk_ops walk_index_ops;
extern const struct walk_ops walk_key_ops;

/*
 * Shared by the windowed walks (walk.c): size the next window when one
 * is due, with its units [pos, pos + len); 1 when a new window began.
 */
int walk_window_next(struct walk *w);

/* After a window's batch: 0 when the part is done. */
int walk_window_advance(struct walk *w);

/* Whether the current window is the part's last (it takes what is left). */
int walk_window_last(const struct walk *w);

/*
 * Split what is left of a windowed walk into at most `n` parts of about
 * as many units each (walk.c), for windowed walks whose units need
 * nothing from the database.  Returns 0.
 */
int walk_window_split(const struct walk *w, struct walk *parts, size_t n,
		      size_t *nparts);

/*
 * Share batch_max among `n` parts that run at once: each part's batches
 * and windows hold at most batch_max / n rows (never fewer than
 * batch_min), so the workers together hold no more rows locked at one
 * moment than one worker's batch would (doc/workers.md).  Returns that
 * share.  A fixed batch_size is kept.
 */
long long walk_share_cap(struct walk *parts, size_t n);

/* walk_window_split() as a walk's split operation (struct walk_ops). */
int walk_window_split_op(const struct walk *w, PGconn *conn,
			 struct walk *parts, size_t n, size_t *nparts,
			 char *err, size_t errlen);

/*
 * Shared by the walks by windows of heap blocks (walk_blocks.c; the users
 * walk's blocks are the users table's): start the windows over `nunits`
 * blocks of `rows_per_block` rows, the first holding the first batch's
 * worth of rows as if every row matched; size the next window and set its
 * bounds as ctids (no upper bound for the table's open last window); and
 * say where the window is, "WHAT 0-12" or "WHAT 13-end".
 */
void walk_blocks_begin(struct walk *w, long long nunits,
		       double rows_per_block);
void walk_blocks_bounds(struct walk *w);
void walk_blocks_describe(const struct walk *w, const char *what, char *buf,
			  size_t size);

/* A copy of the walk's position and settings, without its last batch or
 * its refused rows (for a part of a split). */
void walk_copy(struct walk *dst, const struct walk *src);

#endif /* SWEEPER_WALK_H */
