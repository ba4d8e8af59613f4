/*
 * run_lock.h: the run lock, which keeps two runs of mfa-sweeper from
 * deleting in the same database at once.
 *
 * How it is held depends on what sits between the sweeper and PostgreSQL
 * ([database] pooler, doc/operations.md "Connection poolers"):
 *
 *   - none or session: a session-level advisory lock,
 *     pg_try_advisory_lock(hashtextextended('mfa-sweeper', 0)), which the
 *     server releases when the session ends, however the run ends.  A
 *     transaction pooler would put it on whichever server connection it
 *     picks, so the lock is checked for the symptoms of one: the session
 *     already held it, a second connection lands on the session that
 *     holds it, or a batch runs on a session other than the one that took
 *     it (or one that no longer holds it).  Any of them stops the run with
 *     a message naming `pooler = transaction`.
 *   - transaction: a lease, one row in the run_lease table of the ledger's
 *     schema (created by --init-ledger): holder (the run id) and
 *     expires_at.  It is taken in one transaction, renewed by every batch
 *     inside the batch's own transaction (a batch that finds the lease no
 *     longer its run's rolls back, and the run stops), and deleted at the
 *     end.  A run that dies keeps it until it expires, lease_ttl after
 *     its last renewal.
 *
 * The two exclude each other: taking the lease takes the advisory lock's
 * key for the transaction (pg_try_advisory_xact_lock), and an advisory
 * run checks for a live lease after taking its lock.
 */
#ifndef SWEEPER_RUN_LOCK_H
#define SWEEPER_RUN_LOCK_H

#include <stddef.h>

#include <libpq-fe.h>

#include "db.h"
#include "ident.h"

/* The advisory lock's key, as SQL; documented in doc/design.md "How a run works". */
#define RUN_LOCK_KEY_SQL "hashtextextended('mfa-sweeper', 0)"

/*
 * A tenant's advisory lock key (run_lock_set_tenant()), as SQL, from
 * `schema`, an SQL expression of text: --history (ledger.c) computes
 * each tenant run's key from the ledger's target column with it, so the
 * two must build the same text to hash.
 */
#define RUN_LOCK_TENANT_KEY_SQL(schema) \
	"hashtextextended('mfa-sweeper:' || current_database() || '/' || " \
	schema ", 0)"

/* Longest statement built around the lock's key. */
#define RUN_LOCK_SQL_MAX 1536

/* What an operator who sees a transaction pooler's symptoms should do. */
#define RUN_LOCK_POOLER_FIX \
	"set [database] pooler = transaction (and run mfa-sweeper " \
	"--init-ledger for its lease table)"

/* [database] pooler. */
enum run_lock_pooler {
	RUN_LOCK_NO_POOLER = 0,
	RUN_LOCK_SESSION_POOLER,
	RUN_LOCK_TRANSACTION_POOLER
};

/* Outcome of run_lock_take() and run_lock_guard(). */
enum run_lock_result {
	RUN_LOCK_HELD = 0,   /* this run holds the lock */
	RUN_LOCK_BUSY,       /* another run holds it (take only) */
	RUN_LOCK_POOLER,     /* advisory: the symptoms of a transaction pooler;
			      * the message names the fix */
	RUN_LOCK_LOST,       /* lease: no longer this run's (taken by another
			      * run after it expired, or deleted) */
	RUN_LOCK_ERROR       /* a statement failed; see err and state */
};

struct run_lock {
	PGconn *conn;                  /* borrowed */
	enum run_lock_pooler pooler;
	long long ttl_ms;              /* lease: life without a renewal */
	char table[IDENT_MAX];         /* lease: the quoted table name */
	char run_id[37];               /* lease: the holder */
	char host[256];
	/* The advisory lock's key as SQL (RUN_LOCK_KEY_SQL's value unless
	 * run_lock_set_tenant()), the lease row's name, and the test of
	 * whether the session holds the key.  The key's name travels as the
	 * statements' $1 (key_param), so that their text is the same for
	 * every tenant and is prepared once per connection. */
	char key[160];
	char key_param[96];
	char lease_name[96];
	char mine[RUN_LOCK_SQL_MAX / 2];
	int tenant;                    /* run_lock_set_tenant() was called */
	/* 1: skip the second connection that probes for a transaction
	 * pooler (a run over targets keeps to its connection budget; the
	 * guard of every batch still sees one). */
	int no_probe;
	int held;                      /* taken and not yet released */
	int backend_pid;               /* advisory: the session holding it */
	/* Why the last take or guard did not return RUN_LOCK_HELD. */
	enum run_lock_result result;
	char why[768];
};

/*
 * Parse a [database] pooler value ("none", "session", "transaction").
 * Returns 0, or -1 for any other text.
 */
int run_lock_pooler_parse(const char *text, enum run_lock_pooler *out);

/*
 * Set up *l for `conn` (borrowed; it must outlive *l).  `lease_table` is
 * the quoted name of the lease table (struct ledger's `lease`); `run_id`
 * and `host` name the holder.  Takes nothing yet.
 */
void run_lock_init(struct run_lock *l, PGconn *conn,
		   enum run_lock_pooler pooler, long long ttl_ms,
		   const char *lease_table, const char *run_id,
		   const char *host);

/*
 * Make the lock a tenant's (doc/fleet.md): the
 * advisory key hashtextextended('mfa-sweeper:' || current_database() ||
 * '/SCHEMA', 0) and the lease row 'mfa-sweeper/SCHEMA', so that runs over
 * different tenants of one database go on side by side while two runs
 * never sweep the same tenant at once.  `schema` must be a name
 * tenant_schema_valid() accepts (it is written into the SQL as is).
 */
void run_lock_set_tenant(struct run_lock *l, const char *schema);

/*
 * Preflight: with pooler = transaction, the lease table must exist.
 * Returns 0 (also for the other poolers), 1 when it is missing (err names
 * it and the fix: --init-ledger), or -1 when the check failed.
 */
int run_lock_check(PGconn *conn, enum run_lock_pooler pooler,
		   const char *lease_table, char *err, size_t errlen);

/*
 * Take the lock.  Returns RUN_LOCK_HELD, RUN_LOCK_BUSY (err says who holds
 * it when that is known, else ""), RUN_LOCK_POOLER (err names the fix;
 * nothing is held), or RUN_LOCK_ERROR with one line in err.
 */
int run_lock_take(struct run_lock *l, char *err, size_t errlen);

/*
 * Open a batch's transaction (db_begin_lock(), lock_timeout `lock_ms`, a
 * negative value keeping the connection's) and run_lock_guard() in it:
 * for the advisory lock in one round trip (db_begin_query()).  *begun is
 * 0 when the transaction could not be opened: RUN_LOCK_ERROR, with the
 * failure of BEGIN in err and state, and nothing of the batch ran.
 * Otherwise as run_lock_guard(); the caller ends the transaction.
 */
int run_lock_guard_begin(struct run_lock *l, long long lock_ms, int *begun,
			 char state[DB_SQLSTATE_LEN], char *err,
			 size_t errlen);

/*
 * Inside a batch's transaction, before its DELETE: check (advisory) or
 * renew (lease) the lock, so that no batch runs without it.  Returns
 * RUN_LOCK_HELD; RUN_LOCK_POOLER or RUN_LOCK_LOST, with the message in
 * err (the caller rolls the batch back and stops the run); or
 * RUN_LOCK_ERROR when the statement failed, with its SQLSTATE in `state`
 * (the batch failed like any other).  Does nothing when not held.
 */
int run_lock_guard(struct run_lock *l, char state[DB_SQLSTATE_LEN],
		   char *err, size_t errlen);

/*
 * The same for a batch of a worker (workers.c) on its own connection
 * `conn`, inside the batch's transaction: under a lease, the lease's
 * advisory key taken shared for the transaction (another run must take
 * it alone to take the lease over, so it cannot while the batch runs)
 * and the lease checked to be this run's; under the advisory lock, the
 * run's own session checked to hold it still.  The lease is renewed by
 * the run's own connection (run_lock_guard(), between the workers'
 * batches), so workers never wait on its row.  Changes nothing in *l:
 * the caller records a RUN_LOCK_LOST (with run_lock_note_lost()).
 * Returns as run_lock_guard().
 */
int run_lock_guard_worker(const struct run_lock *l, PGconn *conn,
			  char state[DB_SQLSTATE_LEN], char *err,
			  size_t errlen);

/*
 * Record that a worker's batch found the lock no longer this run's
 * (`result`, `why`), as run_lock_guard() records its own.
 */
void run_lock_note_lost(struct run_lock *l, int result, const char *why);

/*
 * Release the lock, so that nothing is left held on a pooled server
 * connection: pg_advisory_unlock, or delete the lease row (on a new
 * connection when the run's is lost, since a lease outlives it).  Returns
 * 0 (also when nothing is held), or -1 with one line in err (the lock is
 * then released by the session's end, or the lease expires).
 */
int run_lock_release(struct run_lock *l, char *err, size_t errlen);

#endif /* SWEEPER_RUN_LOCK_H */
