/*
 * mode.h: what mfa-sweeper does for a command line, as a table of modes.
 *
 * Each row names a mode, the option that selects it, what it needs set up
 * before its handler runs (the config, the plugins, a connection, the
 * preflight, the run lock) and what it reports when it ends, however it
 * ends (the summary on stdout, the webhook, the metrics file, the
 * ledger).  The dispatcher runs the stages a mode needs in one fixed
 * order, stops at the first that fails, and then reports as the row
 * says: "every run reports" holds because the table says so, not because
 * each exit remembers to.  A new mode is one row (doc/design.md "Modes").
 */
#ifndef SWEEPER_MODE_H
#define SWEEPER_MODE_H

#include "cli.h"
#include "invocation.h"
#include "outcome.h"

/* What a mode needs, in the order the dispatcher sets it up. */
enum mode_need {
	MODE_CONFIG = 1 << 0,      /* the configuration file, the ledger's names */
	MODE_RULES = 1 << 1,       /* the rules chosen (-r) and plugin_dir checked */
	MODE_PLUGINS = 1 << 2,     /* the named users read; every rule's plugin
				    * loaded, init() and plan() */
	MODE_CONNECTION = 1 << 3,  /* a connection, with the session's timeouts */
	MODE_CHECKS = 1 << 4,      /* the role's privileges, the users table and
				    * the named users, the ledger's tables, naive
				    * time columns */
	MODE_PREFLIGHT = 1 << 5,   /* every step of every rule plans (a rule that
				    * meets another session's lock fails alone),
				    * and the throttles can work */
	MODE_LOCK = 1 << 6,        /* the run lock and the ledger's run row: the
				    * mode deletes */
	MODE_SECRETS = 1 << 7,     /* the webhook's secret read before anything
				    * connects, though nothing is posted */

	/* What a mode reports, from the moment its summary starts (after the
	 * config and the choice of rules) whatever happens next. */
	MODE_PRINT = 1 << 8,       /* the summary on stdout: table or --json */
	MODE_POST = 1 << 9,        /* the webhook ([webhook] url) */
	MODE_METRICS = 1 << 10,    /* the metrics file ([sweeper] metrics_file) */
	MODE_LEDGER = 1 << 11      /* the ledger's runs row ([ledger] enabled) */
};

#define MODE_REPORTS (MODE_PRINT | MODE_POST | MODE_METRICS | MODE_LEDGER)

struct mode {
	const char *name;          /* the option, or "run" */
	/* 1 when the command line asks for this mode. */
	int (*wanted)(const struct cli_options *o);
	unsigned needs;            /* enum mode_need */
	/* What the mode does once its needs are met. */
	enum outcome (*handler)(struct invocation *inv);
};

/* The row for the command line: the first whose wanted() says so. */
const struct mode *mode_find(const struct cli_options *o);

/*
 * Set up what inv->mode needs, run its handler (or, for a run over
 * targets, fleet_run()) and report as its row says; inv->outcome holds
 * the result.  mode_dispatch() does it for the command line, a worker of
 * a run over targets (fleet.h) for each target.
 */
void mode_execute(struct invocation *inv);

/*
 * Run the mode the command line asks for: set up what it needs, run its
 * handler, report as its row says, and return the exit code.
 */
int mode_dispatch(const struct cli_options *o);

#endif /* SWEEPER_MODE_H */
