/*
 * preflight.c: the checks against the database before anything is
 * deleted, and which of their failures fail one rule rather than the run
 * (preflight.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "engine.h"
#include "plan.h"
#include "grants.h"
#include "log.h"
#include "mode.h"
#include "preflight.h"
#include "setup.h"
#include "stop.h"
#include "time_zone.h"
#include "xalloc.h"

/*
 * Rule `i` met another session's work before its first batch (`msg`,
 * one line naming the rule): it fails alone, with `msg` as its error.  In
 * a mode with a summary its result line comes later, as an error; here
 * the line is a warning.  Without one, this line is all there is.
 */
static void preflight_block(struct invocation *inv, size_t i,
			    const char *msg)
{
	char prefix[160];
	size_t len;

	if (!inv->blocked)
		inv->blocked = xcalloc(inv->nnames, 1);
	if (inv->blocked[i])
		return;
	inv->blocked[i] = 1;
	inv->nblocked++;
	log_msg(inv->summary_started ? SWEEPER_LOG_WARN : SWEEPER_LOG_ERROR,
		"%s", msg);
	if (!inv->summary_started)
		return;
	/* The summary names the rule already. */
	len = (size_t)snprintf(prefix, sizeof(prefix), "rule '%s': ",
			       inv->names[i]);
	if (len < sizeof(prefix) && strncmp(msg, prefix, len) == 0)
		msg += len;
	inv->s.rules[i].status = RUN_FAILED;
	free(inv->s.rules[i].error);
	inv->s.rules[i].error = xstrdup(msg);
}

/*
 * The users table is everybody's in a scoped run (every statement joins
 * it): when another session holds it, every rule fails.
 */
static void preflight_block_all(struct invocation *inv, const char *msg)
{
	char line[2200];
	size_t i;

	for (i = 0; i < inv->nnames; i++) {
		snprintf(line, sizeof(line), "rule '%s': %s", inv->names[i],
			 msg);
		preflight_block(inv, i, line);
	}
}

/* Scoped runs and --check-config: the users table works. */
static int preflight_users_table(struct invocation *inv)
{
	char err[2048];
	int rc;

	if (inv->info.scoped || inv->o->check_config) {
		rc = scope_check_users_table(inv->conn, &inv->cfg, err,
					     sizeof(err));
		if (rc == -2 && !stop_requested) {
			preflight_block_all(inv, err);
			return 0;
		}
		if (rc != 0)
			return invocation_stop_db(inv, OUTCOME_CONFIG, err);
	}
	return 0;
}

/*
 * Scoped runs: the named users are known, with the users each rule's
 * user filter leaves out.  After the time zone is set: a filter may
 * compare naive times (user_disabled's grace), as the batches will.
 */
static int preflight_users(struct invocation *inv)
{
	struct scope_filter *filters;
	size_t i, nfilters = 0;
	char err[2048];
	int bad_input = 0, rc;

	/* Every rule is blocked already when the users table was held. */
	if (!inv->info.scoped || (inv->nnames && inv->nblocked == inv->nnames))
		return 0;
	filters = xcalloc(inv->nnames + 1, sizeof(*filters));
	for (i = 0; i < inv->nnames; i++) {
		const struct rule *r = &inv->rules[i];

		if (!r->user_filter)
			continue;
		filters[nfilters].owner = r;
		filters[nfilters].sql = r->user_filter;
		filters[nfilters].nparams = r->filter_nparams;
		filters[nfilters++].params = r->filter_params;
	}
	rc = scope_resolve(&inv->scope, inv->conn, &inv->cfg, filters,
			   nfilters, &bad_input, err, sizeof(err));
	free(filters);
	if (rc == -2 && !stop_requested) {
		preflight_block_all(inv, err);
		return 0;
	}
	if (rc != 0 && bad_input)
		return invocation_stop(inv, OUTCOME_USAGE, "%s", err);
	if (rc != 0)
		return invocation_stop_db(inv, OUTCOME_CONFIG, err);
	return 0;
}

int preflight_checks(struct invocation *inv)
{
	const struct cli_options *o = inv->o;
	struct grants_scope g = { &inv->cfg, inv->rules, inv->nnames,
				  &inv->ledger,
				  inv->info.scoped || o->check_config };
	char err[2048];
	int rc;

	/* Before anything is read or deleted (grants.h). */
	if (grants_check(inv->conn, &g, err, sizeof(err)) != 0)
		return invocation_stop_db(inv, OUTCOME_CONFIG, err);
	if (preflight_users_table(inv) != 0)
		return -1;
	/* Audit ledger: without its tables, nothing may be deleted. */
	if (inv->ledger.enabled) {
		rc = ledger_check(inv->conn, &inv->ledger, err, sizeof(err));
		if (rc > 0) {
			inv->ledger_tables = INVOCATION_LEDGER_MISSING;
			return invocation_stop(inv, OUTCOME_CONFIG, "%s", err);
		}
		if (rc < 0)
			return invocation_stop_db(inv, OUTCOME_CONFIG, err);
		inv->ledger_tables = INVOCATION_LEDGER_PRESENT;
	}
	/*
	 * pooler = transaction: without the lease table, no run lock; what a
	 * run will need, --check-config checks.
	 */
	if ((inv->mode->needs & MODE_LOCK) || o->check_config) {
		enum run_lock_pooler pooler = RUN_LOCK_NO_POOLER;

		run_lock_pooler_parse(inv->cfg.pooler, &pooler);
		rc = run_lock_check(inv->conn, pooler, inv->ledger.lease, err,
				    sizeof(err));
		if (rc > 0)
			return invocation_stop(inv, OUTCOME_CONFIG, "%s", err);
		if (rc < 0)
			return invocation_stop_db(inv, OUTCOME_CONFIG, err);
	}
	/* Naive time columns need [database] time_zone (time_zone.h). */
	if (time_zone_check(inv->conn, &inv->cfg, inv->rules, inv->nnames,
			    o->check_config, err, sizeof(err)) != 0)
		return invocation_stop_db(inv, OUTCOME_CONFIG, err);
	/*
	 * A zone the server knows: from here every transaction compares
	 * naive times in it, the preflight's plans and the batches alike.
	 */
	if (db_set_time_zone(inv->conn, time_zone_get(&inv->cfg), err,
			     sizeof(err)) != 0)
		return invocation_stop(inv, OUTCOME_CONFIG, "%s", err);
	return preflight_users(inv);
}

/* Free the plans of rule `i`, built or half built. */
static void preflight_drop_plans(struct invocation *inv, size_t i)
{
	size_t j;

	for (j = 0; inv->plans[i] && j < inv->rules[i].nsteps; j++)
		plan_free(&inv->plans[i][j]);
	free(inv->plans[i]);
	inv->plans[i] = NULL;
}

/* Whether step `j` of rule `i` runs: planned, and not left out of a
 * scoped run for want of a user column. */
static int preflight_step_runs(const struct invocation *inv, size_t i,
			       size_t j)
{
	return inv->plans[i] &&
	       (!inv->info.scoped || inv->rules[i].steps[j].user_column);
}

/*
 * Tell each step's plan the steps the run runs before it on the same
 * table, whose rows its dry-run count passes over (dry_run.h).
 */
static void preflight_link_earlier(struct invocation *inv)
{
	size_t i, j, k, l;

	for (i = 0; i < inv->nnames; i++) {
		for (j = 0; j < inv->rules[i].nsteps; j++) {
			struct plan *p;

			if (!preflight_step_runs(inv, i, j))
				continue;
			p = &inv->plans[i][j];
			for (k = 0; k <= i; k++) {
				for (l = 0; l < inv->rules[k].nsteps &&
				     (k < i || l < j); l++) {
					if (preflight_step_runs(inv, k, l) &&
					    inv->plans[k][l].facts.oid ==
					    p->facts.oid)
						plan_add_earlier(p,
							&inv->plans[k][l]);
				}
			}
		}
	}
}

int preflight_rules(struct invocation *inv)
{
	/* The ledger's rows of the run, or none where nothing is deleted. */
	const char *run_id = inv->summary_started ? inv->s.run_id :
			     LEDGER_NIL_RUN_ID;
	struct engine e;
	char err[2048];
	size_t i, j;
	int rc;

	setup_engine(&e, inv);
	inv->plans = xcalloc(inv->nnames ? inv->nnames : 1,
			     sizeof(*inv->plans));
	for (i = 0; i < inv->nnames; i++) {
		const struct rule *r = &inv->rules[i];

		if (inv->blocked && inv->blocked[i])
			continue;
		inv->plans[i] = xcalloc(r->nsteps ? r->nsteps : 1,
					sizeof(struct plan));
		for (j = 0, rc = 0; j < r->nsteps && rc == 0; j++)
			rc = plan_build(&inv->plans[i][j], &e, r, i, j, run_id,
					err, sizeof(err));
		if (rc == 0)
			continue;
		preflight_drop_plans(inv, i);
		if (stop_requested || db_lost(inv->conn))
			return invocation_stop_db(inv, OUTCOME_CONFIG, err);
		if (rc == -2) {
			preflight_block(inv, i, err);
			continue;
		}
		return invocation_stop(inv, OUTCOME_CONFIG, "%s", err);
	}
	preflight_link_earlier(inv);
	/*
	 * Refuse a max_replica_lag the role cannot read; --explain, which
	 * deletes nothing and waits for no standby, is spared.
	 */
	if (!inv->o->explain &&
	    throttle_preflight(&e.throttle, inv->conn, err, sizeof(err)) != 0)
		return invocation_stop_db(inv, OUTCOME_CONFIG, err);
	return 0;
}
