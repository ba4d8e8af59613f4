/*
 * db.h: the PostgreSQL connection (libpq) and small helpers around it:
 * connecting in db_connect.c, running statements in db.c, and libpq's
 * messages without the secrets they may quote in db_secret.c.
 */
#ifndef SWEEPER_DB_H
#define SWEEPER_DB_H

#include <stddef.h>

#include <libpq-fe.h>

struct config;

/*
 * Where and as whom to connect: [database] dsn and, when password_file is
 * set, the password read from that file.  Passed to libpq as the
 * `password` keyword, so that a password never has to sit in the config
 * or in a pgpass file libpq would refuse (see src/credential.h).
 */
struct db_target {
	const char *dsn;        /* borrowed from the config */
	char *password;         /* owned, wiped when freed; NULL: none */
	size_t password_len;
};

/*
 * Fill *t from the loaded config: the dsn, and the password from
 * [database] password_file (relative to $CREDENTIALS_DIRECTORY, else to
 * the config's directory), read with credential_read().  A password_file
 * beside a dsn that holds a password is refused.  Returns 0, or -1 with
 * one line "FILE:LINE: [database] password_file: problem; fix" in err
 * (never the password); *t is then safe to pass to db_target_free().
 */
int db_target_init(struct db_target *t, const struct config *cfg, char *err,
		   size_t errlen);

/* Wipe and free the password; *t is zeroed.  Accepts a zeroed struct. */
void db_target_free(struct db_target *t);

/*
 * Connect to `t`.  The dsn is a libpq conninfo string or URI ("" uses the
 * PG* environment).  The connection identifies itself as application_name
 * mfa-sweeper unless the dsn names another, and gives up connecting after
 * a server that has not answered after 10 seconds unless the dsn sets
 * connect_timeout.  A stop request (stop_requested, stop.h) ends the
 * attempt at once.  Returns the connection, or NULL with one line in err.
 *
 * No message of this module, on connecting or later, shows a password:
 * the password in use (PQpass()), the dsn's password, as decoded and as
 * written, and the whole dsn are replaced by "[redacted]" wherever
 * libpq's or the server's text holds them.  Notices from the server are
 * logged (src/log.h) the same way, instead of printed by libpq.
 */
PGconn *db_connect(const struct db_target *t, char *err, size_t errlen);

/*
 * Check a dsn as written in [database] dsn, with libpq's own parser
 * (PQconninfoParse()), without connecting: 0 when libpq can read it (a
 * bare database name, without '=' and not a URI, is always read), else -1
 * with the problem and the fix in `why`.  `why` never repeats the dsn or
 * any part of it, since a dsn may hold a password: the fragments libpq
 * quotes are left out.  A URI with a second '@', or an '@' after a '/',
 * is refused too: it is a password with '@' or '/' not percent-encoded,
 * which libpq would read as part of the host or database name and then
 * show in its messages.
 */
int db_dsn_check(const char *dsn, char *why, size_t whylen);

/* 1 when the dsn sets a non-empty password, 0 otherwise (or unreadable). */
int db_dsn_has_password(const char *dsn);

/*
 * Open a new connection with the settings `old` was opened with (`old`
 * may be lost), and its db_set_local() settings, to find out what became
 * of its last transaction or to release what it left behind.  Returns
 * the connection, which the caller PQfinish()es, or NULL with one line in
 * err.
 */
PGconn *db_reconnect(PGconn *old, char *err, size_t errlen);

/*
 * Start opening, without waiting for it, a second connection like `old`
 * (which must carry db_set_local() settings), kept with `old` until
 * db_spare_take() takes it, or closed with `old`.  The server then starts
 * and authenticates its session while `old` works.  Returns 0, or -1 when
 * it could not be started (there is then no spare).
 */
int db_spare_start(PGconn *conn);

/*
 * db_reconnect(), through the connection db_spare_start() began when
 * there is one and it opens: the caller's from then on.  The spare is
 * meant for a connection wanted soon after the start (the run lock's
 * probe); a spare that fails is replaced by a new connection.
 */
PGconn *db_spare_take(PGconn *old, char *err, size_t errlen);

/*
 * Settings a connection's statements run under.  They are never made for
 * the session (a session-level SET would outlive the run on a pooled
 * server connection and reach the application's next client there), only
 * with SET LOCAL inside a transaction: see db_set_local().  This is the
 * one place every transaction of the run gets them from, the batches'
 * included (db_begin(), db_begin_lock()).
 */
struct db_local {
	long long lock_timeout_ms;        /* lock_timeout; 0 = none */
	long long statement_timeout_ms;   /* statement_timeout; 0 = none */
	/*
	 * [database] time_zone, the zone PostgreSQL reads a naive timestamp
	 * in when it compares one with now() (src/time_zone.h): SET LOCAL
	 * TimeZone.  NULL or "" leaves the server's.
	 */
	const char *time_zone;
	/*
	 * 1 when the server session is this connection's for its whole life
	 * (no pooler, or a session pooler): db_run() then prepares each
	 * statement once.  0 behind a transaction pooler, where the next
	 * transaction may run on another server session, which never saw the
	 * PREPARE: each statement then travels with its text (the protocol's
	 * unnamed statement).
	 */
	int prepare;
};

/*
 * From now on, every transaction that db_begin() or db_begin_lock() opens
 * on `conn` sets `settings` with SET LOCAL, and every statement that
 * db_exec*() or db_query*() sends while `conn` is outside a transaction
 * runs in a transaction of its own: BEGIN, SET LOCAL of each of
 * `settings`, the statement, then COMMIT (ROLLBACK when it failed).  For
 * db_query*() that is one round trip (libpq's pipeline mode: the commands
 * go together and the server answers them together, skipping the rest
 * after a failure), and a second only for the ROLLBACK of a failure;
 * db_exec*(), whose SQL may hold several statements, takes three.  So a
 * statement outside a batch (the preflight's, the ledger's, the run
 * lock's) waits for a lock no longer than a batch would, compares times
 * in the configured zone, and nothing of the settings is left on the
 * server connection, which behind a transaction-pooling PgBouncer the
 * application's other clients use next.  Statements inside a transaction
 * the caller opened are sent as they are, and so is SQL that opens or
 * ends a transaction itself (its first word BEGIN, START, COMMIT, END,
 * ROLLBACK or ABORT).
 *
 * `settings` is copied, its time zone too; they live as long as the
 * connection.  Called again, it replaces them.  Returns 0, or -1 with one
 * line in err.
 */
int db_set_local(PGconn *conn, const struct db_local *settings, char *err,
		 size_t errlen);

/*
 * Replace only the time zone of the connection's settings (NULL or "":
 * the server's), once it is known to be one the server knows.  Returns 0,
 * or -1 with one line in err.
 */
int db_set_time_zone(PGconn *conn, const char *zone, char *err,
		     size_t errlen);

/* 1 when the connection is gone (the server closed it or died). */
int db_lost(PGconn *conn);

/* Room for a SQLSTATE code ("40P01") and its terminating NUL. */
#define DB_SQLSTATE_LEN 6

/*
 * Open a transaction with the connection's db_set_local() settings as SET
 * LOCAL (a plain BEGIN when it has none), for a caller that runs several
 * statements in one transaction.  Returns 0, or -1 with the server's
 * message in err and its SQLSTATE in `state` ("" when none).
 */
int db_begin(PGconn *conn, char state[DB_SQLSTATE_LEN], char *err, size_t errlen);

/*
 * db_begin() with lock_timeout `lock_timeout_ms` for this transaction
 * instead of the connection's (a negative value keeps the connection's).
 */
int db_begin_lock(PGconn *conn, long long lock_timeout_ms,
		  char state[DB_SQLSTATE_LEN], char *err, size_t errlen);

/*
 * db_begin_lock() and then the transaction's first statement, a catalog
 * query kept by name as db_query_named() keeps it, in one round trip
 * (libpq's pipeline mode; the transaction stays open).  Returns the
 * statement's result, or NULL with the first failure in err and state;
 * *begun says whether the transaction began (BEGIN and its SET LOCALs went
 * through), so a NULL with *begun 0 is db_begin_lock() failing.  The
 * caller ends the transaction either way.
 */
PGresult *db_begin_query(PGconn *conn, long long lock_ms, const char *name,
			 const char *sql, int nparams,
			 const char *const *params, int *begun,
			 char state[DB_SQLSTATE_LEN], char *err,
			 size_t errlen);

/*
 * Run SQL that returns no rows (BEGIN, COMMIT, SET ...); several statements
 * separated by ';' are allowed.  Returns 0, or -1 with the server's
 * message in err.
 */
int db_exec(PGconn *conn, const char *sql, char *err, size_t errlen);

/*
 * db_exec() that also tells the failure's SQLSTATE: on -1, `state` holds
 * the server's five-character code, or "" when the failure came from
 * libpq itself (a lost connection, out of memory).  On 0, `state` is "".
 */
int db_exec_state(PGconn *conn, const char *sql,
		  char state[DB_SQLSTATE_LEN], char *err, size_t errlen);

/*
 * Run one statement with text parameters (a NULL entry is SQL NULL).
 * Returns the result, which the caller PQclear()s, or NULL with the
 * server's message (and SQLSTATE) in err.
 */
PGresult *db_query(PGconn *conn, const char *sql, int nparams,
		   const char *const *params, char *err, size_t errlen);

/* db_query() that also tells the failure's SQLSTATE, as db_exec_state(). */
PGresult *db_query_state(PGconn *conn, const char *sql, int nparams,
			 const char *const *params,
			 char state[DB_SQLSTATE_LEN], char *err,
			 size_t errlen);

/* Room for a constraint name (PostgreSQL's are at most 63 bytes). */
#define DB_NAME_LEN 128

/*
 * What the server said about a failed statement beyond its message, for
 * telling which rows a refusal belongs to.
 */
struct db_diag {
	char state[DB_SQLSTATE_LEN];   /* SQLSTATE, or "" from libpq itself */
	char constraint[DB_NAME_LEN];  /* the constraint it names, or "" */
};

/* db_query_state() that also fills *diag (zeroed on success). */
PGresult *db_query_diag(PGconn *conn, const char *sql, int nparams,
			const char *const *params, struct db_diag *diag,
			char *err, size_t errlen);

/* db_exec_state() that also fills *diag (zeroed on success). */
int db_exec_diag(PGconn *conn, const char *sql, struct db_diag *diag,
		 char *err, size_t errlen);

/*
 * Run one statement of a plan (plan.h), named `name`, with text
 * parameters: on a connection whose settings allow it (db_local.prepare)
 * the statement is prepared under `name` the first time and executed
 * prepared from then on; otherwise, or when `name` is NULL, its text
 * travels with its parameters.  Like db_query_diag() it is sent as it is,
 * inside the caller's transaction.  Returns the result, which the caller
 * PQclear()s, or NULL with the server's message in err and *diag filled.
 */
PGresult *db_run(PGconn *conn, const char *name, const char *sql,
		 int nparams, const char *const *params, struct db_diag *diag,
		 char *err, size_t errlen);

/*
 * db_run() of a batch's statement and then "SELECT
 * txid_current_if_assigned()" in the same transaction, in one round trip
 * (libpq's pipeline mode; inside the caller's transaction its sync ends
 * nothing): the txid, which tells whether a batch whose COMMIT was lost
 * was applied, into `xid` ("" when the transaction wrote nothing).
 * Returns the statement's result, or NULL with err and *diag filled (the
 * statement's failure; the txid's, when only it failed).
 */
PGresult *db_run_xid(PGconn *conn, const char *name, const char *sql,
		     int nparams, const char *const *params, char *xid,
		     size_t xidlen, struct db_diag *diag, char *err,
		     size_t errlen);

/*
 * db_query_state() of a catalog query the run sends again and again (a
 * table's facts, the privileges of a table), named `name`: on a
 * connection whose settings allow it (db_local.prepare) the statement is
 * prepared under `name` the first time and executed prepared from then on,
 * so that the server plans it once per connection, not once per target;
 * otherwise it is db_query_state().  The statement stays prepared for the
 * connection's life: db_deallocate() leaves it, db_deallocate_all() drops
 * it.  `name` must stand for this one text (a different text, a different
 * name).
 */
PGresult *db_query_named(PGconn *conn, const char *name, const char *sql,
			 int nparams, const char *const *params,
			 char state[DB_SQLSTATE_LEN], char *err,
			 size_t errlen);

/*
 * db_query_named() of a query whose answer cannot change while the
 * connection lives (who the session is, in which database; whether a
 * table of the sweeper's own exists): asked once per connection and
 * parameters, its result remembered, so that the targets a worker sweeps
 * one after another on one connection do not ask again.  Returns a result
 * the caller PQclear()s, or NULL with err and state as db_query_state().
 * A failure is not remembered.
 */
PGresult *db_query_memo(PGconn *conn, const char *name, const char *sql,
			int nparams, const char *const *params,
			char state[DB_SQLSTATE_LEN], char *err, size_t errlen);

/*
 * Drop every statement db_run() prepared on the connection's session, so
 * that nothing of a run's plans stays on the server session (DEALLOCATE
 * ALL when nothing else is prepared there, else one DEALLOCATE each, in
 * one round trip); the statements of db_query_named() stay, for the next
 * run on the same connection.  Nothing when none was prepared, the
 * connection is lost or a transaction is open.
 */
void db_deallocate(PGconn *conn);

/*
 * Drop every statement prepared on the connection's session, the
 * db_query_named() ones too (DEALLOCATE ALL): before the connection is
 * closed, since a session pooler hands its server session to the next
 * client.
 */
void db_deallocate_all(PGconn *conn);

#endif /* SWEEPER_DB_H */
