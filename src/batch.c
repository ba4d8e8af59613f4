/*
 * batch.c: one batch in its own transaction, its retries, the fate of a
 * COMMIT the connection died in, and the rows the database refuses
 * (batch.h).
 *
 * Every batch opens with the run's SET LOCAL settings only (db.h), a
 * plain one (a window's plain DELETE, an unlocked batch of the walk by
 * index) with a lock_timeout of at most BATCH_PLAIN_LOCK_MS so that a
 * row another session holds sends the window (or the rest of the walk
 * by index) to SKIP LOCKED batches instead of holding up the
 * application.  Stops (signals) are honoured between batches; a signal
 * handler may also cancel the running batch (src/stop.c), which then
 * rolls back like any failed one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "batch.h"
#include "clock.h"
#include "db.h"
#include "log.h"
#include "refused.h"
#include "retry.h"
#include "scope.h"
#include "xalloc.h"

/*
 * The longest a window's plain DELETE waits for a row lock before the
 * window is deleted in SKIP LOCKED batches instead (lock_timeout when
 * shorter): a row the application holds costs the run this much, and
 * never holds up the application's transaction longer than a batch.
 */
#define BATCH_PLAIN_LOCK_MS 100

/*
 * A batch_once() outcome private to this file: a window's plain DELETE
 * was rolled back (it would wait for a row lock, or it held more rows
 * than the batch size), and the window goes in capped batches.
 */
#define BATCH_REDO (ENGINE_LOST + 1)

/* What goes capped when a plain batch is rolled back (BATCH_REDO). */
static const char *batch_redo_what(const struct walk *w)
{
	return walk_windowed(w) ? "the window goes" : "the walk goes on";
}

static const char *batch_rule(const struct walk *w)
{
	return w->plan->rule->name;
}

static const char *batch_table(const struct walk *w)
{
	return w->plan->step->table;
}

static int batch_cancelled(const struct engine *e)
{
	return e->cancelled && *e->cancelled;
}

static void batch_set_in_batch(const struct engine *e, int open)
{
	if (e->in_batch)
		*e->in_batch = open;
}

/*
 * The rows a batch statement deleted and selected (statement.h): its
 * result row, or for a window's bare DELETE its command tag, which counts
 * both.
 */
static long long batch_count(PGresult *pg, int col)
{
	if (PQresultStatus(pg) == PGRES_COMMAND_OK)
		return strtoll(PQcmdTuples(pg), NULL, 10);
	return strtoll(PQgetvalue(pg, 0, col), NULL, 10);
}

/*
 * Move *dst to a copy of the value (or NULL) at row 0, column `col`; a
 * result without rows holds no value.
 */
static void batch_take(char **dst, const PGresult *pg, int col)
{
	free(*dst);
	*dst = PQntuples(pg) < 1 || PQgetisnull(pg, 0, col) ? NULL :
	       xstrdup(PQgetvalue(pg, 0, col));
}

/*
 * End the failed or cancelled batch's transaction.  A cancel request
 * still on its way may hit the ROLLBACK itself, so check that the session
 * really is out of the transaction and try again if not.
 */
static void batch_rollback(struct engine *e)
{
	int i;

	for (i = 0; i < 3 && !db_lost(e->conn); i++) {
		if (PQtransactionStatus(e->conn) == PQTRANS_IDLE)
			return;
		PQclear(PQexec(e->conn, "ROLLBACK"));
	}
}

/*
 * Describe a failed statement of a batch before its COMMIT.  On a lost
 * connection, say what became of the batch: the server rolls back a
 * transaction whose client is gone, so a batch whose COMMIT was never
 * sent is certainly rolled back.
 */
static int batch_failure(struct engine *e, const char *what, const char *why,
			 struct rule_result *res)
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
static int batch_commit_fate(struct engine *e, const char *xid, char *err,
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
static int batch_commit_failure(struct engine *e, const char *xid,
				const char *why, PGresult *pg,
				struct walk *w, struct rule_result *res)
{
	char fate[512];
	char what[700];

	if (!db_lost(e->conn))
		return engine_failure(e, "COMMIT failed; the batch was rolled "
				      "back", why, res);
	switch (batch_commit_fate(e, xid, fate, sizeof(fate))) {
	case 1:
		w->deleted = batch_count(pg, 0);
		w->selected = batch_count(pg, 1);
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
 * Keep what the server said about a failed statement of a batch: its
 * SQLSTATE in `state`, and in the walk its message and the constraint it
 * names, which a refused row's record carries.
 */
static void batch_note_failure(struct walk *w, const struct db_diag *diag,
			       const char *why, char state[DB_SQLSTATE_LEN])
{
	snprintf(state, DB_SQLSTATE_LEN, "%s", diag->state);
	snprintf(w->fail_message, sizeof(w->fail_message), "%s", why);
	refused_strip_state(w->fail_message);
	snprintf(w->fail_constraint, sizeof(w->fail_constraint), "%s",
		 diag->constraint);
}

/*
 * Whether a failed plain DELETE of a window failed on another session's
 * row lock (lock_not_available, deadlock_detected), which the capped SKIP
 * LOCKED batches of the same window pass over.
 */
static int batch_plain_blocked(const struct engine *e, const char *state)
{
	if (batch_cancelled(e) || db_lost(e->conn))
		return 0;
	return strcmp(state, "55P03") == 0 || strcmp(state, "40P01") == 0;
}

/*
 * Run one statement of the plan with the walk's values in the batch's
 * transaction; with `xid`, the transaction's txid after it, into xid, in
 * the same round trip (db_run_xid()).  Returns the result, or NULL with
 * *diag and why filled.
 */
static PGresult *batch_statement(struct engine *e, struct walk *w,
				 enum stmt_kind kind, unsigned shape,
				 const struct plan_values *v, char *xid,
				 size_t xidlen, struct db_diag *diag,
				 char *why, size_t whylen)
{
	const struct plan_stmt *st;
	struct plan_args a;
	PGresult *res;

	memset(diag, 0, sizeof(*diag));
	st = plan_stmt(w->plan, kind, shape, why, whylen);
	if (!st)
		return NULL;
	plan_args_fill(w->plan, st, v, &a);
	if (xid)
		res = db_run_xid(e->conn, st->name[0] ? st->name : NULL,
				 st->text.sql, a.nparams, a.params, xid,
				 xidlen, diag, why, whylen);
	else
		res = db_run(e->conn, st->name[0] ? st->name : NULL,
			     st->text.sql, a.nparams, a.params, diag, why,
			     whylen);
	plan_args_free(&a);
	return res;
}

/*
 * One batch in its own transaction: the walk's bounds that need the
 * database (a key window's end), then the statement that selects and
 * deletes the victims (w->plain: a window's plain DELETE).  Fills
 * w->deleted, w->selected and w->last_victim, and on ENGINE_FAILED the
 * failure's SQLSTATE in `state` ("" when none).  Returns ENGINE_STOPPED,
 * with the batch rolled back, when it was cancelled or a stop came before
 * it began, and for a plain DELETE BATCH_REDO, rolled back, when the
 * window must go in capped batches.
 */
static int batch_once(struct engine *e, struct walk *w,
		      struct rule_result *res, char state[DB_SQLSTATE_LEN])
{
	long long lock_ms = -1;
	struct plan_values v;
	enum stmt_kind kind;
	unsigned shape;
	char why[1024];
	struct db_diag diag;
	PGresult *pg = NULL;
	char xid[32] = "";
	int plain = w->plain && !w->only_keys;
	int rc, begun, ret = ENGINE_DONE;

	w->deleted = 0;
	w->selected = 0;
	w->overflow = 0;
	state[0] = '\0';
	/*
	 * Open for cancels before the last look at the stop flag: a signal
	 * in between then either is seen here or cancels the batch.
	 */
	batch_set_in_batch(e, 1);
	if (engine_stop_requested(e)) {
		batch_set_in_batch(e, 0);
		return ENGINE_STOPPED;
	}
	if (plain)
		lock_ms = e->lock_timeout_ms > 0 &&
			  e->lock_timeout_ms < BATCH_PLAIN_LOCK_MS ?
			  e->lock_timeout_ms : BATCH_PLAIN_LOCK_MS;
	/*
	 * No batch deletes without the run lock (run_lock.h): its check is
	 * the transaction's first statement, in the same round trip as its
	 * BEGIN where it can be (the run's own connection).
	 */
	if (e->lock && !e->worker) {
		rc = run_lock_guard_begin(e->lock, lock_ms, &begun, state, why,
					  sizeof(why));
	} else {
		begun = db_begin_lock(e->conn, lock_ms, state, why,
				      sizeof(why)) == 0;
		rc = begun && e->lock ?
		     run_lock_guard_worker(e->lock, e->conn, state, why,
					   sizeof(why)) : RUN_LOCK_HELD;
	}
	/*
	 * No batch was opened: a connection that died since the last batch
	 * fails here, and nothing of this batch can have been applied.
	 */
	if (!begun) {
		ret = engine_failure(e, db_lost(e->conn) ?
				     "connection lost between batches; no "
				     "batch was open" : "cannot begin a batch",
				     why, res);
		goto out;
	}
	if (e->lock) {
		if (rc == RUN_LOCK_ERROR) {
			ret = batch_failure(e, "batch failed and was rolled back",
					    why, res);
			goto out;
		}
		if (rc != RUN_LOCK_HELD) {
			free(res->error);
			res->error = xstrdup(why);
			ret = ENGINE_UNLOCKED;
			goto out;
		}
	}
	if (w->ops->in_batch && !w->only_keys) {
		/* A cancel that came between two statements is not lost. */
		if (batch_cancelled(e)) {
			ret = ENGINE_STOPPED;
			goto out;
		}
		if (w->ops->in_batch(w, e->conn, state, why, sizeof(why)) != 0) {
			ret = batch_failure(e, "cannot find the batch's bounds",
					    why, res);
			goto out;
		}
	}
	walk_statement(w, &kind, &shape, &v);
	if (batch_cancelled(e)) {
		ret = ENGINE_STOPPED;
		goto out;
	}
	/*
	 * The transaction's id tells, should the connection die during
	 * COMMIT, whether the batch was applied; none means nothing written.
	 * It comes with the statement's result.
	 */
	pg = batch_statement(e, w, kind, shape, &v, xid, sizeof(xid), &diag,
			     why, sizeof(why));
	if (!pg)
		batch_note_failure(w, &diag, why, state);
	if (!pg && plain && batch_plain_blocked(e, state)) {
		char where[96];

		w->ops->describe(w, where, sizeof(where));
		log_msg(SWEEPER_LOG_DEBUG, "rule '%s': %s: %s: another session "
			"holds a row (%s); %s in SKIP LOCKED batches",
			batch_rule(w), batch_table(w), where, why,
			batch_redo_what(w));
		ret = BATCH_REDO;
		goto out;
	}
	if (!pg) {
		ret = batch_failure(e, "batch failed and was rolled back", why,
				    res);
		goto out;
	}
	if (plain && batch_count(pg, 0) > w->limit) {
		char where[96];

		w->overflow = batch_count(pg, 0);
		w->ops->describe(w, where, sizeof(where));
		log_msg(SWEEPER_LOG_DEBUG, "rule '%s': %s: %s: %lld rows, more "
			"than the batch size %lld; the window goes in capped "
			"batches", batch_rule(w), batch_table(w), where,
			w->overflow, w->limit);
		ret = BATCH_REDO;
		goto out;
	}
	if (batch_cancelled(e)) {
		ret = ENGINE_STOPPED;
		goto out;
	}
	/* A deferred constraint (Django's foreign keys) fails here. */
	if (db_exec_diag(e->conn, "COMMIT", &diag, why, sizeof(why)) != 0) {
		batch_note_failure(w, &diag, why, state);
		ret = batch_commit_failure(e, xid, why, pg, w, res);
		goto out;
	}
	w->deleted = batch_count(pg, 0);
	w->selected = batch_count(pg, 1);
	batch_take(&w->last_victim, pg, 2);
out:
	/* No cancel may reach the ROLLBACK or whatever follows the batch. */
	batch_set_in_batch(e, 0);
	/*
	 * Whatever failed after our cancel was sent failed because of it
	 * (57014 "canceling statement due to user request", or a statement
	 * the cancel caught): a stop, not a failure, unless the connection
	 * is gone.
	 */
	if (ret == ENGINE_FAILED && batch_cancelled(e))
		ret = ENGINE_STOPPED;
	if (ret == ENGINE_STOPPED) {
		free(res->error);
		res->error = NULL;
		log_msg(SWEEPER_LOG_WARN,
			"rule '%s': %s: the running batch was cancelled by a "
			"stop request and rolled back", batch_rule(w),
			batch_table(w));
	}
	if (ret != ENGINE_DONE)
		batch_rollback(e);
	PQclear(pg);
	return ret;
}

/*
 * Whether a batch that failed with SQLSTATE `state` was refused because of
 * some of its rows (refused.h), on a connection that is still there and
 * with no cancel of ours behind it.
 */
static int batch_refused(const struct engine *e, const char *state)
{
	if (batch_cancelled(e) || db_lost(e->conn))
		return 0;
	return refused_reason(state) != NULL;
}

/*
 * Record the size of a counted batch in the step's result: its LIMIT, or
 * for a window the rows it deleted.
 */
static void batch_note_size(struct step_result *sr, long long size)
{
	if (sr->batches == 1 || size < sr->batch_size_min)
		sr->batch_size_min = size;
	if (size > sr->batch_size_max)
		sr->batch_size_max = size;
	sr->batch_size_last = size;
}

/* Count `deleted` rows of a batch of `size` in the step's result and the
 * run's. */
static void batch_tally(struct engine *e, struct step_result *sr,
			long long deleted, long long size)
{
	sr->deleted += deleted;
	sr->batches++;
	e->rows_done += deleted;
	batch_note_size(sr, size);
}

void batch_count_done(struct engine *e, const struct walk *w,
		      struct step_result *sr)
{
	struct log_fields f = LOG_FIELDS_INIT;
	char where[128];
	int windowed = walk_windowed(w);

	batch_tally(e, sr, w->deleted, windowed ? w->deleted : w->limit);
	w->ops->describe(w, where, sizeof(where));
	/* deleted and duration_ms are the batch's own. */
	f.rule = batch_rule(w);
	f.table = batch_table(w);
	f.deleted = w->deleted;
	f.batches = sr->batches;
	f.duration_ms = (long long)w->ms;
	log_event(SWEEPER_LOG_DEBUG, &f,
		  "rule '%s': %s: batch %lld: %lld rows deleted in %lld ms, "
		  "batch size %lld (%s%s)", batch_rule(w), batch_table(w),
		  sr->batches, w->deleted, f.duration_ms, sr->batch_size_last,
		  where, windowed && !w->plain ? ", capped" : "");
}

/*
 * Count one part of a split batch that deleted rows, as any batch is
 * counted, and log it like one.
 */
static void batch_count_part(struct engine *e, const struct walk *w,
			     struct step_result *sr, long long deleted,
			     long long size, double ms)
{
	struct log_fields f = LOG_FIELDS_INIT;

	batch_tally(e, sr, deleted, size);
	f.rule = batch_rule(w);
	f.table = batch_table(w);
	f.deleted = deleted;
	f.batches = sr->batches;
	f.duration_ms = (long long)ms;
	log_event(SWEEPER_LOG_DEBUG, &f,
		  "rule '%s': %s: batch %lld: %lld rows deleted in %lld ms, "
		  "batch size %lld (part of a refused batch)", batch_rule(w),
		  batch_table(w), sr->batches, deleted, f.duration_ms, size);
}

/*
 * The row with key `key`, deleted alone, was refused: leave it, record it
 * in the step's result, and pass over it for the rest of the walk.  The
 * refusal's SQLSTATE is in `state` and its message and constraint in the
 * walk.  Returns ENGINE_DONE, or ENGINE_FAILED with res->error set when
 * the walk has more than ENGINE_REFUSED_MAX such rows.
 */
static int batch_refuse_row(struct walk *w, struct step_result *sr,
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
			 batch_table(w), key, refused_reason(state),
			 w->fail_message, state);
		res->error = xstrdup(msg);
		return ENGINE_FAILED;
	}
	walk_exclude(w, key);
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
		batch_rule(w), batch_table(w), key, refused_reason(state),
		w->fail_message);
	return ENGINE_DONE;
}

/*
 * Delete the rows whose keys are keys[lo..hi) in one batch, and when the
 * database refuses it because of some of them, each half in turn, down to
 * single rows, which batch_refuse_row() leaves behind.  Every part is a
 * batch like any other: one transaction, the predicate checked again, the
 * ledger recording what it deleted, counted in `sr` here.  Returns
 * ENGINE_DONE, or how the step ends (with w->deleted 0: what was deleted
 * is counted already).
 */
static int batch_isolate_range(struct engine *e, struct walk *w,
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
	rc = batch_once(e, w, res, state);
	w->only_keys = NULL;
	free(literal);
	/* ENGINE_LOST may come with a COMMIT found applied. */
	if (w->deleted > 0)
		batch_count_part(e, w, sr, w->deleted, (long long)(hi - lo),
				 clock_since_ms(&t0));
	w->deleted = 0;
	if (rc != ENGINE_FAILED || !batch_refused(e, state))
		return rc;
	if (hi - lo == 1)
		return batch_refuse_row(w, sr, res, keys[lo], state);
	free(res->error);
	res->error = NULL;
	mid = lo + (hi - lo) / 2;
	rc = batch_isolate_range(e, w, sr, res, keys, lo, mid, state);
	if (rc != ENGINE_DONE)
		return rc;
	return batch_isolate_range(e, w, sr, res, keys, mid, hi, state);
}

/*
 * Read the keys of the rows the walk's batch would delete, in key order:
 * the same predicate, bounds, passed-over rows and LIMIT, locked SKIP
 * LOCKED like the batch's victims, in a transaction rolled back at once.
 * Sets *keys (owned, *nkeys entries).  Returns 0, or -1 with the
 * SQLSTATE in `state` and one line in why.
 */
static int batch_victim_keys(struct engine *e, struct walk *w, char ***keys,
			     size_t *nkeys, char state[DB_SQLSTATE_LEN],
			     char *why, size_t whylen)
{
	struct plan_values v;
	struct db_diag diag;
	unsigned shape;
	PGresult *pg = NULL;
	int i;

	*keys = NULL;
	*nkeys = 0;
	state[0] = '\0';
	if (!w->plan->key) {
		snprintf(why, whylen, "the step's table has no key to name "
			 "the refused rows by: %s", w->plan->key_why);
		return -1;
	}
	walk_victims_statement(w, &shape, &v);
	if (db_begin(e->conn, state, why, whylen) == 0) {
		pg = batch_statement(e, w, STMT_VICTIM_KEYS, shape, &v, NULL,
				     0, &diag, why, whylen);
		snprintf(state, DB_SQLSTATE_LEN, "%s", diag.state);
	}
	batch_rollback(e);
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
 * (batch_victim_keys()) and delete them in parts (batch_isolate_range())
 * until the refused rows stand alone.  On ENGINE_DONE the walk looks as
 * after any batch for its advance(): w->selected the rows the batch
 * covered and w->last_victim the last of their keys; w->deleted is 0
 * because the parts are counted in `sr` already.  When the split finds
 * nothing to delete and nothing to leave (the rows changed meanwhile), the
 * batch fails with its first error rather than loop.
 */
static int batch_isolate(struct engine *e, struct walk *w,
			 struct step_result *sr, struct rule_result *res,
			 char state[DB_SQLSTATE_LEN])
{
	long long limit = w->limit, deleted = sr->deleted;
	size_t refused = w->nrefused, nkeys = 0, i;
	char first_state[DB_SQLSTATE_LEN];
	char *first_error = res->error;
	char **keys = NULL;
	char why[2048];
	int rc;

	res->error = NULL;
	snprintf(first_state, sizeof(first_state), "%s", state);
	log_msg(SWEEPER_LOG_INFO, "rule '%s': %s: the database refused a "
		"batch (%s: %s); deleting it in parts to leave only the "
		"refused rows", batch_rule(w), batch_table(w),
		refused_reason(state), first_error ? first_error : "?");
	if (batch_victim_keys(e, w, &keys, &nkeys, state, why,
			      sizeof(why)) != 0) {
		free(first_error);
		rc = engine_failure(e, "cannot read the rows of a refused "
				    "batch", why, res);
		goto out;
	}
	rc = nkeys ? batch_isolate_range(e, w, sr, res, keys, 0, nkeys,
					 state) : ENGINE_DONE;
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
 * The next batch of the walk: a window's plain DELETE first, unless the
 * window already went capped, then the capped batch when that one is
 * rolled back.  A capped batch refused because of some of its rows is
 * split (batch_isolate()); a plain one goes capped first, so that only a
 * batch of at most the batch size is split.  Returns as batch_once(),
 * never BATCH_REDO.
 */
static int batch_try(struct engine *e, struct walk *w, struct step_result *sr,
		     struct rule_result *res, char state[DB_SQLSTATE_LEN])
{
	int rc;

	w->isolated = 0;
	w->plain = walk_tries_plain(w);
	if (w->plain) {
		rc = batch_once(e, w, res, state);
		if (rc == ENGINE_FAILED && batch_refused(e, state)) {
			char where[96];

			w->ops->describe(w, where, sizeof(where));
			log_msg(SWEEPER_LOG_DEBUG, "rule '%s': %s: %s: refused "
				"(%s); %s in capped batches",
				batch_rule(w), batch_table(w), where,
				res->error, batch_redo_what(w));
			free(res->error);
			res->error = NULL;
			rc = BATCH_REDO;
		}
		if (rc != BATCH_REDO)
			return rc;
		if (w->overflow > 0 && walk_windowed(w))
			window_sizer_overflow(&w->ws, w->len, w->overflow);
		w->plain = 0;
		w->capped = 1;
	}
	rc = batch_once(e, w, res, state);
	if (rc == ENGINE_FAILED && batch_refused(e, state))
		rc = batch_isolate(e, w, sr, res, state);
	return rc;
}

/*
 * Sleep before a retry: `ms`, cut short by a stop request or max_runtime.
 * Returns ENGINE_DONE when the retry may go ahead, else ENGINE_STOPPED or
 * ENGINE_LIMIT.
 */
static int batch_retry_wait(const struct engine *e, long long ms)
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

int batch_run(struct engine *e, struct walk *w, struct step_result *sr,
	      struct rule_result *res)
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
		rc = batch_try(e, w, sr, res, state);
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
				"retried, a stop was requested", batch_rule(w),
				batch_table(w), reason, res->error);
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
			batch_rule(w), batch_table(w), reason, res->error,
			attempt, e->retries, delay);
		sr->retries++;
		free(res->error);
		res->error = NULL;
		rc = batch_retry_wait(e, delay);
		if (rc != ENGINE_DONE)
			return rc;
	}
}
