/*
 * invocation.h: one invocation of mfa-sweeper, from the parsed command
 * line to the exit code: what the stages of its mode set up (mode.h), in
 * one place, so that whatever stage it stops at, the report (report.h)
 * finds the summary, the connection and the ledger as far as they got.
 */
#ifndef SWEEPER_INVOCATION_H
#define SWEEPER_INVOCATION_H

#include <stddef.h>

#include <libpq-fe.h>

#include "cli.h"
#include "config.h"
#include "ledger.h"
#include "outcome.h"
#include "plan.h"
#include "row_budget.h"
#include "rule.h"
#include "run_lock.h"
#include "scope.h"
#include "summary.h"
#include "webhook.h"

struct mode;

/* Whether the ledger's tables were found (preflight_checks()). */
enum invocation_ledger {
	INVOCATION_LEDGER_UNCHECKED = 0,
	INVOCATION_LEDGER_PRESENT,
	INVOCATION_LEDGER_MISSING
};

struct invocation {
	const struct cli_options *o;       /* borrowed */
	const struct mode *mode;           /* a row of the mode table */

	struct config cfg;
	int config_loaded;
	struct ledger ledger;              /* set up with the config */
	enum invocation_ledger ledger_tables;
	struct webhook wh;                 /* url NULL: no post */

	/* The summary, once started (setup_summary()). */
	struct run_summary s;
	int summary_started;
	/*
	 * Set once the summary's rules carry their own results (the run
	 * lock was tried, or every rule was turned away by its preflight):
	 * a summary without it is completed from `outcome` and `err` by the
	 * report.
	 */
	int reached_rules;
	/* The run row is in the ledger: the webhook's outcome goes there. */
	int ledger_recorded;

	/* The rules of this invocation, in the order of `rules` in the
	 * config: names borrowed from the config, rules owned. */
	char **names;
	size_t nnames;
	struct rule *rules;
	size_t nopen;                      /* rules[0..nopen) are open */
	size_t nsteps;
	struct sweeper_run_info info;      /* what the plugins are told */
	struct scope scope;                /* the named users */
	/* plugin_dir, resolved, checked and held open (setup_plugin_dir()). */
	struct plugin_dir pdir;

	/*
	 * Per rule: 1 when its preflight ran into another session's work
	 * (a lock, a timeout): it fails alone and the others run.  Its
	 * result in the summary holds the error.
	 */
	unsigned char *blocked;
	size_t nblocked;

	/*
	 * Per rule, the plans of its steps (plan.h), built by the preflight
	 * (preflight_rules()) and read by the run, the dry run and
	 * --explain; NULL for a rule that was not planned (blocked).  Owned.
	 */
	struct plan **plans;

	PGconn *conn;                      /* owned; NULL until connected */
	/* The run lock (run_lock.h), taken by run_take_lock(). */
	struct run_lock lock;

	/*
	 * A run over targets (fleet.h): `fleet` in the parent, which sweeps
	 * nothing itself; in a worker, the connection kept from the
	 * previous target of the same database (setup_connection() takes
	 * it), the run-wide row count for max_rows (engine.run_rows) and
	 * the run-wide max_rate bucket, both in shared memory.
	 */
	int fleet;
	PGconn *reuse_conn;
	struct row_budget *run_rows;
	struct rate_limit *run_rate;

	enum outcome outcome;
	/* Why the invocation stopped, one line: the summary's "error". */
	char err[2048];
};

/* Zero *inv for the command line `o` (borrowed) and `mode`. */
void invocation_init(struct invocation *inv, const struct cli_options *o,
		     const struct mode *mode);

/*
 * Stop the invocation with `outcome`: the message goes to inv->err and to
 * the log (a warning for OUTCOME_INTERRUPTED, else an error).  Returns
 * -1, for `return invocation_stop(...)` in a stage.
 */
int invocation_stop(struct invocation *inv, enum outcome outcome,
		    const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * A statement on inv->conn failed with `why`: stop as interrupted when a
 * stop request cancelled it, as OUTCOME_UNAVAILABLE when the connection
 * is gone, else with `otherwise`.  Returns -1.
 */
int invocation_stop_db(struct invocation *inv, enum outcome otherwise,
		       const char *why);

/*
 * Connect to [database] dsn, with the password of [database]
 * password_file when set (db_target_init()).  Returns the connection,
 * which the caller keeps in inv->conn, or NULL with one line in err;
 * *config_fault is then 1 when the config is at fault (password_file),
 * 0 when the server is.
 */
PGconn *invocation_connect(struct invocation *inv, int *config_fault,
			   char *err, size_t errlen);

/*
 * Release the run lock, if held, so that nothing of the run stays held on
 * a pooled server connection; a failure is logged.  invocation_free()
 * does it too, for a run that ended before its rules.
 */
void invocation_release_lock(struct invocation *inv);

/* Release the run lock, close the connection and free what the
 * invocation owns. */
void invocation_free(struct invocation *inv);

#endif /* SWEEPER_INVOCATION_H */
