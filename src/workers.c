/*
 * workers.c: one step swept by several connections at once (workers.h).
 *
 * The run's own thread opens one connection per part of the step's walk
 * (db_reconnect(): the same server, role and SET LOCAL settings), starts
 * a thread per part and, while they run, renews the run lease (or checks
 * the advisory lock) on the run's own connection, which holds it.  Each
 * worker runs the serial loop's steps on its part: the run's limits,
 * max_rows taken from the run's budget (row_budget.h), max_rate's wait, the batch
 * (batch.c, unchanged: one transaction, retries, commit fate, refused
 * rows), then what it deleted added to the step's result under the same
 * mutex, so that the summary, the ledger (written by each batch's own
 * statement) and progress see every batch once.  The workers block the
 * stop signals: the run's thread takes them, and each worker sees the
 * stop flag at its next boundary, its running batch cancelled through
 * its own slot in stop.c.
 */
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "batch.h"
#include "clock.h"
#include "config.h"
#include "db.h"
#include "log.h"
#include "run_lock.h"
#include "stop.h"
#include "workers.h"
#include "xalloc.h"

/*
 * How often the run's own connection renews the run lease (or checks the
 * advisory lock) while the workers run: far within any lease_ttl, which
 * is at least a second.
 */
#define WORKERS_GUARD_MS 500

/* The longest a worker waits for another's batch (max_rows) before it
 * looks at the stop flag again. */
#define WORKERS_POLL_MS 100

/* Each worker's connection has a cancel slot of its own in stop.c. */
_Static_assert(STOP_WORKER_SLOTS >= SWEEPER_WORKERS_MAX,
	       "a stop slot for every worker");

/* A worker's loop ended because another worker's step ended first. */
#define WORKER_ABORTED (-1)

/* Why a step stays serial: one bit each in engine.serial_logged. */
enum workers_serial {
	WORKERS_SERIAL_SCOPED = 1,
	WORKERS_SERIAL_FIXED = 2,
	WORKERS_SERIAL_INDEX = 4
};

/* What the workers of one step share, under `mu`. */
struct workers_shared {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct engine *e;           /* the run's: rows_done */
	struct step_result *sr;     /* the step's result */
	size_t running;             /* workers not yet done */
	atomic_int abort;           /* a worker's step ended: stop */
};

struct worker {
	pthread_t thread;
	int started;
	size_t index;
	struct workers_shared *sh;
	struct engine e;            /* the run's, on this worker's connection */
	struct walk w;              /* its part */
	struct run_throttle counts; /* its waits, added to the run's at the end */
	struct rule_result res;     /* its error, if any */
	int watched;                /* its stop.c slot is set */
	int rc;
};

/* The parts to ask the walk for: the config's workers, at most a slot
 * each in stop.c. */
static size_t workers_max(const struct engine *e)
{
	if (e->workers > STOP_WORKER_SLOTS)
		return STOP_WORKER_SLOTS;
	return e->workers > 1 ? (size_t)e->workers : 1;
}

/*
 * Why a step stays serial, as a bit of engine.serial_logged and its
 * reason; 0 and NULL when it may run on workers.
 */
static unsigned workers_serial(const struct engine *e, const struct plan *p,
			       const char **why)
{
	*why = NULL;
	if (e->workers <= 1)
		return 0;
	if (e->scoped) {
		*why = "a scoped run (-u, --users-file) runs serial: its few "
		       "users' rows take a batch or two";
		return WORKERS_SERIAL_SCOPED;
	}
	if (e->sizing.batch_size > 0) {
		*why = "a fixed batch_size runs serial: its batches go in one "
		       "key order";
		return WORKERS_SERIAL_FIXED;
	}
	if (p->walk == STMT_WALK_INDEX) {
		*why = "a step walked by its index runs serial: every batch "
		       "takes the first rows the index finds, so there is no "
		       "range to split";
		return WORKERS_SERIAL_INDEX;
	}
	return 0;
}

const char *workers_serial_why(const struct engine *e, const struct plan *p)
{
	const char *why;

	workers_serial(e, p, &why);
	return why;
}

/* Say once per run, per reason, why a step runs serial. */
static void workers_log_serial(struct engine *e, unsigned bit,
			       const struct plan *p, const char *why)
{
	if (e->serial_logged & bit)
		return;
	e->serial_logged |= bit;
	log_msg(SWEEPER_LOG_INFO, "workers = %lld: rule '%s': %s: %s",
		e->workers, p->rule->name, p->step->table, why);
}

/* Free what a refused row's record owns. */
static void workers_free_refused(struct refused_row *rr)
{
	free(rr->key);
	free(rr->constraint);
	free(rr->error);
	memset(rr, 0, sizeof(*rr));
}

/*
 * Add what a worker's batch counted in `src` (its parts, retries, rows
 * left behind) to the step's result, and zero `src`.  Under sh->mu.
 */
static void workers_merge(struct workers_shared *sh, struct step_result *src)
{
	struct step_result *dst = sh->sr;
	size_t i;

	if (src->batches > 0) {
		if (dst->batches == 0 ||
		    src->batch_size_min < dst->batch_size_min)
			dst->batch_size_min = src->batch_size_min;
		if (src->batch_size_max > dst->batch_size_max)
			dst->batch_size_max = src->batch_size_max;
		dst->batch_size_last = src->batch_size_last;
	}
	dst->deleted += src->deleted;
	sh->e->rows_done += src->deleted;
	dst->batches += src->batches;
	dst->retries += src->retries;
	dst->left_behind += src->left_behind;
	for (i = 0; i < src->nrefused; i++) {
		if (dst->nrefused < SUMMARY_REFUSED_SHOWN)
			dst->refused[dst->nrefused++] = src->refused[i];
		else
			workers_free_refused(&src->refused[i]);
	}
	memset(src, 0, sizeof(*src));
}

static void workers_wait(struct workers_shared *sh, long long ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)(ms / 1000);
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&sh->cv, &sh->mu, &ts);
}

/*
 * max_rows across the workers, and across the targets of a run over
 * several (row_budget.h): take the batch's LIMIT (`*limit`, lowered to
 * what is left) before it runs, waiting while running batches hold what
 * is left.  Returns ENGINE_DONE with *taken set, ENGINE_LIMIT when
 * max_rows is reached, or ENGINE_STOPPED / WORKER_ABORTED.
 */
static int worker_reserve(struct worker *wk, long long *limit,
			  long long *taken)
{
	int rc = engine_take_rows(&wk->e, limit, taken);

	if (rc == ENGINE_STOPPED && !engine_stop_requested(&wk->e))
		rc = WORKER_ABORTED;
	return rc;
}

/* Before a batch: the run's limits, as engine.c checks them serially. */
static int worker_between(struct worker *wk)
{
	struct engine *e = &wk->e;

	if (engine_stop_requested(e))
		return ENGINE_STOPPED;
	if (atomic_load(&wk->sh->abort))
		return WORKER_ABORTED;
	if (clock_past(&e->deadline)) {
		e->stopped_by = "max_runtime";
		return ENGINE_LIMIT;
	}
	return engine_wait_replicas(e, &wk->res);
}

/*
 * After a batch (whatever its outcome): give back its reservation, add
 * what it deleted to the step's result, and tell the watcher.
 */
static void worker_after_batch(struct worker *wk, struct step_result *psr,
			       long long reserved, int rc)
{
	struct workers_shared *sh = wk->sh;
	const struct engine_observer *ob = &sh->e->observer;
	const struct plan *p = wk->w.plan;

	row_budget_give(engine_rows(&wk->e), reserved,
			psr->deleted + (rc == ENGINE_DONE ? wk->w.deleted : 0));
	pthread_mutex_lock(&sh->mu);
	workers_merge(sh, psr);
	if (rc == ENGINE_DONE && wk->w.deleted > 0)
		batch_count_done(sh->e, &wk->w, sh->sr);
	if (rc == ENGINE_DONE && ob->on_batch)
		ob->on_batch(ob->arg, p->rule, p->step, sh->sr);
	pthread_cond_broadcast(&sh->cv);
	pthread_mutex_unlock(&sh->mu);
}

/* One worker: the serial loop of engine.c over its part. */
static void *worker_main(void *arg)
{
	struct worker *wk = arg;
	struct workers_shared *sh = wk->sh;
	struct engine *e = &wk->e;
	struct walk *w = &wk->w;
	struct step_result psr;
	long long reserved, charged, deleted;
	int rc;

	memset(&psr, 0, sizeof(psr));
	for (;;) {
		rc = worker_between(wk);
		if (rc != ENGINE_DONE)
			break;
		w->ops->next(w);
		w->limit = rate_limit_cap(e->rate, w->limit);
		rc = worker_reserve(wk, &w->limit, &reserved);
		if (rc != ENGINE_DONE)
			break;
		charged = w->limit;
		rc = engine_rate_wait(e, charged);
		if (rc == ENGINE_STOPPED && !engine_stop_requested(e))
			rc = WORKER_ABORTED;
		if (rc != ENGINE_DONE) {
			worker_after_batch(wk, &psr, reserved, rc);
			break;
		}
		rc = batch_run(e, w, &psr, &wk->res);
		deleted = psr.deleted + (rc == ENGINE_DONE ? w->deleted : 0);
		engine_rate_refund(e, charged, deleted);
		if (rc == ENGINE_DONE)
			walk_learn(w);
		worker_after_batch(wk, &psr, reserved, rc);
		if (rc != ENGINE_DONE)
			break;
		if (!w->ops->advance(w))
			break;
		/* Pausing is for the application's sake, after writes. */
		if (w->deleted > 0)
			throttle_after_batch(&e->throttle, (long long)w->ms,
					     e->stop);
	}
	pthread_mutex_lock(&sh->mu);
	/* Its step ended early: the others stop at their boundaries. */
	if (rc != ENGINE_DONE && rc != WORKER_ABORTED)
		atomic_store(&sh->abort, 1);
	wk->rc = rc == WORKER_ABORTED ? ENGINE_DONE : rc;
	sh->running--;
	pthread_cond_broadcast(&sh->cv);
	pthread_mutex_unlock(&sh->mu);
	return NULL;
}

/*
 * The run's own connection, while the workers run: renew the lease, or
 * check the advisory lock, every WORKERS_GUARD_MS.  Returns ENGINE_DONE,
 * or how the step ends (the workers are told to stop), with the error
 * in res.
 */
static int workers_guard(struct engine *e, struct rule_result *res)
{
	char state[DB_SQLSTATE_LEN];
	char why[1024];
	int rc;

	if (!e->lock)
		return ENGINE_DONE;
	rc = run_lock_guard(e->lock, state, why, sizeof(why));
	if (rc == RUN_LOCK_HELD)
		return ENGINE_DONE;
	if (rc == RUN_LOCK_ERROR)
		return engine_failure(e, "cannot keep the run lock while the "
				      "workers run", why, res);
	free(res->error);
	res->error = xstrdup(why);
	return ENGINE_UNLOCKED;
}

/* Wait for every worker, guarding the run lock meanwhile. */
static int workers_watch(struct engine *e, struct workers_shared *sh,
			 struct rule_result *guard_res)
{
	long long next = clock_now_ms() + WORKERS_GUARD_MS;
	int rc = ENGINE_DONE;

	pthread_mutex_lock(&sh->mu);
	while (sh->running > 0) {
		if (rc == ENGINE_DONE && clock_now_ms() >= next) {
			pthread_mutex_unlock(&sh->mu);
			rc = workers_guard(e, guard_res);
			pthread_mutex_lock(&sh->mu);
			if (rc != ENGINE_DONE)
				atomic_store(&sh->abort, 1);
			next = clock_now_ms() + WORKERS_GUARD_MS;
			continue;
		}
		workers_wait(sh, WORKERS_POLL_MS);
	}
	pthread_mutex_unlock(&sh->mu);
	return rc;
}

static void workers_add_count(struct throttle_count *dst,
			      const struct throttle_count *src)
{
	dst->count += src->count;
	dst->ms += src->ms;
}

/* The workers' waits into the run's counts. */
static void workers_add_counts(struct run_throttle *dst,
			       const struct run_throttle *src)
{
	if (!dst)
		return;
	workers_add_count(&dst->pause, &src->pause);
	workers_add_count(&dst->pause_ratio, &src->pause_ratio);
	workers_add_count(&dst->replica_lag, &src->replica_lag);
	workers_add_count(&dst->max_rate, &src->max_rate);
}

/* Where each part starts, for the log: "blocks 0-, 500-, 1000-". */
static void workers_describe_parts(const struct walk *parts, size_t n,
				   char *buf, size_t size)
{
	size_t i, len = 0;

	buf[0] = '\0';
	for (i = 0; i < n && len < size; i++) {
		const struct walk *p = &parts[i];
		int k;

		if (walk_windowed(p))
			k = snprintf(buf + len, size - len, "%s%lld-%s",
				     i ? ", " : "", p->pos,
				     p->end >= 0 ? "" : "end");
		else
			k = snprintf(buf + len, size - len, "%safter %s",
				     i ? ", " : "",
				     p->after ? p->after : "start");
		if (k < 0)
			break;
		len += (size_t)k;
	}
}

int workers_explain(struct engine *e, struct plan *p, char *buf,
		    size_t size, char *err, size_t errlen)
{
	struct walk_named_users named = { NULL, 0 };
	char state[DB_SQLSTATE_LEN];
	char where[512];
	struct walk *parts = NULL;
	const char *why;
	struct walk w;
	size_t nparts = 0, i;
	int ret = 0;

	if (e->workers <= 1) {
		snprintf(buf, size, "1 (serial)");
		return 0;
	}
	why = workers_serial_why(e, p);
	if (why) {
		snprintf(buf, size, "1 (serial, though workers = %lld): %s",
			 e->workers, why);
		return 0;
	}
	if (e->scoped) {
		named.ids = e->named.ids;
		named.n = e->named.n;
	}
	walk_init(&w, p, &e->sizing, &named);
	parts = xcalloc(workers_max(e), sizeof(*parts));
	if (w.ops->start(&w, e->conn, state, err, errlen) != 0 ||
	    w.ops->split(&w, e->conn, parts, workers_max(e), &nparts, err,
			 errlen) != 0) {
		ret = -1;
		goto out;
	}
	if (nparts < 2) {
		snprintf(buf, size, "1 (serial, though workers = %lld): the "
			 "step's table is too small to split", e->workers);
		goto out;
	}
	workers_describe_parts(parts, nparts, where, sizeof(where));
	snprintf(buf, size, "%zu, one connection each (and the run's own, "
		 "which holds the run lock), the %s walk split at %s, "
		 "batches of at most %lld rows each (batch_max shared); the "
		 "split is made again when the step starts", nparts,
		 w.ops->name, where, walk_share_cap(parts, nparts));
out:
	for (i = 0; i < nparts; i++)
		walk_free(&parts[i]);
	free(parts);
	walk_free(&w);
	return ret;
}

/*
 * Open a connection per part, each watched by stop.c.  Returns 0, or -1
 * with one line in err (the connections opened so far are the caller's
 * to close).
 */
static int workers_connect(struct engine *e, struct worker *wks, size_t n,
			   char *err, size_t errlen)
{
	char why[512];
	size_t i;

	for (i = 0; i < n; i++) {
		struct worker *wk = &wks[i];

		wk->e.conn = db_reconnect(e->conn, err, errlen);
		if (!wk->e.conn)
			return -1;
		if (stop_watch_worker(i, wk->e.conn, &wk->e.in_batch,
				      &wk->e.cancelled, why,
				      sizeof(why)) == 0) {
			wk->watched = 1;
		} else {
			wk->e.in_batch = NULL;
			wk->e.cancelled = NULL;
			log_msg(SWEEPER_LOG_WARN, "%s", why);
		}
	}
	return 0;
}

/* Start a thread per worker, with the stop signals blocked in them. */
static int workers_start(struct worker *wks, size_t n, char *err,
			 size_t errlen)
{
	sigset_t block, old;
	size_t i;
	int ret = 0;

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGALRM);
	/* A target's process in a run over targets takes its stop as
	 * SIGUSR1 (stop_from_parent()). */
	sigaddset(&block, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	for (i = 0; i < n; i++) {
		int rc = pthread_create(&wks[i].thread, NULL, worker_main,
					&wks[i]);

		if (rc != 0) {
			snprintf(err, errlen, "cannot start worker %zu: %s",
				 i + 1, strerror(rc));
			ret = -1;
			break;
		}
		wks[i].started = 1;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return ret;
}

/*
 * The step's outcome from its workers' and the guard's: the gravest, its
 * error moved into res, and what a limit or a lost lock needs recorded.
 */
static int workers_outcome(struct engine *e, struct worker *wks, size_t n,
			   int guard_rc, struct rule_result *guard_res,
			   struct rule_result *res)
{
	struct rule_result *from = guard_rc != ENGINE_DONE ? guard_res : NULL;
	int rc = guard_rc;
	size_t i;

	for (i = 0; i < n; i++) {
		if (wks[i].rc > rc || (wks[i].rc == rc && !from &&
				       wks[i].res.error)) {
			rc = wks[i].rc;
			from = &wks[i].res;
			if (rc == ENGINE_LIMIT)
				e->stopped_by = wks[i].e.stopped_by;
		}
	}
	if (from && from->error) {
		free(res->error);
		res->error = from->error;
		from->error = NULL;
	}
	/* A worker found the lock gone: is it the run's own connection? */
	if (rc == ENGINE_UNLOCKED && guard_rc != ENGINE_UNLOCKED && e->lock) {
		char why[512];

		if (db_exec(e->conn, "SELECT 1", why, sizeof(why)) != 0 &&
		    db_lost(e->conn))
			return engine_failure(e, "lost the run's own "
					      "connection, which holds the run "
					      "lock", why, res);
		run_lock_note_lost(e->lock, RUN_LOCK_LOST,
				   res->error ? res->error : "");
	}
	return rc;
}

int workers_run_step(struct engine *e, struct walk *w, struct step_result *sr,
		     struct rule_result *res, int *ran)
{
	const struct plan *p = w->plan;
	struct workers_shared sh;
	struct rule_result guard_res;
	struct walk *parts = NULL;
	struct worker *wks = NULL;
	size_t nparts = 0, i;
	char where[512];
	char err[1024];
	const char *why;
	int rc = ENGINE_DONE, guard_rc = ENGINE_DONE;
	long long share;
	unsigned bit;

	*ran = 0;
	if (e->workers <= 1)
		return ENGINE_DONE;
	bit = workers_serial(e, p, &why);
	if (why) {
		workers_log_serial(e, bit, p, why);
		return ENGINE_DONE;
	}
	parts = xcalloc(workers_max(e), sizeof(*parts));
	if (w->ops->split(w, e->conn, parts, workers_max(e), &nparts, err,
			  sizeof(err)) != 0) {
		*ran = 1;
		rc = engine_failure(e, "cannot split the walk for the workers",
				    err, res);
		goto out_parts;
	}
	if (nparts < 2) {
		log_msg(SWEEPER_LOG_DEBUG, "rule '%s': %s: too small to split "
			"for workers; serial", p->rule->name, p->step->table);
		goto out_parts;
	}
	*ran = 1;
	share = walk_share_cap(parts, nparts);
	workers_describe_parts(parts, nparts, where, sizeof(where));
	log_msg(SWEEPER_LOG_INFO, "rule '%s': %s: %zu workers, %s walk split "
		"at %s, batches of at most %lld rows each", p->rule->name,
		p->step->table, nparts, w->ops->name, where, share);

	memset(&sh, 0, sizeof(sh));
	memset(&guard_res, 0, sizeof(guard_res));
	pthread_mutex_init(&sh.mu, NULL);
	pthread_cond_init(&sh.cv, NULL);
	sh.e = e;
	sh.sr = sr;
	atomic_init(&sh.abort, 0);
	wks = xcalloc(nparts, sizeof(*wks));
	for (i = 0; i < nparts; i++) {
		wks[i].index = i;
		wks[i].sh = &sh;
		wks[i].e = *e;
		wks[i].e.conn = NULL;
		wks[i].e.worker = 1;
		wks[i].e.abort = &sh.abort;
		wks[i].e.rows_done = 0;
		/* One max_rows budget for the run's batches, wherever run. */
		wks[i].e.run_rows = engine_rows(e);
		wks[i].e.stopped_by = NULL;
		memset(&wks[i].e.observer, 0, sizeof(wks[i].e.observer));
		wks[i].e.throttle.counts = &wks[i].counts;
		/* The part moves into the worker. */
		wks[i].w = parts[i];
		memset(&parts[i], 0, sizeof(parts[i]));
	}
	if (workers_connect(e, wks, nparts, err, sizeof(err)) != 0) {
		/* Nothing ran: the database refused a connection (69). */
		engine_failure(e, "cannot open a worker's connection; nothing "
			       "of the step was deleted", err, res);
		rc = ENGINE_LOST;
		goto out;
	}
	sh.running = nparts;
	if (workers_start(wks, nparts, err, sizeof(err)) != 0) {
		/* Those started stop at once; the others never ran. */
		atomic_store(&sh.abort, 1);
		for (i = 0; i < nparts; i++)
			if (!wks[i].started)
				sh.running--;
		guard_rc = engine_failure(e, "cannot start the workers", err,
					  &guard_res);
	}
	rc = workers_watch(e, &sh, &guard_res);
	if (guard_rc == ENGINE_DONE)
		guard_rc = rc;
	for (i = 0; i < nparts; i++)
		if (wks[i].started)
			pthread_join(wks[i].thread, NULL);
	rc = workers_outcome(e, wks, nparts, guard_rc, &guard_res, res);
	for (i = 0; i < nparts; i++)
		workers_add_counts(e->throttle.counts, &wks[i].counts);
out:
	for (i = 0; i < nparts; i++) {
		if (wks[i].watched)
			stop_unwatch_worker(i);
		if (wks[i].e.conn)
			PQfinish(wks[i].e.conn);
		walk_free(&wks[i].w);
		free(wks[i].res.error);
	}
	free(wks);
	free(guard_res.error);
	pthread_cond_destroy(&sh.cv);
	pthread_mutex_destroy(&sh.mu);
out_parts:
	for (i = 0; i < nparts; i++)
		walk_free(&parts[i]);
	free(parts);
	return rc;
}
