/*
 * run.c: the run lock, the rules, one after the other, and what each
 * engine outcome means for the run (run.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "db.h"
#include "engine.h"
#include "log.h"
#include "progress.h"
#include "run.h"
#include "setup.h"
#include "stop.h"
#include "xalloc.h"

/* Whether rule `i` failed its preflight on another session's work. */
static int run_blocked(const struct invocation *inv, size_t i)
{
	return inv->blocked && inv->blocked[i];
}

/*
 * Mark the rules from `from` on as not run, with `status` and `why`
 * (NULL: no error); a rule that failed its preflight keeps its error.
 */
static void run_mark_rest(struct invocation *inv, size_t from,
			  enum run_status status, const char *why)
{
	struct run_summary *s = &inv->s;
	size_t i;

	for (i = from; i < s->nrules; i++) {
		if (run_blocked(inv, i))
			continue;
		s->rules[i].status = status;
		if (why) {
			free(s->rules[i].error);
			s->rules[i].error = xstrdup(why);
		}
	}
}

/* [database] pooler, checked when the config was loaded. */
static enum run_lock_pooler run_pooler(const struct config *cfg)
{
	enum run_lock_pooler p = RUN_LOCK_NO_POOLER;

	run_lock_pooler_parse(cfg->pooler, &p);
	return p;
}

int run_start_probe(struct invocation *inv)
{
	/*
	 * A lease needs no probe, and a run over targets keeps to its
	 * connections (run_take_lock()).  Without a spare the probe opens its
	 * connection when it needs it, as it did before.
	 */
	if (run_pooler(&inv->cfg) == RUN_LOCK_TRANSACTION_POOLER ||
	    inv->cfg.target_name)
		return 0;
	if (db_spare_start(inv->conn) != 0)
		log_msg(SWEEPER_LOG_DEBUG, "run lock: the second connection "
			"could not be started early; the probe opens it");
	return 0;
}

int run_take_lock(struct invocation *inv)
{
	struct run_summary *s = &inv->s;
	char err[1024];

	/* The lock and the ledger's row are not the preflight's to cancel. */
	stop_cancel_at_once(0);
	inv->reached_rules = 1;
	if (inv->nblocked == inv->nnames)
		return 0;
	run_lock_init(&inv->lock, inv->conn, run_pooler(&inv->cfg),
		      inv->cfg.lease_ttl_ms, inv->ledger.lease, s->run_id,
		      s->host);
	/* A tenant has a lock of its own; a run over targets keeps to its
	 * connections. */
	if (inv->cfg.tenant_schema)
		run_lock_set_tenant(&inv->lock, inv->cfg.tenant_schema);
	if (inv->cfg.target_name)
		inv->lock.no_probe = 1;
	switch (run_lock_take(&inv->lock, err, sizeof(err))) {
	case RUN_LOCK_HELD:
		break;
	case RUN_LOCK_BUSY:
		log_msg(SWEEPER_LOG_WARN,
			"another mfa-sweeper run holds the lock on this "
			"%s%s%s; nothing done", inv->cfg.tenant_schema ?
			"tenant" : "database", err[0] ? ": " : "", err);
		run_mark_rest(inv, 0, RUN_SKIPPED, NULL);
		s->status = RUN_SKIPPED;
		inv->outcome = OUTCOME_SKIPPED;
		return -1;
	case RUN_LOCK_POOLER:
		/* The config does not say what sits in front of the server. */
		log_msg(SWEEPER_LOG_ERROR, "%s", err);
		run_mark_rest(inv, 0, RUN_FAILED, err);
		s->status = RUN_FAILED;
		inv->outcome = OUTCOME_CONFIG;
		return -1;
	default:
		log_msg(SWEEPER_LOG_ERROR, "cannot take the run lock: %s", err);
		run_mark_rest(inv, 0, RUN_FAILED, err);
		s->status = RUN_FAILED;
		inv->outcome = db_lost(inv->conn) ? OUTCOME_UNAVAILABLE :
			       OUTCOME_RULE_FAILED;
		return -1;
	}
	/*
	 * Audit ledger: the run's row is committed before the first batch, so
	 * every deletions row has its run, even if this process dies.
	 */
	if (inv->ledger.enabled) {
		if (ledger_run_begin(inv->conn, &inv->ledger, s, err,
				     sizeof(err)) != 0) {
			log_msg(SWEEPER_LOG_ERROR, "%s; nothing deleted", err);
			run_mark_rest(inv, 0, RUN_FAILED, err);
			s->status = RUN_FAILED;
			inv->outcome = db_lost(inv->conn) ?
				       OUTCOME_UNAVAILABLE : OUTCOME_CONFIG;
			return -1;
		}
		inv->ledger_recorded = 1;
	}
	return 0;
}

static void run_log_rule(const struct rule_result *r, int dry_run)
{
	int level = r->status == RUN_FAILED ? SWEEPER_LOG_ERROR :
		    SWEEPER_LOG_INFO;
	struct log_fields f = LOG_FIELDS_INIT;
	char left[64] = "";

	if (r->left_behind > 0)
		snprintf(left, sizeof(left), ", %lld row%s left behind",
			 r->left_behind, r->left_behind == 1 ? "" : "s");

	f.rule = r->name;
	f.deleted = r->deleted;
	f.batches = r->batches;
	f.duration_ms = r->duration_ms;
	f.status = run_status_name(r->status);
	f.dry_run = dry_run;
	log_event(level, &f, "rule '%s': %s, %lld rows %s in %lld batch%s "
		"(%lld.%03llds)%s%s%s", r->name, run_status_name(r->status),
		r->deleted, dry_run ? "would be deleted" : "deleted",
		r->batches, r->batches == 1 ? "" : "es",
		r->duration_ms / 1000, r->duration_ms % 1000,
		left,
		r->error ? ": " : "", r->error ? r->error : "");
}

/*
 * A batch of rule `i` found the run lock no longer this run's
 * (ENGINE_UNLOCKED) and was rolled back.  A lease another run took over
 * means that run goes on with the work: this one was interrupted (75).  A
 * transaction pooler's symptoms are the config's fault: 78 while nothing
 * was deleted, else the run failed (1).
 */
static void run_lock_lost(struct invocation *inv, size_t i,
			  enum outcome *outcome)
{
	struct run_summary *s = &inv->s;
	long long deleted = 0;
	size_t j;

	log_msg(SWEEPER_LOG_ERROR, "%s; stopping", inv->lock.why);
	for (j = 0; j <= i; j++)
		deleted += s->rules[j].deleted;
	if (inv->lock.result == RUN_LOCK_LOST) {
		s->rules[i].status = RUN_INTERRUPTED;
		run_mark_rest(inv, i + 1, RUN_INTERRUPTED, NULL);
		s->status = RUN_INTERRUPTED;
		*outcome = OUTCOME_INTERRUPTED;
		return;
	}
	run_mark_rest(inv, i + 1, RUN_FAILED, "not run: the run lock was lost");
	s->status = RUN_FAILED;
	*outcome = deleted > 0 ? OUTCOME_RULE_FAILED : OUTCOME_CONFIG;
}

/*
 * What an engine outcome of rule `i` means for the run: 0 to go on to
 * the next rule, 1 to stop, with the rest marked and *outcome set.
 */
static int run_after_rule(struct invocation *inv, size_t i, int rc,
			  const struct engine *e, enum outcome *outcome)
{
	struct run_summary *s = &inv->s;

	switch (rc) {
	case ENGINE_LIMIT:
		log_msg(SWEEPER_LOG_WARN, "%s reached; stopping between batches",
			e->stopped_by ? e->stopped_by : "a limit");
		s->stopped_by = e->stopped_by;
		run_mark_rest(inv, i + 1, RUN_PARTIAL, NULL);
		return 1;
	case ENGINE_STOPPED:
		log_msg(SWEEPER_LOG_WARN,
			"stopped by a signal; every batch was applied whole or "
			"rolled back");
		run_mark_rest(inv, i + 1, RUN_INTERRUPTED, NULL);
		s->status = RUN_INTERRUPTED;
		*outcome = OUTCOME_INTERRUPTED;
		return 1;
	case ENGINE_LOST:
		log_msg(SWEEPER_LOG_ERROR,
			"lost the database connection; stopping");
		run_mark_rest(inv, i + 1, RUN_FAILED,
			      "not run: database connection lost");
		s->status = RUN_FAILED;
		*outcome = OUTCOME_UNAVAILABLE;
		return 1;
	case ENGINE_UNLOCKED:
		run_lock_lost(inv, i, outcome);
		return 1;
	case ENGINE_FAILED:
		*outcome = OUTCOME_RULE_FAILED;
		return 0;
	default:
		return 0;
	}
}

enum outcome run_rules(struct invocation *inv)
{
	const struct cli_options *o = inv->o;
	struct run_summary *s = &inv->s;
	struct progress progress;
	struct rate_limit rate;
	struct engine e;
	enum outcome outcome = OUTCOME_OK;
	int left_behind = 0, own_rate = 0, rc;
	size_t i;

	/* The batches are stop_timeout's, not the preflight's. */
	stop_cancel_at_once(0);
	inv->reached_rules = 1;
	setup_engine(&e, inv);
	e.throttle.counts = &s->throttle;
	e.stop = &stop_requested;
	e.in_batch = &stop_in_batch;
	e.cancelled = &stop_cancelled;
	e.retries = inv->cfg.retries;
	e.retry_backoff_ms = inv->cfg.retry_backoff_ms;
	/* No batch deletes without the run lock; a dry run took none. */
	if (inv->lock.held)
		e.lock = &inv->lock;
	clock_deadline_in(&e.deadline, inv->cfg.max_runtime_ms);
	/* max_rate: one bucket for the whole run and all its workers (and
	 * all its targets: then the fleet's, in shared memory). */
	if (inv->run_rate)
		e.rate = o->dry_run ? NULL : inv->run_rate;
	else if (rate_limit_init(&rate, o->dry_run ? 0 :
				 inv->cfg.max_rate) == 0)
		own_rate = 1;
	if (own_rate)
		e.rate = &rate;
	/* Observability: progress watches the engine's steps. */
	progress_start(&progress, progress_choose(o->quiet, o->dry_run,
						  STDERR_FILENO),
		       stderr, &e.observer);
	if (inv->info.scoped) {
		s->scoped = 1;
		s->unknown_users = inv->scope.unknown;
		s->nunknown = inv->scope.nunknown;
		/* The summary now owns the list. */
		inv->scope.unknown = NULL;
		inv->scope.nunknown = 0;
		if (s->nunknown)
			log_msg(SWEEPER_LOG_WARN, "%zu named user%s not found",
				s->nunknown, s->nunknown == 1 ? "" : "s");
	}

	for (i = 0; i < inv->nnames; i++) {
		if (run_blocked(inv, i)) {
			run_log_rule(&s->rules[i], o->dry_run);
			outcome = OUTCOME_RULE_FAILED;
			continue;
		}
		/*
		 * A dry run's counts do not look at the stop flag, which the
		 * batches of a real run do: the stop is seen between rules.
		 */
		if (o->dry_run && stop_requested) {
			log_msg(SWEEPER_LOG_WARN, "stopped by a signal");
			run_mark_rest(inv, i, RUN_INTERRUPTED, NULL);
			s->status = RUN_INTERRUPTED;
			outcome = OUTCOME_INTERRUPTED;
			break;
		}
		rc = engine_run_rule(&e, &inv->rules[i], inv->plans[i],
				     &s->rules[i]);
		run_log_rule(&s->rules[i], o->dry_run);
		if (s->rules[i].left_behind > 0)
			left_behind = 1;
		if (run_after_rule(inv, i, rc, &e, &outcome))
			break;
	}
	/* Rows left behind need attention, but the run did its work. */
	if (outcome == OUTCOME_OK && left_behind)
		outcome = OUTCOME_LEFT_BEHIND;
	progress_finish(&progress);
	if (own_rate)
		rate_limit_destroy(&rate);
	/*
	 * Nothing of the run stays on the server session: the lock goes now,
	 * the statements it prepared with the connection, in one round trip
	 * with the catalog queries (invocation_free()), or before a fleet
	 * worker keeps it for its next target (fleet_worker.c).
	 */
	invocation_release_lock(inv);
	return outcome;
}
