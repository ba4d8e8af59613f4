/*
 * test_plan_sql.c: the text of every statement each walk builds
 * (src/statement.c), held to golden SQL without a database: with and
 * without the ledger, the bounds each batch of a walk has, the refused
 * keys passed over, a scoped run's named users, the dry run's count that
 * passes over the rows an earlier step deletes, and where each
 * parameter's value comes from.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "statement.h"
#include "strbuf.h"

#define LEDGER "\"mfa_sweeper\".\"deletions\""

/* used_backup_codes on the reference schema, with user_disabled's filter. */
static void codes_source(struct stmt_source *src, enum stmt_walk walk)
{
	memset(src, 0, sizeof(*src));
	src->table = "\"accounts_backupcode\"";
	src->key = "\"id\"";
	src->user = "\"user_id\"";
	src->users = "\"accounts_user\"";
	src->user_id = "\"id\"";
	src->predicate = "t.\"used\" AND t.\"used_at\" < now() - $1::interval";
	src->npredicate = 1;
	src->filter = "NOT u.\"mfa_enrolled\" AND "
		      "u.\"mfa_disabled_at\" <= now() - $1::interval";
	src->nfilter = 1;
	src->walk = walk;
}

/* The slots as words: "step0 after upto limit". */
static void slot_words(const struct stmt_text *t, struct strbuf *sb)
{
	static const char *const names[] = {
		"step", "filter", "earlier", "run", "rule", "table", "after",
		"upto", "limit", "offset", "excluded", "keys", "users", "scope"
	};
	int i;

	for (i = 0; i < t->nparams; i++) {
		const struct stmt_slot *s = &t->slots[i];

		strbuf_addf(sb, "%s%s", i ? " " : "", names[s->kind]);
		if (s->kind == SLOT_STEP || s->kind == SLOT_FILTER)
			strbuf_addf(sb, "%d", s->index);
		else if (s->kind == SLOT_EARLIER)
			strbuf_addf(sb, "%d.%d", s->step, s->index);
	}
}

/* Build `kind` with `shape`; expect `sql` and its slots `slots`. */
static void expect_sql(const struct stmt_source *src, enum stmt_kind kind,
		       unsigned shape, const char *sql, const char *slots)
{
	struct strbuf words = STRBUF_INIT;
	struct stmt_text t;
	char err[256] = "";

	if (stmt_build(&t, src, kind, shape, err, sizeof(err)) != 0)
		fail_msg("%s/%u does not build: %s", stmt_kind_name(kind),
			 shape, err);
	assert_string_equal(t.sql, sql);
	slot_words(&t, &words);
	assert_string_equal(strbuf_str(&words), slots);
	strbuf_release(&words);
	stmt_text_free(&t);
}

/* Building `kind` with `shape` fails with a message holding `needle`. */
static void expect_refused(const struct stmt_source *src, enum stmt_kind kind,
			   unsigned shape, const char *needle)
{
	struct stmt_text t;
	char err[256] = "";

	assert_int_equal(stmt_build(&t, src, kind, shape, err, sizeof(err)),
			 -1);
	assert_null(t.sql);
	if (!strstr(err, needle))
		fail_msg("'%s' does not say '%s'", err, needle);
}

/*
 * By blocks: windows of ctids; the last window has no end; a window goes
 * whole, or in capped batches.
 */
static void test_blocks_walk(void **state)
{
	struct stmt_source src;

	(void)state;
	codes_source(&src, STMT_WALK_BLOCKS);
	expect_sql(&src, STMT_WINDOW_DELETE, STMT_AFTER | STMT_UPTO,
		"DELETE FROM \"accounts_backupcode\" AS t WHERE (t.\"used\" "
		"AND t.\"used_at\" < now() - $1::interval) AND t.ctid >= "
		"$2::tid AND t.ctid < $3::tid",
		"step0 after upto");
	expect_sql(&src, STMT_WINDOW_DELETE, STMT_AFTER,
		"DELETE FROM \"accounts_backupcode\" AS t WHERE (t.\"used\" "
		"AND t.\"used_at\" < now() - $1::interval) AND t.ctid >= "
		"$2::tid",
		"step0 after");
	expect_sql(&src, STMT_WINDOW_DELETE,
		   STMT_EXCLUDED | STMT_AFTER | STMT_UPTO,
		"DELETE FROM \"accounts_backupcode\" AS t WHERE (t.\"used\" "
		"AND t.\"used_at\" < now() - $1::interval) AND NOT (t.\"id\" "
		"= ANY($2)) AND t.ctid >= $3::tid AND t.ctid < $4::tid",
		"step0 excluded after upto");
	expect_sql(&src, STMT_CAPPED_DELETE, STMT_AFTER | STMT_UPTO,
		"WITH victims AS (SELECT t.tableoid AS row_oid, t.ctid AS "
		"row_ctid, t.\"id\" AS row_key FROM \"accounts_backupcode\" AS "
		"t WHERE (t.\"used\" AND t.\"used_at\" < now() - $1::interval) "
		"AND t.ctid >= $2::tid AND t.ctid < $3::tid LIMIT $4 FOR "
		"UPDATE OF t SKIP LOCKED), gone AS (DELETE FROM "
		"\"accounts_backupcode\" AS t WHERE t.ctid = ANY(ARRAY(SELECT "
		"row_ctid FROM victims)) RETURNING 1) SELECT (SELECT count(*) "
		"FROM gone), (SELECT count(*) FROM victims), NULL::text",
		"step0 after upto limit");
	expect_sql(&src, STMT_CAPPED_DELETE,
		   STMT_EXCLUDED | STMT_AFTER | STMT_UPTO,
		"WITH victims AS (SELECT t.tableoid AS row_oid, t.ctid AS "
		"row_ctid, t.\"id\" AS row_key FROM \"accounts_backupcode\" AS "
		"t WHERE (t.\"used\" AND t.\"used_at\" < now() - $1::interval) "
		"AND NOT (t.\"id\" = ANY($2)) AND t.ctid >= $3::tid AND t.ctid "
		"< $4::tid LIMIT $5 FOR UPDATE OF t SKIP LOCKED), gone AS "
		"(DELETE FROM \"accounts_backupcode\" AS t WHERE t.ctid = "
		"ANY(ARRAY(SELECT row_ctid FROM victims)) RETURNING 1) SELECT "
		"(SELECT count(*) FROM gone), (SELECT count(*) FROM victims), "
		"NULL::text",
		"step0 excluded after upto limit");
	expect_sql(&src, STMT_VICTIM_KEYS,
		   STMT_EXCLUDED | STMT_AFTER | STMT_UPTO,
		"SELECT t.\"id\"::text FROM \"accounts_backupcode\" AS t WHERE "
		"(t.\"used\" AND t.\"used_at\" < now() - $1::interval) AND NOT "
		"(t.\"id\" = ANY($2)) AND t.ctid >= $3::tid AND t.ctid < "
		"$4::tid ORDER BY t.\"id\" LIMIT $5 FOR UPDATE OF t SKIP "
		"LOCKED",
		"step0 excluded after upto limit");
	expect_sql(&src, STMT_KEYS_DELETE, STMT_EXCLUDED,
		"WITH victims AS (SELECT t.tableoid AS row_oid, t.ctid AS "
		"row_ctid, t.\"id\" AS row_key FROM \"accounts_backupcode\" AS "
		"t WHERE (t.\"used\" AND t.\"used_at\" < now() - $1::interval) "
		"AND NOT (t.\"id\" = ANY($2)) AND t.\"id\" = ANY($3) ORDER BY "
		"t.\"id\" LIMIT $4 FOR UPDATE OF t SKIP LOCKED), gone AS "
		"(DELETE FROM \"accounts_backupcode\" AS t WHERE t.ctid = "
		"ANY(ARRAY(SELECT row_ctid FROM victims)) RETURNING 1) SELECT "
		"(SELECT count(*) FROM gone), (SELECT count(*) FROM victims), "
		"(SELECT v.row_key::text FROM victims AS v ORDER BY v.row_key "
		"DESC LIMIT 1)",
		"step0 excluded keys limit");
	/* With the ledger: each batch records its deletions per user. */
	src.ledger = LEDGER;
	expect_sql(&src, STMT_WINDOW_DELETE, STMT_AFTER | STMT_UPTO,
		"WITH gone AS (DELETE FROM \"accounts_backupcode\" AS t WHERE "
		"(t.\"used\" AND t.\"used_at\" < now() - $1::interval) AND "
		"t.ctid >= $2::tid AND t.ctid < $3::tid RETURNING "
		"t.\"user_id\"::text AS row_user), logged AS (INSERT INTO "
		"\"mfa_sweeper\".\"deletions\" (run_id, rule, table_name, "
		"user_id, rows_deleted) SELECT $4::uuid, $5::text, $6::text, "
		"g.row_user, count(*) FROM gone AS g GROUP BY g.row_user "
		"RETURNING 1) SELECT count(*), count(*), NULL::text FROM gone",
		"step0 after upto run rule table");
	expect_sql(&src, STMT_CAPPED_DELETE, STMT_AFTER | STMT_UPTO,
		"WITH victims AS (SELECT t.tableoid AS row_oid, t.ctid AS "
		"row_ctid, t.\"id\" AS row_key FROM \"accounts_backupcode\" AS "
		"t WHERE (t.\"used\" AND t.\"used_at\" < now() - $1::interval) "
		"AND t.ctid >= $2::tid AND t.ctid < $3::tid LIMIT $4 FOR "
		"UPDATE OF t SKIP LOCKED), gone AS (DELETE FROM "
		"\"accounts_backupcode\" AS t WHERE t.ctid = ANY(ARRAY(SELECT "
		"row_ctid FROM victims)) RETURNING t.\"user_id\"::text AS "
		"row_user), logged AS (INSERT INTO "
		"\"mfa_sweeper\".\"deletions\" (run_id, rule, table_name, "
		"user_id, rows_deleted) SELECT $5::uuid, $6::text, $7::text, "
		"g.row_user, count(*) FROM gone AS g GROUP BY g.row_user "
		"RETURNING 1) SELECT (SELECT count(*) FROM gone), (SELECT "
		"count(*) FROM victims), NULL::text",
		"step0 after upto limit run rule table");
}

/*
 * By users: the users the filter keeps in a window of the users table's
 * blocks, the filter's $1 moved past the window's bounds.
 */
static void test_users_walk(void **state)
{
	struct stmt_source src;

	(void)state;
	codes_source(&src, STMT_WALK_USERS);
	expect_sql(&src, STMT_WINDOW_DELETE, STMT_AFTER | STMT_UPTO,
		"DELETE FROM \"accounts_backupcode\" AS t WHERE (t.\"used\" "
		"AND t.\"used_at\" < now() - $1::interval) AND t.\"user_id\" "
		"= ANY(ARRAY(SELECT u.\"id\" FROM \"accounts_user\" AS u "
		"WHERE true AND u.ctid >= $2::tid AND u.ctid < $3::tid AND "
		"(NOT u.\"mfa_enrolled\" AND u.\"mfa_disabled_at\" <= now() "
		"- $4::interval)))",
		"step0 after upto filter0");
	expect_sql(&src, STMT_WINDOW_DELETE, STMT_AFTER,
		"DELETE FROM \"accounts_backupcode\" AS t WHERE (t.\"used\" "
		"AND t.\"used_at\" < now() - $1::interval) AND t.\"user_id\" "
		"= ANY(ARRAY(SELECT u.\"id\" FROM \"accounts_user\" AS u "
		"WHERE true AND u.ctid >= $2::tid AND (NOT "
		"u.\"mfa_enrolled\" AND u.\"mfa_disabled_at\" <= now() - "
		"$3::interval)))",
		"step0 after filter0");
	expect_sql(&src, STMT_CAPPED_DELETE,
		   STMT_EXCLUDED | STMT_AFTER | STMT_UPTO,
		"WITH victims AS (SELECT t.tableoid AS row_oid, t.ctid AS "
		"row_ctid, t.\"id\" AS row_key FROM \"accounts_backupcode\" AS "
		"t WHERE (t.\"used\" AND t.\"used_at\" < now() - $1::interval) "
		"AND NOT (t.\"id\" = ANY($2)) AND t.\"user_id\" = "
		"ANY(ARRAY(SELECT u.\"id\" FROM \"accounts_user\" AS u WHERE "
		"true AND u.ctid >= $3::tid AND u.ctid < $4::tid AND (NOT "
		"u.\"mfa_enrolled\" AND u.\"mfa_disabled_at\" <= now() - "
		"$5::interval))) LIMIT $6 FOR UPDATE OF t SKIP LOCKED), gone "
		"AS (DELETE FROM \"accounts_backupcode\" AS t WHERE t.ctid = "
		"ANY(ARRAY(SELECT row_ctid FROM victims)) RETURNING 1) SELECT "
		"(SELECT count(*) FROM gone), (SELECT count(*) FROM victims), "
		"NULL::text",
		"step0 excluded after upto filter0 limit");
	expect_sql(&src, STMT_VICTIM_KEYS,
		   STMT_EXCLUDED | STMT_AFTER | STMT_UPTO,
		"SELECT t.\"id\"::text FROM \"accounts_backupcode\" AS t WHERE "
		"(t.\"used\" AND t.\"used_at\" < now() - $1::interval) AND NOT "
		"(t.\"id\" = ANY($2)) AND t.\"user_id\" = ANY(ARRAY(SELECT "
		"u.\"id\" FROM \"accounts_user\" AS u WHERE true AND u.ctid >= "
		"$3::tid AND u.ctid < $4::tid AND (NOT u.\"mfa_enrolled\" AND "
		"u.\"mfa_disabled_at\" <= now() - $5::interval))) ORDER BY "
		"t.\"id\" LIMIT $6 FOR UPDATE OF t SKIP LOCKED",
		"step0 excluded after upto filter0 limit");
	/*
	 * Joined: the window's users by IN, so that a predicate that looks
	 * the user up again reads each user once.
	 */
	expect_sql(&src, STMT_WINDOW_DELETE,
		   STMT_AFTER | STMT_UPTO | STMT_JOINED,
		"DELETE FROM \"accounts_backupcode\" AS t WHERE (t.\"used\" "
		"AND t.\"used_at\" < now() - $1::interval) AND t.\"user_id\" "
		"IN (SELECT u.\"id\" FROM \"accounts_user\" AS u WHERE true "
		"AND u.ctid >= $2::tid AND u.ctid < $3::tid AND (NOT "
		"u.\"mfa_enrolled\" AND u.\"mfa_disabled_at\" <= now() - "
		"$4::interval))",
		"step0 after upto filter0");
	expect_sql(&src, STMT_CAPPED_DELETE, STMT_AFTER | STMT_JOINED,
		"WITH victims AS (SELECT t.tableoid AS row_oid, t.ctid AS "
		"row_ctid, t.\"id\" AS row_key FROM \"accounts_backupcode\" AS "
		"t WHERE (t.\"used\" AND t.\"used_at\" < now() - $1::interval) "
		"AND t.\"user_id\" IN (SELECT u.\"id\" FROM \"accounts_user\" "
		"AS u WHERE true AND u.ctid >= $2::tid AND (NOT "
		"u.\"mfa_enrolled\" AND u.\"mfa_disabled_at\" <= now() - "
		"$3::interval)) LIMIT $4 FOR UPDATE OF t SKIP LOCKED), gone "
		"AS (DELETE FROM \"accounts_backupcode\" AS t WHERE t.ctid = "
		"ANY(ARRAY(SELECT row_ctid FROM victims)) RETURNING 1) SELECT "
		"(SELECT count(*) FROM gone), (SELECT count(*) FROM victims), "
		"NULL::text",
		"step0 after filter0 limit");
	/* With the ledger: each batch records its deletions per user. */
	src.ledger = LEDGER;
	expect_sql(&src, STMT_WINDOW_DELETE, STMT_AFTER | STMT_UPTO,
		"WITH gone AS (DELETE FROM \"accounts_backupcode\" AS t WHERE "
		"(t.\"used\" AND t.\"used_at\" < now() - $1::interval) AND "
		"t.\"user_id\" = ANY(ARRAY(SELECT u.\"id\" FROM "
		"\"accounts_user\" AS u WHERE true AND u.ctid >= $2::tid AND "
		"u.ctid < $3::tid AND (NOT u.\"mfa_enrolled\" AND "
		"u.\"mfa_disabled_at\" <= now() - $4::interval))) RETURNING "
		"t.\"user_id\"::text AS row_user), logged AS (INSERT INTO "
		"\"mfa_sweeper\".\"deletions\" (run_id, rule, table_name, "
		"user_id, rows_deleted) SELECT $5::uuid, $6::text, $7::text, "
		"g.row_user, count(*) FROM gone AS g GROUP BY g.row_user "
		"RETURNING 1) SELECT count(*), count(*), NULL::text FROM gone",
		"step0 after upto filter0 run rule table");
}

/*
 * By named users: a window of them, typed by the users table's id column
 * when the rule filters users (joined), else by the user column.
 */
static void test_named_walk(void **state)
{
	struct stmt_source src;

	(void)state;
	codes_source(&src, STMT_WALK_NAMED);
	/* A rule with a user filter: the named users joined, filtered. */
	expect_sql(&src, STMT_WINDOW_DELETE, 0,
		"DELETE FROM \"accounts_backupcode\" AS t WHERE (t.\"used\" "
		"AND t.\"used_at\" < now() - $1::interval) AND t.\"user_id\" "
		"IN (SELECT u.\"id\" FROM \"accounts_user\" AS u WHERE "
		"u.\"id\" = ANY($2) AND (NOT u.\"mfa_enrolled\" AND "
		"u.\"mfa_disabled_at\" <= now() - $3::interval))",
		"step0 users filter0");
	expect_sql(&src, STMT_CAPPED_DELETE, STMT_EXCLUDED,
		"WITH victims AS (SELECT t.tableoid AS row_oid, t.ctid AS "
		"row_ctid, t.\"id\" AS row_key FROM \"accounts_backupcode\" AS "
		"t WHERE (t.\"used\" AND t.\"used_at\" < now() - $1::interval) "
		"AND NOT (t.\"id\" = ANY($2)) AND t.\"user_id\" IN (SELECT "
		"u.\"id\" FROM \"accounts_user\" AS u WHERE u.\"id\" = ANY($3) "
		"AND (NOT u.\"mfa_enrolled\" AND u.\"mfa_disabled_at\" <= now() "
		"- $4::interval)) LIMIT $5 FOR UPDATE OF t SKIP LOCKED), gone "
		"AS (DELETE FROM \"accounts_backupcode\" AS t WHERE t.ctid = "
		"ANY(ARRAY(SELECT row_ctid FROM victims)) RETURNING 1) SELECT "
		"(SELECT count(*) FROM gone), (SELECT count(*) FROM victims), "
		"NULL::text",
		"step0 excluded users filter0 limit");
	/* Without one: the named users' rows through the user column. */
	src.filter = NULL;
	src.nfilter = 0;
	expect_sql(&src, STMT_WINDOW_DELETE, 0,
		"DELETE FROM \"accounts_backupcode\" AS t WHERE (t.\"used\" "
		"AND t.\"used_at\" < now() - $1::interval) AND t.\"user_id\" "
		"= ANY($2)",
		"step0 users");
	expect_sql(&src, STMT_WINDOW_DELETE,
		   STMT_EXCLUDED | STMT_AFTER | STMT_UPTO,
		"DELETE FROM \"accounts_backupcode\" AS t WHERE (t.\"used\" "
		"AND t.\"used_at\" < now() - $1::interval) AND NOT (t.\"id\" "
		"= ANY($2)) AND t.\"user_id\" = ANY($3)",
		"step0 excluded users");
	expect_sql(&src, STMT_CAPPED_DELETE,
		   STMT_EXCLUDED | STMT_AFTER | STMT_UPTO,
		"WITH victims AS (SELECT t.tableoid AS row_oid, t.ctid AS "
		"row_ctid, t.\"id\" AS row_key FROM \"accounts_backupcode\" AS "
		"t WHERE (t.\"used\" AND t.\"used_at\" < now() - $1::interval) "
		"AND NOT (t.\"id\" = ANY($2)) AND t.\"user_id\" = ANY($3) "
		"LIMIT $4 FOR UPDATE OF t SKIP LOCKED), gone AS (DELETE FROM "
		"\"accounts_backupcode\" AS t WHERE t.ctid = ANY(ARRAY(SELECT "
		"row_ctid FROM victims)) RETURNING 1) SELECT (SELECT count(*) "
		"FROM gone), (SELECT count(*) FROM victims), NULL::text",
		"step0 excluded users limit");
	expect_sql(&src, STMT_VICTIM_KEYS,
		   STMT_EXCLUDED | STMT_AFTER | STMT_UPTO,
		"SELECT t.\"id\"::text FROM \"accounts_backupcode\" AS t WHERE "
		"(t.\"used\" AND t.\"used_at\" < now() - $1::interval) AND NOT "
		"(t.\"id\" = ANY($2)) AND t.\"user_id\" = ANY($3) ORDER BY "
		"t.\"id\" LIMIT $4 FOR UPDATE OF t SKIP LOCKED",
		"step0 excluded users limit");
	/* With the ledger: each batch records its deletions per user. */
	src.ledger = LEDGER;
	expect_sql(&src, STMT_WINDOW_DELETE, STMT_AFTER | STMT_UPTO,
		"WITH gone AS (DELETE FROM \"accounts_backupcode\" AS t WHERE "
		"(t.\"used\" AND t.\"used_at\" < now() - $1::interval) AND "
		"t.\"user_id\" = ANY($2) RETURNING t.\"user_id\"::text AS "
		"row_user), logged AS (INSERT INTO "
		"\"mfa_sweeper\".\"deletions\" (run_id, rule, table_name, "
		"user_id, rows_deleted) SELECT $3::uuid, $4::text, $5::text, "
		"g.row_user, count(*) FROM gone AS g GROUP BY g.row_user "
		"RETURNING 1) SELECT count(*), count(*), NULL::text FROM gone",
		"step0 users run rule table");
}

/*
 * A step with a joined predicate: a window's DELETE that would join its
 * users (the walk by users once joined, named users with a user filter)
 * joins them itself, USING the users table, and tests the joined
 * predicate on the pair instead of the predicate that looks the user up
 * again.  Every other statement keeps the predicate.
 */
/* `kind` with `shape` is the same text whether src has a joined
 * predicate or not. */
static void expect_unjoined(const struct stmt_source *src,
			    enum stmt_kind kind, unsigned shape)
{
	struct stmt_source plain = *src;
	struct stmt_text a, b;
	char err[256] = "";

	plain.joined = NULL;
	if (stmt_build(&a, src, kind, shape, err, sizeof(err)) != 0 ||
	    stmt_build(&b, &plain, kind, shape, err, sizeof(err)) != 0)
		fail_msg("%s/%u does not build: %s", stmt_kind_name(kind),
			 shape, err);
	assert_string_equal(a.sql, b.sql);
	assert_int_equal(a.nparams, b.nparams);
	stmt_text_free(&a);
	stmt_text_free(&b);
}

#define JOINED_PRED "u.\"mfa_disabled_at\" <= now() - $1::interval AND " \
	"t.\"created_at\" <= u.\"mfa_disabled_at\""

static void test_joined_predicate(void **state)
{
	struct stmt_source src;

	(void)state;
	codes_source(&src, STMT_WALK_USERS);
	src.joined = JOINED_PRED;
	expect_sql(&src, STMT_WINDOW_DELETE,
		   STMT_AFTER | STMT_UPTO | STMT_JOINED,
		"DELETE FROM \"accounts_backupcode\" AS t USING "
		"\"accounts_user\" AS u WHERE u.\"id\" = t.\"user_id\" AND "
		"(" JOINED_PRED ") AND u.ctid >= $2::tid AND u.ctid < $3::tid "
		"AND (NOT u.\"mfa_enrolled\" AND u.\"mfa_disabled_at\" <= "
		"now() - $4::interval)",
		"step0 after upto filter0");
	expect_sql(&src, STMT_WINDOW_DELETE,
		   STMT_EXCLUDED | STMT_AFTER | STMT_JOINED,
		"DELETE FROM \"accounts_backupcode\" AS t USING "
		"\"accounts_user\" AS u WHERE u.\"id\" = t.\"user_id\" AND "
		"(" JOINED_PRED ") AND NOT (t.\"id\" = ANY($2)) AND u.ctid >= "
		"$3::tid AND (NOT u.\"mfa_enrolled\" AND u.\"mfa_disabled_at\" "
		"<= now() - $4::interval)",
		"step0 excluded after filter0");
	/*
	 * Listed windows, capped batches, the keys of refused rows and the
	 * counts keep the predicate: the same text with or without it.
	 */
	expect_unjoined(&src, STMT_WINDOW_DELETE, STMT_AFTER | STMT_UPTO);
	expect_unjoined(&src, STMT_CAPPED_DELETE, STMT_AFTER | STMT_JOINED);
	expect_unjoined(&src, STMT_VICTIM_KEYS,
			STMT_EXCLUDED | STMT_AFTER | STMT_JOINED);
	expect_unjoined(&src, STMT_COUNT, 0);
	/* With the ledger: the deleted rows' users, as before. */
	src.ledger = LEDGER;
	expect_sql(&src, STMT_WINDOW_DELETE,
		   STMT_AFTER | STMT_UPTO | STMT_JOINED,
		"WITH gone AS (DELETE FROM \"accounts_backupcode\" AS t USING "
		"\"accounts_user\" AS u WHERE u.\"id\" = t.\"user_id\" AND "
		"(" JOINED_PRED ") AND u.ctid >= $2::tid AND u.ctid < $3::tid "
		"AND (NOT u.\"mfa_enrolled\" AND u.\"mfa_disabled_at\" <= "
		"now() - $4::interval) RETURNING t.\"user_id\"::text AS "
		"row_user), logged AS (INSERT INTO "
		"\"mfa_sweeper\".\"deletions\" (run_id, rule, table_name, "
		"user_id, rows_deleted) SELECT $5::uuid, $6::text, $7::text, "
		"g.row_user, count(*) FROM gone AS g GROUP BY g.row_user "
		"RETURNING 1) SELECT count(*), count(*), NULL::text FROM gone",
		"step0 after upto filter0 run rule table");

	/* Named users, with a user filter: joined through their ids. */
	codes_source(&src, STMT_WALK_NAMED);
	src.joined = JOINED_PRED;
	expect_sql(&src, STMT_WINDOW_DELETE, STMT_EXCLUDED,
		"DELETE FROM \"accounts_backupcode\" AS t USING "
		"\"accounts_user\" AS u WHERE u.\"id\" = t.\"user_id\" AND "
		"(" JOINED_PRED ") AND NOT (t.\"id\" = ANY($2)) AND u.\"id\" = "
		"ANY($3) AND (NOT u.\"mfa_enrolled\" AND u.\"mfa_disabled_at\" "
		"<= now() - $4::interval)",
		"step0 excluded users filter0");
	/* Without a user filter nothing is joined: the listed users. */
	src.filter = NULL;
	src.nfilter = 0;
	expect_unjoined(&src, STMT_WINDOW_DELETE, 0);
	/* Nor in a walk by blocks. */
	codes_source(&src, STMT_WALK_BLOCKS);
	src.joined = JOINED_PRED;
	expect_unjoined(&src, STMT_WINDOW_DELETE, STMT_AFTER);
}

/* By index: no bounds, no order. */
static void test_index_walk(void **state)
{
	struct stmt_source src;

	(void)state;
	codes_source(&src, STMT_WALK_INDEX);
	/* Until a batch meets a row lock: unlocked, the predicate checked
	 * again by the DELETE. */
	expect_sql(&src, STMT_CAPPED_DELETE, STMT_UNLOCKED,
		"WITH victims AS (SELECT t.tableoid AS row_oid, t.ctid AS "
		"row_ctid, t.\"id\" AS row_key FROM \"accounts_backupcode\" AS "
		"t WHERE (t.\"used\" AND t.\"used_at\" < now() - $1::interval) "
		"LIMIT $2), gone AS (DELETE FROM \"accounts_backupcode\" AS t "
		"WHERE t.ctid = ANY(ARRAY(SELECT row_ctid FROM victims)) AND "
		"(t.\"used\" AND t.\"used_at\" < now() - $1::interval) "
		"RETURNING 1) SELECT (SELECT count(*) FROM gone), (SELECT "
		"count(*) FROM victims), NULL::text",
		"step0 limit");
	/* Then locked, passing over the rows another session holds. */
	expect_sql(&src, STMT_CAPPED_DELETE, 0,
		"WITH victims AS (SELECT t.tableoid AS row_oid, t.ctid AS "
		"row_ctid, t.\"id\" AS row_key FROM \"accounts_backupcode\" AS "
		"t WHERE (t.\"used\" AND t.\"used_at\" < now() - $1::interval) "
		"LIMIT $2 FOR UPDATE OF t SKIP LOCKED), gone AS (DELETE FROM "
		"\"accounts_backupcode\" AS t WHERE t.ctid = ANY(ARRAY(SELECT "
		"row_ctid FROM victims)) RETURNING 1) SELECT (SELECT count(*) "
		"FROM gone), (SELECT count(*) FROM victims), NULL::text",
		"step0 limit");
	expect_sql(&src, STMT_CAPPED_DELETE, STMT_EXCLUDED,
		"WITH victims AS (SELECT t.tableoid AS row_oid, t.ctid AS "
		"row_ctid, t.\"id\" AS row_key FROM \"accounts_backupcode\" AS "
		"t WHERE (t.\"used\" AND t.\"used_at\" < now() - $1::interval) "
		"AND NOT (t.\"id\" = ANY($2)) LIMIT $3 FOR UPDATE OF t SKIP "
		"LOCKED), gone AS (DELETE FROM \"accounts_backupcode\" AS t "
		"WHERE t.ctid = ANY(ARRAY(SELECT row_ctid FROM victims)) "
		"RETURNING 1) SELECT (SELECT count(*) FROM gone), (SELECT "
		"count(*) FROM victims), NULL::text",
		"step0 excluded limit");
	expect_sql(&src, STMT_VICTIM_KEYS,
		   STMT_EXCLUDED | STMT_AFTER | STMT_UPTO,
		"SELECT t.\"id\"::text FROM \"accounts_backupcode\" AS t WHERE "
		"(t.\"used\" AND t.\"used_at\" < now() - $1::interval) AND NOT "
		"(t.\"id\" = ANY($2)) ORDER BY t.\"id\" LIMIT $3 FOR UPDATE OF "
		"t SKIP LOCKED",
		"step0 excluded limit");
	expect_sql(&src, STMT_KEYS_DELETE, STMT_EXCLUDED,
		"WITH victims AS (SELECT t.tableoid AS row_oid, t.ctid AS "
		"row_ctid, t.\"id\" AS row_key FROM \"accounts_backupcode\" AS "
		"t WHERE (t.\"used\" AND t.\"used_at\" < now() - $1::interval) "
		"AND NOT (t.\"id\" = ANY($2)) AND t.\"id\" = ANY($3) ORDER BY "
		"t.\"id\" LIMIT $4 FOR UPDATE OF t SKIP LOCKED), gone AS "
		"(DELETE FROM \"accounts_backupcode\" AS t WHERE t.ctid = "
		"ANY(ARRAY(SELECT row_ctid FROM victims)) RETURNING 1) SELECT "
		"(SELECT count(*) FROM gone), (SELECT count(*) FROM victims), "
		"(SELECT v.row_key::text FROM victims AS v ORDER BY v.row_key "
		"DESC LIMIT 1)",
		"step0 excluded keys limit");
	/* With the ledger: each batch records its deletions per user. */
	src.ledger = LEDGER;
	expect_sql(&src, STMT_CAPPED_DELETE, STMT_AFTER | STMT_UPTO,
		"WITH victims AS (SELECT t.tableoid AS row_oid, t.ctid AS "
		"row_ctid, t.\"id\" AS row_key FROM \"accounts_backupcode\" AS "
		"t WHERE (t.\"used\" AND t.\"used_at\" < now() - $1::interval) "
		"LIMIT $2 FOR UPDATE OF t SKIP LOCKED), gone AS (DELETE FROM "
		"\"accounts_backupcode\" AS t WHERE t.ctid = ANY(ARRAY(SELECT "
		"row_ctid FROM victims)) RETURNING t.\"user_id\"::text AS "
		"row_user), logged AS (INSERT INTO "
		"\"mfa_sweeper\".\"deletions\" (run_id, rule, table_name, "
		"user_id, rows_deleted) SELECT $3::uuid, $4::text, $5::text, "
		"g.row_user, count(*) FROM gone AS g GROUP BY g.row_user "
		"RETURNING 1) SELECT (SELECT count(*) FROM gone), (SELECT "
		"count(*) FROM victims), NULL::text",
		"step0 limit run rule table");
}

/*
 * By key: key ranges in key order; the key window's end read from the
 * key's index alone.
 */
static void test_key_walk(void **state)
{
	struct stmt_source src;

	(void)state;
	codes_source(&src, STMT_WALK_KEY);
	expect_sql(&src, STMT_CAPPED_DELETE, STMT_UPTO,
		"WITH victims AS (SELECT t.tableoid AS row_oid, t.ctid AS "
		"row_ctid, t.\"id\" AS row_key FROM \"accounts_backupcode\" AS "
		"t WHERE (t.\"used\" AND t.\"used_at\" < now() - $1::interval) "
		"AND t.\"id\" <= $2 ORDER BY t.\"id\" LIMIT $3 FOR UPDATE OF t "
		"SKIP LOCKED), gone AS (DELETE FROM \"accounts_backupcode\" AS "
		"t WHERE t.ctid = ANY(ARRAY(SELECT row_ctid FROM victims)) "
		"RETURNING 1) SELECT (SELECT count(*) FROM gone), (SELECT "
		"count(*) FROM victims), (SELECT v.row_key::text FROM victims "
		"AS v ORDER BY v.row_key DESC LIMIT 1)",
		"step0 upto limit");
	expect_sql(&src, STMT_CAPPED_DELETE, STMT_AFTER | STMT_UPTO,
		"WITH victims AS (SELECT t.tableoid AS row_oid, t.ctid AS "
		"row_ctid, t.\"id\" AS row_key FROM \"accounts_backupcode\" AS "
		"t WHERE (t.\"used\" AND t.\"used_at\" < now() - $1::interval) "
		"AND t.\"id\" > $2 AND t.\"id\" <= $3 ORDER BY t.\"id\" LIMIT "
		"$4 FOR UPDATE OF t SKIP LOCKED), gone AS (DELETE FROM "
		"\"accounts_backupcode\" AS t WHERE t.ctid = ANY(ARRAY(SELECT "
		"row_ctid FROM victims)) RETURNING 1) SELECT (SELECT count(*) "
		"FROM gone), (SELECT count(*) FROM victims), (SELECT "
		"v.row_key::text FROM victims AS v ORDER BY v.row_key DESC "
		"LIMIT 1)",
		"step0 after upto limit");
	expect_sql(&src, STMT_CAPPED_DELETE, STMT_AFTER,
		"WITH victims AS (SELECT t.tableoid AS row_oid, t.ctid AS "
		"row_ctid, t.\"id\" AS row_key FROM \"accounts_backupcode\" AS "
		"t WHERE (t.\"used\" AND t.\"used_at\" < now() - $1::interval) "
		"AND t.\"id\" > $2 ORDER BY t.\"id\" LIMIT $3 FOR UPDATE OF t "
		"SKIP LOCKED), gone AS (DELETE FROM \"accounts_backupcode\" AS "
		"t WHERE t.ctid = ANY(ARRAY(SELECT row_ctid FROM victims)) "
		"RETURNING 1) SELECT (SELECT count(*) FROM gone), (SELECT "
		"count(*) FROM victims), (SELECT v.row_key::text FROM victims "
		"AS v ORDER BY v.row_key DESC LIMIT 1)",
		"step0 after limit");
	expect_sql(&src, STMT_CAPPED_DELETE,
		   STMT_EXCLUDED | STMT_AFTER | STMT_UPTO,
		"WITH victims AS (SELECT t.tableoid AS row_oid, t.ctid AS "
		"row_ctid, t.\"id\" AS row_key FROM \"accounts_backupcode\" AS "
		"t WHERE (t.\"used\" AND t.\"used_at\" < now() - $1::interval) "
		"AND NOT (t.\"id\" = ANY($2)) AND t.\"id\" > $3 AND t.\"id\" "
		"<= $4 ORDER BY t.\"id\" LIMIT $5 FOR UPDATE OF t SKIP "
		"LOCKED), gone AS (DELETE FROM \"accounts_backupcode\" AS t "
		"WHERE t.ctid = ANY(ARRAY(SELECT row_ctid FROM victims)) "
		"RETURNING 1) SELECT (SELECT count(*) FROM gone), (SELECT "
		"count(*) FROM victims), (SELECT v.row_key::text FROM victims "
		"AS v ORDER BY v.row_key DESC LIMIT 1)",
		"step0 excluded after upto limit");
	expect_sql(&src, STMT_VICTIM_KEYS,
		   STMT_EXCLUDED | STMT_AFTER | STMT_UPTO,
		"SELECT t.\"id\"::text FROM \"accounts_backupcode\" AS t WHERE "
		"(t.\"used\" AND t.\"used_at\" < now() - $1::interval) AND NOT "
		"(t.\"id\" = ANY($2)) AND t.\"id\" > $3 AND t.\"id\" <= $4 "
		"ORDER BY t.\"id\" LIMIT $5 FOR UPDATE OF t SKIP LOCKED",
		"step0 excluded after upto limit");
	expect_sql(&src, STMT_KEYS_DELETE, STMT_EXCLUDED,
		"WITH victims AS (SELECT t.tableoid AS row_oid, t.ctid AS "
		"row_ctid, t.\"id\" AS row_key FROM \"accounts_backupcode\" AS "
		"t WHERE (t.\"used\" AND t.\"used_at\" < now() - $1::interval) "
		"AND NOT (t.\"id\" = ANY($2)) AND t.\"id\" = ANY($3) ORDER BY "
		"t.\"id\" LIMIT $4 FOR UPDATE OF t SKIP LOCKED), gone AS "
		"(DELETE FROM \"accounts_backupcode\" AS t WHERE t.ctid = "
		"ANY(ARRAY(SELECT row_ctid FROM victims)) RETURNING 1) SELECT "
		"(SELECT count(*) FROM gone), (SELECT count(*) FROM victims), "
		"(SELECT v.row_key::text FROM victims AS v ORDER BY v.row_key "
		"DESC LIMIT 1)",
		"step0 excluded keys limit");
	expect_sql(&src, STMT_KEY_WINDOW, 0,
		"SELECT t.\"id\"::text FROM \"accounts_backupcode\" AS t WHERE "
		"true ORDER BY t.\"id\" OFFSET $1 LIMIT 1",
		"offset");
	expect_sql(&src, STMT_KEY_WINDOW, STMT_AFTER | STMT_UPTO,
		"SELECT t.\"id\"::text FROM \"accounts_backupcode\" AS t WHERE "
		"true AND t.\"id\" > $1 AND t.\"id\" <= $2 ORDER BY t.\"id\" "
		"OFFSET $3 LIMIT 1",
		"after upto offset");
	/* With the ledger: each batch records its deletions per user. */
	src.ledger = LEDGER;
	expect_sql(&src, STMT_CAPPED_DELETE, STMT_AFTER | STMT_UPTO,
		"WITH victims AS (SELECT t.tableoid AS row_oid, t.ctid AS "
		"row_ctid, t.\"id\" AS row_key FROM \"accounts_backupcode\" AS "
		"t WHERE (t.\"used\" AND t.\"used_at\" < now() - $1::interval) "
		"AND t.\"id\" > $2 AND t.\"id\" <= $3 ORDER BY t.\"id\" LIMIT "
		"$4 FOR UPDATE OF t SKIP LOCKED), gone AS (DELETE FROM "
		"\"accounts_backupcode\" AS t WHERE t.ctid = ANY(ARRAY(SELECT "
		"row_ctid FROM victims)) RETURNING t.\"user_id\"::text AS "
		"row_user), logged AS (INSERT INTO "
		"\"mfa_sweeper\".\"deletions\" (run_id, rule, table_name, "
		"user_id, rows_deleted) SELECT $5::uuid, $6::text, $7::text, "
		"g.row_user, count(*) FROM gone AS g GROUP BY g.row_user "
		"RETURNING 1) SELECT (SELECT count(*) FROM gone), (SELECT "
		"count(*) FROM victims), (SELECT v.row_key::text FROM victims "
		"AS v ORDER BY v.row_key DESC LIMIT 1)",
		"step0 after upto limit run rule table");
}

/*
 * Counts: the planner's estimate; a dry run's count passes over the rows
 * an earlier step on the table deletes (user_disabled's codes step before
 * used_backup_codes), its placeholders moved past the step's own, and in
 * a scoped run keeps to the named users, the earlier step's too.
 */
static void test_counts(void **state)
{
	struct stmt_earlier earlier = {
		"t.\"user_id\" IN (SELECT u.\"id\" FROM \"accounts_user\" AS u "
		"WHERE u.\"mfa_disabled_at\" <= now() - $1::interval)", 1, NULL
	};
	struct stmt_source src;

	(void)state;
	codes_source(&src, STMT_WALK_KEY);
	expect_sql(&src, STMT_ESTIMATE, 0,
		"SELECT count(*) FROM \"accounts_backupcode\" AS t WHERE "
		"(t.\"used\" AND t.\"used_at\" < now() - $1::interval)",
		"step0");
	src.earlier = &earlier;
	src.nearlier = 1;
	expect_sql(&src, STMT_COUNT, 0,
		"SELECT count(*) FROM \"accounts_backupcode\" AS t WHERE "
		"(t.\"used\" AND t.\"used_at\" < now() - $1::interval) AND NOT "
		"coalesce((t.\"user_id\" IN (SELECT u.\"id\" FROM "
		"\"accounts_user\" AS u WHERE u.\"mfa_disabled_at\" <= now() - "
		"$2::interval)), false)",
		"step0 earlier0.0");
	/* The estimate never passes over earlier steps. */
	expect_sql(&src, STMT_ESTIMATE, 0,
		"SELECT count(*) FROM \"accounts_backupcode\" AS t WHERE "
		"(t.\"used\" AND t.\"used_at\" < now() - $1::interval)",
		"step0");
	src.scoped = 1;
	earlier.user = "\"user_id\"";
	expect_sql(&src, STMT_COUNT, 0,
		"SELECT count(*) FROM \"accounts_backupcode\" AS t WHERE "
		"(t.\"used\" AND t.\"used_at\" < now() - $1::interval) AND "
		"t.\"user_id\" = ANY($2) AND NOT coalesce((t.\"user_id\" IN "
		"(SELECT u.\"id\" FROM \"accounts_user\" AS u WHERE "
		"u.\"mfa_disabled_at\" <= now() - $3::interval)) AND "
		"t.\"user_id\" = ANY($4), false)",
		"step0 scope earlier0.0 scope");
	/* The users the filter keeps, counted no further than the limit. */
	expect_sql(&src, STMT_FEW_USERS, 0,
		"SELECT count(*) FROM (SELECT 1 FROM \"accounts_user\" AS u "
		"WHERE (NOT u.\"mfa_enrolled\" AND u.\"mfa_disabled_at\" <= "
		"now() - $1::interval) LIMIT $2) AS few",
		"filter0 limit");
	src.filter = NULL;
	expect_refused(&src, STMT_FEW_USERS, 0, "needs the users table and a user filter");
}

/*
 * A partitioned table matches victims on (tableoid, ctid); a table
 * without a key still walks by blocks, with no key to return.
 */
static void test_many_tables_and_no_key(void **state)
{
	struct stmt_source src;

	(void)state;
	codes_source(&src, STMT_WALK_KEY);
	src.many_tables = 1;
	expect_sql(&src, STMT_CAPPED_DELETE, STMT_AFTER | STMT_UPTO,
		"WITH victims AS (SELECT t.tableoid AS row_oid, t.ctid AS "
		"row_ctid, t.\"id\" AS row_key FROM \"accounts_backupcode\" AS "
		"t WHERE (t.\"used\" AND t.\"used_at\" < now() - $1::interval) "
		"AND t.\"id\" > $2 AND t.\"id\" <= $3 ORDER BY t.\"id\" LIMIT "
		"$4 FOR UPDATE OF t SKIP LOCKED), gone AS (DELETE FROM "
		"\"accounts_backupcode\" AS t USING victims AS v WHERE "
		"t.tableoid = v.row_oid AND t.ctid = v.row_ctid RETURNING 1) "
		"SELECT (SELECT count(*) FROM gone), (SELECT count(*) FROM "
		"victims), (SELECT v.row_key::text FROM victims AS v ORDER BY "
		"v.row_key DESC LIMIT 1)",
		"step0 after upto limit");
	src.key = NULL;
	expect_refused(&src, STMT_CAPPED_DELETE, STMT_AFTER | STMT_UPTO,
		       "no key");
	expect_refused(&src, STMT_VICTIM_KEYS, 0, "no key");
	src.walk = STMT_WALK_BLOCKS;
	expect_refused(&src, STMT_WINDOW_DELETE, STMT_EXCLUDED, "no key");
	expect_sql(&src, STMT_CAPPED_DELETE, STMT_AFTER | STMT_UPTO,
		"WITH victims AS (SELECT t.tableoid AS row_oid, t.ctid AS "
		"row_ctid, NULL::text AS row_key FROM \"accounts_backupcode\" "
		"AS t WHERE (t.\"used\" AND t.\"used_at\" < now() - "
		"$1::interval) AND t.ctid >= $2::tid AND t.ctid < $3::tid "
		"LIMIT $4 FOR UPDATE OF t SKIP LOCKED), gone AS (DELETE FROM "
		"\"accounts_backupcode\" AS t USING victims AS v WHERE "
		"t.tableoid = v.row_oid AND t.ctid = v.row_ctid RETURNING 1) "
		"SELECT (SELECT count(*) FROM gone), (SELECT count(*) FROM "
		"victims), NULL::text",
		"step0 after upto limit");
}

/* What a walk needs and lacks is an error, not a broken statement. */
static void test_refused_sources(void **state)
{
	struct stmt_source src;

	(void)state;
	codes_source(&src, STMT_WALK_KEY);
	expect_refused(&src, STMT_WINDOW_DELETE, 0, "windowed");
	codes_source(&src, STMT_WALK_USERS);
	src.user = NULL;
	expect_refused(&src, STMT_WINDOW_DELETE, STMT_AFTER, "user column");
	codes_source(&src, STMT_WALK_USERS);
	src.filter = NULL;
	expect_refused(&src, STMT_WINDOW_DELETE, STMT_AFTER, "user filter");
	/* A placeholder beyond the rule's parameters. */
	codes_source(&src, STMT_WALK_USERS);
	src.filter = "u.\"mfa_disabled_at\" <= now() - $2::interval";
	expect_refused(&src, STMT_WINDOW_DELETE, STMT_AFTER,
		       "beyond its parameters");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_blocks_walk),
		cmocka_unit_test(test_users_walk),
		cmocka_unit_test(test_named_walk),
		cmocka_unit_test(test_joined_predicate),
		cmocka_unit_test(test_index_walk),
		cmocka_unit_test(test_key_walk),
		cmocka_unit_test(test_counts),
		cmocka_unit_test(test_many_tables_and_no_key),
		cmocka_unit_test(test_refused_sources),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
