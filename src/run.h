/*
 * run.h: the run itself (mode.h's "run" and "--dry-run"): the run lock
 * and the ledger's run row, then every rule through the engine, each
 * rule's result into the summary.
 */
#ifndef SWEEPER_RUN_H
#define SWEEPER_RUN_H

#include "invocation.h"

/*
 * A stage of MODE_LOCK, right after the connection: start opening the
 * second connection with which the run lock checks, once it holds the
 * lock, for a transaction pooler the config does not name
 * (db_spare_start()), so that the server starts that session during the
 * preflight instead of after it (2 to 3 ms of a run).  Always returns 0:
 * without it the check opens its connection as before.
 */
int run_start_probe(struct invocation *inv);

/*
 * The stage MODE_LOCK: take the run lock (another run holding it makes
 * this run `skipped`, exit 75) and commit the ledger's run row before the
 * first batch.  Nothing to lock when every rule failed its preflight.
 * Returns 0, or -1 with the summary's rules filled and the outcome set.
 */
int run_take_lock(struct invocation *inv);

/*
 * Run (or, in a dry run, count) every rule, in order, filling the
 * summary; a rule that failed its preflight is reported, not run.
 * Returns the outcome: a rule failed (1), lost connection, stopped by a
 * signal, rows left behind, or ok.
 */
enum outcome run_rules(struct invocation *inv);

#endif /* SWEEPER_RUN_H */
