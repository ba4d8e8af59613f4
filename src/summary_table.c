/*
 * summary_table.c: the run summary as the human table printed on stdout
 * without --json.
 */
#include <stdio.h>
#include <string.h>

#include "strbuf.h"
#include "summary.h"
#include "summary_table.h"

static void summary_seconds(long long ms, char out[24])
{
	snprintf(out, 24, "%lld.%02llds", ms / 1000, (ms % 1000) / 10);
}

/*
 * A run over targets: how many ended how, and one line for each target
 * that did not end ok (with 500 tenants, the table stays readable).
 */
static void summary_print_targets(FILE *out, const struct run_summary *s)
{
	static const char *const names[] = {
		"ok", "partial", "failed", "locked", "interrupted"
	};
	size_t n[5] = { 0, 0, 0, 0, 0 };
	size_t i, j;

	if (!s->targets)
		return;
	for (i = 0; i < s->ntargets; i++) {
		for (j = 0; j < 5; j++)
			n[j] += strcmp(target_status_name(&s->targets[i]),
				       names[j]) == 0;
	}
	fprintf(out, "targets: %zu (%zu ok, %zu partial, %zu failed, %zu "
		"locked, %zu interrupted)\n", s->ntargets, n[0], n[1], n[2],
		n[3], n[4]);
	for (i = 0; i < s->ntargets; i++) {
		const struct target_result *t = &s->targets[i];

		if (!t->locked && t->status == RUN_OK)
			continue;
		fprintf(out, "  %-30s %-12s %s%s\n", t->name,
			target_status_name(t), t->error ? t->error :
			t->stopped_by ? "stopped by " : "",
			!t->error && t->stopped_by ? t->stopped_by : "");
	}
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
	summary_print_targets(out, s);
	if (s->throttle.pause.count || s->throttle.pause_ratio.count ||
	    s->throttle.replica_lag.count)
		fprintf(out, "throttled: pause %lld (%lld ms), pause_ratio %lld "
			"(%lld ms), replica_lag %lld (%lld ms)\n",
			s->throttle.pause.count, s->throttle.pause.ms,
			s->throttle.pause_ratio.count, s->throttle.pause_ratio.ms,
			s->throttle.replica_lag.count, s->throttle.replica_lag.ms);
	if (s->throttle.max_rate.count)
		fprintf(out, "max_rate: waited %lld time%s (%lld ms)\n",
			s->throttle.max_rate.count,
			s->throttle.max_rate.count == 1 ? "" : "s",
			s->throttle.max_rate.ms);
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
