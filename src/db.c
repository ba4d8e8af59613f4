/*
 * db.c: running statements with libpq (db.h); connecting is
 * db_connect.c's, and libpq's messages lose their secrets in db_secret.c
 * (db_message()), before any of them leaves these three files.
 *
 * No setting is ever made for the session: a connection's lock_timeout,
 * statement_timeout and time zone travel with each transaction as SET
 * LOCAL (see db_set_local()), kept with the connection through libpq's
 * instance data, so that nothing of the run stays on a server connection
 * that a pooler hands to the application's next client.  The same data
 * remembers the statements prepared on the session (db_run()), which a
 * connection behind a transaction pooler never prepares.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libpq-events.h>

#include "db.h"
#include "db_internal.h"
#include "log.h"
#include "strbuf.h"
#include "xalloc.h"

static int db_event(PGEventId id, void *info, void *pass_through);

struct db_state *db_state(PGconn *conn)
{
	return conn ? PQinstanceData(conn, db_event) : NULL;
}

int db_lost(PGconn *conn)
{
	return PQstatus(conn) != CONNECTION_OK;
}

/* Forget every name of `names` (the statements are gone). */
static void db_names_clear(struct db_names *names)
{
	size_t i;

	for (i = 0; i < names->n; i++)
		free(names->name[i]);
	names->n = 0;
}

static void db_memo_clear(struct db_state *st)
{
	size_t i;

	for (i = 0; i < st->memo_keys.n; i++)
		PQclear(st->memo[i]);
	db_names_clear(&st->memo_keys);
}

static void db_state_free(struct db_state *st)
{
	if (!st)
		return;
	free(st->zone);
	PQfreemem(st->zone_sql);
	db_names_clear(&st->plans);
	free(st->plans.name);
	db_names_clear(&st->kept);
	free(st->kept.name);
	db_memo_clear(st);
	free(st->memo_keys.name);
	free(st->memo);
	PQfinish(st->spare);
	free(st);
}

/*
 * libpq calls this for the connection's events; it owns the state
 * db_set_local() attached and frees it with the connection.
 */
static int db_event(PGEventId id, void *info, void *pass_through)
{
	(void)pass_through;
	if (id == PGEVT_CONNDESTROY) {
		const PGEventConnDestroy *d = info;

		db_state_free(PQinstanceData(d->conn, db_event));
	}
	return 1;
}

int db_set_local(PGconn *conn, const struct db_local *settings, char *err,
		 size_t errlen)
{
	struct db_state *st = db_state(conn);
	const char *zone = settings->time_zone;
	char *zone_sql = NULL;

	if (zone && *zone) {
		zone_sql = PQescapeLiteral(conn, zone, strlen(zone));
		if (!zone_sql) {
			snprintf(err, errlen, "cannot quote the time zone: %s",
				 PQerrorMessage(conn));
			return -1;
		}
	}
	if (!st) {
		if (!PQregisterEventProc(conn, db_event, "mfa-sweeper db", NULL)) {
			snprintf(err, errlen, "cannot keep settings with the "
				 "connection (libpq refused the event procedure)");
			PQfreemem(zone_sql);
			return -1;
		}
		st = xcalloc(1, sizeof(*st));
		if (!PQsetInstanceData(conn, db_event, st)) {
			free(st);
			snprintf(err, errlen, "cannot keep settings with the "
				 "connection (libpq refused the instance data)");
			PQfreemem(zone_sql);
			return -1;
		}
	}
	free(st->zone);
	PQfreemem(st->zone_sql);
	st->zone = zone_sql ? xstrdup(zone) : NULL;
	st->zone_sql = zone_sql;
	st->local = *settings;
	st->local.time_zone = st->zone;
	return 0;
}

int db_set_time_zone(PGconn *conn, const char *zone, char *err,
		     size_t errlen)
{
	struct db_state *st = db_state(conn);
	struct db_local local;

	memset(&local, 0, sizeof(local));
	if (st)
		local = st->local;
	local.time_zone = zone;
	return db_set_local(conn, &local, err, errlen);
}

/*
 * The BEGIN that carries the connection's settings, into `sql`:
 * lock_timeout (`lock_ms`, or the connection's when negative),
 * statement_timeout and the time zone.
 */
static void db_begin_sql(PGconn *conn, long long lock_ms, struct strbuf *sql)
{
	const struct db_state *st = db_state(conn);

	strbuf_add(sql, "BEGIN");
	if (!st)
		return;
	strbuf_addf(sql, "; SET LOCAL lock_timeout = %lld;"
		    " SET LOCAL statement_timeout = %lld",
		    lock_ms >= 0 ? lock_ms : st->local.lock_timeout_ms,
		    st->local.statement_timeout_ms);
	if (st->zone_sql)
		strbuf_addf(sql, "; SET LOCAL TimeZone = %s", st->zone_sql);
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
	return db_state(conn) &&
	       PQtransactionStatus(conn) == PQTRANS_IDLE &&
	       !db_controls_transaction(sql);
}

/* Describe a failed statement: the server's message, else libpq's. */
static void db_result_error(PGconn *conn, const PGresult *res, char *err,
			    size_t errlen)
{
	const char *primary = NULL;
	struct db_secrets ds;

	db_secrets_conn(&ds, conn);
	if (res)
		primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	if (primary)
		db_message("", primary,
			   PQresultErrorField(res, PG_DIAG_SQLSTATE), &ds,
			   err, errlen);
	else
		db_message("", PQerrorMessage(conn), NULL, &ds, err, errlen);
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

int db_begin_lock(PGconn *conn, long long lock_timeout_ms,
		  char state[DB_SQLSTATE_LEN], char *err, size_t errlen)
{
	struct strbuf sql = STRBUF_INIT;
	int rc;

	db_begin_sql(conn, lock_timeout_ms, &sql);
	rc = db_exec_raw(conn, strbuf_str(&sql), state, err, errlen);
	strbuf_release(&sql);
	return rc;
}

int db_begin(PGconn *conn, char state[DB_SQLSTATE_LEN], char *err,
	     size_t errlen)
{
	return db_begin_lock(conn, -1, state, err, errlen);
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

static PGresult *db_query_wrapped(PGconn *conn, struct db_state *st,
				  const char *name, const char *sql,
				  int nparams, const char *const *params,
				  char state[DB_SQLSTATE_LEN], char *err,
				  size_t errlen, int *sent);

PGresult *db_query_state(PGconn *conn, const char *sql, int nparams,
			 const char *const *params,
			 char state[DB_SQLSTATE_LEN], char *err,
			 size_t errlen)
{
	PGresult *res;
	int sent;

	if (!db_wrapped(conn, sql))
		return db_query_raw(conn, sql, nparams, params, state, err,
				    errlen);
	res = db_query_wrapped(conn, db_state(conn), NULL, sql, nparams,
			       params, state, err, errlen, &sent);
	if (sent)
		return res;
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

/* Whether `names` holds `name`. */
static int db_names_has(const struct db_names *names, const char *name)
{
	size_t i;

	for (i = 0; i < names->n; i++) {
		if (strcmp(names->name[i], name) == 0)
			return 1;
	}
	return 0;
}

static void db_names_add(struct db_names *names, const char *name)
{
	xgrow((void **)&names->name, &names->alloc, names->n + 1,
	      sizeof(*names->name));
	names->name[names->n++] = xstrdup(name);
}

/* Whether statement `name` is prepared on the connection's session. */
static int db_is_prepared(const struct db_state *st, const char *name)
{
	return db_names_has(&st->plans, name) || db_names_has(&st->kept, name);
}

/*
 * PQprepare() `name` once per session, remembered in `names`; returns
 * NULL, or the failure.
 */
static PGresult *db_prepare(PGconn *conn, struct db_state *st,
			    struct db_names *names, const char *name,
			    const char *sql)
{
	PGresult *res;

	if (db_is_prepared(st, name))
		return NULL;
	res = PQprepare(conn, name, sql, 0, NULL);
	if (!db_result_ok(res))
		return res;
	PQclear(res);
	db_names_add(names, name);
	return NULL;
}

PGresult *db_run(PGconn *conn, const char *name, const char *sql,
		 int nparams, const char *const *params, struct db_diag *diag,
		 char *err, size_t errlen)
{
	struct db_state *st = db_state(conn);
	PGresult *res;

	memset(diag, 0, sizeof(*diag));
	if (!name || !st || !st->local.prepare) {
		res = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL,
				   0);
	} else {
		res = db_prepare(conn, st, &st->plans, name, sql);
		if (!res)
			res = PQexecPrepared(conn, name, nparams, params, NULL,
					     NULL, 0);
	}
	if (db_result_ok(res))
		return res;
	db_result_error(conn, res, err, errlen);
	db_result_diag(res, diag);
	PQclear(res);
	return NULL;
}

/*
 * Drop what the names of `names` name, in one round trip: one DEALLOCATE
 * each, or DEALLOCATE ALL when `all`.  Nothing when the connection is
 * lost or in a transaction (a statement prepared then stays, and so does
 * its name).
 */
static void db_drop(PGconn *conn, struct db_names *names, int all)
{
	struct strbuf sql = STRBUF_INIT;
	size_t i;

	if (db_lost(conn) || PQtransactionStatus(conn) != PQTRANS_IDLE)
		return;
	if (all) {
		strbuf_add(&sql, "DEALLOCATE ALL");
	} else {
		for (i = 0; i < names->n; i++) {
			char *q = PQescapeIdentifier(conn, names->name[i],
						     strlen(names->name[i]));

			if (!q)
				goto out;
			strbuf_addf(&sql, "%sDEALLOCATE %s", i ? "; " : "", q);
			PQfreemem(q);
		}
	}
	PQclear(PQexec(conn, strbuf_str(&sql)));
out:
	strbuf_release(&sql);
}

void db_deallocate(PGconn *conn)
{
	struct db_state *st = db_state(conn);

	if (!st || st->plans.n == 0)
		return;
	db_drop(conn, &st->plans, st->kept.n == 0);
	db_names_clear(&st->plans);
}

void db_deallocate_all(PGconn *conn)
{
	struct db_state *st = db_state(conn);

	if (!st || st->plans.n + st->kept.n == 0)
		return;
	db_drop(conn, &st->plans, 1);
	db_names_clear(&st->plans);
	db_names_clear(&st->kept);
}

/* ------------------------------------------------- one round trip */

/* The most commands one round trip of this file sends. */
#define DB_PIPE_MAX 12

/* What one command of a round trip is, for reading its result. */
enum db_pipe_kind {
	DB_PIPE_BEGIN,      /* BEGIN, a SET LOCAL, a savepoint's command */
	DB_PIPE_PREPARE,    /* the Parse of a statement kept by name */
	DB_PIPE_STATEMENT,  /* the caller's statement */
	DB_PIPE_COMMIT      /* COMMIT, a savepoint's RELEASE, or the txid */
};

/* The commands of one round trip and their results. */
struct db_pipe {
	PGconn *conn;
	enum db_pipe_kind kind[DB_PIPE_MAX];
	PGresult *res[DB_PIPE_MAX];
	size_t n;
	int broken;          /* a command could not be sent */
};

/* Queue one command (its text, or the prepared `name` when sql is NULL). */
static void db_pipe_send(struct db_pipe *p, enum db_pipe_kind kind,
			 const char *name, const char *sql, int nparams,
			 const char *const *params)
{
	int ok;

	if (p->broken || p->n == DB_PIPE_MAX) {
		p->broken = 1;
		return;
	}
	if (kind == DB_PIPE_PREPARE)
		ok = PQsendPrepare(p->conn, name, sql, 0, NULL);
	else if (!sql)
		ok = PQsendQueryPrepared(p->conn, name, nparams, params, NULL,
					 NULL, 0);
	else
		ok = PQsendQueryParams(p->conn, sql, nparams, NULL, params,
				       NULL, NULL, 0);
	if (!ok) {
		p->broken = 1;
		return;
	}
	p->kind[p->n++] = kind;
}

/*
 * BEGIN and SET LOCAL of the connection's settings, as db_begin_sql()
 * writes them, each a command of its own (a round trip's commands go by
 * the extended protocol, one statement each).
 */
static void db_pipe_begin(struct db_pipe *p, const struct db_state *st,
			  long long lock_ms)
{
	char sql[64];

	db_pipe_send(p, DB_PIPE_BEGIN, NULL, "BEGIN", 0, NULL);
	snprintf(sql, sizeof(sql), "SET LOCAL lock_timeout = %lld",
		 lock_ms >= 0 ? lock_ms : st->local.lock_timeout_ms);
	db_pipe_send(p, DB_PIPE_BEGIN, NULL, sql, 0, NULL);
	snprintf(sql, sizeof(sql), "SET LOCAL statement_timeout = %lld",
		 st->local.statement_timeout_ms);
	db_pipe_send(p, DB_PIPE_BEGIN, NULL, sql, 0, NULL);
	if (st->zone_sql) {
		struct strbuf tz = STRBUF_INIT;

		strbuf_addf(&tz, "SET LOCAL TimeZone = %s", st->zone_sql);
		db_pipe_send(p, DB_PIPE_BEGIN, NULL, strbuf_str(&tz), 0, NULL);
		strbuf_release(&tz);
	}
}

/*
 * Send the sync and read every command's result into p->res (NULL where
 * none came).  Returns 0, or -1 when the connection failed on the way.
 */
static int db_pipe_finish(struct db_pipe *p)
{
	PGresult *r;
	size_t i;
	int idle;

	if (!PQpipelineSync(p->conn))
		p->broken = 1;
	for (i = 0; i < p->n && !db_lost(p->conn); i++) {
		p->res[i] = PQgetResult(p->conn);
		/* Each command's results end with a NULL. */
		while (p->res[i] && (r = PQgetResult(p->conn)) != NULL)
			PQclear(r);
		if (!p->res[i])
			break;
	}
	/*
	 * Up to the sync's own result, unless the connection died first.
	 * What a pooler adds after a server's FATAL error (its own error,
	 * then closing the client) comes before; a NULL between results is
	 * not the end, a few in a row with nothing else are.
	 */
	for (idle = 0; !db_lost(p->conn) && idle < 3;) {
		int sync;

		r = PQgetResult(p->conn);
		if (!r) {
			idle++;
			continue;
		}
		idle = 0;
		sync = PQresultStatus(r) == PGRES_PIPELINE_SYNC;
		PQclear(r);
		if (sync)
			break;
	}
	if (!PQexitPipelineMode(p->conn))
		p->broken = 1;
	return p->broken || db_lost(p->conn) ? -1 : 0;
}

static void db_pipe_clear(struct db_pipe *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		PQclear(p->res[i]);
}

/*
 * What a round trip came to: the statement's result (the caller's to
 * PQclear()), or NULL with the first failure in err and state (a command
 * skipped after it tells nothing of its own).  A Parse that succeeded is
 * remembered in st->kept.  Every other result is freed.
 */
static PGresult *db_pipe_outcome(struct db_pipe *p, struct db_state *st,
				 const char *name, char state[DB_SQLSTATE_LEN],
				 char *err, size_t errlen)
{
	const PGresult *failed = NULL;
	PGresult *ret = NULL;
	size_t i;
	int bad = 0;

	state[0] = '\0';
	for (i = 0; i < p->n && !bad; i++) {
		if (!db_result_ok(p->res[i])) {
			bad = 1;
			failed = p->res[i];
		} else if (p->kind[i] == DB_PIPE_PREPARE) {
			db_names_add(&st->kept, name);
		} else if (p->kind[i] == DB_PIPE_STATEMENT) {
			ret = p->res[i];
		}
	}
	if (bad || p->broken || !ret) {
		ret = NULL;
		if (failed && PQresultStatus(failed) == PGRES_PIPELINE_ABORTED)
			failed = NULL;
		db_result_error(p->conn, failed, err, errlen);
		db_result_state(failed, state);
	}
	/* The statement's result is the caller's; the rest go. */
	for (i = 0; i < p->n; i++) {
		if (p->res[i] == ret)
			p->res[i] = NULL;
	}
	db_pipe_clear(p);
	return ret;
}

/* SQLSTATE of a statement name the server session does not know. */
#define DB_NO_STATEMENT "26000"

/*
 * Whether a kept statement failed for want of its Parse on this server
 * session: a transaction pooler the config does not declare (pooler =
 * none) handed over another session.  The names kept are then no one's:
 * forgotten, so that the next use prepares again.
 */
static int db_kept_gone(struct db_state *st, const char *name,
			const char state[DB_SQLSTATE_LEN])
{
	if (!name || strcmp(state, DB_NO_STATEMENT) != 0)
		return 0;
	db_names_clear(&st->kept);
	return 1;
}

/*
 * A statement in a transaction of its own, in one round trip: BEGIN, the
 * settings, (the Parse of `name`), the statement and COMMIT, then one
 * sync.  A failure makes the server skip the rest up to the sync; the
 * transaction it left open is then rolled back.  A kept statement the
 * session turns out not to have is prepared and run once more.  Returns
 * the statement's result as db_query_state() does; *sent is 0 when the
 * connection could not take a round trip of several commands, and
 * nothing was sent.
 */
static PGresult *db_query_wrapped(PGconn *conn, struct db_state *st,
				  const char *name, const char *sql,
				  int nparams, const char *const *params,
				  char state[DB_SQLSTATE_LEN], char *err,
				  size_t errlen, int *sent)
{
	struct db_pipe p;
	PGresult *ret;
	int tries = 0;

	*sent = 0;
	state[0] = '\0';
again:
	memset(&p, 0, sizeof(p));
	p.conn = conn;
	if (!PQenterPipelineMode(conn))
		return NULL;
	*sent = 1;
	db_pipe_begin(&p, st, -1);
	/*
	 * A catalog query kept by name runs with one plan for every target
	 * (the planner would otherwise keep planning some of them anew,
	 * finding the one plan dearer on paper): plans of catalog lookups by
	 * oid and name differ little with the values.  For this transaction
	 * only; PostgreSQL 12 has the setting.
	 */
	if (name && PQserverVersion(conn) >= 120000)
		db_pipe_send(&p, DB_PIPE_BEGIN, NULL, "SET LOCAL plan_cache_mode"
			     " = force_generic_plan", 0, NULL);
	if (name && !db_is_prepared(st, name))
		db_pipe_send(&p, DB_PIPE_PREPARE, name, sql, 0, NULL);
	db_pipe_send(&p, DB_PIPE_STATEMENT, name, name ? NULL : sql, nparams,
		     params);
	db_pipe_send(&p, DB_PIPE_COMMIT, NULL, "COMMIT", 0, NULL);
	db_pipe_finish(&p);
	ret = db_pipe_outcome(&p, st, name, state, err, errlen);
	if (ret)
		return ret;
	if (!db_lost(conn) && PQtransactionStatus(conn) != PQTRANS_IDLE)
		PQclear(PQexec(conn, "ROLLBACK"));
	if (tries++ == 0 && !db_lost(conn) && db_kept_gone(st, name, state))
		goto again;
	return NULL;
}

/* The savepoint a kept statement runs under inside a transaction. */
#define DB_KEPT_SAVEPOINT "SAVEPOINT mfa_sweeper_kept"
#define DB_KEPT_RELEASE "RELEASE SAVEPOINT mfa_sweeper_kept"

/*
 * After db_kept_gone() under DB_KEPT_SAVEPOINT: back to the savepoint,
 * prepare the statement on this session and run it, in one round trip.
 */
static PGresult *db_kept_again(PGconn *conn, struct db_state *st,
			       const char *name, const char *sql, int nparams,
			       const char *const *params,
			       char state[DB_SQLSTATE_LEN], char *err,
			       size_t errlen)
{
	struct db_pipe p;

	memset(&p, 0, sizeof(p));
	p.conn = conn;
	if (!PQenterPipelineMode(conn))
		return NULL;
	db_pipe_send(&p, DB_PIPE_BEGIN, NULL,
		     "ROLLBACK TO SAVEPOINT mfa_sweeper_kept", 0, NULL);
	db_pipe_send(&p, DB_PIPE_BEGIN, NULL, DB_KEPT_RELEASE, 0, NULL);
	db_pipe_send(&p, DB_PIPE_PREPARE, name, sql, 0, NULL);
	db_pipe_send(&p, DB_PIPE_STATEMENT, name, NULL, nparams, params);
	db_pipe_finish(&p);
	return db_pipe_outcome(&p, st, name, state, err, errlen);
}

/*
 * A kept statement inside the caller's transaction, in one round trip.
 * Not prepared yet, its Parse goes with it.  Prepared, it runs under a
 * savepoint, so that a server session without it (db_kept_gone()) costs
 * the statement and not the caller's transaction: it is then prepared
 * there and run again.
 */
static PGresult *db_query_kept(PGconn *conn, struct db_state *st,
			       const char *name, const char *sql, int nparams,
			       const char *const *params,
			       char state[DB_SQLSTATE_LEN], char *err,
			       size_t errlen, int *sent)
{
	struct db_pipe p;
	PGresult *ret;
	int prepared = db_is_prepared(st, name);

	*sent = 0;
	memset(&p, 0, sizeof(p));
	p.conn = conn;
	if (!PQenterPipelineMode(conn))
		return NULL;
	*sent = 1;
	if (prepared)
		db_pipe_send(&p, DB_PIPE_BEGIN, NULL, DB_KEPT_SAVEPOINT, 0,
			     NULL);
	else
		db_pipe_send(&p, DB_PIPE_PREPARE, name, sql, 0, NULL);
	db_pipe_send(&p, DB_PIPE_STATEMENT, name, NULL, nparams, params);
	if (prepared)
		db_pipe_send(&p, DB_PIPE_COMMIT, NULL, DB_KEPT_RELEASE, 0,
			     NULL);
	db_pipe_finish(&p);
	ret = db_pipe_outcome(&p, st, name, state, err, errlen);
	if (ret || !prepared || db_lost(conn) ||
	    !db_kept_gone(st, name, state))
		return ret;
	return db_kept_again(conn, st, name, sql, nparams, params, state, err,
			     errlen);
}

PGresult *db_query_named(PGconn *conn, const char *name, const char *sql,
			 int nparams, const char *const *params,
			 char state[DB_SQLSTATE_LEN], char *err, size_t errlen)
{
	struct db_state *st = db_state(conn);
	PGresult *res;
	int sent;

	if (!st || !st->local.prepare)
		return db_query_state(conn, sql, nparams, params, state, err,
				      errlen);
	if (db_wrapped(conn, sql))
		res = db_query_wrapped(conn, st, name, sql, nparams, params,
				       state, err, errlen, &sent);
	else
		res = db_query_kept(conn, st, name, sql, nparams, params,
				    state, err, errlen, &sent);
	if (sent)
		return res;
	/* No round trip of several commands: text and parameters. */
	return db_query_state(conn, sql, nparams, params, state, err, errlen);
}

/* The memo's key of a query: its name, then each parameter. */
static char *db_memo_key(const char *name, int nparams,
			 const char *const *params)
{
	struct strbuf sb = STRBUF_INIT;
	int i;

	strbuf_add(&sb, name);
	for (i = 0; i < nparams; i++)
		strbuf_addf(&sb, "\x1f%s", params[i] ? params[i] : "\x1e");
	return strbuf_detach(&sb);
}

PGresult *db_query_memo(PGconn *conn, const char *name, const char *sql,
			int nparams, const char *const *params,
			char state[DB_SQLSTATE_LEN], char *err, size_t errlen)
{
	struct db_state *st = db_state(conn);
	PGresult *res, *copy;
	char *key;
	size_t i;

	if (!st)
		return db_query_named(conn, name, sql, nparams, params, state,
				      err, errlen);
	key = db_memo_key(name, nparams, params);
	for (i = 0; i < st->memo_keys.n; i++) {
		if (strcmp(st->memo_keys.name[i], key) != 0)
			continue;
		free(key);
		state[0] = '\0';
		res = PQcopyResult(st->memo[i], PG_COPYRES_ATTRS |
				   PG_COPYRES_TUPLES);
		if (!res)
			snprintf(err, errlen, "out of memory");
		return res;
	}
	res = db_query_named(conn, name, sql, nparams, params, state, err,
			     errlen);
	copy = res ? PQcopyResult(res, PG_COPYRES_ATTRS | PG_COPYRES_TUPLES) :
	       NULL;
	if (!copy) {
		free(key);
		return res;
	}
	xgrow((void **)&st->memo_keys.name, &st->memo_keys.alloc,
	      st->memo_keys.n + 1, sizeof(*st->memo_keys.name));
	xgrow((void **)&st->memo, &st->memo_alloc, st->memo_keys.n + 1,
	      sizeof(*st->memo));
	st->memo_keys.name[st->memo_keys.n] = key;
	st->memo[st->memo_keys.n++] = copy;
	return res;
}

/*
 * The txid of the transaction, into xid: "" when none was assigned
 * (nothing written).  Returns 0, or -1 with err and diag.
 */
static int db_xid_read(const PGresult *res, char *xid, size_t xidlen)
{
	if (!db_result_ok(res) || PQntuples(res) != 1)
		return -1;
	snprintf(xid, xidlen, "%s", PQgetvalue(res, 0, 0));
	return 0;
}

PGresult *db_run_xid(PGconn *conn, const char *name, const char *sql,
		     int nparams, const char *const *params, char *xid,
		     size_t xidlen, struct db_diag *diag, char *err,
		     size_t errlen)
{
	static const char xid_sql[] = "SELECT txid_current_if_assigned()";
	struct db_state *st = db_state(conn);
	const PGresult *failed = NULL;
	PGresult *ret = NULL, *x;
	struct db_pipe p;
	int named = name && st && st->local.prepare;
	int bad = 0;
	size_t i;

	memset(diag, 0, sizeof(*diag));
	memset(&p, 0, sizeof(p));
	p.conn = conn;
	if (!PQenterPipelineMode(conn)) {
		/* No round trip of several commands: one after the other. */
		ret = db_run(conn, name, sql, nparams, params, diag, err,
			     errlen);
		if (!ret)
			return NULL;
		x = PQexecParams(conn, xid_sql, 0, NULL, NULL, NULL, NULL, 0);
		if (db_xid_read(x, xid, xidlen) != 0) {
			db_result_error(conn, x, err, errlen);
			db_result_diag(x, diag);
			PQclear(ret);
			ret = NULL;
		}
		PQclear(x);
		return ret;
	}
	if (named && !db_is_prepared(st, name))
		db_pipe_send(&p, DB_PIPE_PREPARE, name, sql, 0, NULL);
	db_pipe_send(&p, DB_PIPE_STATEMENT, named ? name : NULL,
		     named ? NULL : sql, nparams, params);
	db_pipe_send(&p, DB_PIPE_COMMIT, NULL, xid_sql, 0, NULL);
	db_pipe_finish(&p);
	/* The first failure is the one to tell (db_pipe_outcome()). */
	for (i = 0; i < p.n && !bad; i++) {
		if (!db_result_ok(p.res[i]) ||
		    (p.kind[i] == DB_PIPE_COMMIT &&
		     db_xid_read(p.res[i], xid, xidlen) != 0)) {
			bad = 1;
			failed = p.res[i];
		} else if (p.kind[i] == DB_PIPE_PREPARE) {
			db_names_add(&st->plans, name);
		} else if (p.kind[i] == DB_PIPE_STATEMENT) {
			ret = p.res[i];
		}
	}
	if (bad || p.broken || !ret) {
		if (failed && PQresultStatus(failed) == PGRES_PIPELINE_ABORTED)
			failed = NULL;
		db_result_error(conn, failed, err, errlen);
		db_result_diag(failed, diag);
		ret = NULL;
	}
	for (i = 0; i < p.n; i++) {
		if (p.res[i] == ret)
			p.res[i] = NULL;
	}
	db_pipe_clear(&p);
	return ret;
}

PGresult *db_begin_query(PGconn *conn, long long lock_ms, const char *name,
			 const char *sql, int nparams,
			 const char *const *params, int *begun,
			 char state[DB_SQLSTATE_LEN], char *err, size_t errlen)
{
	struct db_state *st = db_state(conn);
	int named = st && st->local.prepare;
	int prepared = named && db_is_prepared(st, name);
	struct db_pipe p;
	PGresult *ret;
	size_t i, nbegin;

	*begun = 0;
	if (!st || !PQenterPipelineMode(conn)) {
		/* No round trip of several commands: one after the other. */
		if (db_begin_lock(conn, lock_ms, state, err, errlen) != 0)
			return NULL;
		*begun = 1;
		return db_query_named(conn, name, sql, nparams, params, state,
				      err, errlen);
	}
	memset(&p, 0, sizeof(p));
	p.conn = conn;
	db_pipe_begin(&p, st, lock_ms);
	nbegin = p.n;
	if (prepared)
		db_pipe_send(&p, DB_PIPE_BEGIN, NULL, DB_KEPT_SAVEPOINT, 0,
			     NULL);
	else if (named)
		db_pipe_send(&p, DB_PIPE_PREPARE, name, sql, 0, NULL);
	db_pipe_send(&p, DB_PIPE_STATEMENT, named ? name : NULL,
		     named ? NULL : sql, nparams, params);
	if (prepared)
		db_pipe_send(&p, DB_PIPE_COMMIT, NULL, DB_KEPT_RELEASE, 0,
			     NULL);
	db_pipe_finish(&p);
	/* Begun: BEGIN and every SET LOCAL went through. */
	*begun = !p.broken && p.n > nbegin;
	for (i = 0; i < nbegin && i < p.n; i++) {
		if (!db_result_ok(p.res[i]))
			*begun = 0;
	}
	ret = db_pipe_outcome(&p, st, name, state, err, errlen);
	if (ret || !*begun || !prepared || db_lost(conn) ||
	    !db_kept_gone(st, name, state))
		return ret;
	return db_kept_again(conn, st, name, sql, nparams, params, state, err,
			     errlen);
}
