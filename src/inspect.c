/*
 * inspect.c: --list-rules, --print-grants, --check-config and --explain
 * (inspect.h).
 */
#include <stdio.h>
#include <string.h>

#include "db.h"
#include "explain.h"
#include "grants.h"
#include "inspect.h"
#include "log.h"
#include "metrics.h"
#include "setup.h"
#include "stop.h"

enum outcome inspect_list_rules(struct invocation *inv)
{
	enum outcome ret = OUTCOME_OK;
	char err[1024];
	size_t i;

	for (i = 0; i < inv->nnames; i++) {
		struct plugin p;
		const struct sweeper_key *k;

		if (plugin_load_at(&p, &inv->pdir, inv->names[i], err,
				   sizeof(err)) != 0) {
			log_msg(SWEEPER_LOG_ERROR, "%s", err);
			ret = OUTCOME_CONFIG;
			continue;
		}
		printf("%s %s: %s\n", p.desc->name,
		       p.desc->version ? p.desc->version : "",
		       p.desc->description ? p.desc->description : "");
		printf("  plugin: %s\n", p.path);
		for (k = p.desc->keys; k && k->name; k++) {
			printf("  [rule.%s] %s (%s%s%s, default %s): %s\n",
			       p.desc->name, k->name, rule_key_type_name(k->type),
			       k->choices ? ": " : "",
			       k->choices ? k->choices : "",
			       k->default_value ? k->default_value :
			       "none, required",
			       k->help ? k->help : "");
		}
		plugin_unload(&p);
	}
	return ret;
}

enum outcome inspect_print_grants(struct invocation *inv)
{
	/* The lookups of scoped runs are printed too. */
	struct grants_scope g = { &inv->cfg, inv->rules, inv->nnames,
				  &inv->ledger, 1 };
	char err[2048];

	if (grants_print(inv->conn, &g, inv->o->grants_role, stdout, err,
			 sizeof(err)) != 0) {
		invocation_stop_db(inv, OUTCOME_CONFIG, err);
		return inv->outcome;
	}
	return OUTCOME_OK;
}

enum outcome inspect_check_config(struct invocation *inv)
{
	const struct config *cfg = &inv->cfg;
	char err[2048];

	if (cfg->metrics_file && *cfg->metrics_file &&
	    metrics_check(cfg->metrics_file, err, sizeof(err)) != 0) {
		log_msg(SWEEPER_LOG_ERROR, "%s", err);
		return OUTCOME_CONFIG;
	}
	/* Their messages are logged: those rules could not be checked. */
	if (inv->nblocked)
		return OUTCOME_RULE_FAILED;
	if (cfg->target_name)
		printf("target '%s': ", cfg->target_name);
	printf("configuration ok: '%s', %zu rule%s, %zu step%s checked "
	       "against the database\n", cfg->path, inv->nnames,
	       inv->nnames == 1 ? "" : "s", inv->nsteps,
	       inv->nsteps == 1 ? "" : "s");
	/* A run over targets checks them in several processes: whole lines. */
	fflush(stdout);
	return OUTCOME_OK;
}

enum outcome inspect_explain(struct invocation *inv)
{
	struct engine e;
	char err[2048];
	size_t i;

	/* The run's settings: workers, batch sizing, the scope. */
	setup_engine(&e, inv);
	for (i = 0; i < inv->nnames; i++) {
		/* Its preflight met another session's lock: logged already. */
		if (!inv->plans || !inv->plans[i])
			return OUTCOME_RULE_FAILED;
		if (explain_rule(&inv->rules[i], inv->plans[i], &e, stdout,
				 err, sizeof(err)) != 0) {
			log_msg(SWEEPER_LOG_ERROR, "%s", err);
			return OUTCOME_CONFIG;
		}
	}
	return OUTCOME_OK;
}
