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
 * mfa-sweeper unless the dsn names another, and gives up connecting after
 * 10 seconds unless the dsn sets connect_timeout.  Returns the connection,
 * or NULL with one line in err.
 */
PGconn *db_connect(const char *dsn, char *err, size_t errlen);

/* 1 when the connection is gone (the server closed it or died). */
int db_lost(PGconn *conn);

/*
 * Run SQL that returns no rows (BEGIN, COMMIT, SET ...); several statements
 * separated by ';' are allowed.  Returns 0, or -1 with the server's
 * message in err.
 */
int db_exec(PGconn *conn, const char *sql, char *err, size_t errlen);

/*
 * Run one statement with text parameters (a NULL entry is SQL NULL).
 * Returns the result, which the caller PQclear()s, or NULL with the
 * server's message (and SQLSTATE) in err.
 */
PGresult *db_query(PGconn *conn, const char *sql, int nparams,
		   const char *const *params, char *err, size_t errlen);

#endif /* SWEEPER_DB_H */
