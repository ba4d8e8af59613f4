/*
 * engine.h: runs the rules' steps against the database, each by the plan
 * the preflight built for it (plan.h): the loop over a step's batches
 * (its walk, walk.h; each batch one transaction under the run lock,
 * batch.h), the limits and throttles between batches, and the dry run's
 * counts (dry_run.h).  engine.c is the loop; engine_state.c what the
 * loop, its workers, its batches and the dry run ask of the run.
 */
#ifndef SWEEPER_ENGINE_H
#define SWEEPER_ENGINE_H

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <time.h>

#include <libpq-fe.h>

#include "plan.h"
#include "rate_limit.h"
#include "row_budget.h"
#include "rule.h"
#include "run_lock.h"
#include "summary.h"
#include "throttle.h"
#include "walk.h"

/*
 * Watches the steps of a real run (not a dry run), e.g. to show progress;
 * the engine knows nothing of what the watcher does with it.  Every
 * callback may be NULL; `arg` is passed to each.  `r`, `step` and `sr` are
 * borrowed for the call.
 */
struct engine_observer {
	/*
	 * A step starts.  `estimate` is the planner's estimate of the rows
	 * the step will delete (EXPLAIN of its count statement), or -1 when
	 * unknown.  It is only taken when this callback is set.
	 */
	void (*on_step_start)(void *arg, const struct rule *r,
			      const struct step *step, long long estimate);
	/* After every batch, also one that deleted nothing: `sr` holds the
	 * step's totals so far. */
	void (*on_batch)(void *arg, const struct rule *r,
			 const struct step *step,
			 const struct step_result *sr);
	/* The step ended, whatever the outcome; every on_step_start() gets
	 * one. */
	void (*on_step_end)(void *arg, const struct rule *r,
			    const struct step *step,
			    const struct step_result *sr);
	void *arg;
};

struct scope;

/* The named users of a scoped run, resolved once (scope.h). */
struct engine_scope {
	char *const *ids;        /* their ids as text, in id order; borrowed */
	size_t n;
	const char *literal;     /* the same as an array literal; borrowed */
	const struct scope *scope; /* whom each rule leaves out; borrowed */
};

struct engine {
	PGconn *conn;                     /* borrowed */
	/* Batch sizing: batch_size > 0 fixes the size (and walks by key);
	 * 0 adapts it, aiming at batch_target_ms per batch: windows
	 * (window_sizer.h) of at most batch_max rows, or LIMITs within
	 * batch_min..batch_max (batch_sizer.h). */
	struct walk_sizing sizing;
	long long max_rows;               /* rows per run; 0 = no limit */
	long long rows_done;              /* rows deleted so far this run */
	/*
	 * max_rows for the whole run (row_budget.h): every batch takes its
	 * LIMIT from it first.  A run over several targets shares one in
	 * memory its processes share (borrowed); NULL otherwise, and the
	 * engine's own `own_rows` serves (engine_rows()), shared by the
	 * step's workers.
	 */
	struct row_budget *run_rows;
	struct row_budget own_rows;
	const char *stopped_by;           /* static: the limit behind the last
					   * ENGINE_LIMIT ("max_rows", ...) */
	struct throttle throttle;         /* pauses and replica lag */
	/* [database] lock_timeout, which a window's plain DELETE shortens
	 * (every transaction's settings come from db_set_local()). */
	long long lock_timeout_ms;
	int dry_run;
	/* Count each step's rows in a sample of its blocks for the live
	 * progress line's rows left and ETA (plan.c): only when an operator
	 * watches one, for on a full nightly or 5-minute timer the sample
	 * (a whole small table) would be paid on every run. */
	int sample_rows;
	int scoped;                       /* a run of named users only */
	struct engine_scope named;        /* scoped: those users */
	/* The [schema] users table and its id column, for walks by users;
	 * borrowed, NULL for none. */
	const char *users_table;
	const char *user_id_column;
	struct timespec deadline;         /* CLOCK_MONOTONIC; tv_sec 0 = none */
	volatile sig_atomic_t *stop;      /* set by a signal handler */
	struct engine_observer observer;  /* all NULL: nobody watches */
	/* Audit ledger: every batch's deletions are recorded in this table
	 * (quoted "schema"."deletions"), in the batch's own statement.
	 * NULL when the ledger is off (and in a dry run); borrowed. */
	const char *ledger;
	/* The run lock (run_lock.h), checked or renewed inside every batch's
	 * transaction before its DELETE; NULL for none (a dry run).
	 * Borrowed. */
	struct run_lock *lock;

	/*
	 * Failures of a batch (batch.c).  A batch that fails with a
	 * deadlock, a lock timeout, a serialization failure or a statement
	 * timeout is rolled back and run again up to `retries` times, after
	 * retry_backoff_ms, doubled each time, with jitter.
	 */
	long long retries;
	long long retry_backoff_ms;
	/*
	 * Stopping a running batch (src/stop.c).  The engine sets *in_batch
	 * while a batch's transaction is open; a signal handler sets
	 * *cancelled when it sends PQcancel.  Either may be NULL.
	 */
	volatile sig_atomic_t *in_batch;
	volatile sig_atomic_t *cancelled;

	/*
	 * [sweeper] workers (workers.h): connections that sweep one step at
	 * once; 1 = every step serial on `conn`.  Which steps stay serial,
	 * and why, is logged once per run (serial_logged, a bit per reason).
	 */
	long long workers;
	unsigned serial_logged;
	/* [sweeper] max_rate's bucket, shared by the workers; NULL or off:
	 * no limit.  Borrowed. */
	struct rate_limit *rate;
	/*
	 * Set only in a worker's own copy of the engine (workers.c): its
	 * batches check the run lock from its connection
	 * (run_lock_guard_worker()), and it stops at its next boundary once
	 * *abort is set (another worker's step ended).
	 */
	int worker;
	atomic_int *abort;
};

/*
 * The most rows of one step the database may refuse to delete (refused.h)
 * before its rule fails.  Each is found by splitting the batch that holds
 * it in halves, a few small transactions per row; many more than this
 * means something refuses nearly every row (a trigger, a rule that
 * contradicts the schema), which is no job for row by row isolation.
 */
#define ENGINE_REFUSED_MAX 100

/* Outcome of engine_run_rule(), in rising order of gravity. */
enum engine_result {
	ENGINE_DONE = 0,      /* every step ran to the end */
	ENGINE_LIMIT,         /* a limit (max_runtime, max_rows, max_throttle)
			       * stopped the run between batches; see
			       * engine.stopped_by */
	ENGINE_FAILED,        /* a statement failed; the batch was rolled back */
	ENGINE_STOPPED,       /* a stop was requested (signal) */
	ENGINE_UNLOCKED,      /* a batch found the run lock no longer this
			       * run's and was rolled back; see
			       * lock->result and lock->why */
	ENGINE_LOST           /* the connection is gone */
};

/*
 * Run (or, in a dry run, count) every step of `r` by its plan (plans[i]
 * for step i, built by plan_build()), filling `res`, whose `steps` the
 * engine allocates.  Every batch is one transaction (batch.h).  Returns an
 * enum engine_result; res->status and res->error are set to match.
 *
 * A batch the database refuses because of some of its rows (refused.h) is
 * split in halves, each its own transaction, until those rows stand
 * alone; they stay in place, every later batch of the step passes over
 * them, and the step's result lists them.  A rule that left rows behind
 * this way, and did not fail, ends RUN_PARTIAL with res->left_behind set.
 * More than ENGINE_REFUSED_MAX such rows in one step fail the rule.
 */
int engine_run_rule(struct engine *e, const struct rule *r,
		    struct plan *plans, struct rule_result *res);

/*
 * The size of a step's first batch: batch_size when fixed, else the
 * adaptive start clamped to [batch_min, batch_max].  Dry runs count
 * batches at this size.
 */
long long engine_start_size(const struct engine *e);

/*
 * For the engine's own files (batch.c, dry_run.c): record that a
 * statement failed (`what`: `why`) as the rule's error, and tell a lost
 * connection apart: ENGINE_LOST or ENGINE_FAILED.
 */
int engine_failure(struct engine *e, const char *what, const char *why,
		   struct rule_result *res);

/* Whether a stop was requested (a signal). */
int engine_stop_requested(const struct engine *e);

/*
 * Before a batch of `rows` rows: wait until max_rate allows it, counted
 * in e->throttle.counts.  Returns ENGINE_DONE to go on, else
 * ENGINE_STOPPED or ENGINE_LIMIT (max_runtime, e->stopped_by set), the
 * rows given back.
 */
int engine_rate_wait(struct engine *e, long long rows);

/*
 * Before a batch: wait for lagging standbys (throttle.h) on e->conn.
 * Returns ENGINE_DONE to go on, or how the step ends.
 */
int engine_wait_replicas(struct engine *e, struct rule_result *res);

/* After the batch: give back the rows charged but not deleted. */
void engine_rate_refund(struct engine *e, long long charged,
			long long deleted);

/* The run's max_rows budget: e->run_rows, or the engine's own. */
struct row_budget *engine_rows(struct engine *e);

/*
 * Before a batch, with max_rows set: take its LIMIT (*limit, lowered to
 * what is left) from the run's budget (row_budget.h), waiting while
 * running batches of other workers or targets hold what is left.
 * Returns ENGINE_DONE with *taken set (give it back with
 * row_budget_give() after the batch), ENGINE_LIMIT (max_rows,
 * e->stopped_by set), or ENGINE_STOPPED (a stop request, or e->abort).
 * Without max_rows: ENGINE_DONE, *taken 0.
 */
int engine_take_rows(struct engine *e, long long *limit, long long *taken);

#endif /* SWEEPER_ENGINE_H */
