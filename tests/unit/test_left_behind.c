/*
 * test_left_behind.c: the pieces around rows the database refuses to
 * delete that need no database: which SQLSTATEs count as a row's refusal,
 * how a step's refused rows appear in the JSON summary, the Slack message
 * and the metrics file, and the size logic that lets add_step() read the
 * time columns of new plugins without reading past the step of an old one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "metrics.h"
#include "refused.h"
#include "rule.h"
#include "strbuf.h"
#include "summary.h"
#include "summary_json.h"
#include "webhook_payload.h"
#include "xalloc.h"

static void test_refused_reason(void **state)
{
	static const char *const rows[] = {
		"23000", "23001", "23502", "23503", "23505", "23514", "23P01",
		"P0000", "P0001", "P0002", "P0003", "P0004", "09000", "27000",
	};
	static const char *const batches[] = {
		"", "40P01", "55P03", "40001", "57014", "22012", "42703",
		"08006", "XX000", "2300", "230000", "P000",
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		if (!refused_reason(rows[i]))
			fail_msg("%s is a row's refusal", rows[i]);
	}
	for (i = 0; i < sizeof(batches) / sizeof(batches[0]); i++) {
		if (refused_reason(batches[i]))
			fail_msg("%s is not a row's refusal", batches[i]);
	}
	assert_null(refused_reason(NULL));
	assert_string_equal(refused_reason("23503"),
			    "integrity constraint violation");
	assert_string_equal(refused_reason("P0001"), "raised by a trigger");
}

static void test_strip_state(void **state)
{
	char a[] = "row 5 is on legal hold (SQLSTATE P0001)";
	char b[] = "no state here";
	char c[] = "(SQLSTATE 23503)";
	char d[] = "odd (SQLSTATE 23503";

	(void)state;
	refused_strip_state(a);
	refused_strip_state(b);
	refused_strip_state(c);
	refused_strip_state(d);
	assert_string_equal(a, "row 5 is on legal hold");
	assert_string_equal(b, "no state here");
	assert_string_equal(c, "(SQLSTATE 23503)");
	assert_string_equal(d, "odd (SQLSTATE 23503");
}

/* A finished run of one rule whose second step left three rows, two of
 * them recorded one by one. */
struct fake_run {
	struct run_summary s;
	struct rule_result rule;
	struct step_result steps[2];
};

static void fake_run(struct fake_run *f, int dry_run)
{
	struct step_result *st = &f->steps[1];

	memset(f, 0, sizeof(*f));
	f->steps[0].table = "accounts_backupcode";
	f->steps[0].label = "backup codes";
	f->steps[0].deleted = 10;
	st->table = "otp_totp_totpdevice";
	st->label = "totp devices";
	st->deleted = 5;
	st->left_behind = 3;
	st->nrefused = 2;
	st->refused[0].key = xstrdup("17");
	snprintf(st->refused[0].sqlstate, 6, "23503");
	st->refused[0].constraint = xstrdup("app_fk");
	st->refused[0].error = xstrdup("violates foreign key constraint \"app_fk\"");
	st->refused[1].key = xstrdup("40");
	snprintf(st->refused[1].sqlstate, 6, "P0001");
	st->refused[1].error = xstrdup("device 40 <pinned> & kept");
	f->rule.name = "user_disabled";
	f->rule.status = RUN_PARTIAL;
	f->rule.steps = f->steps;
	f->rule.nsteps = 2;
	f->rule.deleted = 15;
	f->rule.left_behind = 3;
	f->s.rules = &f->rule;
	f->s.nrules = 1;
	f->s.dry_run = dry_run;
	snprintf(f->s.host, sizeof(f->s.host), "db-cron-1");
	snprintf(f->s.run_id, sizeof(f->s.run_id), "run");
	summary_finish(&f->s);
}

static void fake_free(struct fake_run *f)
{
	size_t i;

	for (i = 0; i < f->steps[1].nrefused; i++) {
		free(f->steps[1].refused[i].key);
		free(f->steps[1].refused[i].constraint);
		free(f->steps[1].refused[i].error);
	}
}

static void test_summary_json(void **state)
{
	struct fake_run f;
	json_t *doc, *step;
	const char *text;

	(void)state;
	fake_run(&f, 0);
	assert_int_equal(f.s.left_behind_total, 3);
	/* The rule's status stands: partial, not failed. */
	assert_int_equal(f.s.status, RUN_PARTIAL);
	doc = summary_json(&f.s);
	assert_int_equal(json_integer_value(json_object_get(doc,
			 "left_behind_total")), 3);
	step = json_array_get(json_object_get(json_array_get(
		json_object_get(doc, "rules"), 0), "steps"), 1);
	assert_int_equal(json_integer_value(json_object_get(step,
			 "left_behind")), 3);
	assert_int_equal(json_array_size(json_object_get(step,
			 "left_behind_rows")), 2);
	text = json_string_value(json_object_get(json_array_get(
		json_object_get(step, "left_behind_rows"), 0), "constraint"));
	assert_string_equal(text, "app_fk");
	assert_true(json_is_null(json_object_get(json_array_get(
		json_object_get(step, "left_behind_rows"), 1), "constraint")));
	/* A step that left nothing says so. */
	step = json_array_get(json_object_get(json_array_get(
		json_object_get(doc, "rules"), 0), "steps"), 0);
	assert_int_equal(json_integer_value(json_object_get(step,
			 "left_behind")), 0);
	json_decref(doc);
	fake_free(&f);

	/* A dry run deletes nothing, and has no such fields. */
	fake_run(&f, 1);
	doc = summary_json(&f.s);
	assert_null(json_object_get(doc, "left_behind_total"));
	json_decref(doc);
	fake_free(&f);
}

static void test_refused_text(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	struct fake_run f;

	(void)state;
	fake_run(&f, 0);
	summary_refused_text(&sb, &f.steps[0]);
	assert_int_equal(sb.len, 0);
	summary_refused_text(&sb, &f.steps[1]);
	assert_string_equal(strbuf_str(&sb),
			    "3 rows left behind, refused by the database: key 17 "
			    "(23503, constraint \"app_fk\"), key 40 (P0001: device "
			    "40 <pinned> & kept) and 1 more");
	strbuf_release(&sb);
	fake_free(&f);
}

static void test_slack_and_metrics(void **state)
{
	struct strbuf sb = STRBUF_INIT;
	struct fake_run f;
	char *body;

	(void)state;
	fake_run(&f, 0);
	body = webhook_payload(WEBHOOK_FORMAT_SLACK, &f.s);
	assert_non_null(body);
	/* Slack's markup characters in a trigger's message are escaped. */
	if (!strstr(body, "`otp_totp_totpdevice`: 3 rows left behind, refused by the database: key 17"))
		fail_msg("no rows left behind in the Slack message: %s", body);
	if (!strstr(body, "device 40 &lt;pinned&gt; &amp; kept"))
		fail_msg("the trigger's message is not escaped: %s", body);
	if (!strstr(body, "3 left behind"))
		fail_msg("no total in the Slack text: %s", body);
	free(body);

	/* Long messages are cut in the Slack line, at a character boundary,
	 * and the rule's line stays. */
	{
		char *long_msg = xmalloc(3001);
		size_t i;

		for (i = 0; i < 3000; i += 2)
			memcpy(long_msg + i, "\xc3\xa9", 2);
		long_msg[3000] = '\0';
		free(f.steps[1].refused[1].error);
		f.steps[1].refused[1].error = long_msg;
		body = webhook_payload(WEBHOOK_FORMAT_SLACK, &f.s);
		assert_non_null(body);
		if (!strstr(body, "`user_disabled`: partial"))
			fail_msg("the rule's line is gone: %s", body);
		if (strstr(body, "more rule"))
			fail_msg("the rule was left out: %s", body);
		free(body);
	}

	/* A series for the table that left rows, none for the other. */
	metrics_render(&sb, &f.s, "0");
	if (!strstr(strbuf_str(&sb), "\nmfa_sweeper_rows_left_behind{rule=\"user_disabled\",table=\"otp_totp_totpdevice\"} 3\n") ||
	    strstr(strbuf_str(&sb), "mfa_sweeper_rows_left_behind{rule=\"user_disabled\",table=\"accounts_backupcode\"}") ||
	    !strstr(strbuf_str(&sb), "# TYPE mfa_sweeper_rows_left_behind gauge\n"))
		fail_msg("no rows_left_behind gauge:\n%s", strbuf_str(&sb));
	strbuf_release(&sb);
	fake_free(&f);
}

/* struct sweeper_step as plugins built against the first ABI 1 header
 * lay it out, followed by bytes the host must not read. */
struct old_step {
	uint32_t size;
	const char *table;
	const char *key_column;
	const char *user_column;
	const char *predicate;
	int nparams;
	const char *const *params;
	const char *label;
	unsigned char poison[32];
};

static void test_add_step_sizes(void **state)
{
	const struct sweeper_time_column cols[2] = {
		{ "accounts_user", "mfa_disabled_at" }, { NULL, "created_at" }
	};
	struct sweeper_step step;
	struct old_step old;
	struct rule r;
	int rc;

	(void)state;
	memset(&r, 0, sizeof(r));
	r.ctx.rule = &r;
	r.name = xstrdup("t");
	r.phase = RULE_PHASE_PLAN;

	/* An old step: the bytes after it look like a huge count. */
	memset(&old, 0xff, sizeof(old));
	old.size = (uint32_t)offsetof(struct old_step, poison);
	old.table = "accounts_backupcode";
	old.key_column = "id";
	old.user_column = NULL;
	old.predicate = "true";
	old.nparams = 0;
	old.params = NULL;
	old.label = NULL;
	assert_int_equal(old.size, offsetof(struct sweeper_step, ntime_columns));
	rc = host_api()->add_step(&r.ctx, (const struct sweeper_step *)(const void *)&old);
	assert_int_equal(rc, SWEEPER_OK);
	assert_int_equal(r.steps[0].time_declared, 0);
	assert_int_equal(r.steps[0].ntime_columns, 0);

	/* A new step with two columns: the NULL table is the step's. */
	memset(&step, 0, sizeof(step));
	step.size = sizeof(step);
	step.table = "accounts_backupcode";
	step.key_column = "id";
	step.predicate = "true";
	step.ntime_columns = 2;
	step.time_columns = cols;
	assert_int_equal(host_api()->add_step(&r.ctx, &step), SWEEPER_OK);
	assert_int_equal(r.steps[1].time_declared, 1);
	assert_int_equal(r.steps[1].ntime_columns, 2);
	assert_string_equal(r.steps[1].time_columns[0].table, "accounts_user");
	assert_string_equal(r.steps[1].time_columns[1].table,
			    "accounts_backupcode");
	assert_string_equal(r.steps[1].time_columns[1].column, "created_at");

	/* Declaring none is declaring. */
	step.ntime_columns = 0;
	step.time_columns = NULL;
	assert_int_equal(host_api()->add_step(&r.ctx, &step), SWEEPER_OK);
	assert_int_equal(r.steps[2].time_declared, 1);

	/* Malformed declarations are refused, and add nothing. */
	step.ntime_columns = SWEEPER_MAX_TIME_COLUMNS + 1;
	step.time_columns = cols;
	assert_int_equal(host_api()->add_step(&r.ctx, &step), SWEEPER_ERR_RANGE);
	step.ntime_columns = 1;
	step.time_columns = NULL;
	assert_int_equal(host_api()->add_step(&r.ctx, &step), SWEEPER_ERR_RANGE);
	step.ntime_columns = -1;
	assert_int_equal(host_api()->add_step(&r.ctx, &step), SWEEPER_ERR_RANGE);
	{
		const struct sweeper_time_column nameless[1] = { { NULL, "" } };

		step.ntime_columns = 1;
		step.time_columns = nameless;
		assert_int_equal(host_api()->add_step(&r.ctx, &step),
				 SWEEPER_ERR_RANGE);
	}
	assert_int_equal(r.nsteps, 3);
	rule_close(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_refused_reason),
		cmocka_unit_test(test_strip_state),
		cmocka_unit_test(test_summary_json),
		cmocka_unit_test(test_refused_text),
		cmocka_unit_test(test_slack_and_metrics),
		cmocka_unit_test(test_add_step_sizes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
