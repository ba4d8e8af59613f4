/*
 * engine.c: the batching loop.
 *
 * Every batch is one transaction: BEGIN, SET LOCAL lock_timeout and
 * statement_timeout, one statement that selects and deletes the victims,
 * COMMIT.  A failure anywhere rolls the whole batch back, and a process
 * killed mid-batch leaves a transaction the server rolls back, so no batch
 * is ever half applied.  Stops (max_runtime, signals) are honoured
 * between batches; a signal handler may also cancel the running batch
 * (src/stop.c), which then rolls back like any failed one.  A batch that
 * failed because of other sessions (deadlock, lock or statement timeout,
 * serialization failure) is run again after a backoff (src/retry.c).
 * A batch the database refuses because of some of its rows (a foreign key
 * still pointing at one, a trigger that raises; src/refused.c) is split
 * until those rows stand alone, and they are left behind and passed over
 * by the rest of the step (engine_isolate()).  Every transaction opens
 * with SET LOCAL settings only, the time zone of naive times included
 * (engine_begin()).
 * The size of each batch comes from batch_sizer.h; the pauses after a
 * batch and the wait for lagging standbys before one from throttle.h, and
 * max_rows and max_throttle also stop a run between batches.
 *
 * A step walks its table in one of four ways (engine_walk_init()):
 *
 *   - by heap blocks, for a plain table whose predicate no index serves:
 *     each window of blocks is deleted by one plain DELETE, reading it as
 *     a single DELETE would, and in capped SKIP LOCKED batches only when
 *     that DELETE would wait for a row another session holds or delete
 *     more than the batch size (window_sizer.h sizes the windows);
 *   - by users, for a step with a user column of a rule with a user
 *     filter, when an index finds a user's rows: windows of the users
 *     table's blocks, deleted as a block walk's are, each bounded to the
 *     rows of the users the filter keeps there;
 *   - freely, when the planner reaches the predicate's rows through an
 *     index: capped batches with no bounds, until one comes up short;
 *   - by key, for partitioned and inherited tables (a ctid names no row
 *     there), scoped runs (the user column's index finds their rows), a
 *     fixed batch_size (batches of exactly that many rows) and servers
 *     before PostgreSQL 14 (no TID range scans): capped batches in key
 *     order from a keyset cursor, within key windows.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "batch_sizer.h"
#include "clock.h"
#include "db.h"
#include "engine.h"
#include "estimate.h"
#include "ident.h"
#include "log.h"
#include "refused.h"
#include "retry.h"
#include "scope.h"
#include "strbuf.h"
#include "window_sizer.h"
#include "xalloc.h"

/*
 * The window a batch looks for victims in starts at this many times the
 * batch size and doubles, up to the maximum, while matching rows are
 * sparse; it bounds the rows one batch reads when few rows match.  The
 * factor applies to the current batch size, so the window follows an
 * adaptive size down as well as up.
 */
#define ENGINE_WINDOW_START_FACTOR 4
#define ENGINE_WINDOW_MAX_FACTOR 64

/*
 * The longest a block window's plain DELETE waits for a row lock before
 * the window is deleted in SKIP LOCKED batches instead (lock_timeout when
 * shorter): a row the application holds costs the run this much, and
 * never holds up the application's transaction longer than a batch.
 */
#define ENGINE_PLAIN_LOCK_MS 100

/* TID range scans, which a block walk needs, came in PostgreSQL 14. */
#define ENGINE_BLOCKS_MIN_SERVER 140000

/*
 * An engine_batch() outcome private to this file: a window's plain DELETE
 * was rolled back (it would wait for a row lock, or it held more rows
 * than the batch size), and the window goes in capped batches.
 */
#define ENGINE_REDO (ENGINE_LOST + 1)

static int engine_stop_requested(const struct engine *e)
{
	return e->stop && *e->stop;
}

/* Milliseconds since `t0`, with the clock's precision. */
long long engine_start_size(const struct engine *e)
{
	struct batch_sizer sz;

	batch_sizer_init(&sz, e->batch_size, e->batch_min, e->batch_max,
			 e->batch_target_ms);
	return batch_sizer_next(&sz);
}

static void engine_batch_rollback(struct engine *e);

/*
 * Open a transaction with the run's settings (db_set_local(): the
 * timeouts and the time zone of naive times, SET LOCAL only), with
 * lock_timeout `lock_ms` for this one.  Returns 0, or -1 with the
 * failure's SQLSTATE in `state` and one line in why; the caller then
 * rolls back.
 */
static int engine_begin(struct engine *e, long long lock_ms,
			char state[DB_SQLSTATE_LEN], char *why, size_t whylen)
{
	return db_begin_lock(e->conn, lock_ms, state, why, whylen);
}

/*
 * Run one statement that changes nothing (an EXPLAIN, a count, a lookup)
 * in a transaction of its own set up by engine_begin(), rolled back at
 * once: every statement that compares times then does so in the
 * configured time zone.  Returns the result, which the caller PQclear()s,
 * or NULL with the SQLSTATE in `state` and one line in why.
 */
static PGresult *engine_read(struct engine *e, const char *sql, int nparams,
			     const char *const *params,
			     char state[DB_SQLSTATE_LEN], char *why,
			     size_t whylen)
{
	PGresult *res = NULL;

	if (engine_begin(e, e->lock_timeout_ms, state, why, whylen) == 0)
		res = db_query_state(e->conn, sql, nparams, params, state, why,
				     whylen);
	engine_batch_rollback(e);
	return res;
}

/* What the walk needs to know of a table (engine_table_info()). */
struct engine_table {
	int many_tables;        /* partitioned or a parent: ctids name no row */
	double rows_per_block;  /* the planner's average; <= 0 when unknown */
	long long nblocks;      /* heap blocks now; with `sized` only */
};

/*
 * Find out whether rows of `table` live in more than one physical table
 * (partitioned, or a parent in an inheritance tree), where a ctid does not
 * identify a row, and how many rows a block holds.  Also proves the table
 * exists.  With `sized`, also read its size in blocks, where a walk by
 * blocks ends (its last window has no end, and so also takes rows added
 * since).
 *
 * Without `sized` only the catalog is read: the preflight reads this
 * before planning, whose lock wait has its own message, and stale
 * statistics only change the first window.  Reading the size takes the
 * table's lock, under the session's lock_timeout, as planning does.
 */
static int engine_table_info(struct engine *e, const struct rule *r,
			     const char *table, int sized,
			     struct engine_table *tab, char *err,
			     size_t errlen)
{
	char quoted[IDENT_MAX];
	const char *params[1];
	PGresult *res;
	char sql[320];
	char why[512];

	memset(tab, 0, sizeof(*tab));
	if (ident_quote(table, quoted, sizeof(quoted)) != 0) {
		snprintf(err, errlen, "rule '%s': invalid table name '%s'",
			 r->name, table);
		return -1;
	}
	params[0] = quoted;
	snprintf(sql, sizeof(sql),
		 "SELECT c.relkind = 'p' OR c.relhassubclass,"
		 " CASE WHEN c.relpages > 0 AND c.reltuples > 0"
		 " THEN c.reltuples / c.relpages ELSE 0 END, %s"
		 " FROM pg_class c WHERE c.oid = to_regclass($1)", sized ?
		 "pg_relation_size(c.oid) / current_setting('block_size')::bigint" :
		 "0");
	res = db_query(e->conn, sql, 1, params, why, sizeof(why));
	if (!res) {
		snprintf(err, errlen, "rule '%s': cannot check table '%s': %s",
			 r->name, table, why);
		return -1;
	}
	if (PQntuples(res) != 1) {
		snprintf(err, errlen,
			 "rule '%s': table '%s' does not exist; check the table "
			 "names in [schema] and the dsn's database", r->name,
			 table);
		PQclear(res);
		return -1;
	}
	tab->many_tables = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	tab->rows_per_block = strtod(PQgetvalue(res, 0, 1), NULL);
	tab->nblocks = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
	PQclear(res);
	return 0;
}

/*
 * Build one step's first-batch statement into *st and EXPLAIN it.  Returns
 * the plan, or NULL with one line in err; *st is built (and must be freed
 * with stmt_free()) only when the plan is returned.
 */
static PGresult *engine_plan_step(struct engine *e, const struct rule *r,
				  const struct step *step,
				  const struct stmt_bounds *bounds,
				  struct stmt *st, int *busy, char *err,
				  size_t errlen)
{
	struct strbuf sql = STRBUF_INIT;
	char state[DB_SQLSTATE_LEN];
	PGresult *res;
	char why[1024];
	struct engine_table tab;

	*busy = 0;

	if (engine_table_info(e, r, step->table, 0, &tab, err, errlen) != 0)
		return NULL;
	if (stmt_build_delete(st, r, step, engine_start_size(e),
			      step->user_column ? e->scope : NULL, bounds,
			      tab.many_tables, e->ledger, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "rule '%s': %s", r->name, why);
		return NULL;
	}
	strbuf_addf(&sql, "EXPLAIN %s", st->sql);
	res = engine_read(e, strbuf_str(&sql), st->nparams, st->params, state,
			  why, sizeof(why));
	strbuf_release(&sql);
	if (res)
		return res;
	/*
	 * Planning takes the table's lock: a lock timeout here means another
	 * session (a migration, say) holds the table, not that the config
	 * is wrong; a statement timeout, a deadlock or a serialization
	 * failure is no fault of the config either.  Each fails this rule
	 * alone.  A cancel of ours (a stop) is told apart by the caller.
	 */
	*busy = retry_reason(state) != NULL;
	if (strcmp(state, "55P03") == 0)
		snprintf(err, errlen,
			 "rule '%s': table '%s' is locked by another session: "
			 "%s; the rule did not run and deleted nothing, run "
			 "again later", r->name, step->table, why);
	else if (strcmp(state, "57014") == 0)
		snprintf(err, errlen,
			 "rule '%s': planning the step on '%s' took longer than "
			 "statement_timeout: %s; the rule did not run and "
			 "deleted nothing, run again later or raise "
			 "statement_timeout", r->name, step->table, why);
	else if (*busy)
		snprintf(err, errlen,
			 "rule '%s': planning the step on '%s' failed (%s): %s; "
			 "the rule did not run and deleted nothing, run again "
			 "later", r->name, step->table, retry_reason(state),
			 why);
	else if (strcmp(state, "42501") == 0)
		/*
		 * EXPLAIN checks the statement's privileges.  grants.c has
		 * checked those the sweeper knows of, so what is missing here
		 * is read by the rule's own SQL (another table, a function):
		 * the names are right, the role is not.
		 */
		snprintf(err, errlen,
			 "rule '%s': the role may not run the step on '%s': %s; "
			 "grant what the rule's SQL reads (mfa-sweeper "
			 "--print-grants lists what the sweeper itself needs)",
			 r->name, step->table, why);
	else
		snprintf(err, errlen,
			 "rule '%s': step on '%s' does not plan: %s; check the "
			 "column names in [schema]", r->name, step->table, why);
	stmt_free(st);
	return NULL;
}

int engine_preflight(struct engine *e, const struct rule *r, char *err,
		     size_t errlen)
{
	struct stmt st;
	PGresult *res;
	size_t i;
	int busy;

	for (i = 0; i < r->nsteps; i++) {
		res = engine_plan_step(e, r, &r->steps[i], NULL, &st, &busy,
				       err, errlen);
		if (!res)
			return busy ? -2 : -1;
		PQclear(res);
		stmt_free(&st);
	}
	return 0;
}

/* Fill the named users the rule's user filter excludes. */
static int engine_skipped_users(struct engine *e, const struct rule *r,
				struct rule_result *res, char *err,
				size_t errlen)
{
	char state[DB_SQLSTATE_LEN];
	struct stmt st;
	PGresult *pg;
	int i;

	if (!e->scope || !r->user_filter)
		return 0;
	if (stmt_build(&st, r, NULL, STMT_SKIPPED_USERS, 0, e->scope, NULL, 0,
		       err, errlen) != 0)
		return -1;
	/* The filter compares times (user_disabled's grace). */
	pg = engine_read(e, st.sql, st.nparams, st.params, state, err, errlen);
	stmt_free(&st);
	if (!pg)
		return -1;
	res->nskipped = (size_t)PQntuples(pg);
	res->skipped_users = xcalloc(res->nskipped, sizeof(char *));
	for (i = 0; i < PQntuples(pg); i++)
		res->skipped_users[i] = xstrdup(PQgetvalue(pg, i, 0));
	PQclear(pg);
	return 0;
}

/* Describe a failed statement, and tell a lost connection apart. */
static int engine_failure(struct engine *e, const char *what, const char *why,
			  struct rule_result *res)
{
	char msg[2048];
	int lost = db_lost(e->conn);

	snprintf(msg, sizeof(msg), "%s: %s", what, why);
	free(res->error);
	res->error = xstrdup(msg);
	return lost ? ENGINE_LOST : ENGINE_FAILED;
}

/*
 * Where a step's walk stands between batches (see the top of this file
 * for the kinds).  Strings are owned.
 */
struct engine_walk {
	enum stmt_walk mode;
	int many_tables;       /* engine_table_info() */
	struct batch_sizer sz; /* the LIMIT of key and free walks */
	long long limit;       /* LIMIT of the next batch */
	long long deleted;     /* of the last batch */
	long long selected;    /* of the last batch */
	double ms;             /* the last batch's time, its last try only */

	/* Key walk. */
	char *cursor;          /* last key passed; NULL before the first batch */
	char *upto;            /* end of the current window; NULL: none */
	long long factor;      /* window = factor x batch size; 0: no window */
	long long window;      /* keys in the next batch's window */
	char *last_victim;     /* key of the last batch's last victim, or NULL */

	/* Block and users walks: windows of blocks of the table, or of the
	 * users table for a users walk. */
	struct window_sizer ws;
	struct stmt_users users; /* users walk: borrowed names and filter */
	long long nblocks;     /* the table's blocks when the step began */
	long long block;       /* first block of the current window */
	long long blocks;      /* its length */
	int new_window;        /* the next batch starts the next window */
	int capped;            /* the current window goes in capped batches */
	int plain;             /* the last batch was the window's plain DELETE */
	long long overflow;    /* rows of a plain DELETE over the limit, or 0 */
	char from[32];         /* the window as ctids: ctid >= from */
	char to[32];           /* ... and ctid < to; "" for the last window */

	/*
	 * Rows the database refused to delete (engine_isolate()): their keys
	 * as text, and the same as an array literal that every later batch
	 * of the step passes over.  Owned.
	 */
	char **refused;
	size_t nrefused;
	char *excluded;        /* NULL while nothing was refused */
	/* While a refused batch is split: the keys of the part to delete
	 * (borrowed), which replace the walk's bounds. */
	const char *only_keys;
	int isolated;          /* the last batch was split */
	/* The last failed statement's message (without its SQLSTATE) and the
	 * constraint it names ("" for none), for a refused row's record. */
	char fail_message[1024];
	char fail_constraint[DB_NAME_LEN];
};

/* Whether the walk goes by windows of blocks (of its table or users'). */
static int engine_windowed(const struct engine_walk *w)
{
	return w->mode == STMT_WALK_BLOCKS || w->mode == STMT_WALK_USERS;
}

/* What a window's blocks are blocks of, for log lines. */
static const char *engine_window_of(const struct engine_walk *w)
{
	return w->mode == STMT_WALK_USERS ? "users blocks" : "blocks";
}

static void engine_walk_size(struct engine_walk *w);
static int engine_walk_stmt(const struct engine *e, const struct rule *r,
			    const struct step *step,
			    const struct engine_walk *w, int plain,
			    struct stmt *st, char *err, size_t errlen);

/*
 * Set *w up to walk by windows of the blocks of `tab` (the step's table,
 * or the users table), from its first block.
 */
static void engine_walk_windows(const struct engine *e, struct engine_walk *w,
				enum stmt_walk mode,
				const struct engine_table *tab)
{
	w->mode = mode;
	w->nblocks = tab->nblocks;
	window_sizer_init(&w->ws, e->batch_max, engine_start_size(e),
			  tab->rows_per_block, e->batch_target_ms);
	w->new_window = 1;
}

/* Whether the rule's user filter is written with the step's first $n. */
static int engine_filter_fits(const struct rule *r, const struct step *step)
{
	int i;

	if (r->filter_nparams > step->nparams)
		return 0;
	for (i = 0; i < r->filter_nparams; i++) {
		const char *a = r->filter_params[i], *b = step->params[i];

		if (a != b && (!a || !b || strcmp(a, b) != 0))
			return 0;
	}
	return 1;
}

/*
 * Try to walk a step by users: windows of the users table's blocks, the
 * users the rule's filter keeps in each, and their rows through the user
 * column's index.  A batch then costs what its users' rows cost, however
 * large the tables, where a block walk's semi-join reads the whole users
 * table once per batch.  Taken only when the plan of the first batch
 * reads the step's table through an index (on the user column, with no
 * such index a batch would read the table whole).  Returns 1 when *w is
 * set up for it, else 0.
 */
static int engine_walk_users(struct engine *e, const struct rule *r,
			     const struct step *step, struct engine_walk *w)
{
	struct engine_table users;
	struct stmt st;
	char state[DB_SQLSTATE_LEN];
	char why[1024];
	char *plan = NULL;
	int ok = 0;

	if (!step->user_column || !r->user_filter || !e->users_table ||
	    !e->user_id_column || !*e->users_table || !*e->user_id_column ||
	    !engine_filter_fits(r, step))
		return 0;
	if (engine_table_info(e, r, e->users_table, 1, &users, why,
			      sizeof(why)) != 0)
		goto out;
	if (users.many_tables) {
		snprintf(why, sizeof(why), "the users table is partitioned");
		goto out;
	}
	engine_walk_windows(e, w, STMT_WALK_USERS, &users);
	w->users.table = e->users_table;
	w->users.id_column = e->user_id_column;
	w->users.filter = r->user_filter;
	engine_walk_size(w);
	if (engine_walk_stmt(e, r, step, w, 1, &st, why, sizeof(why)) != 0)
		goto out;
	/* The filter compares times: plan it in the run's time zone. */
	if (engine_begin(e, e->lock_timeout_ms, state, why, sizeof(why)) == 0 &&
	    estimate_explain(e->conn, &st, &plan, why, sizeof(why)) == 0) {
		ok = estimate_plan_indexed(plan, SWEEPER_TARGET_ALIAS) == 1;
		if (!ok)
			snprintf(why, sizeof(why), "the plan does not reach "
				 "the users' rows through an index");
	}
	engine_batch_rollback(e);
	stmt_free(&st);
out:
	if (!ok) {
		log_msg(SWEEPER_LOG_DEBUG, "rule '%s': %s: not walked by "
			"users: %s", r->name, step->table, why);
		w->mode = STMT_WALK_KEY;
		w->new_window = 0;
	}
	free(plan);
	return ok;
}

/*
 * Start the walk of a step: choose its kind and size its first batch.
 * `indexed` says the planner reaches the step's rows through an index
 * (engine_estimate()).  Returns 0, or -1 with one line in err.
 */
static int engine_walk_init(struct engine *e, const struct rule *r,
			    const struct step *step, int indexed,
			    struct engine_walk *w, char *err, size_t errlen)
{
	struct engine_table tab;
	int blocks_ok = !(e->scope && step->user_column) &&
			e->batch_size <= 0 &&
			PQserverVersion(e->conn) >= ENGINE_BLOCKS_MIN_SERVER;

	memset(w, 0, sizeof(*w));
	if (engine_table_info(e, r, step->table, blocks_ok, &tab, err,
			      errlen) != 0)
		return -1;
	w->many_tables = tab.many_tables;
	/* Each table has its own cost per row: sizing starts over. */
	batch_sizer_init(&w->sz, e->batch_size, e->batch_min, e->batch_max,
			 e->batch_target_ms);
	if (e->scope && step->user_column) {
		/*
		 * A scoped step reaches its few rows through the user column's
		 * index; walking the whole key in windows would only read more.
		 */
		w->mode = STMT_WALK_KEY;
	} else if (!blocks_ok || tab.many_tables) {
		/*
		 * A fixed batch_size promises batches of exactly that many
		 * rows, which only a capped walk keeps; a ctid names no row of
		 * a partitioned table; TID range scans need PostgreSQL 14.
		 */
		w->mode = STMT_WALK_KEY;
		w->factor = ENGINE_WINDOW_START_FACTOR;
	} else if (engine_walk_users(e, r, step, w)) {
		log_msg(SWEEPER_LOG_DEBUG, "rule '%s': %s: walked by users",
			r->name, step->table);
	} else if (indexed) {
		w->mode = STMT_WALK_FREE;
	} else {
		engine_walk_windows(e, w, STMT_WALK_BLOCKS, &tab);
	}
	return 0;
}

static void engine_walk_free(struct engine_walk *w)
{
	size_t i;

	free(w->cursor);
	free(w->upto);
	free(w->last_victim);
	w->cursor = w->upto = w->last_victim = NULL;
	for (i = 0; i < w->nrefused; i++)
		free(w->refused[i]);
	free(w->refused);
	free(w->excluded);
	w->refused = NULL;
	w->nrefused = 0;
	w->excluded = NULL;
}

/* Size the next batch: its LIMIT, and its key or block window. */
static void engine_walk_size(struct engine_walk *w)
{
	if (engine_windowed(w)) {
		w->limit = w->ws.cap;
		if (!w->new_window)
			return;
		w->new_window = 0;
		w->capped = 0;
		w->blocks = window_sizer_next(&w->ws);
		snprintf(w->from, sizeof(w->from), "(%lld,0)", w->block);
		/* The last window also takes rows added since the start. */
		if (w->block + w->blocks >= w->nblocks)
			w->to[0] = '\0';
		else
			snprintf(w->to, sizeof(w->to), "(%lld,0)",
				 w->block + w->blocks);
		return;
	}
	w->limit = batch_sizer_next(&w->sz);
	w->window = w->factor * w->limit;
}

/*
 * The bounds of the walk's next batch, borrowed from the walk: its window
 * or key range, the keys passed over, and while a refused batch is split
 * (w->only_keys) those keys instead of the window.
 */
static void engine_walk_bounds(const struct engine_walk *w,
			       struct stmt_bounds *b)
{
	memset(b, 0, sizeof(*b));
	b->walk = w->mode;
	b->excluded = w->excluded;
	if (w->only_keys) {
		b->walk = STMT_WALK_KEYS;
		b->keys = w->only_keys;
	} else if (engine_windowed(w)) {
		b->after = w->from;
		b->upto = w->to[0] ? w->to : NULL;
		b->users = &w->users;
	} else if (w->mode == STMT_WALK_KEY) {
		b->after = w->cursor;
		b->upto = w->upto;
	}
}

/*
 * Build the statement of the walk's next batch: the plain DELETE of its
 * block window when `plain`, else the capped one.  The statement borrows
 * the walk's bounds.
 */
static int engine_walk_stmt(const struct engine *e, const struct rule *r,
			    const struct step *step,
			    const struct engine_walk *w, int plain,
			    struct stmt *st, char *err, size_t errlen)
{
	const struct stmt_scope *scope = step->user_column ? e->scope : NULL;
	struct stmt_bounds b;

	engine_walk_bounds(w, &b);
	if (plain)
		return stmt_build_window_delete(st, r, step, &b, e->ledger, err,
						errlen);
	return stmt_build_delete(st, r, step, w->limit, scope, &b,
				 w->many_tables, e->ledger, err, errlen);
}

/* Move *dst to a copy of the value (or NULL) at row 0, column `col`. */
static void engine_take(char **dst, const PGresult *pg, int col)
{
	free(*dst);
	*dst = PQgetisnull(pg, 0, col) ? NULL : xstrdup(PQgetvalue(pg, 0, col));
}

static int engine_cancelled(const struct engine *e)
{
	return e->cancelled && *e->cancelled;
}

static void engine_set_in_batch(const struct engine *e, int open)
{
	if (e->in_batch)
		*e->in_batch = open;
}

/*
 * Describe a failed statement of a batch before its COMMIT.  On a lost
 * connection, say what became of the batch: the server rolls back a
 * transaction whose client is gone, so a batch whose COMMIT was never
 * sent is certainly rolled back.
 */
static int engine_batch_failure(struct engine *e, const char *what,
				const char *why, struct rule_result *res)
{
	if (!db_lost(e->conn))
		return engine_failure(e, what, why, res);
	return engine_failure(e, "connection lost before COMMIT was sent; "
			      "the batch was rolled back", why, res);
}

/*
 * The connection died during COMMIT of the transaction `xid` ("" when the
 * batch wrote nothing, so nothing can have been applied): ask a new
 * connection what became of it with txid_status().  Returns 1 when it
 * committed, 0 when it rolled back, -1 when that cannot be known, with the
 * reason in err.
 */
static int engine_commit_fate(struct engine *e, const char *xid, char *err,
			      size_t errlen)
{
	const char *params[1] = { xid };
	PGconn *conn;
	PGresult *pg;
	int i, ret = -1;

	if (!xid[0])
		return 0;
	conn = db_reconnect(e->conn, err, errlen);
	if (!conn)
		return -1;
	/* A backend whose client vanished may still be finishing COMMIT. */
	for (i = 0; i < 50; i++) {
		int in_progress = 0;

		pg = db_query(conn, "SELECT txid_status($1::bigint)", 1, params,
			      err, errlen);
		if (!pg)
			break;
		if (PQgetisnull(pg, 0, 0)) {
			snprintf(err, errlen, "the server no longer knows "
				 "transaction %s", xid);
		} else if (strcmp(PQgetvalue(pg, 0, 0), "committed") == 0) {
			ret = 1;
		} else if (strcmp(PQgetvalue(pg, 0, 0), "aborted") == 0) {
			ret = 0;
		} else {
			snprintf(err, errlen, "transaction %s is still in "
				 "progress", xid);
			in_progress = 1;
		}
		PQclear(pg);
		if (!in_progress)
			break;
		throttle_sleep(100, e->stop);
	}
	PQfinish(conn);
	return ret;
}

/*
 * A COMMIT failed.  On a live connection the batch was rolled back.  On a
 * lost one, find out from a new connection; `pg` is the batch's DELETE
 * result, whose counts go into w when the batch turns out applied.
 */
static int engine_commit_failure(struct engine *e, const char *xid,
				 const char *why, const PGresult *pg,
				 struct engine_walk *w, struct rule_result *res)
{
	char fate[512];
	char what[700];

	if (!db_lost(e->conn))
		return engine_failure(e, "COMMIT failed; the batch was rolled "
				      "back", why, res);
	switch (engine_commit_fate(e, xid, fate, sizeof(fate))) {
	case 1:
		w->deleted = strtoll(PQgetvalue(pg, 0, 0), NULL, 10);
		w->selected = strtoll(PQgetvalue(pg, 0, 1), NULL, 10);
		snprintf(what, sizeof(what), "connection lost during COMMIT; "
			 "the batch was applied (checked on a new connection)");
		break;
	case 0:
		snprintf(what, sizeof(what), "connection lost during COMMIT; "
			 "the batch was rolled back (checked on a new "
			 "connection)");
		break;
	default:
		snprintf(what, sizeof(what), "connection lost during COMMIT; "
			 "the batch may or may not be applied (%s)", fate);
		break;
	}
	return engine_failure(e, what, why, res);
}

/*
 * End the failed or cancelled batch's transaction.  A cancel request
 * still on its way may hit the ROLLBACK itself, so check that the session
 * really is out of the transaction and try again if not.
 */
static void engine_batch_rollback(struct engine *e)
{
	int i;

	for (i = 0; i < 3 && !db_lost(e->conn); i++) {
		PGresult *rb;

		if (PQtransactionStatus(e->conn) == PQTRANS_IDLE)
			return;
		rb = PQexec(e->conn, "ROLLBACK");
		PQclear(rb);
	}
}

/*
 * Find the end of a key walk's next window, `w->window` keys after its
 * cursor, into w->upto (NULL when fewer keys are left: the last window is
 * unbounded).  Returns 0; -1 when the statement cannot be built, -2 when
 * it failed, with one line in why and its SQLSTATE in `state`.
 */
static int engine_key_window(struct engine *e, const struct rule *r,
			     const struct step *step, struct engine_walk *w,
			     char state[DB_SQLSTATE_LEN], char *why,
			     size_t whylen)
{
	struct stmt_bounds bounds = {
		.after = w->cursor, .walk = STMT_WALK_KEY
	};
	struct stmt st;
	PGresult *pg;

	free(w->upto);
	w->upto = NULL;
	if (stmt_build(&st, r, step, STMT_WINDOW, w->window, NULL, &bounds,
		       w->many_tables, why, whylen) != 0)
		return -1;
	pg = db_query_state(e->conn, st.sql, st.nparams, st.params, state,
			    why, whylen);
	stmt_free(&st);
	if (!pg)
		return -2;
	if (PQntuples(pg) == 1)
		engine_take(&w->upto, pg, 0);
	PQclear(pg);
	return 0;
}

/*
 * Keep what the server said about a failed statement of a batch: its
 * SQLSTATE in `state`, and in the walk its message and the constraint it
 * names, which a refused row's record carries.
 */
static void engine_note_failure(struct engine_walk *w,
				const struct db_diag *diag, const char *why,
				char state[DB_SQLSTATE_LEN])
{
	snprintf(state, DB_SQLSTATE_LEN, "%s", diag->state);
	snprintf(w->fail_message, sizeof(w->fail_message), "%s", why);
	refused_strip_state(w->fail_message);
	snprintf(w->fail_constraint, sizeof(w->fail_constraint), "%s",
		 diag->constraint);
}

/*
 * Whether a failed plain DELETE of a block window failed on another
 * session's row lock (lock_not_available, deadlock_detected), which the
 * capped SKIP LOCKED batches of the same window pass over.
 */
static int engine_plain_blocked(const struct engine *e, const char *state)
{
	if (engine_cancelled(e) || db_lost(e->conn))
		return 0;
	return strcmp(state, "55P03") == 0 || strcmp(state, "40P01") == 0;
}

/*
 * One batch in its own transaction: for a key walk, find the window's end,
 * then select and delete the victims inside it; with `plain`, delete a
 * block window whole.  Fills w->upto, w->deleted, w->selected and
 * w->last_victim, and on ENGINE_FAILED the failure's SQLSTATE in `state`
 * ("" when none).  Returns ENGINE_STOPPED, with the batch rolled back,
 * when it was cancelled or a stop came before it began, and with `plain`
 * ENGINE_REDO, rolled back, when the window must go in capped batches.
 */
static int engine_batch_once(struct engine *e, const struct rule *r,
			     const struct step *step, struct engine_walk *w,
			     int plain, struct rule_result *res,
			     char state[DB_SQLSTATE_LEN])
{
	long long lock_ms = e->lock_timeout_ms;
	char why[1024];
	struct stmt st = { NULL, { NULL }, 0 };
	struct db_diag diag;
	PGresult *pg = NULL, *xpg;
	char xid[32];
	int rc, ret = ENGINE_DONE;

	w->deleted = 0;
	w->selected = 0;
	w->overflow = 0;
	state[0] = '\0';
	/*
	 * Open for cancels before the last look at the stop flag: a signal
	 * in between then either is seen here or cancels the batch.
	 */
	engine_set_in_batch(e, 1);
	if (engine_stop_requested(e)) {
		engine_set_in_batch(e, 0);
		return ENGINE_STOPPED;
	}
	if (plain && (lock_ms <= 0 || lock_ms > ENGINE_PLAIN_LOCK_MS))
		lock_ms = ENGINE_PLAIN_LOCK_MS;
	/*
	 * No batch is open yet: a connection that died since the last batch
	 * fails here, and nothing of this batch can have been applied.
	 */
	if (engine_begin(e, lock_ms, state, why, sizeof(why)) != 0) {
		ret = engine_failure(e, db_lost(e->conn) ?
				     "connection lost between batches; no "
				     "batch was open" : "cannot begin a batch",
				     why, res);
		goto out;
	}
	/* No batch deletes without the run lock (run_lock.h). */
	if (e->lock) {
		rc = run_lock_guard(e->lock, state, why, sizeof(why));
		if (rc == RUN_LOCK_ERROR) {
			ret = engine_batch_failure(e, "batch failed and was "
						   "rolled back", why, res);
			goto out;
		}
		if (rc != RUN_LOCK_HELD) {
			free(res->error);
			res->error = xstrdup(why);
			ret = ENGINE_UNLOCKED;
			goto out;
		}
	}
	if (w->mode == STMT_WALK_KEY && w->window > 0 && !w->only_keys) {
		/* A cancel that came between two statements is not lost. */
		if (engine_cancelled(e)) {
			ret = ENGINE_STOPPED;
			goto out;
		}
		rc = engine_key_window(e, r, step, w, state, why, sizeof(why));
		if (rc == -1) {
			ret = engine_failure(e, "cannot build the batch", why,
					     res);
			goto out;
		}
		if (rc == -2) {
			ret = engine_batch_failure(e, "cannot find the batch's "
						   "key window", why, res);
			goto out;
		}
	}
	if (engine_walk_stmt(e, r, step, w, plain, &st, why,
			     sizeof(why)) != 0) {
		ret = engine_failure(e, "cannot build the batch", why, res);
		goto out;
	}
	if (engine_cancelled(e)) {
		ret = ENGINE_STOPPED;
		goto out;
	}
	pg = db_query_diag(e->conn, st.sql, st.nparams, st.params, &diag, why,
			   sizeof(why));
	if (!pg)
		engine_note_failure(w, &diag, why, state);
	if (!pg && plain && engine_plain_blocked(e, state)) {
		log_msg(SWEEPER_LOG_DEBUG, "rule '%s': %s: %s from %s: "
			"another session holds a row (%s); the window goes in "
			"SKIP LOCKED batches", r->name, step->table,
			engine_window_of(w), w->from, why);
		ret = ENGINE_REDO;
		goto out;
	}
	if (!pg) {
		ret = engine_batch_failure(e, "batch failed and was rolled back",
					   why, res);
		goto out;
	}
	if (plain && strtoll(PQgetvalue(pg, 0, 0), NULL, 10) > w->limit) {
		w->overflow = strtoll(PQgetvalue(pg, 0, 0), NULL, 10);
		log_msg(SWEEPER_LOG_DEBUG, "rule '%s': %s: %s from %s: "
			"%lld rows, more than the batch size %lld; the window "
			"goes in capped batches", r->name, step->table,
			engine_window_of(w), w->from, w->overflow, w->limit);
		ret = ENGINE_REDO;
		goto out;
	}
	/*
	 * The transaction's id tells, should the connection die during
	 * COMMIT, whether the batch was applied; none means nothing written.
	 */
	xpg = db_query_state(e->conn, "SELECT txid_current_if_assigned()", 0,
			     NULL, state, why, sizeof(why));
	if (!xpg) {
		ret = engine_batch_failure(e, "batch failed and was rolled back",
					   why, res);
		goto out;
	}
	snprintf(xid, sizeof(xid), "%s", PQgetvalue(xpg, 0, 0));
	PQclear(xpg);
	if (engine_cancelled(e)) {
		ret = ENGINE_STOPPED;
		goto out;
	}
	/* A deferred constraint (Django's foreign keys) fails here. */
	if (db_exec_diag(e->conn, "COMMIT", &diag, why, sizeof(why)) != 0) {
		engine_note_failure(w, &diag, why, state);
		ret = engine_commit_failure(e, xid, why, pg, w, res);
		goto out;
	}
	w->deleted = strtoll(PQgetvalue(pg, 0, 0), NULL, 10);
	w->selected = strtoll(PQgetvalue(pg, 0, 1), NULL, 10);
	engine_take(&w->last_victim, pg, 2);
out:
	/* No cancel may reach the ROLLBACK or whatever follows the batch. */
	engine_set_in_batch(e, 0);
	/*
	 * Whatever failed after our cancel was sent failed because of it
	 * (57014 "canceling statement due to user request", or a statement
	 * the cancel caught): a stop, not a failure, unless the connection
	 * is gone.
	 */
	if (ret == ENGINE_FAILED && engine_cancelled(e))
		ret = ENGINE_STOPPED;
	if (ret == ENGINE_STOPPED) {
		free(res->error);
		res->error = NULL;
		log_msg(SWEEPER_LOG_WARN,
			"rule '%s': %s: the running batch was cancelled by a "
			"stop request and rolled back", r->name, step->table);
	}
	if (ret != ENGINE_DONE)
		engine_batch_rollback(e);
	PQclear(pg);
	stmt_free(&st);
	return ret;
}

/*
 * Whether a batch that failed with SQLSTATE `state` was refused because of
 * some of its rows (refused.h), on a connection that is still there and
 * with no cancel of ours behind it.
 */
static int engine_refused(const struct engine *e, const char *state)
{
	if (engine_cancelled(e) || db_lost(e->conn))
		return 0;
	return refused_reason(state) != NULL;
}

/*
 * Record the size of a counted batch in the step's result: its LIMIT, or
 * for a block walk the rows it deleted.
 */
static void engine_note_size(struct step_result *sr, long long limit)
{
	if (sr->batches == 1 || limit < sr->batch_size_min)
		sr->batch_size_min = limit;
	if (limit > sr->batch_size_max)
		sr->batch_size_max = limit;
	sr->batch_size_last = limit;
}

/*
 * Count one part of a split batch that deleted rows, as any batch is
 * counted, and log it like one.
 */
static void engine_count_part(struct engine *e, const struct rule *r,
			      const struct step *step, struct step_result *sr,
			      long long deleted, long long size, double ms)
{
	struct log_fields f = LOG_FIELDS_INIT;

	sr->deleted += deleted;
	sr->batches++;
	e->rows_done += deleted;
	engine_note_size(sr, size);
	f.rule = r->name;
	f.table = step->table;
	f.deleted = deleted;
	f.batches = sr->batches;
	f.duration_ms = (long long)ms;
	log_event(SWEEPER_LOG_DEBUG, &f,
		  "rule '%s': %s: batch %lld: %lld rows deleted in %lld ms, "
		  "batch size %lld (part of a refused batch)", r->name,
		  step->table, sr->batches, deleted, f.duration_ms, size);
}

/*
 * The row with key `key`, deleted alone, was refused: leave it, record it
 * in the step's result, and pass over it for the rest of the step.  The
 * refusal's SQLSTATE is in `state` and its message and constraint in the
 * walk.  Returns ENGINE_DONE, or ENGINE_FAILED with res->error set when
 * the step has more than ENGINE_REFUSED_MAX such rows.
 */
static int engine_refuse_row(const struct rule *r, const struct step *step,
			     struct engine_walk *w, struct step_result *sr,
			     struct rule_result *res, const char *key,
			     const char *state)
{
	struct refused_row *rr;
	char msg[2048];

	free(res->error);
	res->error = NULL;
	if (w->nrefused >= ENGINE_REFUSED_MAX) {
		snprintf(msg, sizeof(msg), "the database refused to delete "
			 "more than %d rows of '%s' (the last: key %s, %s: %s "
			 "(SQLSTATE %s)); the rule stops: find what refuses "
			 "them (a foreign key with no ON DELETE action, a "
			 "trigger), then run again", ENGINE_REFUSED_MAX,
			 step->table, key, refused_reason(state),
			 w->fail_message, state);
		res->error = xstrdup(msg);
		return ENGINE_FAILED;
	}
	w->refused = xrealloc(w->refused, (w->nrefused + 1) *
			      sizeof(*w->refused));
	w->refused[w->nrefused++] = xstrdup(key);
	free(w->excluded);
	w->excluded = scope_text_array(w->refused, w->nrefused);
	sr->left_behind++;
	if (sr->nrefused < SUMMARY_REFUSED_SHOWN) {
		rr = &sr->refused[sr->nrefused++];
		rr->key = xstrdup(key);
		snprintf(rr->sqlstate, sizeof(rr->sqlstate), "%s", state);
		rr->constraint = w->fail_constraint[0] ?
				 xstrdup(w->fail_constraint) : NULL;
		rr->error = xstrdup(w->fail_message);
	}
	log_msg(SWEEPER_LOG_DEBUG, "rule '%s': %s: key %s refused (%s: %s); "
		"left in place, passed over for the rest of the step",
		r->name, step->table, key, refused_reason(state),
		w->fail_message);
	return ENGINE_DONE;
}

/*
 * Delete the rows whose keys are keys[lo..hi) in one batch, and when the
 * database refuses it because of some of them, each half in turn, down to
 * single rows, which engine_refuse_row() leaves behind.  Every part is a
 * batch like any other: one transaction, the predicate checked again, the
 * ledger recording what it deleted, counted in `sr` here.  Returns
 * ENGINE_DONE, or how the step ends (with the walk's w->deleted 0: what
 * was deleted is counted already).
 */
static int engine_isolate_range(struct engine *e, const struct rule *r,
				const struct step *step, struct engine_walk *w,
				struct step_result *sr,
				struct rule_result *res, char **keys,
				size_t lo, size_t hi,
				char state[DB_SQLSTATE_LEN])
{
	struct timespec t0;
	char *literal;
	size_t mid;
	int rc;

	literal = scope_text_array(keys + lo, hi - lo);
	w->only_keys = literal;
	w->limit = (long long)(hi - lo);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = engine_batch_once(e, r, step, w, 0, res, state);
	w->only_keys = NULL;
	free(literal);
	/* ENGINE_LOST may come with a COMMIT found applied. */
	if (w->deleted > 0)
		engine_count_part(e, r, step, sr, w->deleted,
				  (long long)(hi - lo), clock_since_ms(&t0));
	w->deleted = 0;
	if (rc != ENGINE_FAILED || !engine_refused(e, state))
		return rc;
	if (hi - lo == 1)
		return engine_refuse_row(r, step, w, sr, res, keys[lo], state);
	free(res->error);
	res->error = NULL;
	mid = lo + (hi - lo) / 2;
	rc = engine_isolate_range(e, r, step, w, sr, res, keys, lo, mid,
				  state);
	if (rc != ENGINE_DONE)
		return rc;
	return engine_isolate_range(e, r, step, w, sr, res, keys, mid, hi,
				    state);
}

/*
 * Read the keys of the rows the walk's batch would delete, in key order:
 * the same predicate, bounds, passed-over rows and LIMIT, locked SKIP
 * LOCKED like the batch's victims, in a transaction rolled back at once.
 * Sets *keys (owned, *nkeys entries).  Returns 0, or -1 with the
 * SQLSTATE in `state` and one line in why.
 */
static int engine_victim_keys(struct engine *e, const struct rule *r,
			      const struct step *step,
			      const struct engine_walk *w, char ***keys,
			      size_t *nkeys, char state[DB_SQLSTATE_LEN],
			      char *why, size_t whylen)
{
	const struct stmt_scope *scope = step->user_column ? e->scope : NULL;
	struct stmt_bounds b;
	struct stmt st;
	PGresult *pg;
	int i;

	*keys = NULL;
	*nkeys = 0;
	state[0] = '\0';
	engine_walk_bounds(w, &b);
	if (stmt_build(&st, r, step, STMT_VICTIM_KEYS, w->limit, scope, &b,
		       w->many_tables, why, whylen) != 0)
		return -1;
	pg = engine_read(e, st.sql, st.nparams, st.params, state, why, whylen);
	stmt_free(&st);
	if (!pg)
		return -1;
	*keys = xcalloc((size_t)PQntuples(pg) + 1, sizeof(**keys));
	for (i = 0; i < PQntuples(pg); i++)
		(*keys)[i] = xstrdup(PQgetvalue(pg, i, 0));
	*nkeys = (size_t)PQntuples(pg);
	PQclear(pg);
	return 0;
}

/*
 * The walk's batch was refused because of some of its rows (SQLSTATE in
 * `state`, res->error describing it): read its rows' keys again
 * (engine_victim_keys()) and delete them in parts (engine_isolate_range())
 * until the refused rows stand alone.  On ENGINE_DONE the walk looks as
 * after any batch for engine_walk_advance(): w->selected the rows the
 * batch covered and w->last_victim the last of their keys; w->deleted is
 * 0 because the parts are counted in `sr` already.  When the split finds
 * nothing to delete and nothing to leave (the rows changed meanwhile), the
 * batch fails with its first error rather than loop.
 */
static int engine_isolate(struct engine *e, const struct rule *r,
			  const struct step *step, struct engine_walk *w,
			  struct step_result *sr, struct rule_result *res,
			  char state[DB_SQLSTATE_LEN])
{
	long long limit = w->limit, deleted = sr->deleted;
	size_t refused = w->nrefused, nkeys = 0, i;
	char first_state[DB_SQLSTATE_LEN];
	char *first_error = res->error;
	char **keys = NULL;
	char why[1024];
	int rc;

	res->error = NULL;
	snprintf(first_state, sizeof(first_state), "%s", state);
	log_msg(SWEEPER_LOG_INFO, "rule '%s': %s: the database refused a "
		"batch (%s: %s); deleting it in parts to leave only the "
		"refused rows", r->name, step->table, refused_reason(state),
		first_error ? first_error : "?");
	if (engine_victim_keys(e, r, step, w, &keys, &nkeys, state, why,
			       sizeof(why)) != 0) {
		free(first_error);
		rc = engine_failure(e, "cannot read the rows of a refused "
				    "batch", why, res);
		goto out;
	}
	rc = nkeys ? engine_isolate_range(e, r, step, w, sr, res, keys, 0,
					  nkeys, state) : ENGINE_DONE;
	w->limit = limit;
	if (rc == ENGINE_DONE && sr->deleted == deleted &&
	    w->nrefused == refused) {
		/* Nothing moved: fail as the batch did. */
		res->error = first_error;
		snprintf(state, DB_SQLSTATE_LEN, "%s", first_state);
		rc = ENGINE_FAILED;
		goto out;
	}
	free(first_error);
	if (rc == ENGINE_DONE) {
		w->isolated = 1;
		w->selected = (long long)nkeys;
		free(w->last_victim);
		w->last_victim = xstrdup(keys[nkeys - 1]);
	}
out:
	w->limit = limit;
	w->deleted = 0;
	for (i = 0; i < nkeys; i++)
		free(keys[i]);
	free(keys);
	return rc;
}

/*
 * The next batch of the walk: a block window's plain DELETE first, unless
 * the window already went capped, then the capped batch when that one is
 * rolled back.  A capped batch refused because of some of its rows is
 * split (engine_isolate()); a plain one goes capped first, so that only a
 * batch of at most the batch size is split.  Returns as
 * engine_batch_once(), never ENGINE_REDO.
 */
static int engine_batch(struct engine *e, const struct rule *r,
			const struct step *step, struct engine_walk *w,
			struct step_result *sr, struct rule_result *res,
			char state[DB_SQLSTATE_LEN])
{
	int rc;

	w->isolated = 0;
	w->plain = engine_windowed(w) && !w->capped;
	if (w->plain) {
		rc = engine_batch_once(e, r, step, w, 1, res, state);
		if (rc == ENGINE_FAILED && engine_refused(e, state)) {
			log_msg(SWEEPER_LOG_DEBUG, "rule '%s': %s: %s from %s:"
				" refused (%s); the window goes in capped "
				"batches", r->name, step->table,
				engine_window_of(w), w->from, res->error);
			free(res->error);
			res->error = NULL;
			rc = ENGINE_REDO;
		}
		if (rc != ENGINE_REDO)
			return rc;
		if (w->overflow > 0)
			window_sizer_overflow(&w->ws, w->blocks, w->overflow);
		w->plain = 0;
		w->capped = 1;
	}
	rc = engine_batch_once(e, r, step, w, 0, res, state);
	if (rc == ENGINE_FAILED && engine_refused(e, state))
		rc = engine_isolate(e, r, step, w, sr, res, state);
	return rc;
}

/*
 * Sleep before a retry: `ms`, cut short by a stop request or max_runtime.
 * Returns ENGINE_DONE when the retry may go ahead, else ENGINE_STOPPED or
 * ENGINE_LIMIT.
 */
static int engine_retry_wait(const struct engine *e, long long ms)
{
	long long left = clock_left_ms(&e->deadline);

	if (left >= 0 && left < ms)
		ms = left;
	throttle_sleep(ms, e->stop);
	if (engine_stop_requested(e))
		return ENGINE_STOPPED;
	if (clock_past(&e->deadline))
		return ENGINE_LIMIT;
	return ENGINE_DONE;
}

/*
 * engine_batch(), run again after a deadlock, lock timeout, serialization
 * failure or statement timeout, up to e->retries times.  Each retry is
 * logged and counted in sr->retries.  When the retries run out, the rule
 * fails with the last error and the number of retries in res->error.
 */
static int engine_batch_retrying(struct engine *e, const struct rule *r,
				 const struct step *step, struct engine_walk *w,
				 struct step_result *sr, struct rule_result *res)
{
	char state[DB_SQLSTATE_LEN];
	char msg[1400];
	const char *reason;
	long long attempt, delay;
	unsigned int random;
	int rc;

	for (attempt = 1;; attempt++) {
		struct timespec t0;

		clock_gettime(CLOCK_MONOTONIC, &t0);
		rc = engine_batch(e, r, step, w, sr, res, state);
		w->ms = clock_since_ms(&t0);
		if (rc == ENGINE_LOST && w->deleted > 0) {
			/* Lost during a COMMIT that turned out applied. */
			sr->deleted += w->deleted;
			sr->batches++;
		}
		if (rc != ENGINE_FAILED)
			return rc;
		reason = retry_reason(state);
		if (!reason)
			return rc;
		if (engine_stop_requested(e)) {
			/* Asked to stop: the batch is rolled back, not retried. */
			log_msg(SWEEPER_LOG_WARN, "rule '%s': %s: %s (%s); not "
				"retried, a stop was requested", r->name,
				step->table, reason, res->error);
			free(res->error);
			res->error = NULL;
			return ENGINE_STOPPED;
		}
		if (attempt > e->retries) {
			snprintf(msg, sizeof(msg), "%s; gave up after %lld "
				 "retr%s", res->error, e->retries,
				 e->retries == 1 ? "y" : "ies");
			free(res->error);
			res->error = xstrdup(msg);
			return rc;
		}
		if (getrandom(&random, sizeof(random), GRND_NONBLOCK) !=
		    (ssize_t)sizeof(random))
			random = (unsigned int)clock_now_ms();
		delay = retry_delay_ms(e->retry_backoff_ms, attempt, random);
		log_msg(SWEEPER_LOG_WARN,
			"rule '%s': %s: %s (%s); retry %lld of %lld in %lld ms",
			r->name, step->table, reason, res->error, attempt,
			e->retries, delay);
		sr->retries++;
		free(res->error);
		res->error = NULL;
		rc = engine_retry_wait(e, delay);
		if (rc != ENGINE_DONE)
			return rc;
	}
}

/*
 * Move the walk past the batch just run.  Returns 0 when the step is done.
 *
 * Key walk: a full batch may have stopped inside its window: resume after
 * its last victim.  Otherwise the window held no further victim: resume
 * after the window, and widen it, since matching rows are sparse here.
 *
 * Block walk: a full capped batch may have left rows in its window, which
 * the next batch takes (the rows it deleted are gone); otherwise the
 * window is done.  Free walk: done when a batch comes up short.
 */
static int engine_walk_advance(struct engine_walk *w)
{
	if (w->mode == STMT_WALK_FREE)
		return w->selected >= w->limit;
	if (engine_windowed(w)) {
		if (w->capped && w->selected >= w->limit)
			return 1;
		if (!w->to[0])
			return 0;
		w->block += w->blocks;
		w->new_window = 1;
		return 1;
	}
	if (w->selected >= w->limit && w->last_victim) {
		free(w->cursor);
		w->cursor = w->last_victim;
		w->last_victim = NULL;
		return 1;
	}
	if (!w->upto)
		return 0;
	free(w->cursor);
	w->cursor = w->upto;
	w->upto = NULL;
	if (w->factor > 0 && w->factor < ENGINE_WINDOW_MAX_FACTOR)
		w->factor *= 2;
	return 1;
}

static int engine_count_step(struct engine *e, const struct rule *r,
			     const struct step *step, struct step_result *sr,
			     struct rule_result *res)
{
	char state[DB_SQLSTATE_LEN];
	struct stmt st;
	char why[1024];
	PGresult *pg;
	long long size;

	if (stmt_build(&st, r, step, STMT_COUNT, 0, step->user_column ?
		       e->scope : NULL, NULL, 0, why, sizeof(why)) != 0)
		return engine_failure(e, "cannot build the count", why, res);
	/*
	 * Every matching row is counted, also one the database would refuse
	 * to delete: only deleting it can tell.
	 */
	pg = engine_read(e, st.sql, st.nparams, st.params, state, why,
			 sizeof(why));
	stmt_free(&st);
	if (!pg)
		return engine_failure(e, "count failed", why, res);
	sr->deleted = strtoll(PQgetvalue(pg, 0, 0), NULL, 10);
	/* An adaptive run's count will differ: this is at the first size. */
	size = engine_start_size(e);
	sr->batches = (sr->deleted + size - 1) / size;
	PQclear(pg);
	return ENGINE_DONE;
}

/*
 * The planner's estimate of the rows a step will delete, for the
 * observer; -1 when unknown.  Sets *indexed when the plan reaches them
 * through an index (estimate_count_plan()), which chooses the walk.  An
 * estimate that fails is not worth failing the step for: the walk is then
 * by blocks, which costs one read of the table at most.
 */
static long long engine_estimate(struct engine *e, const struct rule *r,
				 const struct step *step, int *indexed)
{
	char state[DB_SQLSTATE_LEN];
	struct stmt st;
	char why[1024];
	long long rows = -1;

	*indexed = 0;
	if (stmt_build(&st, r, step, STMT_COUNT, 0, step->user_column ?
		       e->scope : NULL, NULL, 0, why, sizeof(why)) != 0)
		return -1;
	/*
	 * Planning takes a table lock: wait no longer than a batch would;
	 * and estimates a comparison of times: in the batches' time zone.
	 */
	if (engine_begin(e, e->lock_timeout_ms, state, why, sizeof(why)) != 0 ||
	    estimate_count_plan(e->conn, &st, SWEEPER_TARGET_ALIAS, &rows,
				indexed, why, sizeof(why)) != 0)
		log_msg(SWEEPER_LOG_DEBUG, "rule '%s': %s: no row estimate: %s",
			r->name, step->table, why);
	engine_batch_rollback(e);
	stmt_free(&st);
	return rows;
}

static int engine_walk_step(struct engine *e, const struct rule *r,
			    const struct step *step, int indexed,
			    struct step_result *sr, struct rule_result *res);

/*
 * Wait for lagging standbys before a batch (throttle.h).  Returns
 * ENGINE_DONE to go on, or how the step ends.
 */
static int engine_throttle(struct engine *e, struct rule_result *res)
{
	char why[1024];

	switch (throttle_wait_replicas(&e->throttle, e->conn, e->stop,
				       &e->deadline, why, sizeof(why))) {
	case THROTTLE_GO:
		return ENGINE_DONE;
	case THROTTLE_TIMEOUT:
		e->stopped_by = "max_throttle";
		return ENGINE_LIMIT;
	case THROTTLE_DEADLINE:
		e->stopped_by = "max_runtime";
		return ENGINE_LIMIT;
	case THROTTLE_STOPPED:
		return ENGINE_STOPPED;
	default:
		return engine_failure(e, "cannot read the replica lag", why,
				      res);
	}
}

/*
 * One line on the rows the step left behind, if any.  An error, though
 * the rule did not fail: someone must look at what holds those rows (or
 * change the rule), and until then every run leaves them the same way;
 * and with -q, under cron, only errors are mailed.
 */
static void engine_log_left_behind(const struct rule *r,
				   const struct step *step,
				   const struct step_result *sr)
{
	struct log_fields f = LOG_FIELDS_INIT;
	struct strbuf line = STRBUF_INIT;

	if (sr->left_behind <= 0)
		return;
	summary_refused_text(&line, sr);
	f.rule = r->name;
	f.table = step->table;
	log_event(SWEEPER_LOG_ERROR, &f, "rule '%s': %s: %s; the rest was "
		  "deleted; remove what holds them (the rows that refer to "
		  "them, or the trigger's reason), or they stay and are "
		  "reported by every run", r->name, step->table,
		  strbuf_str(&line));
	strbuf_release(&line);
}

static int engine_run_step(struct engine *e, const struct rule *r,
			   const struct step *step, struct step_result *sr,
			   struct rule_result *res)
{
	const struct engine_observer *ob = &e->observer;
	long long estimate;
	int indexed, rc;

	if (e->dry_run)
		return engine_count_step(e, r, step, sr, res);
	estimate = engine_estimate(e, r, step, &indexed);
	if (ob->on_step_start)
		ob->on_step_start(ob->arg, r, step, estimate);
	rc = engine_walk_step(e, r, step, indexed, sr, res);
	if (ob->on_step_end)
		ob->on_step_end(ob->arg, r, step, sr);
	engine_log_left_behind(r, step, sr);
	return rc;
}

/* "up to key K" or "blocks A-B" for a batch's debug line. */
static void engine_batch_where(const struct engine_walk *w, char *buf,
			       size_t size)
{
	if (engine_windowed(w) && w->to[0])
		snprintf(buf, size, "%s %lld-%lld", engine_window_of(w),
			 w->block, w->block + w->blocks - 1);
	else if (engine_windowed(w))
		snprintf(buf, size, "%s %lld-end", engine_window_of(w),
			 w->block);
	else if (w->mode == STMT_WALK_FREE)
		snprintf(buf, size, "found by index");
	else
		snprintf(buf, size, "up to key %s",
			 w->last_victim ? w->last_victim : "-");
}

static int engine_walk_step(struct engine *e, const struct rule *r,
			    const struct step *step, int indexed,
			    struct step_result *sr, struct rule_result *res)
{
	const struct engine_observer *ob = &e->observer;
	struct engine_walk w;
	char why[1024];
	char where[96];
	double ms;
	int rc;

	if (engine_walk_init(e, r, step, indexed, &w, why, sizeof(why)) != 0)
		return engine_failure(e, "preflight", why, res);
	for (;;) {
		if (engine_stop_requested(e)) {
			rc = ENGINE_STOPPED;
			break;
		}
		if (clock_past(&e->deadline)) {
			e->stopped_by = "max_runtime";
			rc = ENGINE_LIMIT;
			break;
		}
		if (e->max_rows > 0 && e->rows_done >= e->max_rows) {
			e->stopped_by = "max_rows";
			rc = ENGINE_LIMIT;
			break;
		}
		rc = engine_throttle(e, res);
		if (rc != ENGINE_DONE)
			break;
		engine_walk_size(&w);
		/* The last batch before max_rows takes only what is left. */
		if (e->max_rows > 0 && w.limit > e->max_rows - e->rows_done)
			w.limit = e->max_rows - e->rows_done;
		/* Failures of a batch and their retries: issue 4, item 3. */
		rc = engine_batch_retrying(e, r, step, &w, sr, res);
		if (rc != ENGINE_DONE)
			break;
		/*
		 * The sizers learn from the try that succeeded: a retry's
		 * backoff says nothing about what a row costs.  A block window
		 * teaches only when deleted whole.
		 */
		ms = w.ms;
		/* A split batch's time is that of its parts: not a rate. */
		if (w.isolated)
			;
		else if (!engine_windowed(&w))
			batch_sizer_observe(&w.sz, w.limit, w.selected, ms);
		else if (w.plain)
			window_sizer_observe(&w.ws, w.blocks, w.deleted, ms);
		if (w.deleted > 0) {
			struct log_fields f = LOG_FIELDS_INIT;

			sr->deleted += w.deleted;
			sr->batches++;
			e->rows_done += w.deleted;
			engine_note_size(sr, engine_windowed(&w) ?
					 w.deleted : w.limit);
			engine_batch_where(&w, where, sizeof(where));
			/* deleted and duration_ms are the batch's own. */
			f.rule = r->name;
			f.table = step->table;
			f.deleted = w.deleted;
			f.batches = sr->batches;
			f.duration_ms = (long long)ms;
			log_event(SWEEPER_LOG_DEBUG, &f,
				  "rule '%s': %s: batch %lld: %lld rows deleted "
				  "in %lld ms, batch size %lld (%s%s)",
				  r->name, step->table, sr->batches, w.deleted,
				  f.duration_ms, sr->batch_size_last, where,
				  engine_windowed(&w) && !w.plain ?
				  ", capped" : "");
		}
		if (ob->on_batch)
			ob->on_batch(ob->arg, r, step, sr);
		if (!engine_walk_advance(&w))
			break;
		/* Pausing is for the application's sake, after writes. */
		if (w.deleted > 0)
			throttle_after_batch(&e->throttle, (long long)ms,
					     e->stop);
	}
	engine_walk_free(&w);
	return rc;
}

int engine_run_rule(struct engine *e, const struct rule *r,
		    struct rule_result *res)
{
	char why[1024];
	long long t0 = clock_now_ms(), ts;
	int rc = ENGINE_DONE;
	size_t i;

	res->name = r->name;
	res->nsteps = r->nsteps;
	res->steps = xcalloc(r->nsteps, sizeof(*res->steps));
	for (i = 0; i < r->nsteps; i++) {
		res->steps[i].table = r->steps[i].table;
		res->steps[i].label = r->steps[i].label;
	}
	if (engine_skipped_users(e, r, res, why, sizeof(why)) != 0)
		rc = engine_failure(e, "cannot check the named users", why, res);

	for (i = 0; i < r->nsteps && rc == ENGINE_DONE; i++) {
		struct step_result *sr = &res->steps[i];

		if (e->scope && !r->steps[i].user_column) {
			sr->skipped = "no user column: not run in a scoped run";
			continue;
		}
		ts = clock_now_ms();
		rc = engine_run_step(e, r, &r->steps[i], sr, res);
		sr->duration_ms = clock_now_ms() - ts;
		res->deleted += sr->deleted;
		res->batches += sr->batches;
		res->retries += sr->retries;
		res->left_behind += sr->left_behind;
	}
	res->duration_ms = clock_now_ms() - t0;
	switch (rc) {
	case ENGINE_DONE:
		/* Work is left: the rows the database refused. */
		res->status = res->left_behind > 0 ? RUN_PARTIAL : RUN_OK;
		break;
	case ENGINE_LIMIT:
		res->status = RUN_PARTIAL;
		break;
	case ENGINE_STOPPED:
		res->status = RUN_INTERRUPTED;
		break;
	default:
		res->status = RUN_FAILED;
		break;
	}
	return rc;
}

int engine_explain(struct engine *e, const struct rule *r, FILE *out,
		   char *err, size_t errlen)
{
	struct strbuf sql = STRBUF_INIT;
	struct engine_walk w;
	struct stmt st = { NULL, { NULL }, 0 };
	PGresult *res = NULL;
	char state[DB_SQLSTATE_LEN];
	char why[1024];
	size_t i;
	int j, indexed, ret;

	/* The preflight's messages say why a step does not plan. */
	ret = engine_preflight(e, r, err, errlen);
	if (ret != 0)
		return ret;
	ret = -1;
	why[0] = '\0';
	memset(&w, 0, sizeof(w));
	for (i = 0; i < r->nsteps; i++) {
		const struct step *step = &r->steps[i];

		/* Show the first batch as a run would build it. */
		engine_estimate(e, r, step, &indexed);
		if (engine_walk_init(e, r, step, indexed, &w, err, errlen) != 0)
			goto out;
		engine_walk_size(&w);
		if (w.mode == STMT_WALK_KEY && w.window > 0 &&
		    engine_key_window(e, r, step, &w, state, why,
				      sizeof(why)) != 0)
			goto out;
		if (engine_walk_stmt(e, r, step, &w, engine_windowed(&w), &st,
				     why, sizeof(why)) != 0)
			goto out;
		strbuf_release(&sql);
		strbuf_addf(&sql, "EXPLAIN %s", st.sql);
		res = engine_read(e, strbuf_str(&sql), st.nparams, st.params,
				  state, why, sizeof(why));
		if (!res)
			goto out;
		fprintf(out, "-- rule %s, step %zu: %s (%s)\n%s;\n", r->name,
			i + 1, step->label, step->table, st.sql);
		for (j = 0; j < st.nparams; j++)
			fprintf(out, "-- $%d = %s\n", j + 1,
				st.params[j] ? st.params[j] : "NULL");
		for (j = 0; j < PQntuples(res); j++)
			fprintf(out, "%s\n", PQgetvalue(res, j, 0));
		fputc('\n', out);
		PQclear(res);
		res = NULL;
		stmt_free(&st);
		/* The statement's parameters pointed into the walk. */
		engine_walk_free(&w);
	}
	fflush(out);
	ret = 0;
out:
	/* A statement of the walk failed (the walk's own errors are in err). */
	if (ret != 0 && why[0])
		snprintf(err, errlen, "rule '%s': step on '%s' does not plan: "
			 "%s", r->name, r->steps[i].table, why);
	engine_walk_free(&w);
	stmt_free(&st);
	strbuf_release(&sql);
	return ret;
}
