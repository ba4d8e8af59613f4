/*
 * summary_json.c: the run summary as the JSON document of doc/monitoring.md
 * "JSON summary" (jansson), which --json prints, the webhook posts and the
 * ledger keeps.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "strbuf.h"
#include "summary.h"
#include "summary_json.h"
#include "values.h"

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

/* {"pause": {"count", "ms"}, "pause_ratio": {...}, "replica_lag": {...},
 * "max_rate": {...}} */
static json_t *summary_throttle_json(const struct run_throttle *t)
{
	json_t *o = json_object();

	json_object_set_new(o, "pause", summary_count_json(&t->pause));
	json_object_set_new(o, "pause_ratio",
			    summary_count_json(&t->pause_ratio));
	json_object_set_new(o, "replica_lag",
			    summary_count_json(&t->replica_lag));
	json_object_set_new(o, "max_rate", summary_count_json(&t->max_rate));
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

/* One target of a run over targets: {"name", "schema", "status", ...}. */
static json_t *summary_target_json(const struct target_result *t,
				   int dry_run)
{
	json_t *o = json_object();
	json_t *rules;

	json_object_set_new(o, "name", summary_json_string(t->name));
	json_object_set_new(o, "schema", t->schema ?
			    summary_json_string(t->schema) : json_null());
	json_object_set_new(o, "run_id", t->run_id ?
			    summary_json_string(t->run_id) : json_null());
	json_object_set_new(o, "status", json_string(target_status_name(t)));
	json_object_set_new(o, "exit_code", json_integer(t->exit_code));
	json_object_set_new(o, "error", t->error ?
			    summary_json_string(t->error) : json_null());
	/* As the run's: only when a limit stopped the target. */
	if (t->stopped_by)
		json_object_set_new(o, "stopped_by",
				    summary_json_string(t->stopped_by));
	json_object_set_new(o, "deleted",
			    json_integer(dry_run ? 0 : t->deleted));
	if (dry_run)
		json_object_set_new(o, "would_delete", json_integer(t->deleted));
	else
		json_object_set_new(o, "left_behind",
				    json_integer(t->left_behind));
	json_object_set_new(o, "duration_ms", json_integer(t->duration_ms));
	rules = t->rules_json ? json_loads(t->rules_json, 0, NULL) : NULL;
	json_object_set_new(o, "rules", json_is_array(rules) ? rules :
			    json_array());
	if (rules && !json_is_array(rules))
		json_decref(rules);
	json_object_set_new(o, "throttle", summary_throttle_json(&t->throttle));
	return o;
}

/* {"count", "ok", "partial", "failed", "locked", "interrupted"} */
static json_t *summary_targets_total_json(const struct run_summary *s)
{
	static const char *const names[] = {
		"ok", "partial", "failed", "locked", "interrupted"
	};
	long long n[5] = { 0, 0, 0, 0, 0 };
	json_t *o = json_object();
	size_t i, j;

	for (i = 0; i < s->ntargets; i++) {
		const char *st = target_status_name(&s->targets[i]);

		for (j = 0; j < 5; j++) {
			if (strcmp(st, names[j]) == 0)
				n[j]++;
		}
	}
	json_object_set_new(o, "count", json_integer((long long)s->ntargets));
	for (j = 0; j < 5; j++)
		json_object_set_new(o, names[j], json_integer(n[j]));
	return o;
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
	/* Runs over targets only: a config without them keeps its shape. */
	if (s->target)
		json_object_set_new(root, "target", summary_json_string(s->target));
	if (s->targets) {
		json_t *targets = json_array();

		for (i = 0; i < s->ntargets; i++)
			json_array_append_new(targets, summary_target_json(
					      &s->targets[i], s->dry_run));
		json_object_set_new(root, "targets", targets);
		json_object_set_new(root, "targets_total",
				    summary_targets_total_json(s));
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
