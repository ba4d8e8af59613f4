/*
 * fuzz_summary.c: the run summary's renderings from arbitrary results:
 * the JSON document and the table (src/summary.c), the webhook bodies
 * (src/webhook_payload.c) and the metrics file (src/metrics.c).
 *
 * The input builds a struct run_summary: strings of any bytes (invalid
 * UTF-8, control characters, 4 KiB long), counts of any 64 bits, NULL in
 * every field that may be NULL, and any number of rules, steps and users.
 * What must hold: every JSON text parses back with jansson and holds every
 * field the summary contract names, with the right type and count, and
 * every string as it was when it was text; the Slack rules section stays
 * within Slack's limit; every metrics line is valid Prometheus exposition
 * text with UTF-8 labels and numeric values.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fuzz.h"
#include "metrics.h"
#include "strbuf.h"
#include "summary.h"
#include "summary_json.h"
#include "summary_table.h"
#include "webhook_payload.h"

/* Slack refuses a section text of more characters than this
 * (webhook_payload.c). */
#define SLACK_SECTION_MAX 3000

/* Strings the summary borrows (names, tables, labels): freed at the end. */
struct borrowed {
	char **s;
	size_t n;
};

static char *borrow(struct borrowed *b, char *s)
{
	b->s = realloc(b->s, (b->n + 1) * sizeof(*b->s));
	if (!b->s)
		abort();
	b->s[b->n++] = s;
	return s;
}

static void borrowed_free(struct borrowed *b)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		free(b->s[i]);
	free(b->s);
}

static struct timespec fuzz_time(struct fuzz_bytes *fb)
{
	struct timespec ts;

	/* Any time a clock gives: from 1970 to the 26th century. */
	ts.tv_sec = (time_t)(fuzz_u64(fb) % (1ULL << 34));
	ts.tv_nsec = (long)(fuzz_u64(fb) % 1000000000ULL);
	return ts;
}

static void fuzz_build(struct fuzz_bytes *fb, struct run_summary *s,
		       struct borrowed *b)
{
	char *text;
	size_t i, j;
	unsigned flags;

	memset(s, 0, sizeof(*s));
	text = fuzz_string(fb);
	snprintf(s->run_id, sizeof(s->run_id), "%s", text);
	free(text);
	text = fuzz_string(fb);
	snprintf(s->host, sizeof(s->host), "%s", text);
	free(text);
	flags = fuzz_u8(fb);
	s->status = (enum run_status)(flags % 5);
	s->dry_run = flags >> 3 & 1;
	s->scoped = flags >> 4 & 1;
	s->started_at = fuzz_time(fb);
	s->finished_at = fuzz_time(fb);
	s->duration_ms = fuzz_count(fb);
	s->deleted_total = fuzz_count(fb);
	if (flags >> 5 & 1)
		s->error = fuzz_string(fb);
	if (flags >> 6 & 1)
		s->stopped_by = borrow(b, fuzz_string(fb));
	s->throttle.pause.count = fuzz_count(fb);
	s->throttle.pause.ms = fuzz_count(fb);
	s->throttle.pause_ratio.count = fuzz_count(fb);
	s->throttle.pause_ratio.ms = fuzz_count(fb);
	s->throttle.replica_lag.count = fuzz_count(fb);
	s->throttle.replica_lag.ms = fuzz_count(fb);
	if (s->scoped) {
		s->nunknown = fuzz_u8(fb) % 5;
		s->unknown_users = calloc(s->nunknown + 1, sizeof(char *));
		for (i = 0; i < s->nunknown; i++)
			s->unknown_users[i] = fuzz_string(fb);
	}

	s->nrules = fuzz_u8(fb) % 9;
	s->rules = calloc(s->nrules + 1, sizeof(*s->rules));
	if (!s->rules || (s->scoped && !s->unknown_users))
		abort();
	for (i = 0; i < s->nrules; i++) {
		struct rule_result *r = &s->rules[i];

		flags = fuzz_u8(fb);
		r->name = borrow(b, fuzz_string(fb));
		r->status = (enum run_status)(flags % 5);
		if (flags >> 3 & 1)
			r->error = fuzz_string(fb);
		r->deleted = fuzz_count(fb);
		r->batches = fuzz_count(fb);
		r->retries = fuzz_count(fb);
		r->duration_ms = fuzz_count(fb);
		r->nsteps = fuzz_u8(fb) % 5;
		r->steps = calloc(r->nsteps + 1, sizeof(*r->steps));
		if (!r->steps)
			abort();
		for (j = 0; j < r->nsteps; j++) {
			struct step_result *st = &r->steps[j];
			unsigned sf = fuzz_u8(fb);

			/* Steps on one table are summed in the metrics. */
			if (j > 0 && (sf & 1))
				st->table = r->steps[j - 1].table;
			else
				st->table = borrow(b, fuzz_string(fb));
			st->label = borrow(b, fuzz_string(fb));
			if (sf >> 1 & 1)
				st->skipped = borrow(b, fuzz_string(fb));
			st->deleted = fuzz_count(fb);
			st->batches = fuzz_count(fb);
			st->retries = fuzz_count(fb);
			st->duration_ms = fuzz_count(fb);
			st->batch_size_min = fuzz_count(fb);
			st->batch_size_max = fuzz_count(fb);
			st->batch_size_last = fuzz_count(fb);
		}
		r->nskipped = fuzz_u8(fb) % 4;
		r->skipped_users = calloc(r->nskipped + 1, sizeof(char *));
		if (!r->skipped_users)
			abort();
		for (j = 0; j < r->nskipped; j++)
			r->skipped_users[j] = fuzz_string(fb);
	}
}

/* A JSON string member; equal to `want` when `want` is text. */
static void check_string(const json_t *o, const char *key, const char *want)
{
	const json_t *v = json_object_get(o, key);

	FUZZ_CHECK(json_is_string(v), "a string member missing");
	if (want && fuzz_utf8_valid(want, strlen(want)))
		FUZZ_CHECK(strcmp(json_string_value(v), want) == 0,
			   "a string changed on its way to JSON");
}

/* A string or null member: null exactly when `want` is NULL. */
static void check_nullable(const json_t *o, const char *key, const char *want)
{
	if (!want)
		FUZZ_CHECK(json_is_null(json_object_get(o, key)),
			   "null rendered as something else");
	else
		check_string(o, key, want);
}

static void check_integer(const json_t *o, const char *key, long long want)
{
	const json_t *v = json_object_get(o, key);

	FUZZ_CHECK(json_is_integer(v), "an integer member missing");
	FUZZ_CHECK(json_integer_value(v) == want, "an integer changed");
}

static void check_strings(const json_t *a, char *const *want, size_t n,
			  const char *key)
{
	size_t i;

	FUZZ_CHECK(json_is_array(a) && json_array_size(a) == n,
		   "a list of users lost or gained one");
	for (i = 0; i < n; i++) {
		const json_t *v = json_array_get(a, i);

		if (key)
			check_string(v, key, want[i]);
		else
			FUZZ_CHECK(json_is_string(v), "a user not a string");
		if (!key && fuzz_utf8_valid(want[i], strlen(want[i])))
			FUZZ_CHECK(strcmp(json_string_value(v), want[i]) == 0,
				   "a user changed on its way to JSON");
	}
}

static void check_rule_json(const json_t *rule, const struct rule_result *r,
			    int dry_run)
{
	const json_t *steps = json_object_get(rule, "steps");
	size_t i;

	FUZZ_CHECK(json_is_object(rule), "a rule not an object");
	check_string(rule, "name", r->name);
	check_string(rule, "status", run_status_name(r->status));
	check_nullable(rule, "error", r->error);
	check_integer(rule, "deleted", dry_run ? 0 : r->deleted);
	if (dry_run)
		check_integer(rule, "would_delete", r->deleted);
	check_integer(rule, "batches", r->batches);
	check_integer(rule, "retries", r->retries);
	check_integer(rule, "duration_ms", r->duration_ms);
	FUZZ_CHECK(json_is_array(steps) && json_array_size(steps) == r->nsteps,
		   "steps lost or gained");
	for (i = 0; i < r->nsteps; i++) {
		const json_t *st = json_array_get(steps, i);

		FUZZ_CHECK(json_is_object(st), "a step not an object");
		check_string(st, "table", r->steps[i].table);
		check_string(st, "label", r->steps[i].label);
		check_integer(st, dry_run ? "would_delete" : "deleted",
			      r->steps[i].deleted);
		check_integer(st, "batches", r->steps[i].batches);
		if (r->steps[i].skipped)
			check_string(st, "skipped", r->steps[i].skipped);
	}
	if (r->nskipped)
		check_strings(json_object_get(rule, "skipped_users"),
			      r->skipped_users, r->nskipped, "user");
}

static void check_summary_json(const json_t *root, const struct run_summary *s)
{
	const json_t *rules = json_object_get(root, "rules");
	size_t i;

	FUZZ_CHECK(json_is_object(root), "the summary not an object");
	check_string(root, "run_id", s->run_id);
	check_string(root, "status", run_status_name(s->status));
	FUZZ_CHECK(json_is_boolean(json_object_get(root, "dry_run")),
		   "dry_run not a boolean");
	check_string(root, "host", s->host);
	check_string(root, "started_at", NULL);
	check_string(root, "finished_at", NULL);
	check_integer(root, "duration_ms", s->duration_ms);
	check_integer(root, "deleted_total", s->dry_run ? 0 : s->deleted_total);
	check_nullable(root, "error", s->error);
	FUZZ_CHECK(json_is_object(json_object_get(root, "throttle")),
		   "throttle not an object");
	FUZZ_CHECK(json_is_array(rules) && json_array_size(rules) == s->nrules,
		   "rules lost or gained");
	for (i = 0; i < s->nrules; i++)
		check_rule_json(json_array_get(rules, i), &s->rules[i],
				s->dry_run);
	if (s->scoped)
		check_strings(json_object_get(root, "unknown_users"),
			      s->unknown_users, s->nunknown, NULL);
}

/* Characters, as Slack counts its limits: bytes that start one. */
static size_t utf8_chars(const char *text)
{
	size_t n = 0;

	for (; *text; text++)
		n += ((unsigned char)*text & 0xc0) != 0x80;
	return n;
}

static json_t *parse(const char *text)
{
	json_error_t jerr;
	json_t *doc;

	FUZZ_CHECK(text != NULL, "no JSON text");
	doc = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc)
		fprintf(stderr, "json: %s at %d:%d\n", jerr.text, jerr.line,
			jerr.column);
	FUZZ_CHECK(doc != NULL, "JSON text that does not parse back");
	return doc;
}

static void check_json_outputs(const struct run_summary *s)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	json_t *doc;
	const json_t *blocks, *rules_text;

	if (!f)
		abort();
	FUZZ_CHECK(summary_print_json(f, s) == 0, "summary_print_json failed");
	fclose(f);
	doc = parse(text);
	check_summary_json(doc, s);
	json_decref(doc);
	free(text);

	text = webhook_payload(WEBHOOK_FORMAT_JSON, s);
	doc = parse(text);
	check_string(doc, "type", WEBHOOK_EVENT_TYPE);
	check_string(doc, "timestamp", NULL);
	check_summary_json(json_object_get(doc, "data"), s);
	json_decref(doc);
	free(text);

	text = webhook_payload(WEBHOOK_FORMAT_SLACK, s);
	doc = parse(text);
	check_string(doc, "text", NULL);
	blocks = json_object_get(doc, "blocks");
	FUZZ_CHECK(json_is_array(blocks) && json_array_size(blocks) == 3,
		   "a Slack message without its three blocks");
	rules_text = json_object_get(json_object_get(json_array_get(blocks, 1),
						     "text"), "text");
	FUZZ_CHECK(json_is_string(rules_text), "the Slack rules section lost");
	FUZZ_CHECK(utf8_chars(json_string_value(rules_text)) <= SLACK_SECTION_MAX,
		   "a Slack rules section over Slack's limit");
	json_decref(doc);
	free(text);
}

static void check_table(const struct run_summary *s)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	if (!f)
		abort();
	summary_print_table(f, s);
	fclose(f);
	FUZZ_CHECK(text && strstr(text, "\ntotal ") != NULL,
		   "a table without its total line");
	free(text);
}

/* A sample value: an optional '-', digits, and a '.' and digits. */
static int metric_number(const char *v)
{
	if (*v == '-')
		v++;
	if (!isdigit((unsigned char)*v))
		return 0;
	while (isdigit((unsigned char)*v))
		v++;
	if (*v == '.') {
		v++;
		if (!isdigit((unsigned char)*v))
			return 0;
		while (isdigit((unsigned char)*v))
			v++;
	}
	return *v == '\0';
}

/* One sample line: name{label="value",...} number. */
static void check_metric_line(char *line)
{
	char *p = line;

	FUZZ_CHECK(isalpha((unsigned char)*p) || *p == '_',
		   "a metric line that does not start with a name");
	while (isalnum((unsigned char)*p) || *p == '_' || *p == ':')
		p++;
	if (*p == '{') {
		p++;
		while (*p != '}') {
			char *value;

			FUZZ_CHECK(isalpha((unsigned char)*p) || *p == '_',
				   "a label without a name");
			while (isalnum((unsigned char)*p) || *p == '_')
				p++;
			FUZZ_CHECK(p[0] == '=' && p[1] == '"',
				   "a label without =\"");
			p += 2;
			value = p;
			while (*p != '"') {
				FUZZ_CHECK(*p != '\0', "a label value not closed");
				if (*p == '\\') {
					FUZZ_CHECK(p[1] == '\\' || p[1] == '"' ||
						   p[1] == 'n',
						   "a label with a bad escape");
					p++;
				}
				p++;
			}
			FUZZ_CHECK(fuzz_utf8_valid(value, (size_t)(p - value)),
				   "a label value that is not UTF-8");
			p++;
			if (*p == ',')
				p++;
			else
				FUZZ_CHECK(*p == '}', "labels not closed");
		}
		p++;
	}
	FUZZ_CHECK(*p == ' ', "no blank before the value");
	FUZZ_CHECK(metric_number(p + 1), "a value that is not a number");
}

static void check_metrics(const struct run_summary *s, const char *last)
{
	struct strbuf out = STRBUF_INIT;
	char *text, *line, *save = NULL;
	int status_lines = 0;

	metrics_render(&out, s, last);
	FUZZ_CHECK(out.len > 0 && out.buf[out.len - 1] == '\n',
		   "metrics that do not end with a line break");
	FUZZ_CHECK(strlen(strbuf_str(&out)) == out.len,
		   "metrics with a NUL byte");
	text = strbuf_detach(&out);
	for (line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (strncmp(line, "# HELP ", 7) == 0 ||
		    strncmp(line, "# TYPE ", 7) == 0)
			continue;
		check_metric_line(line);
		status_lines += strncmp(line, "mfa_sweeper_run_status{", 23) == 0;
	}
	FUZZ_CHECK(status_lines == 5, "not one status line per status");
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const lasts[] = { NULL, "", "1700000000.123", "0" };
	struct fuzz_bytes fb = { data, size };
	struct borrowed b = { NULL, 0 };
	struct run_summary s;
	unsigned last = size ? data[size - 1] % 4 : 0;

	fuzz_build(&fb, &s, &b);
	check_json_outputs(&s);
	check_table(&s);
	check_metrics(&s, lasts[last]);
	summary_free(&s);
	borrowed_free(&b);
	return 0;
}
