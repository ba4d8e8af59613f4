/*
 * run_lock.c: the run lock, an advisory lock or a lease row (run_lock.h).
 *
 * Every statement here runs in a transaction with the run's SET LOCAL
 * timeouts (db_set_local()), so a run never waits on the lock longer than
 * a batch would wait on a row.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "run_lock.h"

/* The lease row's key: one lease per database, like the advisory lock. */
#define RUN_LOCK_LEASE_NAME "mfa-sweeper"

/* How long the probe's second connection waits for its answer. */
#define RUN_LOCK_PROBE_MS 2000

/*
 * Whether the server session whose pid is the SQL expression of the first
 * argument holds the advisory lock of the key (SQL) given twice after it.
 */
#define RUN_LOCK_HELD_FMT \
	"EXISTS (SELECT 1 FROM pg_locks AS l WHERE l.locktype = 'advisory'" \
	" AND l.granted AND l.pid = %s AND l.objsubid = 1" \
	" AND l.database = (SELECT oid FROM pg_database" \
	" WHERE datname = current_database())" \
	" AND l.classid::bigint = ((%s >> 32) & 4294967295)" \
	" AND l.objid::bigint = (%s & 4294967295))"

/* What a transaction pooler does to a session-level lock, for messages. */
#define RUN_LOCK_POOLER_WHY \
	"a transaction-pooling PgBouncer (or another transaction pooler) " \
	"sits between mfa-sweeper and PostgreSQL, and a session-level lock " \
	"cannot keep runs apart there"

int run_lock_pooler_parse(const char *text, enum run_lock_pooler *out)
{
	if (strcmp(text, "none") == 0)
		*out = RUN_LOCK_NO_POOLER;
	else if (strcmp(text, "session") == 0)
		*out = RUN_LOCK_SESSION_POOLER;
	else if (strcmp(text, "transaction") == 0)
		*out = RUN_LOCK_TRANSACTION_POOLER;
	else
		return -1;
	return 0;
}

void run_lock_init(struct run_lock *l, PGconn *conn,
		   enum run_lock_pooler pooler, long long ttl_ms,
		   const char *lease_table, const char *run_id,
		   const char *host)
{
	memset(l, 0, sizeof(*l));
	l->conn = conn;
	l->pooler = pooler;
	l->ttl_ms = ttl_ms;
	snprintf(l->table, sizeof(l->table), "%s", lease_table);
	snprintf(l->run_id, sizeof(l->run_id), "%s", run_id);
	snprintf(l->host, sizeof(l->host), "%s", host);
	/* RUN_LOCK_KEY_SQL, with the name as $1. */
	snprintf(l->key, sizeof(l->key), "hashtextextended($1::text, 0)");
	snprintf(l->key_param, sizeof(l->key_param), "%s",
		 RUN_LOCK_LEASE_NAME);
	snprintf(l->lease_name, sizeof(l->lease_name), "%s",
		 RUN_LOCK_LEASE_NAME);
	snprintf(l->mine, sizeof(l->mine), RUN_LOCK_HELD_FMT,
		 "pg_backend_pid()", l->key, l->key);
}

/*
 * The advisory lock's key as SQL with its name as parameter $`param`
 * (l->key is this with $1): the database's, or a tenant's.
 */
static void run_lock_key_sql(const struct run_lock *l, int param, char *buf,
			     size_t size)
{
	if (l->tenant)
		snprintf(buf, size, RUN_LOCK_TENANT_KEY_SQL("$%d::text"),
			 param);
	else
		snprintf(buf, size, "hashtextextended($%d::text, 0)", param);
}

void run_lock_set_tenant(struct run_lock *l, const char *schema)
{
	snprintf(l->key, sizeof(l->key), "%s",
		 RUN_LOCK_TENANT_KEY_SQL("$1::text"));
	snprintf(l->key_param, sizeof(l->key_param), "%s", schema);
	l->tenant = 1;
	snprintf(l->lease_name, sizeof(l->lease_name),
		 RUN_LOCK_LEASE_NAME "/%s", schema);
	snprintf(l->mine, sizeof(l->mine), RUN_LOCK_HELD_FMT,
		 "pg_backend_pid()", l->key, l->key);
}

static int run_lock_leased(const struct run_lock *l)
{
	return l->pooler == RUN_LOCK_TRANSACTION_POOLER;
}

/* 1 when the table exists, 0 when not, -1 with err when unknown. */
static int run_lock_table_exists(PGconn *conn, const char *table,
				 char *err, size_t errlen)
{
	const char *params[1] = { table };
	char state[DB_SQLSTATE_LEN];
	PGresult *res;
	char why[1024];
	int ret;

	res = db_query_memo(conn, "mfa_sweeper_table_exists",
			    "SELECT to_regclass($1) IS NOT NULL", 1, params,
			    state, why, sizeof(why));
	if (!res) {
		snprintf(err, errlen, "cannot check the run lease table %s: %s",
			 table, why);
		return -1;
	}
	ret = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	return ret;
}

int run_lock_check(PGconn *conn, enum run_lock_pooler pooler,
		   const char *lease_table, char *err, size_t errlen)
{
	int rc;

	if (pooler != RUN_LOCK_TRANSACTION_POOLER)
		return 0;
	rc = run_lock_table_exists(conn, lease_table, err, errlen);
	if (rc < 0)
		return -1;
	if (rc == 0) {
		snprintf(err, errlen, "the run lease table %s does not exist, "
			 "and [database] pooler = transaction needs it; run "
			 "mfa-sweeper --init-ledger, or apply "
			 "--print-ledger-sql", lease_table);
		return 1;
	}
	return 0;
}

/* Roll back the run lock's own transaction, if the connection is alive. */
static void run_lock_rollback(PGconn *conn)
{
	if (!db_lost(conn) && PQtransactionStatus(conn) != PQTRANS_IDLE) {
		PGresult *rb = PQexec(conn, "ROLLBACK");

		PQclear(rb);
	}
}

/* Keep a take or guard outcome other than RUN_LOCK_HELD, and its why. */
static int run_lock_result(struct run_lock *l, int result, const char *why)
{
	l->result = result;
	snprintf(l->why, sizeof(l->why), "%s", why);
	return result;
}

/* ------------------------------------------------------------ lease */

/*
 * Who holds a lease that is not this run's, for messages: "run R on host
 * H, until T UTC" (or "expired at T UTC") from the row's holder, host,
 * liveness and expiry (columns 0 to 3).
 */
static void run_lock_holder(const PGresult *res, char *buf, size_t size)
{
	snprintf(buf, size, "run %s on host %s, %s %s UTC",
		 PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1),
		 strcmp(PQgetvalue(res, 0, 2), "t") == 0 ? "until" :
		 "expired at", PQgetvalue(res, 0, 3));
}

static int run_lock_take_lease(struct run_lock *l, char *err, size_t errlen)
{
	char state[DB_SQLSTATE_LEN];
	char ttl[32];
	char sql[1536];
	char why[1024];
	char holder[400];
	const char *params[4];
	PGresult *res = NULL;
	int ret = RUN_LOCK_ERROR;

	err[0] = '\0';
	holder[0] = '\0';
	snprintf(ttl, sizeof(ttl), "%lld", l->ttl_ms);
	if (db_begin(l->conn, state, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "cannot take the run lease: %s", why);
		goto out;
	}
	/*
	 * The advisory lock's key, for this transaction only: a run without
	 * pooler = transaction that holds the lock, or another run taking
	 * the lease at this moment, keeps this one out.
	 */
	snprintf(sql, sizeof(sql), "SELECT pg_try_advisory_xact_lock(%s)",
		 l->key);
	params[0] = l->key_param;
	res = db_query(l->conn, sql, 1, params, why, sizeof(why));
	if (!res) {
		snprintf(err, errlen, "cannot take the run lease: %s", why);
		goto out;
	}
	if (strcmp(PQgetvalue(res, 0, 0), "t") != 0) {
		snprintf(err, errlen, "another run holds the advisory run lock "
			 "(a run with pooler = none or session), or is taking "
			 "the lease right now");
		ret = RUN_LOCK_BUSY;
		goto out;
	}
	PQclear(res);
	res = NULL;
	params[0] = l->lease_name;
	snprintf(sql, sizeof(sql),
		 "SELECT holder::text, host, expires_at > now(),"
		 " to_char(expires_at AT TIME ZONE 'UTC',"
		 " 'YYYY-MM-DD HH24:MI:SS') FROM %s WHERE name = $1"
		 " FOR UPDATE", l->table);
	res = db_query_state(l->conn, sql, 1, params, state, why, sizeof(why));
	if (!res && strcmp(state, "55P03") == 0) {
		/* A batch of the holder has the row: it is alive. */
		snprintf(err, errlen, "a batch of the run that holds the lease "
			 "is running");
		ret = RUN_LOCK_BUSY;
		goto out;
	}
	if (!res && strcmp(state, "42P01") == 0) {
		snprintf(err, errlen, "the run lease table %s does not exist, "
			 "and [database] pooler = transaction needs it; run "
			 "mfa-sweeper --init-ledger, or apply "
			 "--print-ledger-sql", l->table);
		goto out;
	}
	if (!res) {
		snprintf(err, errlen, "cannot read the run lease in %s: %s",
			 l->table, why);
		goto out;
	}
	if (PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), l->run_id) != 0) {
		run_lock_holder(res, holder, sizeof(holder));
		if (strcmp(PQgetvalue(res, 0, 2), "t") == 0) {
			snprintf(err, errlen, "%s holds the run lease", holder);
			ret = RUN_LOCK_BUSY;
			goto out;
		}
	}
	PQclear(res);
	res = NULL;
	params[1] = l->run_id;
	params[2] = l->host;
	params[3] = ttl;
	snprintf(sql, sizeof(sql),
		 "INSERT INTO %s AS l (name, holder, host, acquired_at,"
		 " renewed_at, expires_at) VALUES ($1, $2::uuid, $3, now(),"
		 " now(), now() + $4::bigint * interval '1 millisecond')"
		 " ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder,"
		 " host = EXCLUDED.host, acquired_at = EXCLUDED.acquired_at,"
		 " renewed_at = EXCLUDED.renewed_at,"
		 " expires_at = EXCLUDED.expires_at", l->table);
	res = db_query(l->conn, sql, 4, params, why, sizeof(why));
	if (!res) {
		snprintf(err, errlen, "cannot take the run lease in %s: %s",
			 l->table, why);
		goto out;
	}
	if (db_exec(l->conn, "COMMIT", why, sizeof(why)) != 0) {
		snprintf(err, errlen, "cannot take the run lease: COMMIT "
			 "failed: %s", why);
		goto out;
	}
	if (holder[0])
		log_msg(SWEEPER_LOG_WARN, "took over the run lease of %s: that "
			"run died, or no batch of it renewed the lease for "
			"lease_ttl", holder);
	l->held = 1;
	ret = RUN_LOCK_HELD;
out:
	PQclear(res);
	run_lock_rollback(l->conn);
	return ret;
}

static int run_lock_guard_lease(struct run_lock *l,
				char state[DB_SQLSTATE_LEN], char *err,
				size_t errlen)
{
	const char *params[3] = { l->lease_name, l->run_id, NULL };
	char sql[1536];
	char ttl[32];
	char why[1024];
	char holder[400];
	PGresult *res;
	int renewed;

	snprintf(ttl, sizeof(ttl), "%lld", l->ttl_ms);
	params[2] = ttl;
	snprintf(sql, sizeof(sql),
		 "UPDATE %s SET renewed_at = now(),"
		 " expires_at = now() + $3::bigint * interval '1 millisecond'"
		 " WHERE name = $1 AND holder = $2::uuid", l->table);
	res = db_query_state(l->conn, sql, 3, params, state, why, sizeof(why));
	if (!res) {
		snprintf(err, errlen, "cannot renew the run lease: %s", why);
		return RUN_LOCK_ERROR;
	}
	renewed = strcmp(PQcmdTuples(res), "1") == 0;
	PQclear(res);
	if (renewed)
		return RUN_LOCK_HELD;
	/* Say who has it now; the batch is rolled back either way. */
	snprintf(sql, sizeof(sql),
		 "SELECT holder::text, host, expires_at > now(),"
		 " to_char(expires_at AT TIME ZONE 'UTC',"
		 " 'YYYY-MM-DD HH24:MI:SS') FROM %s WHERE name = $1", l->table);
	res = db_query_state(l->conn, sql, 1, params, state, why, sizeof(why));
	if (res && PQntuples(res) == 1) {
		run_lock_holder(res, holder, sizeof(holder));
		snprintf(err, errlen, "the run lease was taken over by %s, after "
			 "it had gone unrenewed for lease_ttl (%lld ms); the "
			 "batch was rolled back", holder, l->ttl_ms);
	} else {
		snprintf(err, errlen, "the run lease in %s is gone (its row was "
			 "deleted); the batch was rolled back", l->table);
	}
	PQclear(res);
	l->held = 0;
	return run_lock_result(l, RUN_LOCK_LOST, err);
}

/* Delete the lease row on `conn`. */
static int run_lock_release_on(struct run_lock *l, PGconn *conn, char *err,
			       size_t errlen)
{
	const char *params[2] = { l->lease_name, l->run_id };
	char sql[1536];
	char why[1024];
	PGresult *res;

	snprintf(sql, sizeof(sql),
		 "DELETE FROM %s WHERE name = $1 AND holder = $2::uuid",
		 l->table);
	res = db_query(conn, sql, 2, params, why, sizeof(why));
	if (!res) {
		snprintf(err, errlen, "cannot release the run lease in %s: %s; "
			 "it expires by itself after lease_ttl", l->table, why);
		return -1;
	}
	PQclear(res);
	return 0;
}

static int run_lock_release_lease(struct run_lock *l, char *err,
				  size_t errlen)
{
	PGconn *conn;
	char why[512];
	int ret;

	/*
	 * Behind a transaction pooler the release may be the first to find
	 * that the server connection it was given died meanwhile (its
	 * backend terminated while the pool held it): the pooler then
	 * closes this client, and a new one releases the lease.
	 */
	if (!db_lost(l->conn)) {
		ret = run_lock_release_on(l, l->conn, err, errlen);
		if (ret == 0 || !db_lost(l->conn))
			return ret;
	}
	/* The lease outlives the connection: release it from a new one. */
	conn = db_reconnect(l->conn, why, sizeof(why));
	if (!conn) {
		snprintf(err, errlen, "cannot release the run lease: %s; it "
			 "expires by itself after lease_ttl (%lld ms)", why,
			 l->ttl_ms);
		return -1;
	}
	ret = run_lock_release_on(l, conn, err, errlen);
	PQfinish(conn);
	return ret;
}

/* --------------------------------------------------------- advisory */

/*
 * Ask a second connection whether it landed on the session that holds the
 * lock: with no pooler or a session pooler it has a session of its own;
 * behind a transaction pooler it is often handed the one the run just
 * used.  Returns 1 when it did, 0 when not or when that cannot be told
 * (the probe is a help, not a condition: the guard checks every batch).
 */
static int run_lock_probe(struct run_lock *l)
{
	const char *params[1] = { l->key_param };
	struct timespec deadline;
	PGresult *res;
	PGconn *conn;
	char sql[RUN_LOCK_SQL_MAX];
	char why[512];
	int ret = 0;

	/* Opened early (run_start_probe()), it is usually ready by now. */
	conn = db_spare_take(l->conn, why, sizeof(why));
	if (!conn) {
		log_msg(SWEEPER_LOG_DEBUG, "run lock: no second connection to "
			"check for a transaction pooler: %s", why);
		return 0;
	}
	snprintf(sql, sizeof(sql), "SELECT %s", l->mine);
	if (!PQsendQueryParams(conn, sql, 1, NULL, params, NULL, NULL, 0))
		goto out;
	/* A pool with no free server connection would keep it waiting. */
	clock_deadline_in(&deadline, RUN_LOCK_PROBE_MS);
	while (PQisBusy(conn)) {
		struct pollfd pfd = { PQsocket(conn), POLLIN, 0 };
		long long left = clock_left_ms(&deadline);

		if (left <= 0 || pfd.fd < 0)
			goto out;
		if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
			goto out;
		if (!PQconsumeInput(conn))
			goto out;
	}
	while ((res = PQgetResult(conn)) != NULL) {
		if (PQresultStatus(res) == PGRES_TUPLES_OK &&
		    PQntuples(res) == 1)
			ret = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
		PQclear(res);
	}
out:
	if (PQisBusy(conn))
		log_msg(SWEEPER_LOG_DEBUG, "run lock: the second connection "
			"got no answer within %d ms", RUN_LOCK_PROBE_MS);
	PQfinish(conn);
	return ret;
}

/* Release the advisory lock if this session holds it. */
static int run_lock_unlock(struct run_lock *l, int *released, char *err,
			   size_t errlen)
{
	const char *params[1] = { l->key_param };
	char state[DB_SQLSTATE_LEN];
	PGresult *res;
	char sql[RUN_LOCK_SQL_MAX];
	char why[1024];

	*released = 0;
	/* pg_advisory_unlock() of a lock not held would print a warning. */
	snprintf(sql, sizeof(sql), "SELECT CASE WHEN %s THEN"
		 " pg_advisory_unlock(%s) ELSE false END", l->mine, l->key);
	res = db_query_named(l->conn, l->tenant ?
			     "mfa_sweeper_lock_release_tenant" :
			     "mfa_sweeper_lock_release", sql, 1, params, state,
			     why, sizeof(why));
	if (!res) {
		snprintf(err, errlen, "cannot release the run lock: %s", why);
		return -1;
	}
	*released = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	return 0;
}

/*
 * Whether a live lease is held by a run with pooler = transaction, which
 * this run must not overlap.  Returns 1 (err says whose), 0, or -1.
 */
static int run_lock_lease_taken(struct run_lock *l, char *err,
				size_t errlen)
{
	const char *params[1] = { l->lease_name };
	char holder[400];
	char sql[1536];
	char why[1024];
	PGresult *res;
	int rc;

	rc = run_lock_table_exists(l->conn, l->table, err, errlen);
	if (rc <= 0)
		return rc;
	snprintf(sql, sizeof(sql),
		 "SELECT holder::text, host, true,"
		 " to_char(expires_at AT TIME ZONE 'UTC',"
		 " 'YYYY-MM-DD HH24:MI:SS') FROM %s WHERE name = $1"
		 " AND expires_at > now()", l->table);
	res = db_query(l->conn, sql, 1, params, why, sizeof(why));
	if (!res) {
		snprintf(err, errlen, "cannot read the run lease in %s: %s",
			 l->table, why);
		return -1;
	}
	rc = PQntuples(res) == 1;
	if (rc) {
		run_lock_holder(res, holder, sizeof(holder));
		snprintf(err, errlen, "%s holds the run lease (pooler = "
			 "transaction)", holder);
	}
	PQclear(res);
	return rc;
}

static int run_lock_take_advisory(struct run_lock *l, char *err,
				  size_t errlen)
{
	const char *params[1] = { l->key_param };
	char state[DB_SQLSTATE_LEN];
	char sql[RUN_LOCK_SQL_MAX];
	char why[1024];
	PGresult *res = NULL;
	int ret = RUN_LOCK_ERROR, mine, got, released, rc;

	err[0] = '\0';
	/*
	 * Whether the session holds it already, and else the lock: one
	 * statement, so one server session whatever sits between, and one
	 * round trip (a transaction of its own, db_query()).  The try is
	 * made only when the session does not hold it (CASE evaluates the
	 * branch it takes), so that a lock held already is not taken twice.
	 */
	snprintf(sql, sizeof(sql), "SELECT s.pid, s.mine, CASE WHEN s.mine"
		 " THEN false ELSE pg_try_advisory_lock(%s) END"
		 " FROM (SELECT pg_backend_pid(), %s OFFSET 0) AS s(pid, mine)",
		 l->key, l->mine);
	res = db_query_named(l->conn, l->tenant ?
			     "mfa_sweeper_lock_take_tenant" :
			     "mfa_sweeper_lock_take", sql, 1, params, state,
			     why, sizeof(why));
	if (!res) {
		snprintf(err, errlen, "cannot take the run lock: %s", why);
		goto out;
	}
	l->backend_pid = atoi(PQgetvalue(res, 0, 0));
	mine = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
	got = strcmp(PQgetvalue(res, 0, 2), "t") == 0;
	PQclear(res);
	res = NULL;
	if (mine) {
		/* A fresh connection's session cannot hold it already. */
		snprintf(err, errlen, "the server session this run was given "
			 "(backend %d) already holds the run lock, taken by "
			 "another client of it: %s; %s; nothing was deleted",
			 l->backend_pid, RUN_LOCK_POOLER_WHY,
			 RUN_LOCK_POOLER_FIX);
		ret = RUN_LOCK_POOLER;
		goto out;
	}
	if (!got) {
		ret = RUN_LOCK_BUSY;
		goto out;
	}
	l->held = 1;
	rc = run_lock_lease_taken(l, err, errlen);
	if (rc == 0 && !l->no_probe && run_lock_probe(l)) {
		snprintf(err, errlen, "a second connection was given the "
			 "server session that holds this run's lock (backend "
			 "%d): %s; %s; nothing was deleted", l->backend_pid,
			 RUN_LOCK_POOLER_WHY, RUN_LOCK_POOLER_FIX);
		rc = 2;
	}
	if (rc == 0) {
		ret = RUN_LOCK_HELD;
		goto out;
	}
	/* Not this run's to keep: give it back before saying why. */
	if (run_lock_unlock(l, &released, why, sizeof(why)) == 0)
		l->held = 0;
	ret = rc == 1 ? RUN_LOCK_BUSY : rc == 2 ? RUN_LOCK_POOLER :
	      RUN_LOCK_ERROR;
out:
	PQclear(res);
	run_lock_rollback(l->conn);
	return ret;
}

/*
 * The check of the advisory lock; with `begin`, it opens the batch's
 * transaction too (db_begin_query(), lock_timeout `lock_ms`), in the
 * same round trip, and *begun says whether it did.
 */
static int run_lock_guard_advisory(struct run_lock *l, int begin,
				   long long lock_ms, int *begun,
				   char state[DB_SQLSTATE_LEN], char *err,
				   size_t errlen)
{
	const char *params[1] = { l->key_param };
	const char *name;
	char sql[RUN_LOCK_SQL_MAX];
	char why[1024];
	PGresult *res;
	int pid, mine;

	snprintf(sql, sizeof(sql), "SELECT pg_backend_pid(), %s", l->mine);
	/*
	 * Prepared once per connection; a server session that is not the
	 * one it was prepared on (what this finds) prepares it again
	 * (db_query_named()), and then tells its own pid.
	 */
	name = l->tenant ? "mfa_sweeper_lock_guard_tenant" :
	       "mfa_sweeper_lock_guard";
	if (begin)
		res = db_begin_query(l->conn, lock_ms, name, sql, 1, params,
				     begun, state, why, sizeof(why));
	else
		res = db_query_named(l->conn, name, sql, 1, params, state, why,
				     sizeof(why));
	if (!res && begin && !*begun) {
		snprintf(err, errlen, "%s", why);
		return RUN_LOCK_ERROR;
	}
	if (!res) {
		snprintf(err, errlen, "cannot check the run lock: %s", why);
		return RUN_LOCK_ERROR;
	}
	pid = atoi(PQgetvalue(res, 0, 0));
	mine = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
	PQclear(res);
	if (pid == l->backend_pid && mine)
		return RUN_LOCK_HELD;
	if (pid != l->backend_pid)
		snprintf(err, errlen, "this batch runs on server session "
			 "(backend) %d, but the run lock was taken on %d: %s; "
			 "%s; the batch was rolled back", pid, l->backend_pid,
			 RUN_LOCK_POOLER_WHY, RUN_LOCK_POOLER_FIX);
	else
		snprintf(err, errlen, "the server session of this run "
			 "(backend %d) no longer holds the run lock, released "
			 "by another client of it: %s; %s; the batch was "
			 "rolled back", pid, RUN_LOCK_POOLER_WHY,
			 RUN_LOCK_POOLER_FIX);
	return run_lock_result(l, RUN_LOCK_POOLER, err);
}

/* ------------------------------------------------------------ public */

int run_lock_take(struct run_lock *l, char *err, size_t errlen)
{
	int ret;

	l->result = RUN_LOCK_HELD;
	l->why[0] = '\0';
	if (run_lock_leased(l))
		ret = run_lock_take_lease(l, err, errlen);
	else
		ret = run_lock_take_advisory(l, err, errlen);
	if (ret != RUN_LOCK_HELD)
		run_lock_result(l, ret, err);
	return ret;
}

int run_lock_guard(struct run_lock *l, char state[DB_SQLSTATE_LEN],
		   char *err, size_t errlen)
{
	state[0] = '\0';
	if (!l->held)
		return RUN_LOCK_HELD;
	if (run_lock_leased(l))
		return run_lock_guard_lease(l, state, err, errlen);
	return run_lock_guard_advisory(l, 0, -1, NULL, state, err, errlen);
}

int run_lock_guard_begin(struct run_lock *l, long long lock_ms, int *begun,
			 char state[DB_SQLSTATE_LEN], char *err,
			 size_t errlen)
{
	state[0] = '\0';
	*begun = 0;
	if (l->held && !run_lock_leased(l))
		return run_lock_guard_advisory(l, 1, lock_ms, begun, state,
					       err, errlen);
	if (db_begin_lock(l->conn, lock_ms, state, err, errlen) != 0)
		return RUN_LOCK_ERROR;
	*begun = 1;
	return run_lock_guard(l, state, err, errlen);
}

/*
 * A worker's batch under a lease: the lease's advisory key taken shared
 * for the transaction, which any other run must take alone to take the
 * lease over (run_lock_take_lease()), and then the lease read: still
 * this run's, it stays so until the batch ends.
 */
static int run_lock_worker_lease(const struct run_lock *l, PGconn *conn,
				 char state[DB_SQLSTATE_LEN], char *err,
				 size_t errlen)
{
	const char *params[3] = { l->lease_name, l->run_id, l->key_param };
	char key[160];
	char sql[1536];
	char why[1024];
	PGresult *res;
	int mine;

	/* This run's key and lease row: a tenant's has its own. */
	run_lock_key_sql(l, 3, key, sizeof(key));
	snprintf(sql, sizeof(sql),
		 "SELECT pg_advisory_xact_lock_shared(%s),"
		 " EXISTS (SELECT 1 FROM %s WHERE name = $1"
		 " AND holder = $2::uuid)", key, l->table);
	res = db_query_state(conn, sql, 3, params, state, why, sizeof(why));
	if (!res) {
		snprintf(err, errlen, "cannot check the run lease: %s", why);
		return RUN_LOCK_ERROR;
	}
	mine = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
	PQclear(res);
	if (mine)
		return RUN_LOCK_HELD;
	snprintf(err, errlen, "the run lease in %s is no longer this run's "
		 "(taken over after it had gone unrenewed for lease_ttl, %lld "
		 "ms, or deleted); the batch was rolled back", l->table,
		 l->ttl_ms);
	return RUN_LOCK_LOST;
}

/*
 * A worker's batch under the advisory lock: the run's own session
 * (backend_pid) must still hold it.
 */
static int run_lock_worker_advisory(const struct run_lock *l, PGconn *conn,
				    char state[DB_SQLSTATE_LEN], char *err,
				    size_t errlen)
{
	char pid[32];
	const char *params[2] = { pid, l->key_param };
	char key[160];
	char sql[RUN_LOCK_SQL_MAX];
	char why[1024];
	PGresult *res;
	int held;

	snprintf(pid, sizeof(pid), "%d", l->backend_pid);
	/* This run's key: a tenant's has its own. */
	run_lock_key_sql(l, 2, key, sizeof(key));
	snprintf(sql, sizeof(sql), "SELECT " RUN_LOCK_HELD_FMT, "$1::int", key,
		 key);
	res = db_query_state(conn, sql, 2, params, state, why, sizeof(why));
	if (!res) {
		snprintf(err, errlen, "cannot check the run lock: %s", why);
		return RUN_LOCK_ERROR;
	}
	held = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	if (held)
		return RUN_LOCK_HELD;
	snprintf(err, errlen, "the run's own server session (backend %d) no "
		 "longer holds the run lock (its connection was lost or the "
		 "lock released); the batch was rolled back", l->backend_pid);
	return RUN_LOCK_LOST;
}

int run_lock_guard_worker(const struct run_lock *l, PGconn *conn,
			  char state[DB_SQLSTATE_LEN], char *err,
			  size_t errlen)
{
	state[0] = '\0';
	if (!l->held)
		return RUN_LOCK_HELD;
	if (run_lock_leased(l))
		return run_lock_worker_lease(l, conn, state, err, errlen);
	return run_lock_worker_advisory(l, conn, state, err, errlen);
}

int run_lock_release(struct run_lock *l, char *err, size_t errlen)
{
	int released, ret;

	if (!l->held)
		return 0;
	if (run_lock_leased(l)) {
		ret = run_lock_release_lease(l, err, errlen);
		l->held = 0;
		return ret;
	}
	/* A lost session took its lock with it. */
	if (db_lost(l->conn)) {
		l->held = 0;
		return 0;
	}
	if (run_lock_unlock(l, &released, err, errlen) != 0)
		return -1;
	l->held = 0;
	if (!released) {
		snprintf(err, errlen, "the run lock was not held by this run's "
			 "server session at the end (backend %d took it): %s; "
			 "it stays held there until that connection closes; %s",
			 l->backend_pid, RUN_LOCK_POOLER_WHY,
			 RUN_LOCK_POOLER_FIX);
		return -1;
	}
	return 0;
}

void run_lock_note_lost(struct run_lock *l, int result, const char *why)
{
	/* A lease taken over is another run's now: nothing to release. */
	if (result == RUN_LOCK_LOST && run_lock_leased(l))
		l->held = 0;
	run_lock_result(l, result, why);
}
