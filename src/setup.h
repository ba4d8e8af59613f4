/*
 * setup.h: the stages that prepare an invocation before anything is read
 * from the database: the config, the rules, the summary, the plugins and
 * the connection (mode.h runs those its mode needs, in this order).
 *
 * Each stage returns 0, or -1 after invocation_stop() has set the outcome
 * and logged why.
 */
#ifndef SWEEPER_SETUP_H
#define SWEEPER_SETUP_H

#include "engine.h"
#include "invocation.h"

/* Load the config file and set up the ledger's names: exit 78. */
int setup_config(struct invocation *inv);

/* The rules of this run: all enabled, or those named with -r, which
 * must be enabled: exit 64. */
int setup_rules(struct invocation *inv);

/*
 * Start the summary (run id, host, start time, the chosen rules); from
 * here on the invocation reports however it ends.
 */
int setup_summary(struct invocation *inv);

/*
 * Read the webhook's secret (and set up the post): a bad one is exit 78,
 * and such a run posts nothing, since it cannot sign.  --check-config
 * reads it too, before it connects.
 */
int setup_webhook(struct invocation *inv);

/* Check plugin_dir before any plugin is loaded from it: exit 78. */
int setup_plugin_dir(struct invocation *inv);

/*
 * Read the named users (-u, -e, --users-file: exit 64), then load every
 * rule's plugin and run its init() and plan() (exit 78).
 */
int setup_plugins(struct invocation *inv);

/*
 * Connect (exit 69, or 75 when a stop request ends the attempt), let a
 * stop cancel what runs on the connection, and set the session's
 * timeouts.
 */
int setup_connection(struct invocation *inv);

/*
 * The settings every transaction on `conn` carries (db_set_local()): the
 * timeouts, so that a statement outside a batch (the preflight, the
 * ledger's rows) waits for a lock no longer than a batch would, and
 * whether statements are prepared ([database] pooler).  Returns 0, or -1
 * with one line in err.
 */
int setup_session_timeouts(PGconn *conn, const struct config *cfg, char *err,
			   size_t errlen);

/*
 * An engine for inv->conn with the config's batch sizing, limits,
 * timeouts and throttles, the named users of a scoped run and the
 * ledger's table (none in a dry run); the caller adds what its use
 * needs (the run lock, the stop flags, the observer).
 */
void setup_engine(struct engine *e, const struct invocation *inv);

#endif /* SWEEPER_SETUP_H */
