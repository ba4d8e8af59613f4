/*
 * fleet_summary.c: the one summary of a run over targets (fleet.h), from
 * the result line each worker sent: one entry per target, the rules'
 * totals, the run's status, and the exit code, the worst over the
 * targets.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <jansson.h>

#include "fleet.h"
#include "fleet_summary.h"
#include "log.h"
#include "outcome.h"
#include "stop.h"
#include "strbuf.h"
#include "xalloc.h"

/* Rank of an exit code in the order of fleet.h: higher is worse. */
static int fleet_exit_rank(int code)
{
	switch (code) {
	case 0:
		return 0;
	case EX_TEMPFAIL:
		return 1;
	case EX_DATAERR:
		return 2;
	case OUTCOME_EX_RULE_FAILED:
		return 3;
	case EX_UNAVAILABLE:
		return 4;
	case EX_CONFIG:
		return 5;
	default:
		return 3;
	}
}

int fleet_worse_exit(int a, int b)
{
	return fleet_exit_rank(b) > fleet_exit_rank(a) ? b : a;
}

/* A string member of a result, or NULL. */
static const char *fleet_str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static long long fleet_int(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static enum run_status fleet_status(const char *name)
{
	if (!name)
		return RUN_FAILED;
	if (strcmp(name, "ok") == 0)
		return RUN_OK;
	if (strcmp(name, "partial") == 0)
		return RUN_PARTIAL;
	if (strcmp(name, "skipped") == 0 || strcmp(name, "locked") == 0)
		return RUN_SKIPPED;
	if (strcmp(name, "interrupted") == 0)
		return RUN_INTERRUPTED;
	return RUN_FAILED;
}

/* The first rule error of a target's summary, for its own error. */
static const char *fleet_rule_error(const json_t *summary)
{
	const json_t *rules = json_object_get(summary, "rules");
	const json_t *r;
	size_t i;

	json_array_foreach(rules, i, r) {
		const char *e = fleet_str(r, "error");

		if (e && strcmp(fleet_str(r, "status") ? fleet_str(r, "status") :
				"", "failed") == 0)
			return e;
	}
	return NULL;
}

static void fleet_throttle(const json_t *summary, struct run_throttle *t)
{
	const json_t *th = json_object_get(summary, "throttle");

	t->pause.count = fleet_int(json_object_get(th, "pause"), "count");
	t->pause.ms = fleet_int(json_object_get(th, "pause"), "ms");
	t->pause_ratio.count = fleet_int(json_object_get(th, "pause_ratio"),
					 "count");
	t->pause_ratio.ms = fleet_int(json_object_get(th, "pause_ratio"), "ms");
	t->replica_lag.count = fleet_int(json_object_get(th, "replica_lag"),
					 "count");
	t->replica_lag.ms = fleet_int(json_object_get(th, "replica_lag"), "ms");
}

/*
 * The target's rules: as text for the JSON summary, and each step's
 * counts for the metrics.
 */
static void fleet_target_rules(struct target_result *t, const json_t *rules,
			       int dry_run)
{
	const json_t *r, *st;
	size_t i, j, n = 0;

	if (!json_is_array(rules))
		return;
	t->rules_json = json_dumps(rules, JSON_COMPACT);
	json_array_foreach(rules, i, r)
		n += json_array_size(json_object_get(r, "steps"));
	t->steps = xcalloc(n ? n : 1, sizeof(*t->steps));
	json_array_foreach(rules, i, r) {
		const char *rule = fleet_str(r, "name");

		json_array_foreach(json_object_get(r, "steps"), j, st) {
			struct target_step_count *c = &t->steps[t->nsteps];
			const char *table = fleet_str(st, "table");

			if (!rule || !table)
				continue;
			c->rule = xstrdup(rule);
			c->table = xstrdup(table);
			c->rows = fleet_int(st, dry_run ? "would_delete" :
					    "deleted");
			c->left_behind = fleet_int(st, "left_behind");
			t->nsteps++;
		}
	}
}

/* Fill target result `t` from unit `u` and its result `o` (or NULL). */
static void fleet_target_from(struct target_result *t,
			      const struct fleet_unit *u, const json_t *o,
			      int dry_run)
{
	const json_t *s = o ? json_object_get(o, "summary") : NULL;
	const char *err;

	t->name = xstrdup(u->name);
	t->schema = u->schema ? xstrdup(u->schema) : NULL;
	if (u->failed_exit) {
		t->status = RUN_FAILED;
		t->exit_code = u->failed_exit;
		t->error = xstrdup(u->failed_why);
		return;
	}
	if (!o && stop_requested) {
		t->status = RUN_INTERRUPTED;
		t->exit_code = EX_TEMPFAIL;
		t->error = xstrdup("not run: stopped by a signal");
		return;
	}
	if (!o) {
		t->status = RUN_FAILED;
		t->exit_code = OUTCOME_EX_RULE_FAILED;
		t->error = xstrdup("not run: no worker could be started for it");
		return;
	}
	t->exit_code = (int)fleet_int(o, "exit");
	t->locked = json_is_true(json_object_get(o, "locked"));
	if (!s) {
		t->status = fleet_status(fleet_str(o, "status"));
		err = fleet_str(o, "error");
		t->error = err ? xstrdup(err) : NULL;
		return;
	}
	t->status = fleet_status(fleet_str(s, "status"));
	if (t->locked)
		t->status = RUN_SKIPPED;
	err = fleet_str(s, "error");
	if (!err)
		err = fleet_rule_error(s);
	if (!err && t->locked)
		err = "another run holds this target's lock";
	t->error = err ? xstrdup(err) : NULL;
	t->run_id = fleet_str(s, "run_id") ? xstrdup(fleet_str(s, "run_id")) :
		    NULL;
	t->deleted = fleet_int(s, dry_run ? "would_delete_total" :
			       "deleted_total");
	t->left_behind = fleet_int(s, "left_behind_total");
	t->duration_ms = fleet_int(s, "duration_ms");
	fleet_target_rules(t, json_object_get(s, "rules"), dry_run);
	fleet_throttle(s, &t->throttle);
}

/*
 * The run's rules: each rule's totals over the targets (its steps are
 * the targets' own, under "targets"), failed if it failed anywhere.
 */
static void fleet_rules_total(struct run_summary *s, json_t **results,
			      int dry_run)
{
	size_t i, j, nfailed;

	for (i = 0; i < s->nrules; i++) {
		struct rule_result *r = &s->rules[i];
		struct strbuf where = STRBUF_INIT;

		nfailed = 0;
		r->status = RUN_OK;
		for (j = 0; j < s->ntargets; j++) {
			const json_t *tr, *rules = NULL;
			size_t k;

			/* Only a target that reported its summary has rules. */
			if (s->targets[j].rules_json && results[j])
				rules = json_object_get(json_object_get(
					results[j], "summary"), "rules");
			json_array_foreach(rules, k, tr) {
				enum run_status st;

				if (strcmp(fleet_str(tr, "name") ?
					   fleet_str(tr, "name") : "",
					   r->name) != 0)
					continue;
				r->deleted = summary_count_add(r->deleted,
					fleet_int(tr, dry_run ? "would_delete" :
						  "deleted"));
				r->batches += fleet_int(tr, "batches");
				r->retries += fleet_int(tr, "retries");
				r->left_behind += fleet_int(tr, "left_behind");
				r->duration_ms += fleet_int(tr, "duration_ms");
				st = fleet_status(fleet_str(tr, "status"));
				if (st == RUN_FAILED) {
					if (nfailed < 5)
						strbuf_addf(&where, "%s%s",
							    nfailed ? ", " : "",
							    s->targets[j].name);
					nfailed++;
				}
				if (st == RUN_FAILED ||
				    (st != RUN_OK && r->status == RUN_OK))
					r->status = st;
			}
		}
		if (nfailed) {
			struct strbuf msg = STRBUF_INIT;

			strbuf_addf(&msg, "failed on %zu target%s: %s%s",
				    nfailed, nfailed == 1 ? "" : "s",
				    strbuf_str(&where),
				    nfailed > 5 ? ", ..." : "");
			free(r->error);
			r->error = strbuf_detach(&msg);
		}
		strbuf_release(&where);
	}
}

/* The run's status over its targets, and the throttles' sums. */
static void fleet_status_total(struct run_summary *s)
{
	size_t i, nlocked = 0;
	int failed = 0, interrupted = 0, partial = 0;

	for (i = 0; i < s->ntargets; i++) {
		const struct target_result *t = &s->targets[i];

		s->throttle.pause.count += t->throttle.pause.count;
		s->throttle.pause.ms += t->throttle.pause.ms;
		s->throttle.pause_ratio.count += t->throttle.pause_ratio.count;
		s->throttle.pause_ratio.ms += t->throttle.pause_ratio.ms;
		s->throttle.replica_lag.count += t->throttle.replica_lag.count;
		s->throttle.replica_lag.ms += t->throttle.replica_lag.ms;
		if (t->locked)
			nlocked++;
		else if (t->status == RUN_FAILED)
			failed = 1;
		else if (t->status == RUN_INTERRUPTED)
			interrupted = 1;
		else if (t->status == RUN_PARTIAL)
			partial = 1;
	}
	if (failed)
		s->status = RUN_FAILED;
	else if (interrupted)
		s->status = RUN_INTERRUPTED;
	else if (s->ntargets && nlocked == s->ntargets)
		s->status = RUN_SKIPPED;
	else if (partial || nlocked)
		s->status = RUN_PARTIAL;
}

enum outcome fleet_outcome(int code, int interrupted)
{
	switch (code) {
	case 0:
		return OUTCOME_OK;
	case EX_DATAERR:
		return OUTCOME_LEFT_BEHIND;
	case EX_UNAVAILABLE:
		return OUTCOME_UNAVAILABLE;
	case EX_CONFIG:
		return OUTCOME_CONFIG;
	case EX_TEMPFAIL:
		return interrupted ? OUTCOME_INTERRUPTED : OUTCOME_SKIPPED;
	default:
		return OUTCOME_RULE_FAILED;
	}
}

/*
 * The limit that stopped a target (its summary's "stopped_by", or the
 * "stopped_by" of a target not started in time), as the static string
 * the run's summary keeps; NULL for none.
 */
static const char *fleet_stopped_by(const json_t *result, const json_t *sum)
{
	static const char *const limits[] = {
		"max_rows", "max_runtime", "max_throttle"
	};
	const char *by = sum ? fleet_str(sum, "stopped_by") : NULL;
	size_t i;

	if (!by && result)
		by = fleet_str(result, "stopped_by");
	for (i = 0; by && i < sizeof(limits) / sizeof(limits[0]); i++) {
		if (strcmp(by, limits[i]) == 0)
			return limits[i];
	}
	return NULL;
}

void fleet_summary_fill(struct run_summary *s, const struct fleet_unit *units,
			json_t **results, size_t n, int *worst, int *interrupted)
{
	size_t i;

	s->targets = xcalloc(n ? n : 1, sizeof(*s->targets));
	s->ntargets = n;
	*worst = 0;
	*interrupted = 0;
	for (i = 0; i < n; i++) {
		struct target_result *t = &s->targets[i];
		const json_t *sum = results[i] ?
				    json_object_get(results[i], "summary") : NULL;

		fleet_target_from(t, &units[i], results[i], s->dry_run);
		if (t->status == RUN_INTERRUPTED)
			*interrupted = 1;
		t->stopped_by = fleet_stopped_by(results[i], sum);
		if (!s->stopped_by)
			s->stopped_by = t->stopped_by;
		*worst = fleet_worse_exit(*worst, t->exit_code);
		if (t->status != RUN_OK || t->locked)
			log_msg(t->status == RUN_FAILED ? SWEEPER_LOG_ERROR :
				SWEEPER_LOG_WARN, "target '%s': %s%s%s%s",
				t->name, target_status_name(t),
				t->error || t->stopped_by ? ": " : "",
				t->error ? t->error : t->stopped_by ?
				"stopped by " : "",
				!t->error && t->stopped_by ? t->stopped_by : "");
	}
	fleet_rules_total(s, results, s->dry_run);
	fleet_status_total(s);
}
