/*
 * test_observability.c: the metrics file's text and its atomic write, the
 * summary's JSON from text that is not UTF-8, the progress line's text and
 * the planner's row estimate.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "estimate.h"
#include "metrics.h"
#include "progress.h"
#include "strbuf.h"
#include "summary.h"
#include "summary_json.h"
#include "webhook_payload.h"

/* A finished run of one rule with the given steps. */
struct fake_run {
	struct run_summary s;
	struct rule_result rule;
	struct step_result steps[3];
};

static void fake_run(struct fake_run *f, enum run_status status,
		     const char *rule, const char *const *tables,
		     const long long *rows, size_t nsteps)
{
	size_t i;

	memset(f, 0, sizeof(*f));
	for (i = 0; i < nsteps; i++) {
		f->steps[i].table = tables[i];
		f->steps[i].label = tables[i];
		f->steps[i].deleted = rows[i];
	}
	f->rule.name = rule;
	f->rule.status = status;
	f->rule.steps = f->steps;
	f->rule.nsteps = nsteps;
	f->s.rules = &f->rule;
	f->s.nrules = 1;
	f->s.status = status;
	f->s.finished_at.tv_sec = 1764100000;
	f->s.finished_at.tv_nsec = 250000000;
	f->s.duration_ms = 61042;
}

static void assert_has_line(const char *text, const char *line)
{
	const char *p = text;
	size_t n = strlen(line);

	while ((p = strstr(p, line)) != NULL) {
		if ((p == text || p[-1] == '\n') && p[n] == '\n')
			return;
		p += n;
	}
	fail_msg("no line \"%s\" in:\n%s", line, text);
}

static void test_metrics_render_ok(void **state)
{
	static const char *const tables[] = { "codes", "devices", "codes" };
	static const long long rows[] = { 5, 7, 11 };
	struct strbuf sb = STRBUF_INIT;
	struct fake_run f;
	const char *t;

	(void)state;
	fake_run(&f, RUN_OK, "r1", tables, rows, 3);
	metrics_render(&sb, &f.s, "123.000");
	t = strbuf_str(&sb);
	assert_has_line(t, "# HELP mfa_sweeper_last_run_timestamp_seconds Unix time the last mfa-sweeper run ended.");
	assert_has_line(t, "# TYPE mfa_sweeper_last_run_timestamp_seconds gauge");
	assert_has_line(t, "mfa_sweeper_last_run_timestamp_seconds 1764100000.250");
	/* An ok run is its own last success, whatever the file said. */
	assert_has_line(t, "mfa_sweeper_last_success_timestamp_seconds 1764100000.250");
	assert_has_line(t, "mfa_sweeper_run_duration_seconds 61.042");
	/* Two steps on one table make one series. */
	assert_has_line(t, "mfa_sweeper_rows_deleted{rule=\"r1\",table=\"codes\"} 16");
	assert_has_line(t, "mfa_sweeper_rows_deleted{rule=\"r1\",table=\"devices\"} 7");
	assert_null(strstr(strstr(t, "table=\"codes\"") + 1, "table=\"codes\""));
	assert_has_line(t, "mfa_sweeper_run_status{status=\"ok\"} 1");
	assert_has_line(t, "mfa_sweeper_run_status{status=\"partial\"} 0");
	assert_has_line(t, "mfa_sweeper_run_status{status=\"failed\"} 0");
	assert_has_line(t, "mfa_sweeper_run_status{status=\"skipped\"} 0");
	assert_has_line(t, "mfa_sweeper_run_status{status=\"interrupted\"} 0");
	strbuf_release(&sb);
}

static void test_metrics_render_not_ok(void **state)
{
	static const char *const tables[] = { "we\"ird\\ta\nble" };
	static const long long rows[] = { 3 };
	struct strbuf sb = STRBUF_INIT;
	struct fake_run f;

	(void)state;
	fake_run(&f, RUN_FAILED, "r\"1", tables, rows, 1);
	metrics_render(&sb, &f.s, "123.500");
	assert_has_line(strbuf_str(&sb), "mfa_sweeper_last_success_timestamp_seconds 123.500");
	/* Label values escape backslash, double quote and newline. */
	assert_has_line(strbuf_str(&sb),
			"mfa_sweeper_rows_deleted{rule=\"r\\\"1\",table=\"we\\\"ird\\\\ta\\nble\"} 3");
	assert_has_line(strbuf_str(&sb), "mfa_sweeper_run_status{status=\"failed\"} 1");
	assert_has_line(strbuf_str(&sb), "mfa_sweeper_run_status{status=\"ok\"} 0");
	strbuf_release(&sb);

	/* Never succeeded: 0. */
	metrics_render(&sb, &f.s, NULL);
	assert_has_line(strbuf_str(&sb), "mfa_sweeper_last_success_timestamp_seconds 0");
	strbuf_release(&sb);
}

/* Found by fuzzing (tests/fuzz/corpus/summary/partial_stopped and
 * invalid_utf8): both made the collector refuse the whole file. */
static void test_metrics_render_odd_values(void **state)
{
	static const char *const tables[] = { "codes\xff" };
	static const long long rows[] = { 3 };
	struct strbuf sb = STRBUF_INIT;
	struct fake_run f;

	(void)state;
	fake_run(&f, RUN_OK, "r1", tables, rows, 1);
	/* The wall clock stepped back during the run. */
	f.s.duration_ms = -1500;
	metrics_render(&sb, &f.s, NULL);
	assert_has_line(strbuf_str(&sb), "mfa_sweeper_run_duration_seconds -1.500");
	/* A label that is not UTF-8 gets U+FFFD for the bad byte. */
	assert_has_line(strbuf_str(&sb),
			"mfa_sweeper_rows_deleted{rule=\"r1\",table=\"codes\xef\xbf\xbd\"} 3");
	strbuf_release(&sb);
}

/*
 * Found by fuzzing (tests/fuzz/corpus/summary/invalid_utf8): jansson
 * refuses a string that is not UTF-8, and the member went missing from
 * --json and the webhook, e.g. a rule's "error" quoting a host name.
 */
static void test_summary_json_not_utf8(void **state)
{
	static const char *const tables[] = { "codes" };
	static const long long rows[] = { 3 };
	struct fake_run f;
	json_t *doc, *rule;
	char *body;

	(void)state;
	fake_run(&f, RUN_FAILED, "r1", tables, rows, 1);
	f.rule.error = (char *)"no host \"db\xff\"";
	f.s.error = (char *)"\xc3(";
	doc = summary_json(&f.s);
	rule = json_array_get(json_object_get(doc, "rules"), 0);
	assert_string_equal(json_string_value(json_object_get(rule, "error")),
			    "no host \"db\xef\xbf\xbd\"");
	assert_string_equal(json_string_value(json_object_get(doc, "error")),
			    "\xef\xbf\xbd(");
	/* Text that is UTF-8 is left as it is. */
	assert_string_equal(json_string_value(json_object_get(rule, "name")),
			    "r1");
	json_decref(doc);

	/* The Slack body keeps its one-line text too. */
	body = webhook_payload(WEBHOOK_FORMAT_SLACK, &f.s);
	assert_non_null(body);
	doc = json_loads(body, 0, NULL);
	assert_non_null(doc);
	assert_non_null(strstr(json_string_value(json_object_get(doc, "text")),
			       "\xef\xbf\xbd("));
	json_decref(doc);
	free(body);
}

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 65536);

	assert_non_null(f);
	assert_non_null(buf);
	assert_true(fread(buf, 1, 65535, f) > 0);
	fclose(f);
	return buf;
}

static void test_metrics_write_carries_success(void **state)
{
	static const char *const tables[] = { "codes" };
	static const long long rows[] = { 2 };
	char dir[] = "/tmp/mfa-sweeper-unit-metrics.XXXXXX";
	char path[128], err[512];
	struct fake_run f;
	struct stat st;
	char *text;
	FILE *w;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/m.prom", dir);

	fake_run(&f, RUN_OK, "r", tables, rows, 1);
	assert_int_equal(metrics_write(path, &f.s, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);

	fake_run(&f, RUN_SKIPPED, "r", tables, rows, 0);
	f.s.finished_at.tv_sec += 86400;
	assert_int_equal(metrics_write(path, &f.s, err, sizeof(err)), 0);
	text = read_all(path);
	assert_has_line(text, "mfa_sweeper_last_success_timestamp_seconds 1764100000.250");
	assert_has_line(text, "mfa_sweeper_last_run_timestamp_seconds 1764186400.250");
	assert_has_line(text, "mfa_sweeper_run_status{status=\"skipped\"} 1");
	free(text);

	/* A value that is not a number is not carried into the file. */
	w = fopen(path, "w");
	assert_non_null(w);
	fputs("mfa_sweeper_last_success_timestamp_seconds 12x\n", w);
	fclose(w);
	assert_int_equal(metrics_write(path, &f.s, err, sizeof(err)), 0);
	text = read_all(path);
	assert_has_line(text, "mfa_sweeper_last_success_timestamp_seconds 0");
	free(text);

	/* A missing directory: an error naming the path and the reason. */
	snprintf(path, sizeof(path), "%s/nope/m.prom", dir);
	assert_int_equal(metrics_write(path, &f.s, err, sizeof(err)), -1);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "No such file or directory"));
	assert_int_equal(metrics_check(path, err, sizeof(err)), -1);

	snprintf(path, sizeof(path), "%s/m.prom", dir);
	assert_int_equal(metrics_check(path, err, sizeof(err)), 0);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rmdir(dir), 0);
}

static void test_progress_format(void **state)
{
	char buf[256];

	(void)state;
	progress_format(buf, sizeof(buf), 1000, 2000, -1);
	assert_string_equal(buf, "1000 rows deleted, 500 rows/s, elapsed 2.0s");
	progress_format(buf, sizeof(buf), 1000, 2000, 61000);
	assert_string_equal(buf, "1000 rows deleted, 500 rows/s, elapsed 2.0s, "
			    "~60000 left, ETA 2m00s");
	/* The estimate was low: never negative, no ETA. */
	progress_format(buf, sizeof(buf), 1000, 2000, 10);
	assert_string_equal(buf, "1000 rows deleted, 500 rows/s, elapsed 2.0s, ~0 left");
	/* Nothing deleted yet: no rate, so no ETA. */
	progress_format(buf, sizeof(buf), 0, 0, 500);
	assert_string_equal(buf, "0 rows deleted, 0 rows/s, elapsed 0.0s, ~500 left");
	progress_format(buf, sizeof(buf), 10, 1000, 36010);
	assert_string_equal(buf, "10 rows deleted, 10 rows/s, elapsed 1.0s, "
			    "~36000 left, ETA 1h00m");
	/* A short buffer is cut, not overrun. */
	progress_format(buf, 8, 1000, 2000, 61000);
	assert_string_equal(buf, "1000 ro");
}

/* The terminal's line: the ETA first, cut to the width. */
static void test_progress_line(void **state)
{
	char buf[512];
	const char *full = "ETA 2m00s, ~60000 left | used_backup_codes "
			   "accounts_backupcode: 1000 rows deleted, 500 rows/s, "
			   "elapsed 2.0s";

	(void)state;
	progress_line(buf, sizeof(buf), 200, "used_backup_codes",
		      "accounts_backupcode", 1000, 2000, 61000);
	assert_string_equal(buf, full);
	/* 80 columns: 79 characters, the ETA and rows left intact. */
	progress_line(buf, sizeof(buf), 80, "used_backup_codes",
		      "accounts_backupcode", 1000, 2000, 61000);
	assert_int_equal(strlen(buf), 79);
	assert_memory_equal(buf, full, 79);
	progress_line(buf, sizeof(buf), 20, "used_backup_codes",
		      "accounts_backupcode", 1000, 2000, 61000);
	assert_string_equal(buf, "ETA 2m00s, ~60000 l");
	/* No rate yet: the rows left alone; no estimate: neither. */
	progress_line(buf, sizeof(buf), 200, "r", "t", 0, 0, 500);
	assert_string_equal(buf, "~500 left | r t: 0 rows deleted, 0 rows/s, "
			    "elapsed 0.0s");
	progress_line(buf, sizeof(buf), 200, "r", "t", 1000, 2000, -1);
	assert_string_equal(buf, "r t: 1000 rows deleted, 500 rows/s, "
			    "elapsed 2.0s");
	/* Past the estimate: said so, no made-up ETA. */
	progress_line(buf, sizeof(buf), 200, "r", "t", 1000, 2000, 10);
	assert_string_equal(buf, "past the ~10 estimated | r t: 1000 rows "
			    "deleted, 500 rows/s, elapsed 2.0s");
	/* Cut between characters, never inside one. */
	progress_line(buf, sizeof(buf), 14, "r\xc3\xa9gle", "t", 1, 1000, -1);
	assert_string_equal(buf, "r\xc3\xa9gle t: 1 ro");
	/* A short buffer is cut, not overrun. */
	progress_line(buf, 8, 200, "r", "t", 1000, 2000, 61000);
	assert_string_equal(buf, "ETA 2m0");
}

static void test_estimate_from_plan(void **state)
{
	char err[256];
	long long rows = 0;

	(void)state;
	assert_int_equal(estimate_from_plan(
		"[{\"Plan\": {\"Node Type\": \"Aggregate\", \"Plan Rows\": 1,"
		" \"Plans\": [{\"Node Type\": \"Seq Scan\", \"Plan Rows\": 4242}]}}]",
		&rows, err, sizeof(err)), 0);
	assert_int_equal(rows, 4242);
	/* Parallel: per-process rows times the parallel divisor (2 workers:
	 * 2 + 0.4). */
	assert_int_equal(estimate_from_plan(
		"[{\"Plan\": {\"Node Type\": \"Aggregate\", \"Plan Rows\": 1,"
		" \"Plans\": [{\"Node Type\": \"Gather\", \"Plan Rows\": 2,"
		" \"Workers Planned\": 2, \"Plans\": [{\"Node Type\": \"Aggregate\","
		" \"Plan Rows\": 1, \"Plans\": [{\"Node Type\": \"Seq Scan\","
		" \"Parallel Aware\": true, \"Plan Rows\": 1000}]}]}]}}]",
		&rows, err, sizeof(err)), 0);
	assert_int_equal(rows, 2400);
	assert_int_equal(estimate_from_plan("not json", &rows, err,
					    sizeof(err)), -1);
	assert_int_equal(rows, -1);
	assert_int_equal(estimate_from_plan("[{\"Plan\": {}}]", &rows, err,
					    sizeof(err)), -1);
	assert_string_equal(err, "the plan has no \"Plan Rows\"");
}

/*
 * The walk a step takes depends on whether the plan reaches its table
 * (alias t) through an index of its own.
 */
static void test_estimate_plan_indexed(void **state)
{
	(void)state;
	/* An index on the predicate's column. */
	assert_int_equal(estimate_plan_indexed(
		"[{\"Plan\": {\"Node Type\": \"Aggregate\", \"Plans\": ["
		"{\"Node Type\": \"Bitmap Heap Scan\", \"Alias\": \"t\","
		" \"Parent Relationship\": \"Outer\"}]}}]", "t"), 1);
	/* A sequential scan. */
	assert_int_equal(estimate_plan_indexed(
		"[{\"Plan\": {\"Node Type\": \"Aggregate\", \"Plans\": ["
		"{\"Node Type\": \"Seq Scan\", \"Alias\": \"t\"}]}}]", "t"), 0);
	/* An index probed once per row of another table says nothing of
	 * how few rows match. */
	assert_int_equal(estimate_plan_indexed(
		"[{\"Plan\": {\"Node Type\": \"Nested Loop\", \"Plans\": ["
		"{\"Node Type\": \"Seq Scan\", \"Alias\": \"u\","
		" \"Parent Relationship\": \"Outer\"},"
		"{\"Node Type\": \"Index Scan\", \"Alias\": \"t\","
		" \"Parent Relationship\": \"Inner\"}]}}]", "t"), 0);
	/* A DELETE's ModifyTable node also names t; the scan below counts. */
	assert_int_equal(estimate_plan_indexed(
		"[{\"Plan\": {\"Node Type\": \"ModifyTable\", \"Alias\": \"t\","
		" \"Plans\": [{\"Node Type\": \"Index Scan\", \"Alias\": \"t\","
		" \"Parent Relationship\": \"Outer\"}]}}]", "t"), 1);
	assert_int_equal(estimate_plan_indexed(
		"[{\"Plan\": {\"Node Type\": \"ModifyTable\", \"Alias\": \"t\","
		" \"Plans\": [{\"Node Type\": \"Tid Range Scan\", \"Alias\": \"t\"}]}}]",
		"t"), 0);
	assert_int_equal(estimate_plan_indexed("not json", "t"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_metrics_render_ok),
		cmocka_unit_test(test_metrics_render_not_ok),
		cmocka_unit_test(test_metrics_render_odd_values),
		cmocka_unit_test(test_summary_json_not_utf8),
		cmocka_unit_test(test_metrics_write_carries_success),
		cmocka_unit_test(test_progress_format),
		cmocka_unit_test(test_progress_line),
		cmocka_unit_test(test_estimate_from_plan),
		cmocka_unit_test(test_estimate_plan_indexed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
