/*
 * mode.c: the table of modes, the stages they need, and the dispatcher
 * (mode.h).  doc/design.md "Modes" documents the same table for operators.
 */
#include <stdio.h>

#include "fleet.h"
#include "inspect.h"
#include "ledger_cli.h"
#include "log.h"
#include "mode.h"
#include "preflight.h"
#include "print_plan.h"
#include "report.h"
#include "run.h"
#include "setup.h"
#include "stop.h"
#include "sweeper/plugin.h"

#define MODE_COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* What every mode that reads the database needs before its handler. */
#define MODE_DATABASE (MODE_CONFIG | MODE_RULES | MODE_PLUGINS | \
		       MODE_CONNECTION)

static int mode_want_help(const struct cli_options *o)
{
	return o->help;
}

static int mode_want_version(const struct cli_options *o)
{
	return o->version;
}

static int mode_want_print_ledger_sql(const struct cli_options *o)
{
	return o->print_ledger_sql;
}

static int mode_want_init_ledger(const struct cli_options *o)
{
	return o->init_ledger;
}

static int mode_want_history(const struct cli_options *o)
{
	return o->history > 0;
}

static int mode_want_list_targets(const struct cli_options *o)
{
	return o->list_targets;
}

static int mode_want_list_rules(const struct cli_options *o)
{
	return o->list_rules;
}

static int mode_want_print_plan(const struct cli_options *o)
{
	return o->print_plan;
}

static int mode_want_print_grants(const struct cli_options *o)
{
	return o->print_grants;
}

static int mode_want_check_config(const struct cli_options *o)
{
	return o->check_config;
}

static int mode_want_explain(const struct cli_options *o)
{
	return o->explain;
}

static int mode_want_dry_run(const struct cli_options *o)
{
	return o->dry_run;
}

static int mode_want_run(const struct cli_options *o)
{
	(void)o;
	return 1;
}

static enum outcome mode_help(struct invocation *inv)
{
	(void)inv;
	cli_usage(stdout);
	return OUTCOME_OK;
}

static enum outcome mode_version(struct invocation *inv)
{
	(void)inv;
	printf("mfa-sweeper %s (plugin ABI %u)\n", SWEEPER_VERSION,
	       (unsigned)SWEEPER_ABI_VERSION);
	return OUTCOME_OK;
}

/*
 * The modes, first match wins (cli.c allows only one of the options
 * between --print-ledger-sql and --explain; -h and -V win over all, and
 * --dry-run only turns a run into a dry one).
 */
static const struct mode mode_table[] = {
	{ "--help", mode_want_help, 0, mode_help },
	{ "--version", mode_want_version, 0, mode_version },
	{ "--print-ledger-sql", mode_want_print_ledger_sql, MODE_CONFIG,
	  ledger_cli_print_sql },
	{ "--init-ledger", mode_want_init_ledger,
	  MODE_CONFIG | MODE_CONNECTION, ledger_cli_init },
	{ "--history", mode_want_history, MODE_CONFIG | MODE_CONNECTION,
	  ledger_cli_history },
	{ "--list-rules", mode_want_list_rules, MODE_CONFIG | MODE_RULES,
	  inspect_list_rules },
	/* Connects to each tenants_query target to list its tenants. */
	{ "--list-targets", mode_want_list_targets, MODE_CONFIG,
	  fleet_list_targets },
	/* The plugins' plans, for their authors' tests: no connection. */
	{ "--print-plan", mode_want_print_plan,
	  MODE_CONFIG | MODE_RULES | MODE_PLUGINS, print_plan },
	{ "--print-grants", mode_want_print_grants, MODE_DATABASE,
	  inspect_print_grants },
	{ "--check-config", mode_want_check_config,
	  MODE_DATABASE | MODE_SECRETS | MODE_CHECKS | MODE_PREFLIGHT,
	  inspect_check_config },
	/* --explain prints the plans the preflight built for the run. */
	{ "--explain", mode_want_explain,
	  MODE_DATABASE | MODE_CHECKS | MODE_PREFLIGHT, inspect_explain },
	/* A dry run leaves the metrics file to the runs that delete. */
	{ "--dry-run", mode_want_dry_run,
	  MODE_DATABASE | MODE_CHECKS | MODE_PREFLIGHT |
	  MODE_PRINT | MODE_POST | MODE_LEDGER, run_rules },
	{ "run", mode_want_run,
	  MODE_DATABASE | MODE_CHECKS | MODE_PREFLIGHT | MODE_LOCK |
	  MODE_PRINT | MODE_POST | MODE_METRICS | MODE_LEDGER, run_rules },
};

/*
 * The stages, in the order they run; each runs for a mode that needs any
 * of `need`.  After a stage that may take a while, a stop request ends
 * the invocation (as interrupted, exit 75) before the next one.
 */
static const struct mode_stage {
	unsigned need;
	int (*setup)(struct invocation *inv);
	int stoppable;
} mode_stages[] = {
	{ MODE_CONFIG, setup_config, 0 },
	{ MODE_CONFIG, fleet_check_names, 0 },
	{ MODE_RULES, setup_rules, 0 },
	{ MODE_REPORTS, setup_summary, 1 },
	{ MODE_POST | MODE_SECRETS, setup_webhook, 1 },
	{ MODE_RULES, setup_plugin_dir, 1 },
	{ MODE_PLUGINS, setup_plugins, 1 },
	{ MODE_CONNECTION, setup_connection, 1 },
	{ MODE_LOCK, run_start_probe, 0 },
	{ MODE_CHECKS, preflight_checks, 1 },
	{ MODE_PREFLIGHT, preflight_rules, 1 },
	/* From the lock on, the engine sees a stop between batches. */
	{ MODE_LOCK, run_take_lock, 0 },
};

const struct mode *mode_find(const struct cli_options *o)
{
	size_t i;

	for (i = 0; i + 1 < MODE_COUNT(mode_table); i++) {
		if (mode_table[i].wanted(o))
			break;
	}
	return &mode_table[i];
}

/* Set up what the mode needs.  Returns 0, or -1 with the outcome set. */
static int mode_setup(struct invocation *inv)
{
	size_t i;

	for (i = 0; i < MODE_COUNT(mode_stages); i++) {
		const struct mode_stage *st = &mode_stages[i];

		if (!(inv->mode->needs & st->need))
			continue;
		/*
		 * A run over targets sets up the rest per target, in its
		 * workers (fleet.h): from the plugins on.
		 */
		if (st->setup == setup_plugins && fleet_wanted(inv)) {
			inv->fleet = 1;
			return 0;
		}
		if (st->setup(inv) != 0)
			return -1;
		if (st->stoppable && stop_requested)
			return invocation_stop(inv, OUTCOME_INTERRUPTED,
					       "stopped by a signal%s",
					       inv->mode->needs & MODE_LOCK ?
					       " before the first batch; "
					       "nothing was deleted" : "");
	}
	return 0;
}

void mode_execute(struct invocation *inv)
{
	if (mode_setup(inv) == 0)
		inv->outcome = inv->fleet ? fleet_run(inv) :
			       inv->mode->handler(inv);
	/* A usage error is the caller's typo, not a run to report. */
	if ((inv->mode->needs & MODE_REPORTS) && inv->summary_started &&
	    inv->outcome != OUTCOME_USAGE)
		report_finish(inv);
}

int mode_dispatch(const struct cli_options *o)
{
	struct invocation inv;
	int code;

	invocation_init(&inv, o, mode_find(o));
	mode_execute(&inv);
	code = outcome_exit_code(inv.outcome);
	invocation_free(&inv);
	return code;
}
