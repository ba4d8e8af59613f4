/*
 * explain.c: --explain from the plans (explain.h).  Nothing is planned
 * here: the first batch's plan is the one the preflight had PostgreSQL
 * make, and the other statements are the texts the run will send.
 */
#include <stdio.h>

#include "explain.h"
#include "statement.h"
#include "workers.h"

/* A statement the walk runs besides its first batch, and when. */
struct explain_other {
	enum stmt_kind kind;
	unsigned shape;
	const char *when;
};

static const struct explain_other explain_windowed[] = {
	{ STMT_CAPPED_DELETE, STMT_AFTER | STMT_UPTO,
	  "a window whose plain DELETE would wait for a row lock or delete "
	  "more than the batch size goes in capped batches" },
	{ STMT_VICTIM_KEYS, STMT_AFTER | STMT_UPTO,
	  "a batch the database refuses: the keys of its rows" },
	{ STMT_KEYS_DELETE, 0, "then its rows by key, in parts" },
};

static const struct explain_other explain_users[] = {
	{ STMT_WINDOW_DELETE, STMT_AFTER | STMT_UPTO | STMT_JOINED,
	  "once its windows delete a row or more per users block, on "
	  "average, a window joins its users instead of listing them" },
	{ STMT_CAPPED_DELETE, STMT_AFTER | STMT_UPTO,
	  "a window whose plain DELETE would wait for a row lock or delete "
	  "more than the batch size goes in capped batches (joining its "
	  "users as its plain DELETE would)" },
	{ STMT_VICTIM_KEYS, STMT_AFTER | STMT_UPTO,
	  "a batch the database refuses: the keys of its rows" },
	{ STMT_KEYS_DELETE, 0, "then its rows by key, in parts" },
};

static const struct explain_other explain_key[] = {
	{ STMT_KEY_WINDOW, STMT_AFTER,
	  "before each batch, in its transaction: the end of its key window" },
	{ STMT_CAPPED_DELETE, STMT_AFTER | STMT_UPTO,
	  "the batches after the first" },
	{ STMT_VICTIM_KEYS, STMT_AFTER | STMT_UPTO,
	  "a batch the database refuses: the keys of its rows" },
	{ STMT_KEYS_DELETE, 0, "then its rows by key, in parts" },
};

static const struct explain_other explain_index[] = {
	{ STMT_CAPPED_DELETE, 0,
	  "a batch that would wait for a row lock, and every batch after it, "
	  "locks its rows first and passes over those another session holds" },
	{ STMT_VICTIM_KEYS, 0,
	  "a batch the database refuses: the keys of its rows" },
	{ STMT_KEYS_DELETE, 0, "then its rows by key, in parts" },
};

static int explain_step(const struct rule *r, struct plan *p, size_t i,
			struct engine *e, FILE *out, char *err, size_t errlen)
{
	char workers[1024];
	const struct explain_other *other = explain_index;
	const struct plan_stmt *st;
	size_t n = sizeof(explain_index) / sizeof(explain_index[0]), j;
	int k;

	st = plan_stmt(p, p->first_kind, p->first_shape, err, errlen);
	if (!st)
		return -1;
	fprintf(out, "-- rule %s, step %zu: %s (%s)\n", r->name, i + 1,
		p->step->label, p->step->table);
	fprintf(out, "-- %s\n-- key: %s\n", p->why, p->key_why);
	if (p->not_users[0])
		fprintf(out, "-- not walked by users: %s\n", p->not_users);
	fprintf(out, "-- the first batch (%s):\n%s;\n", p->first_where,
		st->text.sql);
	for (k = 0; k < p->nfirst_params; k++)
		fprintf(out, "-- $%d = %s\n", k + 1,
			p->first_params[k] ? p->first_params[k] : "NULL");
	fputs(p->first_explain ? p->first_explain : "", out);
	if (p->walk == STMT_WALK_KEY) {
		other = explain_key;
		n = sizeof(explain_key) / sizeof(explain_key[0]);
	} else if (p->walk == STMT_WALK_USERS) {
		other = explain_users;
		n = sizeof(explain_users) / sizeof(explain_users[0]);
	} else if (p->walk != STMT_WALK_INDEX) {
		other = explain_windowed;
		n = sizeof(explain_windowed) / sizeof(explain_windowed[0]);
	}
	for (j = 0; j < n; j++) {
		/* A table without a key has no statement that needs one. */
		st = plan_stmt(p, other[j].kind, other[j].shape, err, errlen);
		if (!st)
			continue;
		fprintf(out, "-- %s:\n%s;\n", other[j].when, st->text.sql);
	}
	if (p->key)
		fprintf(out, "-- after the database refused a row, every "
			"batch also passes over the refused rows' keys: AND NOT "
			"(t.%s = ANY($n))\n", p->q_key);
	if (workers_explain(e, p, workers, sizeof(workers), err, errlen) != 0)
		return -1;
	fprintf(out, "-- workers: %s\n", workers);
	if (e->dry_run) {
		st = plan_stmt(p, STMT_COUNT, 0, err, errlen);
		if (!st)
			return -1;
		fprintf(out, "-- a dry run counts instead:\n%s;\n",
			st->text.sql);
	}
	fputc('\n', out);
	return 0;
}

int explain_rule(const struct rule *r, struct plan *plans, struct engine *e,
		 FILE *out, char *err, size_t errlen)
{
	size_t i;

	for (i = 0; i < r->nsteps; i++) {
		if (explain_step(r, &plans[i], i, e, out, err, errlen) != 0)
			return -1;
	}
	fflush(out);
	return 0;
}
