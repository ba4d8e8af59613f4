/*
 * summary.c: the run summary, the model every report renders: its run id,
 * the rules' and steps' results, their totals and the run's status.  The
 * renderings live apart (summary_json.c, summary_table.c), so that the
 * engine, which fills the model, knows nothing of JSON.
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
	for (i = 0; i < s->ntargets; i++) {
		struct target_result *t = &s->targets[i];

		free(t->name);
		free(t->schema);
		free(t->run_id);
		free(t->error);
		free(t->rules_json);
		for (j = 0; j < t->nsteps; j++) {
			free(t->steps[j].rule);
			free(t->steps[j].table);
		}
		free(t->steps);
	}
	free(s->targets);
	free(s->target);
	memset(s, 0, sizeof(*s));
}

const char *target_status_name(const struct target_result *t)
{
	return t->locked ? "locked" : run_status_name(t->status);
}
