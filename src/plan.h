/*
 * plan.h: one step's plan, built once by the preflight and read by the
 * run, the dry run and --explain alike (doc/design.md "How a run works"), as
 * PostgreSQL plans a query once and its executor and EXPLAIN read that
 * plan.
 *
 * A plan holds what the step's table is (table_facts.h, one catalog
 * query), the key the step walks and names refused rows by (the primary
 * key unless the config names one), the walk chosen and why, the names
 * quoted once, and the text of every statement the walk runs (statement.h),
 * each built once, with its bounds, limits and values as parameters, and
 * named for the connections that prepare it (db_run()).  The preflight
 * also keeps the first batch as the run would start it, with the plan
 * PostgreSQL gives it, for --explain.
 *
 * A plan is built in one thread; once built, the statements its walk runs
 * are read only (plan_prepare_walk() builds them all up front), so
 * several connections walking parts of one step can share it.
 */
#ifndef SWEEPER_PLAN_H
#define SWEEPER_PLAN_H

#include <stddef.h>

#include "ident.h"
#include "rule.h"
#include "statement.h"
#include "table_facts.h"

struct engine;

/*
 * A statement of the plan: its text and slots, and the name it is
 * prepared under ("" for one that is never prepared, plan_stmt()).
 */
struct plan_stmt {
	struct stmt_text text;
	char name[64];
	int built;
};

/*
 * The values of a statement's slots that vary from batch to batch, as
 * the walk gives them; the others come from the plan.  Borrowed.
 */
struct plan_values {
	const char *after;      /* SLOT_AFTER */
	const char *upto;       /* SLOT_UPTO */
	const char *users;      /* SLOT_USERS */
	const char *excluded;   /* SLOT_EXCLUDED */
	const char *keys;       /* SLOT_KEYS */
	long long limit;        /* SLOT_LIMIT */
	long long offset;       /* SLOT_OFFSET */
};

/* The parameters of one execution: plan_args_fill(), plan_args_free(). */
struct plan_args {
	const char **params;    /* owned array of borrowed strings */
	int nparams;
	char limit[24];
	char offset[24];
};

struct plan {
	const struct rule *rule;        /* borrowed; outlives the plan */
	const struct step *step;        /* borrowed */
	size_t rule_index;              /* for the statements' names */
	size_t step_index;
	struct table_facts facts;

	/* The key: unquoted and owned, NULL when the table has none. */
	char *key;
	char key_why[1280];             /* where it comes from */
	enum stmt_walk walk;
	/* The walk and why, one line: "walked by blocks: ...". */
	char why[1280];
	/* Why not by users, when the step might have been ("" else). */
	char not_users[1280];
	long long estimate;             /* the rows expected, -1 unknown: the
					 * planner's, or a sampled count's
					 * (plan.c) */

	/* Names quoted once; "" when not used. */
	char q_table[IDENT_MAX];
	char q_key[IDENT_MAX];
	char q_user[IDENT_MAX];
	char q_users[IDENT_MAX];
	char q_user_id[IDENT_MAX];
	struct stmt_source src;

	/* Earlier steps of the run on the same table (dry run's count). */
	const struct plan **earlier;    /* owned array of borrowed plans */
	struct stmt_earlier *earlier_src;
	size_t nearlier;

	struct plan_stmt stmts[STMT_KINDS][STMT_SHAPES];

	/* Slots the plan fills itself; borrowed. */
	const char *run_id;             /* the ledger's run id */
	const char *scope;              /* the named users, an array literal */

	/*
	 * The first batch as the run would start it (kind, shape, the
	 * values of its parameters, owned) and PostgreSQL's plan for it,
	 * one line per row of EXPLAIN (owned), for --explain.
	 */
	enum stmt_kind first_kind;
	unsigned first_shape;
	char **first_params;
	int nfirst_params;
	char *first_explain;
	char *first_where;              /* the walk's position, for --explain */
	/* Walk by users: what its first batch's walk counted (walk.h
	 * `few`), which a walk starting while the facts are fresh takes. */
	int few_counted;
	long long few;
};

/*
 * Build the plan of step `step_index` of rule `r` (the `rule_index`th
 * rule of the run) on e->conn, without changing anything: the table's
 * facts, the key, the planner's estimate (EXPLAIN of STMT_ESTIMATE),
 * the walk, and the first batch's EXPLAIN, which proves that the walk's
 * statement plans (a missing column, a broken predicate, a ledger table
 * the role may not write stop the run here, before anything is deleted).
 * `run_id` (borrowed, for the ledger) and e->scope (the named users) go
 * into the plan's parameters.
 *
 * Returns 0; -1 with one line in err naming the rule and table; -2 (also
 * with a line in err) when another session's work stood in the way (a
 * lock timeout, a statement timeout, a deadlock; retry_reason()), which
 * is no fault of the config and fails this rule alone.  A cancel of the
 * caller's own (a stop request) also gives -2 or -1: the caller tells it
 * apart by its stop flag.  *p is safe for plan_free() whatever the result.
 */
int plan_build(struct plan *p, struct engine *e, const struct rule *r,
	       size_t rule_index, size_t step_index, const char *run_id,
	       char *err, size_t errlen);

/*
 * Tell the plan that `earlier`, a step the run runs before it, deletes
 * from the same table (facts.oid): the dry run's count passes over its
 * rows.  Both plans must outlive this one's statements.
 */
void plan_add_earlier(struct plan *p, const struct plan *earlier);

/*
 * The statement of `kind` and `shape`, built on first use.  Returns it,
 * or NULL with one line in err.
 */
const struct plan_stmt *plan_stmt(struct plan *p, enum stmt_kind kind,
				  unsigned shape, char *err, size_t errlen);

/*
 * Build every statement the plan's walk may run (plan_build() does), so
 * that the plan is read only from then on, by as many connections as
 * walk parts of its step; only the dry run's count is built later, once
 * the earlier steps are known.  Returns 0, or -1 with one line in err.
 */
int plan_prepare_walk(struct plan *p, char *err, size_t errlen);

/*
 * The parameters of statement `st` for one execution into *a: each slot's
 * value from `v` or from the plan.  Free with plan_args_free().
 */
void plan_args_fill(const struct plan *p, const struct plan_stmt *st,
		    const struct plan_values *v, struct plan_args *a);

void plan_args_free(struct plan_args *a);

/* A short name of a walk: "blocks", "users", "named users", "index",
 * "key". */
const char *plan_walk_name(enum stmt_walk walk);

/* Free what the plan owns; *p is zeroed.  Accepts a zeroed plan. */
void plan_free(struct plan *p);

#endif /* SWEEPER_PLAN_H */
