/*
 * ledger.c: the audit ledger's tables, its run rows and --history.
 *
 * The deletions rows themselves are written by each batch's statement
 * (statement.c); this file creates the tables, checks they exist, and
 * keeps the one row per run.  Identifiers are quoted by ident.c; every
 * value travels as a parameter.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "db.h"
#include "ledger.h"
#include "run_lock.h"
#include "summary_json.h"
#include "strbuf.h"

/* "schema"."name" from an already quoted schema. */
static int ledger_table_name(char *buf, const char *schema, const char *name)
{
	int n = snprintf(buf, IDENT_MAX, "%s.\"%s\"", schema, name);

	return n < 0 || n >= IDENT_MAX ? -1 : 0;
}

int ledger_setup(struct ledger *l, const char *schema, int enabled,
		 char *err, size_t errlen)
{
	memset(l, 0, sizeof(*l));
	l->enabled = enabled;
	if (ident_quote_column(schema, l->schema, sizeof(l->schema)) != 0 ||
	    ledger_table_name(l->runs, l->schema, "runs") != 0 ||
	    ledger_table_name(l->deletions, l->schema, "deletions") != 0 ||
	    ledger_table_name(l->lease, l->schema, "run_lease") != 0) {
		snprintf(err, errlen, "[ledger] schema: invalid schema name '%s'",
			 schema);
		return -1;
	}
	return 0;
}

char *ledger_sql(const struct ledger *l)
{
	struct strbuf sql = STRBUF_INIT;

	strbuf_addf(&sql,
		    "-- mfa-sweeper audit ledger (see doc/monitoring.md, \"Audit ledger\").\n"
		    "-- Idempotent: every statement is IF NOT EXISTS.\n"
		    "BEGIN;\n"
		    "CREATE SCHEMA IF NOT EXISTS %s;\n"
		    "\n"
		    "-- One row per run; status is 'running' until the run ends,\n"
		    "-- and stays so, with finished_at NULL, if the run died.\n"
		    "CREATE TABLE IF NOT EXISTS %s (\n"
		    "    run_id         uuid PRIMARY KEY,\n"
		    "    host           text NOT NULL,\n"
		    "    backend_pid    integer,\n"
		    "    started_at     timestamptz NOT NULL,\n"
		    "    finished_at    timestamptz,\n"
		    "    status         text NOT NULL DEFAULT 'running',\n"
		    "    dry_run        boolean NOT NULL DEFAULT false,\n"
		    "    deleted_total  bigint NOT NULL DEFAULT 0,\n"
		    "    summary        jsonb,\n"
		    "    webhook_status text,\n"
		    "    webhook_error  text\n"
		    ");\n"
		    "CREATE INDEX IF NOT EXISTS runs_started_at_idx\n"
		    "    ON %s (started_at);\n"
		    "-- The target of a run over several targets (doc/fleet.md):\n"
		    "-- NAME or NAME/SCHEMA; NULL for a run of [database] alone.\n"
		    "-- Added to older ledgers.\n"
		    "ALTER TABLE %s ADD COLUMN IF NOT EXISTS target text;\n"
		    "\n"
		    "-- Rows deleted, per batch, rule, table and user; written in\n"
		    "-- the same statement as the batch's DELETE.\n"
		    "CREATE TABLE IF NOT EXISTS %s (\n"
		    "    run_id         uuid NOT NULL REFERENCES %s (run_id),\n"
		    "    rule           text NOT NULL,\n"
		    "    table_name     text NOT NULL,\n"
		    "    user_id        text,\n"
		    "    rows_deleted   bigint NOT NULL CHECK (rows_deleted > 0),\n"
		    "    deleted_at     timestamptz NOT NULL DEFAULT now()\n"
		    ");\n"
		    "CREATE INDEX IF NOT EXISTS deletions_user_id_idx\n"
		    "    ON %s (user_id, deleted_at);\n"
		    "CREATE INDEX IF NOT EXISTS deletions_run_id_idx\n"
		    "    ON %s (run_id);\n"
		    "\n"
		    "-- The run lock with [database] pooler = transaction: one\n"
		    "-- row while a run holds it, renewed by every batch.\n"
		    "CREATE TABLE IF NOT EXISTS %s (\n"
		    "    name           text PRIMARY KEY,\n"
		    "    holder         uuid NOT NULL,\n"
		    "    host           text NOT NULL,\n"
		    "    acquired_at    timestamptz NOT NULL,\n"
		    "    renewed_at     timestamptz NOT NULL,\n"
		    "    expires_at     timestamptz NOT NULL\n"
		    ");\n"
		    "COMMIT;\n",
		    l->schema, l->runs, l->runs, l->runs, l->deletions, l->runs,
		    l->deletions, l->deletions, l->lease);
	return strbuf_detach(&sql);
}

/*
 * The DDL as --init-ledger runs it: ledger_sql() with the server's
 * notices below WARNING turned off for its transaction alone (SET LOCAL:
 * a pooler's next client must not inherit it).  Run again, every IF NOT
 * EXISTS would say "already exists, skipping", which is the expected
 * outcome of an idempotent command, not news for the operator; the
 * sweeper says itself what it did.
 */
static char *ledger_sql_quiet(const struct ledger *l)
{
	struct strbuf sb = STRBUF_INIT;
	char *sql = ledger_sql(l);
	const char *begin = strstr(sql, "BEGIN;\n");

	if (!begin) {
		/* ledger_sql() always opens a transaction. */
		return sql;
	}
	begin += strlen("BEGIN;\n");
	strbuf_addf(&sb, "%.*s", (int)(begin - sql), sql);
	strbuf_add(&sb, "SET LOCAL client_min_messages = warning;\n");
	strbuf_add(&sb, begin);
	free(sql);
	return strbuf_detach(&sb);
}

int ledger_create(PGconn *conn, const struct ledger *l, char *err,
		  size_t errlen)
{
	char *sql = ledger_sql_quiet(l);
	char why[1024];
	int ret = 0;

	if (db_exec(conn, sql, why, sizeof(why)) != 0) {
		PGresult *rb = PQexec(conn, "ROLLBACK");

		PQclear(rb);
		snprintf(err, errlen, "cannot create the ledger in schema %s: %s",
			 l->schema, why);
		ret = -1;
	}
	free(sql);
	return ret;
}

int ledger_check(PGconn *conn, const struct ledger *l, char *err,
		 size_t errlen)
{
	const char *params[2] = { l->runs, l->deletions };
	PGresult *res;
	char why[1024];
	int ret = 0;

	res = db_query(conn, "SELECT to_regclass($1) IS NOT NULL,"
		       " to_regclass($2) IS NOT NULL", 2, params, why,
		       sizeof(why));
	if (!res) {
		snprintf(err, errlen, "cannot check the ledger tables: %s", why);
		return -1;
	}
	if (strcmp(PQgetvalue(res, 0, 0), "t") != 0 ||
	    strcmp(PQgetvalue(res, 0, 1), "t") != 0) {
		snprintf(err, errlen,
			 "the ledger table %s does not exist; run mfa-sweeper "
			 "--init-ledger, or apply --print-ledger-sql",
			 strcmp(PQgetvalue(res, 0, 0), "t") != 0 ? l->runs :
			 l->deletions);
		ret = 1;
	}
	PQclear(res);
	return ret;
}

/* An ISO 8601 UTC timestamp with milliseconds, for a timestamptz. */
static void ledger_timestamp(const struct timespec *ts, char out[40])
{
	struct tm tm;
	size_t len;

	gmtime_r(&ts->tv_sec, &tm);
	len = strftime(out, 40, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + len, 40 - len, ".%03dZ",
		 (int)(ts->tv_nsec / 1000000L % 1000));
}

int ledger_run_begin(PGconn *conn, const struct ledger *l,
		     const struct run_summary *s, char *err, size_t errlen)
{
	struct strbuf sql = STRBUF_INIT;
	const char *params[4];
	char started[40];
	char why[1024];
	PGresult *res;

	ledger_timestamp(&s->started_at, started);
	params[0] = s->run_id;
	params[1] = s->host;
	params[2] = started;
	params[3] = s->target;
	/* Only a run over targets needs the column, so older ledgers work
	 * on for runs without. */
	strbuf_addf(&sql,
		    "INSERT INTO %s (run_id, host, backend_pid, started_at,"
		    " status, dry_run%s) VALUES ($1::uuid, $2, pg_backend_pid(),"
		    " $3::timestamptz, 'running', false%s)", l->runs,
		    s->target ? ", target" : "", s->target ? ", $4" : "");
	res = db_query(conn, strbuf_str(&sql), s->target ? 4 : 3, params, why,
		       sizeof(why));
	strbuf_release(&sql);
	if (!res) {
		snprintf(err, errlen, "cannot record the run in %s: %s%s",
			 l->runs, why, s->target && strstr(why, "target") ?
			 "; run mfa-sweeper --init-ledger to add the target "
			 "column" : "");
		return -1;
	}
	PQclear(res);
	return 0;
}

int ledger_run_finish(PGconn *conn, const struct ledger *l,
		      const struct run_summary *s, char *err, size_t errlen)
{
	struct strbuf sql = STRBUF_INIT;
	const char *params[9];
	char started[40], finished[40], total[32];
	char why[1024];
	PGresult *res;
	json_t *doc;
	char *summary;

	doc = summary_json(s);
	summary = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(doc);
	if (!summary) {
		snprintf(err, errlen, "cannot record the run's end: out of memory");
		return -1;
	}
	ledger_timestamp(&s->started_at, started);
	ledger_timestamp(&s->finished_at, finished);
	/* A dry run deleted nothing; its counts are in the summary. */
	snprintf(total, sizeof(total), "%lld", s->dry_run ? 0 : s->deleted_total);
	params[0] = s->run_id;
	params[1] = s->host;
	params[2] = started;
	params[3] = finished;
	params[4] = run_status_name(s->status);
	params[5] = s->dry_run ? "true" : "false";
	params[6] = total;
	params[7] = summary;
	params[8] = s->target;
	strbuf_addf(&sql,
		    "INSERT INTO %s AS r (run_id, host, backend_pid, started_at,"
		    " finished_at, status, dry_run, deleted_total, summary%s)"
		    " VALUES ($1::uuid, $2, pg_backend_pid(), $3::timestamptz,"
		    " $4::timestamptz, $5, $6::boolean, $7::bigint, $8::jsonb%s)"
		    " ON CONFLICT (run_id) DO UPDATE SET"
		    " finished_at = EXCLUDED.finished_at,"
		    " status = EXCLUDED.status,"
		    " deleted_total = EXCLUDED.deleted_total,"
		    " summary = EXCLUDED.summary", l->runs,
		    s->target ? ", target" : "", s->target ? ", $9" : "");
	res = db_query(conn, strbuf_str(&sql), s->target ? 9 : 8, params, why,
		       sizeof(why));
	strbuf_release(&sql);
	free(summary);
	if (!res) {
		snprintf(err, errlen, "cannot record the run's end in %s: %s",
			 l->runs, why);
		return -1;
	}
	PQclear(res);
	return 0;
}

int ledger_record_webhook(PGconn *conn, const struct ledger *l,
			  const char *run_id, const char *status,
			  const char *error, char *err, size_t errlen)
{
	struct strbuf sql = STRBUF_INIT;
	const char *params[3] = { run_id, status, error };
	char why[1024];
	PGresult *res;
	int ret = 0;

	if (!l->enabled)
		return 0;
	strbuf_addf(&sql,
		    "UPDATE %s SET webhook_status = $2, webhook_error = $3"
		    " WHERE run_id = $1::uuid", l->runs);
	res = db_query(conn, strbuf_str(&sql), 3, params, why, sizeof(why));
	strbuf_release(&sql);
	if (!res) {
		snprintf(err, errlen, "cannot record the webhook's outcome in %s: %s",
			 l->runs, why);
		return -1;
	}
	if (strcmp(PQcmdTuples(res), "1") != 0) {
		snprintf(err, errlen, "cannot record the webhook's outcome: "
			 "run %s is not in %s", run_id, l->runs);
		ret = -1;
	}
	PQclear(res);
	return ret;
}

/*
 * The last runs, newest first.  A row still 'running' is a live run only
 * while the session that wrote it holds the run's lock (run_lock.c's
 * advisory lock, whose 64-bit key pg_locks shows as classid and objid)
 * and no later run came from a session with the same pid, or while it
 * holds a lease that has not expired (pooler = transaction); otherwise
 * the run died.  The key is the row's own: a tenant's run (target
 * NAME/SCHEMA) takes its tenant's key, any other run the database's, so
 * %7$s below is the key as SQL of row r.  Rows deleted come from the
 * deletions of a run that did not finish, since only a finished run has
 * its total.  The last two columns are the target (%5$s) and whether
 * any run in the ledger has one (%6$s), which decides the listing's
 * columns.
 */
#define LEDGER_HISTORY_SQL \
	"SELECT r.run_id::text," \
	" to_char(r.started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')," \
	" CASE WHEN r.finished_at IS NULL THEN '-' ELSE" \
	" to_char(extract(epoch FROM r.finished_at - r.started_at)," \
	" 'FM999999990.000') || 's' END," \
	" CASE WHEN r.status <> 'running' THEN r.status" \
	" WHEN EXISTS (SELECT 1 FROM pg_locks AS lk" \
	" WHERE lk.locktype = 'advisory' AND lk.granted" \
	" AND lk.pid = r.backend_pid AND lk.objsubid = 1" \
	" AND lk.database = (SELECT oid FROM pg_database" \
	" WHERE datname = current_database())" \
	" AND lk.classid::bigint = ((k.key >> 32) & 4294967295)" \
	" AND lk.objid::bigint = (k.key & 4294967295))" \
	" AND NOT EXISTS (SELECT 1 FROM %1$s AS later" \
	" WHERE later.backend_pid = r.backend_pid" \
	" AND later.started_at > r.started_at)" \
	" THEN 'running' %2$s ELSE 'died' END" \
	" || CASE WHEN r.dry_run THEN ' (dry run)' ELSE '' END," \
	" CASE WHEN r.finished_at IS NOT NULL THEN r.deleted_total ELSE" \
	" (SELECT coalesce(sum(d.rows_deleted), 0) FROM %3$s AS d" \
	" WHERE d.run_id = r.run_id) END," \
	" r.host, coalesce(%5$s, '-'), %6$s" \
	" FROM %4$s AS r CROSS JOIN LATERAL (SELECT %7$s AS key) AS k" \
	" ORDER BY r.started_at DESC, r.run_id LIMIT $1"

/* The key of a tenant's run from its target, NAME/SCHEMA; else the
 * database's. */
#define LEDGER_KEY_BY_TARGET_SQL \
	"CASE WHEN strpos(r.target, '/') > 0 THEN " \
	RUN_LOCK_TENANT_KEY_SQL("substr(r.target, strpos(r.target, '/') + 1)") \
	" ELSE " RUN_LOCK_KEY_SQL " END"

/*
 * What the ledger has that --history reads: whether the lease table
 * exists (a ledger made before it has none) and whether runs has the
 * target column (a ledger made before runs over targets has not).
 * Returns 0, or -1 with one line in err.
 */
static int ledger_history_shape(PGconn *conn, const struct ledger *l,
				int *has_lease, int *has_target, char *err,
				size_t errlen)
{
	const char *params[2] = { l->lease, l->runs };
	char why[1024];
	PGresult *res;

	res = db_query(conn, "SELECT to_regclass($1) IS NOT NULL,"
		       " EXISTS (SELECT 1 FROM pg_attribute"
		       " WHERE attrelid = to_regclass($2) AND attname = 'target'"
		       " AND NOT attisdropped)", 2, params, why, sizeof(why));
	if (!res) {
		snprintf(err, errlen, "cannot check the ledger tables %s and "
			 "%s: %s", l->runs, l->lease, why);
		return -1;
	}
	*has_lease = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	*has_target = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
	PQclear(res);
	return 0;
}

/* The widest target of the rows, at least the heading's. */
static int ledger_target_width(const PGresult *res)
{
	int i, w = (int)strlen("target");

	for (i = 0; i < PQntuples(res); i++)
		if (PQgetlength(res, i, 6) > w)
			w = PQgetlength(res, i, 6);
	return w;
}

int ledger_history(PGconn *conn, const struct ledger *l, long long n,
		   FILE *out, char *err, size_t errlen)
{
	struct strbuf lease = STRBUF_INIT;
	struct strbuf any = STRBUF_INIT;
	struct strbuf sql = STRBUF_INIT;
	const char *params[1];
	int has_lease, has_target, targets, w, i;
	char limit[32];
	char why[1024];
	PGresult *res;

	if (ledger_history_shape(conn, l, &has_lease, &has_target, err,
				 errlen) != 0)
		return -1;
	snprintf(limit, sizeof(limit), "%lld", n);
	params[0] = limit;
	/* A run holding a live lease (pooler = transaction) is running too. */
	if (has_lease)
		strbuf_addf(&lease, "WHEN EXISTS (SELECT 1 FROM %s AS lease"
			    " WHERE lease.holder = r.run_id"
			    " AND lease.expires_at > now()) THEN 'running'",
			    l->lease);
	if (has_target)
		strbuf_addf(&any, "EXISTS (SELECT 1 FROM %s"
			    " WHERE target IS NOT NULL)", l->runs);
	strbuf_addf(&sql, LEDGER_HISTORY_SQL, l->runs, strbuf_str(&lease),
		    l->deletions, l->runs, has_target ? "r.target" : "NULL::text",
		    has_target ? strbuf_str(&any) : "false",
		    has_target ? LEDGER_KEY_BY_TARGET_SQL : RUN_LOCK_KEY_SQL);
	strbuf_release(&lease);
	strbuf_release(&any);
	res = db_query(conn, strbuf_str(&sql), 1, params, why, sizeof(why));
	strbuf_release(&sql);
	if (!res) {
		snprintf(err, errlen, "cannot read the runs in %s: %s", l->runs,
			 why);
		return -1;
	}
	/*
	 * A ledger that never recorded a target lists the columns it always
	 * did; one that did shows each run's target before the host, so
	 * that the host stays last.
	 */
	targets = PQntuples(res) > 0 &&
		  strcmp(PQgetvalue(res, 0, 7), "t") == 0;
	w = targets ? ledger_target_width(res) : 0;
	if (targets)
		fprintf(out, "%-36s  %-19s  %10s  %-18s  %12s  %-*s  %s\n",
			"run id", "started (UTC)", "duration", "status",
			"rows deleted", w, "target", "host");
	else
		fprintf(out, "%-36s  %-19s  %10s  %-18s  %12s  %s\n", "run id",
			"started (UTC)", "duration", "status", "rows deleted",
			"host");
	for (i = 0; i < PQntuples(res); i++) {
		if (targets)
			fprintf(out, "%-36s  %-19s  %10s  %-18s  %12s  %-*s  %s\n",
				PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
				PQgetvalue(res, i, 2), PQgetvalue(res, i, 3),
				PQgetvalue(res, i, 4), w, PQgetvalue(res, i, 6),
				PQgetvalue(res, i, 5));
		else
			fprintf(out, "%-36s  %-19s  %10s  %-18s  %12s  %s\n",
				PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
				PQgetvalue(res, i, 2), PQgetvalue(res, i, 3),
				PQgetvalue(res, i, 4), PQgetvalue(res, i, 5));
	}
	if (PQntuples(res) == 0)
		fprintf(out, "(no runs recorded in %s)\n", l->runs);
	PQclear(res);
	fflush(out);
	return 0;
}
