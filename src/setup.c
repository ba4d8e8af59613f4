/*
 * setup.c: the config, the rules, the summary, the plugins and the
 * connection of an invocation (setup.h).
 *
 * Everything that can be wrong with the configuration or the plugins is
 * found here, before the first statement that reads the database;
 * preflight.c then checks what the config names against the database.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db.h"
#include "log.h"
#include "mode.h"
#include "progress.h"
#include "setup.h"
#include "stop.h"
#include "strbuf.h"
#include "values.h"
#include "xalloc.h"

int setup_config(struct invocation *inv)
{
	char err[2048];

	/* A worker of a run over targets comes with its target's config. */
	if (inv->config_loaded)
		return 0;
	if (config_load(&inv->cfg, inv->o->config_path, err,
			sizeof(err)) != 0)
		return invocation_stop(inv, OUTCOME_CONFIG, "%s", err);
	inv->config_loaded = 1;
	config_warn_exposed(&inv->cfg);
	if (ledger_setup(&inv->ledger, inv->cfg.ledger_schema,
			 inv->cfg.ledger_enabled, err, sizeof(err)) != 0)
		return invocation_stop(inv, OUTCOME_CONFIG, "%s", err);
	return 0;
}

/* Whether `name` is among the `n` strings of `list`. */
static int setup_listed(char *const *list, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (strcmp(list[i], name) == 0)
			return 1;
	}
	return 0;
}

int setup_rules(struct invocation *inv)
{
	const struct cli_options *o = inv->o;
	const struct config *cfg = &inv->cfg;
	size_t i, j;

	for (i = 0; i < o->nrules; i++) {
		struct strbuf list = STRBUF_INIT;
		char shown[VALUE_QUOTE_MAX];

		if (setup_listed(cfg->rules, cfg->nrules, o->rules[i]))
			continue;
		for (j = 0; j < cfg->nrules; j++)
			strbuf_addf(&list, "%s%s", j ? ", " : "", cfg->rules[j]);
		value_quote(o->rules[i], shown, sizeof(shown));
		invocation_stop(inv, OUTCOME_USAGE,
				"--rule %s is not enabled in '%s'; enabled "
				"rules: %s", shown, cfg->path,
				strbuf_str(&list));
		strbuf_release(&list);
		return -1;
	}
	inv->names = xcalloc(cfg->nrules ? cfg->nrules : 1, sizeof(char *));
	for (i = 0; i < cfg->nrules; i++) {
		if (o->nrules == 0 ||
		    setup_listed(o->rules, o->nrules, cfg->rules[i]))
			inv->names[inv->nnames++] = cfg->rules[i];
	}
	return 0;
}

int setup_summary(struct invocation *inv)
{
	if (summary_start(&inv->s, 0) != 0)
		return invocation_stop(inv, OUTCOME_UNAVAILABLE,
				       "cannot make a run id: no randomness");
	log_set_run_id(inv->s.run_id);
	inv->s.dry_run = inv->o->dry_run;
	if (inv->cfg.target_name)
		inv->s.target = xstrdup(inv->cfg.target_name);
	summary_set_rules(&inv->s, inv->names, inv->nnames);
	inv->summary_started = 1;
	return 0;
}

int setup_webhook(struct invocation *inv)
{
	char err[2048];

	if (webhook_init(&inv->wh, &inv->cfg, err, sizeof(err)) != 0) {
		/* Unsigned, the post would be refused or worse: none. */
		webhook_free(&inv->wh);
		return invocation_stop(inv, OUTCOME_CONFIG, "%s", err);
	}
	return 0;
}

int setup_plugin_dir(struct invocation *inv)
{
	char err[2048];

	if (rule_open_plugin_dir(&inv->pdir, &inv->cfg, err, sizeof(err)) != 0)
		return invocation_stop(inv, OUTCOME_CONFIG, "%s", err);
	return 0;
}

int setup_plugins(struct invocation *inv)
{
	const struct cli_options *o = inv->o;
	char err[2048];
	size_t i;

	/* The users are read before anything else can fail half-way. */
	for (i = 0; i < o->nuser_ids; i++)
		scope_add(&inv->scope, o->user_ids[i], 0);
	for (i = 0; i < o->nuser_emails; i++)
		scope_add(&inv->scope, o->user_emails[i], 1);
	if (o->users_file && scope_read_file(&inv->scope, o->users_file, err,
					     sizeof(err)) != 0)
		return invocation_stop(inv, OUTCOME_USAGE, "%s", err);

	/* Only a mode that takes the run lock deletes anything. */
	inv->info.dry_run = !(inv->mode->needs & MODE_LOCK);
	inv->info.now = o->now;
	inv->info.scoped = cli_scoped(o);

	inv->rules = xcalloc(inv->nnames ? inv->nnames : 1,
			     sizeof(*inv->rules));
	for (i = 0; i < inv->nnames; i++) {
		struct rule *r = &inv->rules[i];

		if (rule_open(r, &inv->cfg, &inv->pdir, inv->names[i],
			      &inv->info, err, sizeof(err)) != 0) {
			rule_close(r);
			return invocation_stop(inv, OUTCOME_CONFIG, "%s", err);
		}
		inv->nopen++;
		if (rule_plan(r, err, sizeof(err)) != 0)
			return invocation_stop(inv, OUTCOME_CONFIG, "%s", err);
		inv->nsteps += r->nsteps;
	}
	return 0;
}

/*
 * Whatever runs outside a batch (the preflight's EXPLAINs, the users
 * check, the ledger's run row, the run lock) waits for a lock no longer
 * than a batch would, so a migration holding a table makes the run give
 * up rather than hang until systemd kills it.  The timeouts go with each
 * transaction as SET LOCAL, never with the session: a pooler hands the
 * server connection to the application's next client, which must not
 * inherit them (doc/operations.md "Connection poolers").  The batches take theirs
 * from the same settings (db_begin()).  [database] time_zone joins them
 * once the server has confirmed it (preflight_checks()).  Statements are
 * prepared once per session unless a transaction pooler may give every
 * transaction another session.
 */
int setup_session_timeouts(PGconn *conn, const struct config *cfg, char *err,
			   size_t errlen)
{
	struct db_local local;

	memset(&local, 0, sizeof(local));
	local.lock_timeout_ms = cfg->lock_timeout_ms;
	local.statement_timeout_ms = cfg->statement_timeout_ms;
	local.prepare = !cfg->pooler || strcmp(cfg->pooler, "transaction") != 0;
	return db_set_local(conn, &local, err, errlen);
}

int setup_connection(struct invocation *inv)
{
	char err[2048];
	int config_fault;

	log_msg(SWEEPER_LOG_DEBUG, "connecting to the database");
	if (inv->reuse_conn) {
		inv->conn = inv->reuse_conn;
		inv->reuse_conn = NULL;
	} else {
		inv->conn = invocation_connect(inv, &config_fault, err,
					       sizeof(err));
	}
	if (!inv->conn) {
		if (config_fault)
			return invocation_stop(inv, OUTCOME_CONFIG, "%s", err);
		if (stop_requested)
			return invocation_stop(inv, OUTCOME_INTERRUPTED,
					       "stopped by a signal while "
					       "connecting to the database; "
					       "nothing was deleted");
		return invocation_stop(inv, OUTCOME_UNAVAILABLE,
				       "%s; check %s dsn in '%s'", err,
				       inv->cfg.target_name ?
				       "the target's" : "[database]",
				       inv->cfg.path);
	}
	/*
	 * From here a stop cancels the statement that runs (the preflight
	 * is not worth finishing); the run's batches then get stop_timeout.
	 */
	if (stop_watch(inv->conn, inv->cfg.stop_timeout_ms, err,
		       sizeof(err)) != 0)
		log_msg(SWEEPER_LOG_WARN, "%s", err);
	stop_cancel_at_once(1);
	if (setup_session_timeouts(inv->conn, &inv->cfg, err,
				   sizeof(err)) != 0)
		return invocation_stop_db(inv, OUTCOME_UNAVAILABLE, err);
	return 0;
}

void setup_engine(struct engine *e, const struct invocation *inv)
{
	const struct config *cfg = &inv->cfg;

	memset(e, 0, sizeof(*e));
	e->conn = inv->conn;
	/* Batch sizing, max_rows and the throttles, from [sweeper]. */
	e->sizing.batch_size = cfg->batch_size;
	e->sizing.batch_min = cfg->batch_min;
	e->sizing.batch_max = cfg->batch_max;
	e->sizing.batch_target_ms = cfg->batch_target_ms;
	e->max_rows = cfg->max_rows;
	e->run_rows = inv->run_rows;
	e->workers = cfg->workers > 0 ? cfg->workers : 1;
	e->users_table = config_schema(cfg, "users_table");
	e->user_id_column = config_schema(cfg, "user_id_column");
	/* Every transaction sets the timeouts with SET LOCAL (db.h). */
	e->lock_timeout_ms = cfg->lock_timeout_ms;
	e->throttle.pause_ms = cfg->pause_ms;
	e->throttle.pause_ratio = cfg->pause_ratio;
	e->throttle.max_replica_lag_ms = cfg->max_replica_lag_ms;
	e->throttle.max_throttle_ms = cfg->max_throttle_ms;
	e->dry_run = inv->o->dry_run;
	e->sample_rows = progress_choose(inv->o->quiet, inv->o->dry_run,
					 STDERR_FILENO) == PROGRESS_TTY;
	/* A scoped run: the named users, resolved by the checks. */
	e->scoped = inv->info.scoped;
	e->named.ids = inv->scope.found;
	e->named.n = inv->scope.nfound;
	e->named.literal = inv->scope.ids_literal;
	e->named.scope = &inv->scope;
	/* What the batches run: with the ledger's INSERT, if any. */
	e->ledger = inv->ledger.enabled && !inv->o->dry_run ?
		    inv->ledger.deletions : NULL;
}
