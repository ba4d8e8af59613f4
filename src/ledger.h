/*
 * ledger.h: the audit ledger, two tables in a schema of the application's
 * database that record every run ("runs") and every deleted row, counted
 * per run, rule, table and user ("deletions").
 *
 * The deletions of a batch are written by the batch's own statement (see
 * stmt_source.ledger in statement.h), so they commit or vanish with the
 * rows they describe: whenever the sweeper dies, the rows gone from a
 * table are exactly the rows the ledger accounts for.  A run's row is
 * committed, with status 'running', before its first batch and completed
 * at its end; a run that died keeps status 'running' and a NULL
 * finished_at.
 */
#ifndef SWEEPER_LEDGER_H
#define SWEEPER_LEDGER_H

#include <stddef.h>
#include <stdio.h>

#include <libpq-fe.h>

#include "ident.h"
#include "summary.h"

/* A run id that no run has, for planning statements before a run. */
#define LEDGER_NIL_RUN_ID "00000000-0000-0000-0000-000000000000"

/* Default of `--history` without N, and the largest N accepted. */
#define LEDGER_HISTORY_DEFAULT 20
#define LEDGER_HISTORY_MAX 100000

struct ledger {
	int enabled;                 /* [ledger] enabled */
	char schema[IDENT_MAX];      /* quoted: "mfa_sweeper" */
	char runs[IDENT_MAX];        /* quoted: "mfa_sweeper"."runs" */
	char deletions[IDENT_MAX];   /* quoted: "mfa_sweeper"."deletions" */
	/* The run lease of pooler = transaction (src/run_lock.c), which
	 * lives in the same schema whether or not the ledger is enabled. */
	char lease[IDENT_MAX];       /* quoted: "mfa_sweeper"."run_lease" */
};

/*
 * Fill *l from the [ledger] settings: `schema` unquoted as in config.
 * Returns 0, or -1 with one line in err when the name cannot be quoted.
 */
int ledger_setup(struct ledger *l, const char *schema, int enabled,
		 char *err, size_t errlen);

/*
 * The DDL that creates the schema, the tables and their indexes (and the
 * run lease table), every statement idempotent (IF NOT EXISTS), in one
 * transaction.  The caller frees the string.
 */
char *ledger_sql(const struct ledger *l);

/* Run ledger_sql() (--init-ledger).  Returns 0, or -1 with one line in
 * err. */
int ledger_create(PGconn *conn, const struct ledger *l, char *err,
		  size_t errlen);

/*
 * Check that both ledger tables exist.  Returns 0 when they do, 1 when one
 * is missing (err then holds the message with the hint to create them), or
 * -1 when the check itself failed (err holds the server's message).
 */
int ledger_check(PGconn *conn, const struct ledger *l, char *err,
		 size_t errlen);

/*
 * Insert the run's row with status 'running' and commit it (the
 * connection must not be inside a transaction).  Call it right after the
 * run lock is taken, before the first batch.  Returns 0, or -1 with one
 * line in err.
 */
int ledger_run_begin(PGconn *conn, const struct ledger *l,
		     const struct run_summary *s, char *err, size_t errlen);

/*
 * Record the run's end from the finished summary (after summary_finish()):
 * status, finished_at, deleted_total (0 for a dry run) and the JSON
 * summary.  Inserts the row when ledger_run_begin() did not (a dry run, a
 * skipped run).  Returns 0, or -1 with one line in err.
 */
int ledger_run_finish(PGconn *conn, const struct ledger *l,
		      const struct run_summary *s, char *err, size_t errlen);

/*
 * Record the webhook's outcome on the run's row: `status` is a short word
 * such as "delivered", "failed" or "disabled"; `error` is NULL or one line.
 * Call it after ledger_run_finish().  Does nothing and returns 0 when the
 * ledger is off (l->enabled 0).  Returns 0, or -1 with one line in err
 * (also when no row has that run id).
 */
int ledger_record_webhook(PGconn *conn, const struct ledger *l,
			  const char *run_id, const char *status,
			  const char *error, char *err, size_t errlen);

/*
 * Print the last `n` runs, newest first, as a table on `out`.  A run whose
 * row still says 'running' is shown as `died` unless its session still
 * holds its run lock (a tenant run's key is its tenant's, from the target
 * column), or it holds a run lease that has not expired.  Once the ledger
 * has recorded a target, each run's target is listed before the host.
 * Returns 0, or -1 with one line in err.
 */
int ledger_history(PGconn *conn, const struct ledger *l, long long n,
		   FILE *out, char *err, size_t errlen);

#endif /* SWEEPER_LEDGER_H */
