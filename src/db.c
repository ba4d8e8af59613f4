/*
 * db.c: connecting to PostgreSQL and running statements with libpq.
 *
 * Connecting is done step by step (PQconnectStartParams, PQconnectPoll)
 * rather than with PQconnectdbParams, whose wait for the server resumes
 * after every signal: a stop request (stop.h) must end a connection
 * attempt to a server that does not answer, not wait for connect_timeout.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "db.h"
#include "stop.h"
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

/*
 * connect_timeout as libpq reads it: whole seconds, at least 2 when set,
 * 0 (wait for ever) when unset, 0 or negative.
 */
static long long db_connect_timeout_ms(PGconn *conn)
{
	PQconninfoOption *opts = PQconninfo(conn), *o;
	long long s = 0;

	for (o = opts; o && o->keyword; o++) {
		if (strcmp(o->keyword, "connect_timeout") == 0 && o->val)
			s = strtoll(o->val, NULL, 10);
	}
	PQconninfoFree(opts);
	if (s <= 0)
		return 0;
	return (s < 2 ? 2 : s) * 1000;
}

/* Which server the attempt is at: host, address and port. */
static void db_connect_target(PGconn *conn, char *buf, size_t size)
{
	const char *host = PQhost(conn), *addr = PQhostaddr(conn);
	const char *port = PQport(conn);

	snprintf(buf, size, "%s|%s|%s", host ? host : "", addr ? addr : "",
		 port ? port : "");
}

/*
 * Drive PQconnectPoll() until the connection is made, it fails, a stop is
 * requested or one server has not answered for connect_timeout (each
 * server of a multi-host dsn gets its own, as with libpq's own wait).
 * The signals are blocked but for the wait itself (ppoll()), so a stop
 * request that comes between the check and the wait still ends the wait.
 */
static int db_connect_wait(PGconn *conn, char *err, size_t errlen)
{
	PostgresPollingStatusType st = PGRES_POLLING_WRITING;
	long long timeout_ms = db_connect_timeout_ms(conn);
	struct timespec deadline = { 0, 0 };
	char target[512] = "", now_at[512];
	sigset_t block, old;
	int ret = -1;

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &old);
	for (;;) {
		struct pollfd pfd;
		struct timespec wait;
		long long left;
		int rc;

		if (st == PGRES_POLLING_OK) {
			ret = 0;
			break;
		}
		if (st == PGRES_POLLING_FAILED) {
			db_message("cannot connect to the database: ",
				   PQerrorMessage(conn), NULL, err, errlen);
			break;
		}
		if (stop_requested) {
			snprintf(err, errlen, "cannot connect to the database: "
				 "stopped by a signal while connecting");
			break;
		}
		db_connect_target(conn, now_at, sizeof(now_at));
		if (strcmp(now_at, target) != 0) {
			memcpy(target, now_at, sizeof(target));
			clock_deadline_in(&deadline, timeout_ms);
		}
		left = clock_left_ms(&deadline);
		if (left == 0) {
			const char *host = PQhost(conn), *port = PQport(conn);

			snprintf(err, errlen, "cannot connect to the database: "
				 "no answer from the server at \"%s\", port %s "
				 "within connect_timeout (%lld s)",
				 host ? host : "?", port ? port : "?",
				 timeout_ms / 1000);
			break;
		}
		pfd.fd = PQsocket(conn);
		pfd.events = st == PGRES_POLLING_READING ? POLLIN : POLLOUT;
		pfd.revents = 0;
		if (left > 0) {
			wait.tv_sec = (time_t)(left / 1000);
			wait.tv_nsec = (long)(left % 1000) * 1000000L;
		}
		rc = ppoll(&pfd, 1, left > 0 ? &wait : NULL, &old);
		if (rc < 0 && errno != EINTR) {
			snprintf(err, errlen, "cannot connect to the database: "
				 "cannot wait for the server: %s",
				 strerror(errno));
			break;
		}
		/* A signal or the deadline: look at both again first. */
		if (rc <= 0)
			continue;
		st = PQconnectPoll(conn);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	return ret;
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

	conn = PQconnectStartParams(keys, values, 1);
	if (!conn) {
		snprintf(err, errlen, "cannot connect to the database: out of memory");
		return NULL;
	}
	if (PQstatus(conn) == CONNECTION_BAD) {
		db_message("cannot connect to the database: ",
			   PQerrorMessage(conn), NULL, err, errlen);
		PQfinish(conn);
		return NULL;
	}
	if (db_connect_wait(conn, err, errlen) != 0) {
		PQfinish(conn);
		return NULL;
	}
	return conn;
}

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

int db_exec_state(PGconn *conn, const char *sql,
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

int db_exec(PGconn *conn, const char *sql, char *err, size_t errlen)
{
	char state[DB_SQLSTATE_LEN];

	return db_exec_state(conn, sql, state, err, errlen);
}

PGresult *db_query_state(PGconn *conn, const char *sql, int nparams,
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

PGresult *db_query(PGconn *conn, const char *sql, int nparams,
		   const char *const *params, char *err, size_t errlen)
{
	char state[DB_SQLSTATE_LEN];

	return db_query_state(conn, sql, nparams, params, state, err, errlen);
}

/* The SQLSTATE and the constraint named by a failed result. */
static void db_result_diag(const PGresult *res, struct db_diag *diag)
{
	const char *name = res ? PQresultErrorField(res,
						    PG_DIAG_CONSTRAINT_NAME) :
			   NULL;

	db_result_state(res, diag->state);
	snprintf(diag->constraint, sizeof(diag->constraint), "%s",
		 name ? name : "");
}

PGresult *db_query_diag(PGconn *conn, const char *sql, int nparams,
			const char *const *params, struct db_diag *diag,
			char *err, size_t errlen)
{
	PGresult *res;

	memset(diag, 0, sizeof(*diag));
	res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
	if (db_result_ok(res))
		return res;
	db_result_error(conn, res, err, errlen);
	db_result_diag(res, diag);
	PQclear(res);
	return NULL;
}

int db_exec_diag(PGconn *conn, const char *sql, struct db_diag *diag,
		 char *err, size_t errlen)
{
	PGresult *res = PQexec(conn, sql);
	int ret = 0;

	memset(diag, 0, sizeof(*diag));
	if (!db_result_ok(res)) {
		db_result_error(conn, res, err, errlen);
		db_result_diag(res, diag);
		ret = -1;
	}
	PQclear(res);
	return ret;
}
