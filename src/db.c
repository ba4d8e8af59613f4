/*
 * db.c: connecting to PostgreSQL and running statements with libpq.
 *
 * No setting is ever made for the session: a connection's lock_timeout
 * and statement_timeout travel with each transaction as SET LOCAL (see
 * db_set_local()), kept with the connection through libpq's instance
 * data, so that nothing of the run stays on a server connection that a
 * pooler hands to the application's next client.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libpq-events.h>

#include "db.h"
#include "xalloc.h"

/* Copy libpq's message into err as one line, without its newlines. */
static void db_message(const char *prefix, const char *msg, const char *state,
		       char *err, size_t errlen)
{
	size_t i;

	if (state && *state)
		snprintf(err, errlen, "%s%s (SQLSTATE %s)", prefix,
			 msg ? msg : "", state);
	else
		snprintf(err, errlen, "%s%s", prefix, msg ? msg : "");
	for (i = 0; err[i]; i++) {
		if (err[i] == '\n' || err[i] == '\r')
			err[i] = ' ';
	}
	/* Drop the trailing blank libpq's final newline became. */
	while (i > 0 && err[i - 1] == ' ')
		err[--i] = '\0';
}

PGconn *db_connect(const char *dsn, char *err, size_t errlen)
{
	/*
	 * With expand_dbname, settings in the dsn override the ones listed
	 * before it, so these are defaults the operator can change.
	 */
	const char *const keys[] = {
		"connect_timeout", "fallback_application_name", "dbname", NULL
	};
	const char *const values[] = { "10", "mfa-sweeper", dsn, NULL };
	PGconn *conn;

	conn = PQconnectdbParams(keys, values, 1);
	if (!conn) {
		snprintf(err, errlen, "cannot connect to the database: out of memory");
		return NULL;
	}
	if (PQstatus(conn) != CONNECTION_OK) {
		db_message("cannot connect to the database: ",
			   PQerrorMessage(conn), NULL, err, errlen);
		PQfinish(conn);
		return NULL;
	}
	return conn;
}

static int db_event(PGEventId id, void *info, void *pass_through);

PGconn *db_reconnect(PGconn *old, char *err, size_t errlen)
{
	PQconninfoOption *opts = PQconninfo(old), *o;
	const char **keys, **values;
	PGconn *conn = NULL;
	size_t n = 0;

	if (!opts) {
		snprintf(err, errlen, "cannot reconnect: out of memory");
		return NULL;
	}
	for (o = opts; o->keyword; o++)
		n++;
	keys = xcalloc(n + 1, sizeof(*keys));
	values = xcalloc(n + 1, sizeof(*values));
	n = 0;
	for (o = opts; o->keyword; o++) {
		if (!o->val)
			continue;
		keys[n] = o->keyword;
		values[n] = o->val;
		n++;
	}
	conn = PQconnectdbParams(keys, values, 0);
	if (!conn) {
		snprintf(err, errlen, "cannot reconnect: out of memory");
	} else if (PQstatus(conn) != CONNECTION_OK) {
		db_message("cannot reconnect: ", PQerrorMessage(conn), NULL,
			   err, errlen);
		PQfinish(conn);
		conn = NULL;
	} else if (PQinstanceData(old, db_event) &&
		   db_set_local(conn, PQinstanceData(old, db_event), err,
				errlen) != 0) {
		PQfinish(conn);
		conn = NULL;
	}
	free(keys);
	free(values);
	PQconninfoFree(opts);
	return conn;
}

int db_lost(PGconn *conn)
{
	return PQstatus(conn) != CONNECTION_OK;
}

/*
 * libpq calls this for the connection's events; it owns the settings
 * db_set_local() attached and frees them with the connection.
 */
static int db_event(PGEventId id, void *info, void *pass_through)
{
	(void)pass_through;
	if (id == PGEVT_CONNDESTROY) {
		const PGEventConnDestroy *d = info;

		free(PQinstanceData(d->conn, db_event));
	}
	return 1;
}

int db_set_local(PGconn *conn, const struct db_local *settings, char *err,
		 size_t errlen)
{
	struct db_local *copy = PQinstanceData(conn, db_event);

	if (!copy) {
		if (!PQregisterEventProc(conn, db_event, "mfa-sweeper db", NULL)) {
			snprintf(err, errlen, "cannot keep settings with the "
				 "connection (libpq refused the event procedure)");
			return -1;
		}
		copy = xcalloc(1, sizeof(*copy));
		if (!PQsetInstanceData(conn, db_event, copy)) {
			free(copy);
			snprintf(err, errlen, "cannot keep settings with the "
				 "connection (libpq refused the instance data)");
			return -1;
		}
	}
	*copy = *settings;
	return 0;
}

/* The BEGIN that carries the connection's settings, into buf. */
static void db_begin_sql(PGconn *conn, char *buf, size_t size)
{
	const struct db_local *l = PQinstanceData(conn, db_event);

	if (!l)
		snprintf(buf, size, "BEGIN");
	else
		snprintf(buf, size, "BEGIN; SET LOCAL lock_timeout = %lld;"
			 " SET LOCAL statement_timeout = %lld",
			 l->lock_timeout_ms, l->statement_timeout_ms);
}

/*
 * Whether `sql` opens or ends a transaction itself: its first word, after
 * blanks and -- comments, is one of the transaction commands.
 */
static int db_controls_transaction(const char *sql)
{
	static const char *const words[] = {
		"BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT"
	};
	size_t i, n;

	for (;;) {
		sql += strspn(sql, " \t\r\n");
		if (strncmp(sql, "--", 2) != 0)
			break;
		sql += strcspn(sql, "\n");
	}
	n = strspn(sql, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (n == strlen(words[i]) && strncasecmp(sql, words[i], n) == 0)
			return 1;
	}
	return 0;
}

/*
 * Whether a statement goes in a transaction of its own: the connection
 * has settings, is outside a transaction, and the SQL does not manage
 * one.
 */
static int db_wrapped(PGconn *conn, const char *sql)
{
	return PQinstanceData(conn, db_event) &&
	       PQtransactionStatus(conn) == PQTRANS_IDLE &&
	       !db_controls_transaction(sql);
}

/* Describe a failed statement: the server's message, else libpq's. */
static void db_result_error(PGconn *conn, const PGresult *res, char *err,
			    size_t errlen)
{
	const char *primary = NULL;

	if (res)
		primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	if (primary)
		db_message("", primary,
			   PQresultErrorField(res, PG_DIAG_SQLSTATE), err,
			   errlen);
	else
		db_message("", PQerrorMessage(conn), NULL, err, errlen);
}

static int db_result_ok(const PGresult *res)
{
	return res && (PQresultStatus(res) == PGRES_TUPLES_OK ||
		       PQresultStatus(res) == PGRES_COMMAND_OK);
}

/* The failure's SQLSTATE into state, or "" when the server sent none. */
static void db_result_state(const PGresult *res, char state[DB_SQLSTATE_LEN])
{
	const char *code = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

	snprintf(state, DB_SQLSTATE_LEN, "%s", code ? code : "");
}

/* Run `sql` as it is (no transaction of its own); db_exec_state(). */
static int db_exec_raw(PGconn *conn, const char *sql,
		       char state[DB_SQLSTATE_LEN], char *err, size_t errlen)
{
	PGresult *res = PQexec(conn, sql);
	int ret = 0;

	state[0] = '\0';
	if (!db_result_ok(res)) {
		db_result_error(conn, res, err, errlen);
		db_result_state(res, state);
		ret = -1;
	}
	PQclear(res);
	return ret;
}

int db_begin(PGconn *conn, char state[DB_SQLSTATE_LEN], char *err,
	     size_t errlen)
{
	char sql[160];

	db_begin_sql(conn, sql, sizeof(sql));
	return db_exec_raw(conn, sql, state, err, errlen);
}

/*
 * End the transaction db_wrapped() opened: COMMIT when the statement
 * succeeded (`ok`), else ROLLBACK.  Returns 0, or -1 with the COMMIT's
 * failure in err and state.  A failed ROLLBACK changes nothing for the
 * caller, whose statement already failed: its error is the one to tell.
 */
static int db_end(PGconn *conn, int ok, char state[DB_SQLSTATE_LEN],
		  char *err, size_t errlen)
{
	char rb_state[DB_SQLSTATE_LEN];
	char rb_err[256];

	if (ok)
		return db_exec_raw(conn, "COMMIT", state, err, errlen);
	if (!db_lost(conn))
		db_exec_raw(conn, "ROLLBACK", rb_state, rb_err, sizeof(rb_err));
	return 0;
}

int db_exec_state(PGconn *conn, const char *sql,
		  char state[DB_SQLSTATE_LEN], char *err, size_t errlen)
{
	int ret;

	if (!db_wrapped(conn, sql))
		return db_exec_raw(conn, sql, state, err, errlen);
	if (db_begin(conn, state, err, errlen) != 0) {
		db_end(conn, 0, state, err, errlen);
		return -1;
	}
	ret = db_exec_raw(conn, sql, state, err, errlen);
	if (db_end(conn, ret == 0, state, err, errlen) != 0)
		ret = -1;
	return ret;
}

int db_exec(PGconn *conn, const char *sql, char *err, size_t errlen)
{
	char state[DB_SQLSTATE_LEN];

	return db_exec_state(conn, sql, state, err, errlen);
}

/* One statement as it is (no transaction of its own); db_query_state(). */
static PGresult *db_query_raw(PGconn *conn, const char *sql, int nparams,
			      const char *const *params,
			      char state[DB_SQLSTATE_LEN], char *err,
			      size_t errlen)
{
	PGresult *res;

	state[0] = '\0';
	res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	if (db_result_ok(res))
		return res;
	db_result_error(conn, res, err, errlen);
	db_result_state(res, state);
	PQclear(res);
	return NULL;
}

PGresult *db_query_state(PGconn *conn, const char *sql, int nparams,
			 const char *const *params,
			 char state[DB_SQLSTATE_LEN], char *err,
			 size_t errlen)
{
	PGresult *res;

	if (!db_wrapped(conn, sql))
		return db_query_raw(conn, sql, nparams, params, state, err,
				    errlen);
	if (db_begin(conn, state, err, errlen) != 0) {
		db_end(conn, 0, state, err, errlen);
		return NULL;
	}
	res = db_query_raw(conn, sql, nparams, params, state, err, errlen);
	if (db_end(conn, res != NULL, state, err, errlen) != 0) {
		PQclear(res);
		res = NULL;
	}
	return res;
}

PGresult *db_query(PGconn *conn, const char *sql, int nparams,
		   const char *const *params, char *err, size_t errlen)
{
	char state[DB_SQLSTATE_LEN];

	return db_query_state(conn, sql, nparams, params, state, err, errlen);
}
