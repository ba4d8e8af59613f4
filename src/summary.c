/*
 * summary.c: the run summary as a human table and as JSON.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "strbuf.h"
#include "summary.h"
#include "values.h"
#include "xalloc.h"

const char *run_status_name(enum run_status status)
{
	switch (status) {
	case RUN_OK:
		return "ok";
	case RUN_PARTIAL:
		return "partial";
	case RUN_FAILED:
		return "failed";
	case RUN_SKIPPED:
		return "skipped";
	case RUN_INTERRUPTED:
		return "interrupted";
	}
	return "failed";
}

/* A version 4 UUID, so that run ids from many hosts never collide. */
static int summary_make_run_id(char out[37])
{
	unsigned char b[16];
	size_t got = 0;

	while (got < sizeof(b)) {
		ssize_t n = getrandom(b + got, sizeof(b) - got, 0);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		got += (size_t)n;
	}
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x",
		 b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
		 b[10], b[11], b[12], b[13], b[14], b[15]);
	return 0;
}

int summary_start(struct run_summary *s, size_t nrules)
{
	memset(s, 0, sizeof(*s));
	if (summary_make_run_id(s->run_id) != 0)
		return -1;
	if (gethostname(s->host, sizeof(s->host) - 1) != 0)
		snprintf(s->host, sizeof(s->host), "unknown");
	clock_gettime(CLOCK_REALTIME, &s->started_at);
	s->finished_at = s->started_at;
	s->nrules = nrules;
	s->rules = xcalloc(nrules, sizeof(*s->rules));
	return 0;
}

void summary_set_rules(struct run_summary *s, char *const *names, size_t n)
{
	size_t i;

	free(s->rules);
	s->nrules = n;
	s->rules = xcalloc(n ? n : 1, sizeof(*s->rules));
	for (i = 0; i < n; i++)
		s->rules[i].name = names[i];
}

long long summary_count_add(long long a, long long b)
{
	long long sum;

	if (__builtin_add_overflow(a, b, &sum))
		return b > 0 ? LLONG_MAX : LLONG_MIN;
	return sum;
}

static long long summary_ms_between(const struct timespec *a,
				    const struct timespec *b)
{
	return (long long)(b->tv_sec - a->tv_sec) * 1000 +
	       (b->tv_nsec - a->tv_nsec) / 1000000;
}

void summary_finish(struct run_summary *s)
{
	enum run_status worst = RUN_OK;
	size_t i;

	clock_gettime(CLOCK_REALTIME, &s->finished_at);
	s->duration_ms = summary_ms_between(&s->started_at, &s->finished_at);
	s->deleted_total = 0;
	s->left_behind_total = 0;
	for (i = 0; i < s->nrules; i++) {
		const struct rule_result *r = &s->rules[i];

		s->deleted_total = summary_count_add(s->deleted_total,
						     r->deleted);
		s->left_behind_total = summary_count_add(s->left_behind_total,
							 r->left_behind);
		/* A failed rule outweighs an unfinished one. */
		if (r->status == RUN_FAILED)
			worst = RUN_FAILED;
		else if (r->status == RUN_PARTIAL && worst == RUN_OK)
			worst = RUN_PARTIAL;
	}
	if (s->status == RUN_OK)
		s->status = worst;
}

/*
 * jansson refuses a string that is not UTF-8, and a member set to what it
 * returns then is silently left out.  Text here comes from the database,
 * plugins and the command line, so bytes that are not UTF-8 are replaced
 * rather than losing the member.
 */
json_t *summary_json_string(const char *text)
{
	struct strbuf sb = STRBUF_INIT;
	const unsigned char *p = (const unsigned char *)text;
	json_t *j;

	j = json_string(text);
	if (j)
		return j;
	while (*p) {
		size_t len = utf8_seq_len(p);
		char one[5] = "";

		if (len == 0) {
			strbuf_add(&sb, "\xef\xbf\xbd");
			p++;
			continue;
		}
		memcpy(one, p, len);
		strbuf_add(&sb, one);
		p += len;
	}
	j = json_string(strbuf_str(&sb));
	strbuf_release(&sb);
	return j;
}

static void summary_iso8601(const struct timespec *ts, char out[32])
{
	struct tm tm;

	gmtime_r(&ts->tv_sec, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The sizes of a step's batches: {"min", "max", "last"}, or null. */
static json_t *summary_sizes_json(const struct step_result *st)
{
	json_t *o;

	if (st->batches == 0)
		return json_null();
	o = json_object();
	json_object_set_new(o, "min", json_integer(st->batch_size_min));
	json_object_set_new(o, "max", json_integer(st->batch_size_max));
	json_object_set_new(o, "last", json_integer(st->batch_size_last));
	return o;
}

static json_t *summary_count_json(const struct throttle_count *c)
{
	json_t *o = json_object();

	json_object_set_new(o, "count", json_integer(c->count));
	json_object_set_new(o, "ms", json_integer(c->ms));
	return o;
}

/* {"pause": {"count", "ms"}, "pause_ratio": {...}, "replica_lag": {...}} */
static json_t *summary_throttle_json(const struct run_throttle *t)
{
	json_t *o = json_object();

	json_object_set_new(o, "pause", summary_count_json(&t->pause));
	json_object_set_new(o, "pause_ratio",
			    summary_count_json(&t->pause_ratio));
	json_object_set_new(o, "replica_lag",
			    summary_count_json(&t->replica_lag));
	return o;
}

/* [{"key", "sqlstate", "constraint", "error"}] of the rows a step left. */
static json_t *summary_refused_json(const struct step_result *st)
{
	json_t *rows = json_array();
	size_t i;

	for (i = 0; i < st->nrefused; i++) {
		const struct refused_row *rr = &st->refused[i];
		json_t *row = json_object();

		json_object_set_new(row, "key", summary_json_string(rr->key));
		json_object_set_new(row, "sqlstate",
				    summary_json_string(rr->sqlstate));
		json_object_set_new(row, "constraint", rr->constraint ?
				    summary_json_string(rr->constraint) : json_null());
		json_object_set_new(row, "error", summary_json_string(rr->error));
		json_array_append_new(rows, row);
	}
	return rows;
}

void summary_refused_text(struct strbuf *out, const struct step_result *st)
{
	size_t i;

	if (st->left_behind <= 0)
		return;
	strbuf_addf(out, "%lld row%s left behind, refused by the database:",
		    st->left_behind, st->left_behind == 1 ? "" : "s");
	for (i = 0; i < st->nrefused; i++) {
		const struct refused_row *rr = &st->refused[i];

		strbuf_addf(out, "%s key %s (%s", i ? "," : "", rr->key,
			    rr->sqlstate);
		if (rr->constraint)
			strbuf_addf(out, ", constraint \"%s\")",
				    rr->constraint);
		else
			strbuf_addf(out, ": %s)", rr->error);
	}
	if ((long long)st->nrefused < st->left_behind)
		strbuf_addf(out, " and %lld more",
			    st->left_behind - (long long)st->nrefused);
}

static json_t *summary_rule_json(const struct rule_result *r, int dry_run)
{
	json_t *rule = json_object();
	json_t *steps = json_array();
	const char *count_key = dry_run ? "would_delete" : "deleted";
	size_t i;

	json_object_set_new(rule, "name", summary_json_string(r->name));
	json_object_set_new(rule, "status",
			    json_string(run_status_name(r->status)));
	json_object_set_new(rule, "error", r->error ?
			    summary_json_string(r->error) : json_null());
	json_object_set_new(rule, "deleted",
			    json_integer(dry_run ? 0 : r->deleted));
	if (dry_run)
		json_object_set_new(rule, "would_delete",
				    json_integer(r->deleted));
	json_object_set_new(rule, "batches", json_integer(r->batches));
	json_object_set_new(rule, "retries", json_integer(r->retries));
	json_object_set_new(rule, "duration_ms", json_integer(r->duration_ms));
	/* A dry run deletes nothing, so the database refuses nothing. */
	if (!dry_run)
		json_object_set_new(rule, "left_behind",
				    json_integer(r->left_behind));
	for (i = 0; i < r->nsteps; i++) {
		const struct step_result *st = &r->steps[i];
		json_t *step = json_object();

		json_object_set_new(step, "table",
				    summary_json_string(st->table));
		json_object_set_new(step, "label",
				    summary_json_string(st->label));
		json_object_set_new(step, count_key, json_integer(st->deleted));
		json_object_set_new(step, "batches", json_integer(st->batches));
		json_object_set_new(step, "retries", json_integer(st->retries));
		json_object_set_new(step, "duration_ms",
				    json_integer(st->duration_ms));
		if (st->skipped)
			json_object_set_new(step, "skipped",
					    summary_json_string(st->skipped));
		if (!dry_run) {
			json_object_set_new(step, "batch_size",
					    summary_sizes_json(st));
			json_object_set_new(step, "left_behind",
					    json_integer(st->left_behind));
			json_object_set_new(step, "left_behind_rows",
					    summary_refused_json(st));
		}
		json_array_append_new(steps, step);
	}
	json_object_set_new(rule, "steps", steps);
	if (r->nskipped) {
		json_t *users = json_array();

		for (i = 0; i < r->nskipped; i++) {
			json_t *u = json_object();

			json_object_set_new(u, "user",
					    summary_json_string(r->skipped_users[i]));
			json_object_set_new(u, "reason",
					    json_string("not eligible for this rule"));
			json_array_append_new(users, u);
		}
		json_object_set_new(rule, "skipped_users", users);
	}
	return rule;
}

json_t *summary_json(const struct run_summary *s)
{
	json_t *root = json_object();
	json_t *rules = json_array();
	char when[32];
	size_t i;

	json_object_set_new(root, "run_id", summary_json_string(s->run_id));
	json_object_set_new(root, "status",
			    json_string(run_status_name(s->status)));
	json_object_set_new(root, "dry_run", json_boolean(s->dry_run));
	json_object_set_new(root, "host", summary_json_string(s->host));
	summary_iso8601(&s->started_at, when);
	json_object_set_new(root, "started_at", json_string(when));
	summary_iso8601(&s->finished_at, when);
	json_object_set_new(root, "finished_at", json_string(when));
	json_object_set_new(root, "duration_ms", json_integer(s->duration_ms));
	json_object_set_new(root, "deleted_total",
			    json_integer(s->dry_run ? 0 : s->deleted_total));
	if (s->dry_run)
		json_object_set_new(root, "would_delete_total",
				    json_integer(s->deleted_total));
	else
		json_object_set_new(root, "left_behind_total",
				    json_integer(s->left_behind_total));
	for (i = 0; i < s->nrules; i++)
		json_array_append_new(rules,
				      summary_rule_json(&s->rules[i], s->dry_run));
	json_object_set_new(root, "rules", rules);
	json_object_set_new(root, "error", s->error ?
			    summary_json_string(s->error) : json_null());
	json_object_set_new(root, "throttle", summary_throttle_json(&s->throttle));
	if (s->stopped_by)
		json_object_set_new(root, "stopped_by",
				    summary_json_string(s->stopped_by));
	if (s->scoped) {
		json_t *unknown = json_array();

		for (i = 0; i < s->nunknown; i++)
			json_array_append_new(unknown,
					      summary_json_string(s->unknown_users[i]));
		json_object_set_new(root, "unknown_users", unknown);
	}
	return root;
}

int summary_print_json(FILE *out, const struct run_summary *s)
{
	json_t *doc = summary_json(s);
	int rc;

	rc = json_dumpf(doc, out, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(doc);
	if (rc != 0 || fputc('\n', out) == EOF || fflush(out) != 0)
		return -1;
	return 0;
}

static void summary_seconds(long long ms, char out[24])
{
	snprintf(out, 24, "%lld.%02llds", ms / 1000, (ms % 1000) / 10);
}

void summary_print_table(FILE *out, const struct run_summary *s)
{
	const char *count_head = s->dry_run ? "would delete" : "deleted";
	long long batches = 0;
	char secs[24];
	size_t i, j;

	fprintf(out, "%-20s %-28s %-14s %12s %8s %9s\n", "rule", "table",
		"status", count_head, "batches", "time");
	for (i = 0; i < s->nrules; i++) {
		const struct rule_result *r = &s->rules[i];

		batches = summary_count_add(batches, r->batches);
		if (r->nsteps == 0) {
			summary_seconds(r->duration_ms, secs);
			fprintf(out, "%-20s %-28s %-14s %12lld %8lld %9s\n",
				r->name, "-", run_status_name(r->status),
				r->deleted, r->batches, secs);
		}
		for (j = 0; j < r->nsteps; j++) {
			const struct step_result *st = &r->steps[j];

			summary_seconds(st->duration_ms, secs);
			fprintf(out, "%-20s %-28s %-14s %12lld %8lld %9s\n",
				j == 0 ? r->name : "", st->table,
				st->skipped ? "skipped" :
				(j == 0 ? run_status_name(r->status) : ""),
				st->deleted, st->batches, secs);
		}
		for (j = 0; j < r->nsteps; j++) {
			struct strbuf left = STRBUF_INIT;

			summary_refused_text(&left, &r->steps[j]);
			if (left.len)
				fprintf(out, "%-20s %s: %s\n", "",
					r->steps[j].table, strbuf_str(&left));
			strbuf_release(&left);
		}
		if (r->error)
			fprintf(out, "%-20s error: %s\n", "", r->error);
	}
	summary_seconds(s->duration_ms, secs);
	fprintf(out, "%-20s %-28s %-14s %12lld %8lld %9s\n", "total", "",
		run_status_name(s->status), s->deleted_total, batches, secs);
	if (s->stopped_by)
		fprintf(out, "stopped by %s; the next run continues\n",
			s->stopped_by);
	if (s->throttle.pause.count || s->throttle.pause_ratio.count ||
	    s->throttle.replica_lag.count)
		fprintf(out, "throttled: pause %lld (%lld ms), pause_ratio %lld "
			"(%lld ms), replica_lag %lld (%lld ms)\n",
			s->throttle.pause.count, s->throttle.pause.ms,
			s->throttle.pause_ratio.count, s->throttle.pause_ratio.ms,
			s->throttle.replica_lag.count, s->throttle.replica_lag.ms);
	if (s->scoped && s->nunknown) {
		fprintf(out, "unknown users:");
		for (i = 0; i < s->nunknown; i++)
			fprintf(out, " %s", s->unknown_users[i]);
		fputc('\n', out);
	}
	for (i = 0; i < s->nrules; i++) {
		const struct rule_result *r = &s->rules[i];

		if (!r->nskipped)
			continue;
		fprintf(out, "%s skipped users (not eligible):", r->name);
		for (j = 0; j < r->nskipped; j++)
			fprintf(out, " %s", r->skipped_users[j]);
		fputc('\n', out);
	}
	fflush(out);
}

void summary_free(struct run_summary *s)
{
	size_t i, j;

	for (i = 0; i < s->nrules; i++) {
		struct rule_result *r = &s->rules[i];

		free(r->error);
		for (j = 0; j < r->nsteps; j++) {
			struct step_result *st = &r->steps[j];
			size_t k;

			for (k = 0; k < st->nrefused; k++) {
				free(st->refused[k].key);
				free(st->refused[k].constraint);
				free(st->refused[k].error);
			}
		}
		free(r->steps);
		for (j = 0; j < r->nskipped; j++)
			free(r->skipped_users[j]);
		free(r->skipped_users);
	}
	free(s->rules);
	for (i = 0; i < s->nunknown; i++)
		free(s->unknown_users[i]);
	free(s->unknown_users);
	free(s->error);
	memset(s, 0, sizeof(*s));
}
