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

/* Scoped runs: the users table works and the named users are known. */
static int preflight_users(struct invocation *inv)
{
	char err[2048];
	int bad_input = 0, rc;

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
	if (!inv->info.scoped)
		return 0;
	rc = scope_resolve(&inv->scope, inv->conn, &inv->cfg, &bad_input, err,
			   sizeof(err));
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
	if (preflight_users(inv) != 0)
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
	return 0;
}

int preflight_rules(struct invocation *inv)
{
	struct stmt_ledger plan_ledger;
	struct stmt_scope sscope = {
		config_schema(&inv->cfg, "users_table"),
		config_schema(&inv->cfg, "user_id_column"),
		inv->scope.ids_literal
	};
	struct engine e;
	char err[2048];
	size_t i;
	int rc;

	plan_ledger.deletions = inv->ledger.deletions;
	plan_ledger.run_id = LEDGER_NIL_RUN_ID;
	setup_engine(&e, inv);
	e.scope = inv->info.scoped ? &sscope : NULL;
	/* What the batches will run: with the ledger's INSERT, if any. */
	e.ledger = inv->ledger.enabled && !inv->o->dry_run ? &plan_ledger :
		   NULL;
	for (i = 0; i < inv->nnames; i++) {
		if (inv->blocked && inv->blocked[i])
			continue;
		rc = engine_preflight(&e, &inv->rules[i], err, sizeof(err));
		if (rc == 0)
			continue;
		if (stop_requested || db_lost(inv->conn))
			return invocation_stop_db(inv, OUTCOME_CONFIG, err);
		if (rc == -2) {
			preflight_block(inv, i, err);
			continue;
		}
		return invocation_stop(inv, OUTCOME_CONFIG, "%s", err);
	}
	/* Refuse a max_replica_lag the role cannot read. */
	if (throttle_preflight(&e.throttle, inv->conn, err, sizeof(err)) != 0)
		return invocation_stop_db(inv, OUTCOME_CONFIG, err);
	return 0;
}
