/*
 * test_ledger.c: the ledger's names and DDL, and the run row's life with
 * ledger_record_webhook(), which no command-line mode reaches yet (the
 * webhook calls it).  The database tests use the server tests/run.sh
 * starts (PGHOST...) in a database of their own, and are skipped without
 * one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "db.h"
#include "ledger.h"
#include "summary.h"

static void test_names_quoted(void **state)
{
	struct ledger l;
	char err[256];
	char *sql;

	(void)state;
	assert_int_equal(ledger_setup(&l, "Audit Log", 1, err, sizeof(err)), 0);
	assert_int_equal(l.enabled, 1);
	assert_string_equal(l.schema, "\"Audit Log\"");
	assert_string_equal(l.runs, "\"Audit Log\".\"runs\"");
	assert_string_equal(l.deletions, "\"Audit Log\".\"deletions\"");
	assert_int_equal(ledger_setup(&l, "x\"y", 0, err, sizeof(err)), 0);
	assert_string_equal(l.runs, "\"x\"\"y\".\"runs\"");
	sql = ledger_sql(&l);
	assert_non_null(strstr(sql, "CREATE SCHEMA IF NOT EXISTS \"x\"\"y\";"));
	assert_non_null(strstr(sql, "REFERENCES \"x\"\"y\".\"runs\" (run_id)"));
	free(sql);
	assert_int_equal(ledger_setup(&l, "a.b", 1, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "'a.b'"));
	assert_int_equal(ledger_setup(&l, "", 1, err, sizeof(err)), -1);
}

static PGconn *test_connect(const char *dbname)
{
	struct db_target target = { NULL, NULL, 0 };
	char dsn[128];
	char err[512];
	PGconn *conn;

	snprintf(dsn, sizeof(dsn), "dbname=%s", dbname);
	target.dsn = dsn;
	conn = db_connect(&target, err, sizeof(err));
	if (!conn)
		fail_msg("%s", err);
	return conn;
}

static char *test_value(PGconn *conn, const char *sql)
{
	char err[512];
	PGresult *res = db_query(conn, sql, 0, NULL, err, sizeof(err));
	char *v;

	if (!res)
		fail_msg("%s: %s", sql, err);
	v = strdup(PQgetisnull(res, 0, 0) ? "NULL" : PQgetvalue(res, 0, 0));
	PQclear(res);
	return v;
}

static void assert_value(PGconn *conn, const char *sql, const char *want)
{
	char *got = test_value(conn, sql);

	if (strcmp(got, want) != 0)
		fail_msg("%s: got '%s', want '%s'", sql, got, want);
	free(got);
}

static void test_run_row_and_webhook(void **state)
{
	struct run_summary s;
	struct ledger l;
	PGconn *admin, *conn;
	char db[64], sql[256], err[1024];

	(void)state;
	if (!getenv("PGHOST"))
		skip();
	snprintf(db, sizeof(db), "ledger_unit_%ld", (long)getpid());
	admin = test_connect("postgres");
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s", db);
	if (db_exec(admin, sql, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	conn = test_connect(db);

	assert_int_equal(ledger_setup(&l, "audit", 1, err, sizeof(err)), 0);
	assert_int_equal(ledger_check(conn, &l, err, sizeof(err)), 1);
	assert_non_null(strstr(err, "run mfa-sweeper --init-ledger, or apply "
			       "--print-ledger-sql"));
	assert_int_equal(ledger_create(conn, &l, err, sizeof(err)), 0);
	assert_int_equal(ledger_create(conn, &l, err, sizeof(err)), 0);
	assert_int_equal(ledger_check(conn, &l, err, sizeof(err)), 0);

	assert_int_equal(summary_start(&s, 0), 0);
	assert_int_equal(ledger_run_begin(conn, &l, &s, err, sizeof(err)), 0);
	assert_value(conn, "SELECT status || '|' || (finished_at IS NULL) "
		     "|| '|' || (backend_pid = pg_backend_pid()) FROM audit.runs",
		     "running|true|true");
	summary_finish(&s);
	assert_int_equal(ledger_run_finish(conn, &l, &s, err, sizeof(err)), 0);
	assert_value(conn, "SELECT status || '|' || (finished_at IS NOT NULL) "
		     "|| '|' || (summary->>'run_id' = run_id::text) "
		     "|| '|' || (webhook_status IS NULL) FROM audit.runs",
		     "ok|true|true|true");

	assert_int_equal(ledger_record_webhook(conn, &l, s.run_id, "failed",
					       "HTTP 500 after 4 attempts", err,
					       sizeof(err)), 0);
	assert_value(conn, "SELECT webhook_status || '|' || webhook_error "
		     "FROM audit.runs", "failed|HTTP 500 after 4 attempts");
	assert_int_equal(ledger_record_webhook(conn, &l, s.run_id, "delivered",
					       NULL, err, sizeof(err)), 0);
	assert_value(conn, "SELECT webhook_status || '|' || "
		     "coalesce(webhook_error, 'NULL') FROM audit.runs",
		     "delivered|NULL");
	assert_int_equal(ledger_record_webhook(conn, &l, LEDGER_NIL_RUN_ID,
					       "delivered", NULL, err,
					       sizeof(err)), -1);
	assert_non_null(strstr(err, "is not in"));
	/* With the ledger off it does nothing. */
	l.enabled = 0;
	assert_int_equal(ledger_record_webhook(conn, &l, s.run_id, "disabled",
					       NULL, err, sizeof(err)), 0);
	assert_value(conn, "SELECT webhook_status FROM audit.runs", "delivered");

	summary_free(&s);
	PQfinish(conn);
	snprintf(sql, sizeof(sql), "DROP DATABASE %s", db);
	if (db_exec(admin, sql, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	PQfinish(admin);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_quoted),
		cmocka_unit_test(test_run_row_and_webhook),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
