/*
 * engine.c: the loop over a step's batches, and a rule's steps one after
 * the other (engine.h).
 *
 * Each step runs by the plan the preflight built for it (plan.h): its
 * walk (walk.h) sizes each batch and moves past it, batch.c runs it in a
 * transaction of its own, and between batches the run's limits are
 * checked (a stop request, max_runtime, max_rows, the replica-lag wait of
 * throttle.h and its max_throttle), max_rate's wait taken before a batch
 * (rate_limit.h) and the pauses after it.  With [sweeper] workers, a
 * step whose walk splits runs on several connections instead
 * (workers.h), each by the same steps.  A dry run counts each step
 * instead (dry_run.h).  What those files ask of the run (its limits, a
 * failure recorded, a stop request) is engine_state.c's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "clock.h"
#include "db.h"
#include "dry_run.h"
#include "engine.h"
#include "log.h"
#include "scope.h"
#include "workers.h"
#include "xalloc.h"

/*
 * Fill the named users the rule's user filter leaves out (a scoped run of
 * a rule with a user filter), as the lookup of the named users found them
 * (scope_resolve(), which evaluates every rule's filter).  Returns 0, or
 * -1 with one line in err.
 */
static int engine_skipped_users(struct engine *e, const struct rule *r,
				struct rule_result *res, char *err,
				size_t errlen)
{
	char *const *known;
	size_t nknown, k;

	if (!e->scoped || !r->user_filter)
		return 0;
	if (!e->named.scope || !scope_left_out(e->named.scope, r, &known,
					       &nknown)) {
		snprintf(err, errlen, "the named users were not looked up "
			 "with the rule's user filter");
		return -1;
	}
	res->nskipped = nknown;
	res->skipped_users = xcalloc(nknown + 1, sizeof(char *));
	for (k = 0; k < nknown; k++)
		res->skipped_users[k] = xstrdup(known[k]);
	return 0;
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

/* Whether the run must stop before the next batch, and why. */
static int engine_between_batches(struct engine *e, struct rule_result *res)
{
	if (engine_stop_requested(e))
		return ENGINE_STOPPED;
	if (clock_past(&e->deadline)) {
		e->stopped_by = "max_runtime";
		return ENGINE_LIMIT;
	}
	if (e->max_rows > 0 && e->rows_done >= e->max_rows) {
		e->stopped_by = "max_rows";
		return ENGINE_LIMIT;
	}
	return engine_wait_replicas(e, res);
}

/* Walk a step by its plan, batch after batch, to its end or a limit. */
static int engine_walk_step(struct engine *e, struct plan *p,
			    struct step_result *sr, struct rule_result *res)
{
	const struct engine_observer *ob = &e->observer;
	struct walk_named_users named = { NULL, 0 };
	char state[DB_SQLSTATE_LEN];
	long long charged, before, deleted;
	struct walk w;
	char why[1024];
	int rc, ran = 0;
	long long taken;

	if (e->scoped) {
		named.ids = e->named.ids;
		named.n = e->named.n;
	}
	walk_init(&w, p, &e->sizing, &named);
	if (w.ops->start(&w, e->conn, state, why, sizeof(why)) != 0) {
		rc = engine_failure(e, "cannot start the walk", why, res);
		goto out;
	}
	/* [sweeper] workers: the step's parts on connections of their own. */
	rc = workers_run_step(e, &w, sr, res, &ran);
	if (ran)
		goto out;
	for (;;) {
		rc = engine_between_batches(e, res);
		if (rc != ENGINE_DONE)
			break;
		w.ops->next(&w);
		w.limit = rate_limit_cap(e->rate, w.limit);
		/* max_rows: the batch takes only what is left of the run's. */
		rc = engine_take_rows(e, &w.limit, &taken);
		if (rc != ENGINE_DONE)
			break;
		charged = w.limit;
		rc = engine_rate_wait(e, charged);
		if (rc != ENGINE_DONE) {
			row_budget_give(engine_rows(e), taken, 0);
			break;
		}
		before = sr->deleted;
		rc = batch_run(e, &w, sr, res);
		deleted = sr->deleted - before +
			  (rc == ENGINE_DONE ? w.deleted : 0);
		engine_rate_refund(e, charged, deleted);
		/* What the batch did not delete goes back to the others. */
		row_budget_give(engine_rows(e), taken, deleted);
		if (rc != ENGINE_DONE)
			break;
		walk_learn(&w);
		if (w.deleted > 0)
			batch_count_done(e, &w, sr);
		if (ob->on_batch)
			ob->on_batch(ob->arg, p->rule, p->step, sr);
		if (!w.ops->advance(&w))
			break;
		/* Pausing is for the application's sake, after writes. */
		if (w.deleted > 0)
			throttle_after_batch(&e->throttle, (long long)w.ms,
					     e->stop);
	}
out:
	walk_free(&w);
	return rc;
}

static int engine_run_step(struct engine *e, struct plan *p,
			   struct step_result *sr, struct rule_result *res)
{
	const struct engine_observer *ob = &e->observer;
	const struct rule *r = p->rule;
	int rc;

	if (e->dry_run)
		return dry_run_count(e, p, sr, res);
	if (p->not_users[0])
		log_msg(SWEEPER_LOG_DEBUG, "rule '%s': %s: not walked by users: "
			"%s", r->name, p->step->table, p->not_users);
	log_msg(SWEEPER_LOG_DEBUG, "rule '%s': %s: %s; key %s", r->name,
		p->step->table, p->why, p->key_why);
	if (ob->on_step_start)
		ob->on_step_start(ob->arg, r, p->step, p->estimate);
	rc = engine_walk_step(e, p, sr, res);
	if (ob->on_step_end)
		ob->on_step_end(ob->arg, r, p->step, sr);
	engine_log_left_behind(r, p->step, sr);
	return rc;
}

int engine_run_rule(struct engine *e, const struct rule *r,
		    struct plan *plans, struct rule_result *res)
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

		if (e->scoped && !r->steps[i].user_column) {
			sr->skipped = "no user column: not run in a scoped run";
			continue;
		}
		ts = clock_now_ms();
		rc = engine_run_step(e, &plans[i], sr, res);
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
