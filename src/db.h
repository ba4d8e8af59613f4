/*
 * db.h: the PostgreSQL connection (libpq) and small helpers around it.
 */
#ifndef SWEEPER_DB_H
#define SWEEPER_DB_H

#include <stddef.h>

#include <libpq-fe.h>

/*
 * Connect with `dsn` (a libpq conninfo string or URI; "" uses the PG*
 * environment).  The connection identifies itself as application_name
 * mfa-sweeper unless the dsn names another, and gives up on a server
 * that has not answered after 10 seconds unless the dsn sets
 * connect_timeout.  A stop request (stop_requested, stop.h) ends the
 * attempt at once.  Returns the connection, or NULL with one line in err.
 */
PGconn *db_connect(const char *dsn, char *err, size_t errlen);

/*
 * Open a new connection with the settings `old` was opened with (`old`
 * may be lost), to find out what became of its last transaction.  Returns
 * the connection, which the caller PQfinish()es, or NULL with one line in
 * err.
 */
PGconn *db_reconnect(PGconn *old, char *err, size_t errlen);

/* 1 when the connection is gone (the server closed it or died). */
int db_lost(PGconn *conn);

/* Room for a SQLSTATE code ("40P01") and its terminating NUL. */
#define DB_SQLSTATE_LEN 6

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

#endif /* SWEEPER_DB_H */
