/*
 * engine_state.c: what the loop over a step's batches (engine.c), its
 * workers (workers.c), its batches (batch.c) and the dry run (dry_run.c)
 * ask of the run they belong to (engine.h): a stop request, the first
 * batch's size, a failure recorded, and the limits a batch waits for or
 * takes from (the replica lag, max_rate, max_rows).
 *
 * Kept apart from the loop so that those files depend on it and the loop
 * on them, and not round in a circle.
 */
#include <stdio.h>
#include <stdlib.h>

#include "clock.h"
#include "db.h"
#include "engine.h"
#include "xalloc.h"

/*
 * How long a batch waits, when running batches hold what is left of
 * max_rows, before it looks again (and at a stop request).
 */
#define ENGINE_ROWS_POLL_MS 20

int engine_stop_requested(const struct engine *e)
{
	return e->stop && *e->stop;
}

long long engine_start_size(const struct engine *e)
{
	struct batch_sizer sz;

	batch_sizer_init(&sz, e->sizing.batch_size, e->sizing.batch_min,
			 e->sizing.batch_max, e->sizing.batch_target_ms);
	return batch_sizer_next(&sz);
}

int engine_failure(struct engine *e, const char *what, const char *why,
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
 * Wait for lagging standbys before a batch (throttle.h).  Returns
 * ENGINE_DONE to go on, or how the step ends.
 */
int engine_wait_replicas(struct engine *e, struct rule_result *res)
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

int engine_rate_wait(struct engine *e, long long rows)
{
	long long wait, t0, left;
	int rc = ENGINE_DONE;

	if (!rate_limit_on(e->rate))
		return ENGINE_DONE;
	wait = rate_limit_take(e->rate, rows, clock_now_ms());
	if (wait <= 0)
		return ENGINE_DONE;
	t0 = clock_now_ms();
	/* In slices, to see a stop, max_runtime or a failed worker. */
	for (;;) {
		left = wait - (clock_now_ms() - t0);
		if (left <= 0)
			break;
		if (engine_stop_requested(e)) {
			rc = ENGINE_STOPPED;
			break;
		}
		if (clock_past(&e->deadline)) {
			e->stopped_by = "max_runtime";
			rc = ENGINE_LIMIT;
			break;
		}
		if (e->abort && atomic_load(e->abort)) {
			rc = ENGINE_STOPPED;
			break;
		}
		throttle_sleep(left < THROTTLE_SLICE_MS ? left :
			       THROTTLE_SLICE_MS, e->stop);
	}
	if (e->throttle.counts) {
		e->throttle.counts->max_rate.count++;
		e->throttle.counts->max_rate.ms += clock_now_ms() - t0;
	}
	if (rc != ENGINE_DONE)
		rate_limit_refund(e->rate, rows);
	return rc;
}

void engine_rate_refund(struct engine *e, long long charged,
			long long deleted)
{
	if (charged > deleted)
		rate_limit_refund(e->rate, charged - deleted);
}

struct row_budget *engine_rows(struct engine *e)
{
	return e->run_rows ? e->run_rows : &e->own_rows;
}

int engine_take_rows(struct engine *e, long long *limit, long long *taken)
{
	*taken = 0;
	if (e->max_rows <= 0)
		return ENGINE_DONE;
	for (;;) {
		switch (row_budget_take(engine_rows(e), e->max_rows, limit)) {
		case ROW_BUDGET_TAKEN:
			*taken = *limit;
			return ENGINE_DONE;
		case ROW_BUDGET_SPENT:
			e->stopped_by = "max_rows";
			return ENGINE_LIMIT;
		default:
			break;
		}
		/* Batches of other workers or targets hold what is left:
		 * they may delete fewer rows than they took. */
		if (engine_stop_requested(e) ||
		    (e->abort && atomic_load(e->abort)))
			return ENGINE_STOPPED;
		throttle_sleep(ENGINE_ROWS_POLL_MS, e->stop);
	}
}
