/*
 * plan.c: one step's plan (plan.h): the facts, the key, the walk and its
 * statements, built by the preflight in one read-only transaction:
 *
 *   1. the table's facts, one catalog query (table_facts.h);
 *   2. the key: the config's when it names one, else the primary key;
 *   3. EXPLAIN (FORMAT JSON) of the step's count: the planner's estimate,
 *      and whether an index finds the matching rows;
 *   4. the walk, and why; for a run that deletes, the rows counted in a
 *      sample of the table's blocks, which progress shows (the planner's
 *      estimate stays when the sample is too thin);
 *   5. the first batch, as the run would start it (a key walk's window
 *      end read, as a batch reads it), and EXPLAIN of its statement,
 *      which proves that the statement the run will run plans.
 *
 * Every statement's text is built once, on first use, and named for the
 * connections that prepare it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine.h"
#include "estimate.h"
#include "log.h"
#include "plan.h"
#include "retry.h"
#include "step_hint.h"
#include "strbuf.h"
#include "walk.h"
#include "xalloc.h"

/* TID range scans, which the windows of blocks need, came in 14. */
#define PLAN_BLOCKS_MIN_SERVER 140000

const char *plan_walk_name(enum stmt_walk walk)
{
	switch (walk) {
	case STMT_WALK_BLOCKS:
		return "blocks";
	case STMT_WALK_USERS:
		return "users";
	case STMT_WALK_NAMED:
		return "named users";
	case STMT_WALK_INDEX:
		return "index";
	case STMT_WALK_KEY:
		break;
	}
	return "key";
}

/* Quote `name` into buf; -1 with a line in err naming `what`. */
static int plan_quote(const struct plan *p, const char *what, const char *name,
		      int column, char *buf, char *err, size_t errlen)
{
	int rc = column ? ident_quote_column(name, buf, IDENT_MAX) :
			  ident_quote(name, buf, IDENT_MAX);

	if (rc != 0)
		snprintf(err, errlen, "rule '%s': invalid %s name '%s'",
			 p->rule->name, what, name);
	return rc != 0 ? -1 : 0;
}

/*
 * Quote every name the step's statements may use, once: its table, key
 * and user columns, and the users table with its id column when a walk
 * by users or the named users may need them.
 */
static int plan_quote_names(struct plan *p, const struct engine *e,
			    char *err, size_t errlen)
{
	const struct step *s = p->step;

	if (plan_quote(p, "table", s->table, 0, p->q_table, err, errlen) ||
	    plan_quote(p, "key column", s->key_column, 1, p->q_key, err,
		       errlen))
		return -1;
	if (s->user_column &&
	    plan_quote(p, "user column", s->user_column, 1, p->q_user, err,
		       errlen))
		return -1;
	if (s->user_column && e->users_table && *e->users_table &&
	    e->user_id_column && *e->user_id_column &&
	    (plan_quote(p, "users table", e->users_table, 0, p->q_users, err,
			errlen) ||
	     plan_quote(p, "user id column", e->user_id_column, 1,
			p->q_user_id, err, errlen)))
		return -1;
	return 0;
}

/*
 * The key a key walk orders by and refused rows are named by.  A key the
 * config names (step->key_setting written, or a rule that names its key
 * itself) must exist; otherwise the table's one-column primary key, and
 * the rule's default name only for a table without one.  Returns 0, or
 * -1 with one line in err.
 */
static int plan_key(struct plan *p, char *err, size_t errlen)
{
	const struct step *s = p->step;
	const struct table_facts *f = &p->facts;

	if (!s->key_setting || s->key_written) {
		if (!f->key_exists && f->primary_key[0] && s->key_setting) {
			snprintf(err, errlen, "rule '%s': table '%s' has no "
				 "column %s, which %s names as its key; write "
				 "its primary key there (%s), or leave the key "
				 "out and the primary key is walked",
				 p->rule->name, s->table, p->q_key,
				 s->key_setting, f->primary_key);
			return -1;
		}
		if (!f->key_exists) {
			snprintf(err, errlen, "rule '%s': table '%s' has no "
				 "column %s, which %s%s names as its key; name "
				 "its primary key or another unique, NOT NULL "
				 "column", p->rule->name, s->table, p->q_key,
				 s->key_setting ? s->key_setting : "the rule",
				 s->key_setting ? "" : "'s key_column");
			return -1;
		}
		p->key = xstrdup(s->key_column);
		snprintf(p->key_why, sizeof(p->key_why), "%s, as %s names it",
			 p->q_key, s->key_setting ? s->key_setting :
			 "the rule");
		return 0;
	}
	if (f->primary_key[0]) {
		p->key = xstrdup(f->primary_key);
		if (ident_quote_column(p->key, p->q_key, sizeof(p->q_key)) != 0) {
			snprintf(err, errlen, "rule '%s': cannot quote the "
				 "primary key of '%s'", p->rule->name, s->table);
			return -1;
		}
		snprintf(p->key_why, sizeof(p->key_why), "%s, the primary key "
			 "(%s is not set)", p->q_key, s->key_setting);
		return 0;
	}
	if (f->key_exists) {
		p->key = xstrdup(s->key_column);
		snprintf(p->key_why, sizeof(p->key_why), "%s, %s's default: the "
			 "table has no one-column primary key", p->q_key,
			 s->key_setting);
		return 0;
	}
	p->q_key[0] = '\0';
	snprintf(p->key_why, sizeof(p->key_why), "none: the table has no "
		 "one-column primary key and no column %s; set %s to a "
		 "unique, NOT NULL column", s->key_column, s->key_setting);
	return 0;
}

/* How a failed statement of the preflight reads, and whether it is -2. */
static int plan_failure(const struct plan *p, const char *state,
			const char *why, char *err, size_t errlen)
{
	const char *rule = p->rule->name, *table = p->step->table;
	int busy = retry_reason(state) != NULL;

	/*
	 * Planning takes the table's lock: a lock timeout here means another
	 * session (a migration, say) holds the table, not that the config
	 * is wrong; a statement timeout, a deadlock or a serialization
	 * failure is no fault of the config either.  Each fails this rule
	 * alone.  A cancel of ours (a stop) is told apart by the caller.
	 */
	if (strcmp(state, "55P03") == 0)
		snprintf(err, errlen,
			 "rule '%s': table '%s' is locked by another session: "
			 "%s; the rule did not run and deleted nothing, run "
			 "again later", rule, table, why);
	else if (strcmp(state, "57014") == 0)
		snprintf(err, errlen,
			 "rule '%s': planning the step on '%s' took longer than "
			 "statement_timeout: %s; the rule did not run and "
			 "deleted nothing, run again later or raise "
			 "statement_timeout", rule, table, why);
	else if (busy)
		snprintf(err, errlen,
			 "rule '%s': planning the step on '%s' failed (%s): %s; "
			 "the rule did not run and deleted nothing, run again "
			 "later", rule, table, retry_reason(state), why);
	else if (strcmp(state, "42501") == 0)
		/*
		 * EXPLAIN checks the statement's privileges.  grants.c has
		 * checked those the sweeper knows of, so what is missing here
		 * is read by the rule's own SQL (another table, a function):
		 * the names are right, the role is not.
		 */
		snprintf(err, errlen,
			 "rule '%s': the role may not run the step on '%s': %s; "
			 "grant what the rule's SQL reads (mfa-sweeper "
			 "--print-grants lists what the sweeper itself needs)",
			 rule, table, why);
	else {
		char hint[1536];

		step_hint(p->rule, p->step, state, why, hint, sizeof(hint));
		snprintf(err, errlen, "rule '%s': step on '%s' does not plan: "
			 "%s; %s", rule, table, why, hint);
	}
	return busy ? -2 : -1;
}

/*
 * The walk, and why, into p->walk, p->why and p->not_users.  `index` is
 * the index the planner finds the matching rows through, "" for none.
 * Returns 0, or -1 with one line in err when the walk needs a key the
 * table lacks.
 */
static int plan_choose_walk(struct plan *p, const struct engine *e,
			    const char *index, char *err, size_t errlen)
{
	const struct step *s = p->step;
	const struct table_facts *f = &p->facts;
	int server = PQserverVersion(e->conn);

	p->not_users[0] = '\0';
	if (e->scoped && s->user_column) {
		p->walk = STMT_WALK_NAMED;
		snprintf(p->why, sizeof(p->why), "walked by named users: a "
			 "scoped run reaches the named users' rows through "
			 "%s%s%s", f->user_index[0] ? "index \"" : "the user "
			 "column ", f->user_index[0] ? f->user_index :
			 p->q_user, f->user_index[0] ? "\"" : "");
		return 0;
	}
	p->walk = STMT_WALK_KEY;
	if (f->many_tables)
		snprintf(p->why, sizeof(p->why), "walked by key: '%s' is "
			 "partitioned or has child tables, where a ctid names "
			 "no row", s->table);
	else if (e->sizing.batch_size > 0)
		snprintf(p->why, sizeof(p->why), "walked by key: batch_size "
			 "is fixed (%lld), which capped batches in key order "
			 "keep to", e->sizing.batch_size);
	else if (server < PLAN_BLOCKS_MIN_SERVER)
		snprintf(p->why, sizeof(p->why), "walked by key: PostgreSQL "
			 "%d has no TID range scans (14 and later have)",
			 server / 10000);
	if (p->why[0]) {
		if (!p->key) {
			snprintf(err, errlen, "rule '%s': step on '%s' must be "
				 "%s, and needs a key to walk: %s", p->rule->name,
				 s->table, p->why, p->key_why);
			return -1;
		}
		return 0;
	}
	if (s->user_column && p->rule->user_filter && p->q_users[0]) {
		if (!f->users_oid)
			snprintf(p->not_users, sizeof(p->not_users), "the "
				 "users table %s does not exist", p->q_users);
		else if (f->users_many_tables)
			snprintf(p->not_users, sizeof(p->not_users), "the "
				 "users table is partitioned");
		else if (!f->user_index[0])
			snprintf(p->not_users, sizeof(p->not_users), "no index "
				 "leads with its user column %s, so every batch "
				 "would read the table whole", p->q_user);
		if (!p->not_users[0]) {
			p->walk = STMT_WALK_USERS;
			snprintf(p->why, sizeof(p->why), "walked by users: the "
				 "rule filters users, and index \"%s\" finds a "
				 "user's rows", f->user_index);
			return 0;
		}
	}
	if (index) {
		p->walk = STMT_WALK_INDEX;
		snprintf(p->why, sizeof(p->why), "walked by index: the "
			 "planner finds the matching rows through %s%s%s "
			 "(about %lld)", index[0] ? "index \"" : "an index",
			 index, index[0] ? "\"" : "", p->estimate);
		return 0;
	}
	p->walk = STMT_WALK_BLOCKS;
	snprintf(p->why, sizeof(p->why), "walked by blocks: no index finds "
		 "the matching rows (the planner expects about %lld of %.0f)",
		 p->estimate, f->rows);
	return 0;
}

/* Fill p->src for the plan's walk. */
static void plan_source(struct plan *p, const struct engine *e)
{
	struct stmt_source *src = &p->src;

	memset(src, 0, sizeof(*src));
	src->table = p->q_table;
	src->key = p->key ? p->q_key : NULL;
	src->user = p->step->user_column ? p->q_user : NULL;
	src->users = p->q_users[0] ? p->q_users : NULL;
	src->user_id = p->q_user_id[0] ? p->q_user_id : NULL;
	src->predicate = p->step->predicate;
	src->npredicate = p->step->nparams;
	src->joined = p->step->joined_predicate;
	src->filter = p->rule->user_filter;
	src->nfilter = p->rule->filter_nparams;
	src->many_tables = p->facts.many_tables;
	src->walk = p->walk;
	src->ledger = e->ledger;
	src->scoped = e->scoped;
}

const struct plan_stmt *plan_stmt(struct plan *p, enum stmt_kind kind,
				  unsigned shape, char *err, size_t errlen)
{
	struct plan_stmt *st;

	shape &= STMT_SHAPES - 1;
	st = &p->stmts[kind][shape];
	if (st->built)
		return st;
	p->src.earlier = p->earlier_src;
	p->src.nearlier = p->nearlier;
	if (stmt_build(&st->text, &p->src, kind, shape, err, errlen) != 0)
		return NULL;
	/*
	 * Named for the run (the first part of its id), so that a statement
	 * another run left on a server session never stands in the way.
	 * PostgreSQL plans a prepared statement for its parameters five
	 * times, then may keep a generic plan, made without their values,
	 * whenever it estimates that plan no costlier.  The walks' bounds
	 * (ctids, keys, the users' index) make the same plan either way; a
	 * walk by index has no bounds, and its plan rests on the predicate's
	 * values alone, for which a generic plan may trade the index for a
	 * sequential scan: its statements stay unnamed, planned anew for
	 * every batch.  So do a walk by named users': a generic plan cannot
	 * know how many users a window lists, and on the bench's bulk disable
	 * at L it took 76 to 78 ms a window of 3,750 users where the plans
	 * made for the users took 45 ms (planning one costs 3 to 7 ms).
	 */
	if (!(p->walk == STMT_WALK_NAMED ||
	      (p->walk == STMT_WALK_INDEX && (kind == STMT_CAPPED_DELETE ||
					      kind == STMT_VICTIM_KEYS))))
		snprintf(st->name, sizeof(st->name),
			 "mfa_sweeper_%.8s_%zu_%zu_%s_%u",
			 p->run_id ? p->run_id : "", p->rule_index,
			 p->step_index, stmt_kind_name(kind), shape);
	st->built = 1;
	return st;
}

/* Whether the walk may ever run statement `kind` with `shape`. */
static int plan_walk_runs(const struct plan *p, enum stmt_kind kind,
			  unsigned shape)
{
	int windowed = p->walk == STMT_WALK_BLOCKS ||
		       p->walk == STMT_WALK_USERS ||
		       p->walk == STMT_WALK_NAMED;

	unsigned bounds = shape & (STMT_AFTER | STMT_UPTO);

	/* Only the walk by index takes capped victims unlocked. */
	if ((shape & STMT_UNLOCKED) && (p->walk != STMT_WALK_INDEX ||
					kind != STMT_CAPPED_DELETE))
		return 0;
	/* Only a walk by users joins its window's users, and only where
	 * the statement has its window. */
	if ((shape & STMT_JOINED) && (p->walk != STMT_WALK_USERS ||
				      kind == STMT_KEYS_DELETE))
		return 0;
	/* Rows are refused, passed over and split by key. */
	if (!p->key && ((shape & STMT_EXCLUDED) || kind == STMT_KEYS_DELETE ||
			kind == STMT_VICTIM_KEYS))
		return 0;
	switch (kind) {
	case STMT_FEW_USERS:
		return p->walk == STMT_WALK_USERS && shape == 0;
	case STMT_KEY_WINDOW:
		return p->walk == STMT_WALK_KEY && !(shape & STMT_EXCLUDED);
	case STMT_KEYS_DELETE:
		return !bounds;
	case STMT_WINDOW_DELETE:
		if (!windowed)
			return 0;
		/* fall through */
	case STMT_CAPPED_DELETE:
	case STMT_VICTIM_KEYS:
		/* Which bounds each walk's batches have (walk_bounds()). */
		if (p->walk == STMT_WALK_BLOCKS || p->walk == STMT_WALK_USERS)
			return (shape & STMT_AFTER) != 0;
		if (p->walk == STMT_WALK_NAMED || p->walk == STMT_WALK_INDEX)
			return !bounds;
		return 1;
	default:
		return 0;
	}
}

int plan_prepare_walk(struct plan *p, char *err, size_t errlen)
{
	char why[512];
	int kind;
	unsigned shape;

	for (kind = 0; kind < STMT_KINDS; kind++) {
		for (shape = 0; shape < STMT_SHAPES; shape++) {
			if (!plan_walk_runs(p, (enum stmt_kind)kind, shape))
				continue;
			if (!plan_stmt(p, (enum stmt_kind)kind, shape, why,
				       sizeof(why))) {
				snprintf(err, errlen, "rule '%s': %s",
					 p->rule->name, why);
				return -1;
			}
		}
	}
	return 0;
}

void plan_args_fill(const struct plan *p, const struct plan_stmt *st,
		    const struct plan_values *v, struct plan_args *a)
{
	int i;

	memset(a, 0, sizeof(*a));
	a->nparams = st->text.nparams;
	a->params = xcalloc((size_t)a->nparams + 1, sizeof(*a->params));
	snprintf(a->limit, sizeof(a->limit), "%lld", v->limit);
	snprintf(a->offset, sizeof(a->offset), "%lld", v->offset);
	for (i = 0; i < a->nparams; i++) {
		const struct stmt_slot *sl = &st->text.slots[i];
		const char *val = NULL;

		switch (sl->kind) {
		case SLOT_STEP:
			val = p->step->params[sl->index];
			break;
		case SLOT_FILTER:
			val = p->rule->filter_params[sl->index];
			break;
		case SLOT_EARLIER:
			val = p->earlier[sl->step]->step->params[sl->index];
			break;
		case SLOT_LEDGER_RUN:
			val = p->run_id;
			break;
		case SLOT_LEDGER_RULE:
			val = p->rule->name;
			break;
		case SLOT_LEDGER_TABLE:
			val = p->step->table;
			break;
		case SLOT_AFTER:
			val = v->after;
			break;
		case SLOT_UPTO:
			val = v->upto;
			break;
		case SLOT_LIMIT:
			val = a->limit;
			break;
		case SLOT_OFFSET:
			val = a->offset;
			break;
		case SLOT_EXCLUDED:
			val = v->excluded;
			break;
		case SLOT_KEYS:
			val = v->keys ? v->keys : "{}";
			break;
		case SLOT_USERS:
			val = v->users ? v->users : "{}";
			break;
		case SLOT_SCOPE:
			val = p->scope ? p->scope : "{}";
			break;
		}
		a->params[i] = val;
	}
}

void plan_args_free(struct plan_args *a)
{
	free(a->params);
	memset(a, 0, sizeof(*a));
}

/*
 * Run `prefix` + the statement with its arguments (an EXPLAIN) inside the
 * preflight's transaction.  Returns the result, or NULL with the SQLSTATE
 * in `state` and one line in why.
 */
static PGresult *plan_explain(struct plan *p, PGconn *conn, const char *prefix,
			      const struct plan_stmt *st,
			      const struct plan_values *v,
			      char state[DB_SQLSTATE_LEN], char *why,
			      size_t whylen)
{
	struct strbuf sql = STRBUF_INIT;
	struct plan_args a;
	PGresult *res;

	plan_args_fill(p, st, v, &a);
	strbuf_addf(&sql, "%s%s", prefix, st->text.sql);
	res = db_query_state(conn, strbuf_str(&sql), a.nparams, a.params,
			     state, why, whylen);
	strbuf_release(&sql);
	plan_args_free(&a);
	return res;
}

/*
 * EXPLAIN (FORMAT JSON) the step's count: the planner's estimate of its
 * rows into p->estimate, and the index that finds them into `index`
 * (returned; NULL when none).  Returns 0, or what plan_failure() says.
 */
static int plan_estimate(struct plan *p, PGconn *conn, char *index,
			 size_t size, const char **found, char *err,
			 size_t errlen)
{
	char state[DB_SQLSTATE_LEN] = "";
	struct plan_values v;
	const struct plan_stmt *st;
	char why[1024];
	PGresult *res;
	int indexed;

	*found = NULL;
	memset(&v, 0, sizeof(v));
	st = plan_stmt(p, STMT_ESTIMATE, 0, why, sizeof(why));
	if (!st) {
		snprintf(err, errlen, "rule '%s': %s", p->rule->name, why);
		return -1;
	}
	res = plan_explain(p, conn, "EXPLAIN (FORMAT JSON) ", st, &v, state,
			   why, sizeof(why));
	if (!res)
		return plan_failure(p, state, why, err, errlen);
	if (PQntuples(res) == 1 &&
	    estimate_from_plan(PQgetvalue(res, 0, 0), &p->estimate, why,
			       sizeof(why)) != 0)
		log_msg(SWEEPER_LOG_DEBUG, "rule '%s': %s: no row estimate: %s",
			p->rule->name, p->step->table, why);
	indexed = PQntuples(res) == 1 &&
		  estimate_plan_index(PQgetvalue(res, 0, 0),
				      SWEEPER_TARGET_ALIAS, index, size) == 1;
	if (indexed)
		*found = index;
	PQclear(res);
	return 0;
}

/*
 * The blocks a sampled count reads at most (16 MB of 8 kB blocks), and
 * the matching rows it must see for its scaled count to stand: fewer,
 * and the rows are too rare for a sample of blocks to find reliably,
 * which is where the planner, with an index's statistics, does well.
 */
#define PLAN_SAMPLE_BLOCKS 2048
#define PLAN_SAMPLE_MIN_ROWS 50

/*
 * Count the step's rows in a sample of the table's blocks (TABLESAMPLE
 * SYSTEM, REPEATABLE so that two runs agree), scaled to the table: the
 * whole table when it has at most PLAN_SAMPLE_BLOCKS blocks, so exact.
 * The planner multiplies the selectivities of a predicate's conditions
 * as if they were independent, and a retention predicate's are not ("used
 * AND used_at < ...": only a used code has a used_at), nor is the join a
 * user filter adds: its estimate was off by a factor of 3 to 10 on such
 * data, and progress would have shown that as rows left and an ETA.
 * Sets p->estimate when the sample stands; otherwise, or on any error (in
 * a savepoint, so that the preflight's transaction goes on), the
 * planner's estimate stays.
 */
static void plan_sample(struct plan *p, PGconn *conn,
			const struct plan_stmt *st)
{
	char state[DB_SQLSTATE_LEN] = "";
	struct strbuf sql = STRBUF_INIT;
	struct plan_values v;
	struct plan_args a;
	char from[IDENT_MAX + 64];
	char why[1024];
	PGresult *res = NULL;
	double percent, seen;
	size_t n;

	if (p->facts.many_tables || p->facts.nblocks <= 0)
		return;
	/* The estimate statement is "SELECT count(*) FROM table AS t WHERE
	 * ...": the sample goes right after the alias. */
	n = (size_t)snprintf(from, sizeof(from), "SELECT count(*) FROM %s AS %s ",
			     p->q_table, SWEEPER_TARGET_ALIAS);
	if (n >= sizeof(from) || strncmp(st->text.sql, from, n) != 0)
		return;
	percent = p->facts.nblocks <= PLAN_SAMPLE_BLOCKS ? 100.0 :
		  100.0 * PLAN_SAMPLE_BLOCKS / (double)p->facts.nblocks;
	strbuf_addf(&sql, "%sTABLESAMPLE SYSTEM (%.6f) REPEATABLE (0) %s", from,
		    percent, st->text.sql + n);
	memset(&v, 0, sizeof(v));
	plan_args_fill(p, st, &v, &a);
	if (db_exec_state(conn, "SAVEPOINT plan_sample", state, why,
			  sizeof(why)) != 0)
		goto out;
	res = db_query_state(conn, strbuf_str(&sql), a.nparams, a.params,
			     state, why, sizeof(why));
	if (!res || PQntuples(res) != 1) {
		log_msg(SWEEPER_LOG_DEBUG, "rule '%s': %s: no sampled count: %s",
			p->rule->name, p->step->table, res ? "no row" : why);
		PQclear(PQexec(conn, "ROLLBACK TO SAVEPOINT plan_sample"));
		goto out;
	}
	PQclear(PQexec(conn, "RELEASE SAVEPOINT plan_sample"));
	seen = strtod(PQgetvalue(res, 0, 0), NULL);
	if (percent < 100.0 && seen < PLAN_SAMPLE_MIN_ROWS)
		goto out;
	log_msg(SWEEPER_LOG_DEBUG, "rule '%s': %s: about %.0f matching rows "
		"(%.0f in %.2f%% of its blocks; the planner expected %lld)",
		p->rule->name, p->step->table, seen * 100.0 / percent, seen,
		percent, p->estimate);
	p->estimate = (long long)(seen * 100.0 / percent + 0.5);
out:
	PQclear(res);
	plan_args_free(&a);
	strbuf_release(&sql);
}

/* The rows of an EXPLAIN, one a line, newly allocated. */
static char *plan_explain_text(const PGresult *res)
{
	struct strbuf sb = STRBUF_INIT;
	int i;

	for (i = 0; i < PQntuples(res); i++)
		strbuf_addf(&sb, "%s\n", PQgetvalue(res, i, 0));
	return strbuf_detach(&sb);
}

/*
 * A walk by users whose first window lists its users joins them once its
 * windows are dense, and with a joined predicate (struct sweeper_step)
 * that window's DELETE is text the first batch's EXPLAIN has not proved:
 * EXPLAIN it too, on the first window's bounds, so that a joined
 * predicate the server refuses stops the step before its first batch.
 * Returns 0, or -1 with `why` (and `state` when the server refused it).
 */
static int plan_explain_joined(struct plan *p, PGconn *conn,
			       enum stmt_kind kind, unsigned shape,
			       const struct plan_values *v,
			       char state[DB_SQLSTATE_LEN], char *why,
			       size_t whylen)
{
	const struct plan_stmt *st;
	char server[900];
	PGresult *res;

	if (p->walk != STMT_WALK_USERS || !p->step->joined_predicate ||
	    kind != STMT_WINDOW_DELETE || (shape & STMT_JOINED))
		return 0;
	st = plan_stmt(p, kind, shape | STMT_JOINED, why, whylen);
	if (!st)
		return -1;
	res = plan_explain(p, conn, "EXPLAIN ", st, v, state, server,
			   sizeof(server));
	if (!res) {
		snprintf(why, whylen, "the window DELETE with its "
			 "joined_predicate: %s", server);
		return -1;
	}
	PQclear(res);
	return 0;
}

/*
 * The first batch, as the run would start it: the walk started from the
 * facts just read, its first bounds (a key walk's window end read as its
 * batch reads it), and EXPLAIN of its statement.  Returns 0, or what
 * plan_failure() says.
 */
static int plan_first_batch(struct plan *p, struct engine *e, char *err,
			    size_t errlen)
{
	char state[DB_SQLSTATE_LEN] = "";
	struct walk_named_users named = { NULL, 0 };
	struct plan_values v;
	struct plan_args a;
	const struct plan_stmt *st;
	enum stmt_kind kind;
	unsigned shape;
	struct walk w;
	char where[128];
	char why[1024];
	PGresult *res = NULL;
	int i, ret = -1;

	if (e->scoped) {
		named.ids = e->named.ids;
		named.n = e->named.n;
	}
	walk_init(&w, p, &e->sizing, &named);
	/*
	 * Nothing is prepared before the run lock has ruled out a
	 * transaction pooler the config does not name (run_lock.h).
	 */
	w.unprepared = 1;
	/* The facts were just read: a start reads only what they lack (a
	 * walk by users counts its filter's users). */
	if (w.ops->start(&w, e->conn, state, why, sizeof(why)) != 0)
		goto failed;
	w.ops->next(&w);
	if (w.ops->in_batch &&
	    w.ops->in_batch(&w, e->conn, state, why, sizeof(why)) != 0)
		goto failed;
	walk_statement(&w, &kind, &shape, &v);
	st = plan_stmt(p, kind, shape, why, sizeof(why));
	if (!st) {
		snprintf(err, errlen, "rule '%s': %s", p->rule->name, why);
		goto out;
	}
	res = plan_explain(p, e->conn, "EXPLAIN ", st, &v, state, why,
			   sizeof(why));
	if (!res)
		goto failed;
	if (plan_explain_joined(p, e->conn, kind, shape, &v, state, why,
				sizeof(why)) != 0) {
		if (state[0])
			goto failed;
		snprintf(err, errlen, "rule '%s': %s", p->rule->name, why);
		goto out;
	}
	p->first_kind = kind;
	p->first_shape = shape;
	p->first_explain = plan_explain_text(res);
	w.ops->describe(&w, where, sizeof(where));
	p->first_where = xstrdup(where);
	if (p->walk == STMT_WALK_USERS) {
		p->few_counted = 1;
		p->few = w.few;
	}
	plan_args_fill(p, st, &v, &a);
	p->nfirst_params = a.nparams;
	p->first_params = xcalloc((size_t)a.nparams + 1, sizeof(char *));
	for (i = 0; i < a.nparams; i++)
		p->first_params[i] = a.params[i] ? xstrdup(a.params[i]) : NULL;
	plan_args_free(&a);
	ret = 0;
	goto out;
failed:
	ret = plan_failure(p, state, why, err, errlen);
out:
	PQclear(res);
	walk_free(&w);
	return ret;
}

int plan_build(struct plan *p, struct engine *e, const struct rule *r,
	       size_t rule_index, size_t step_index, const char *run_id,
	       char *err, size_t errlen)
{
	char state[DB_SQLSTATE_LEN] = "";
	const struct step *s = &r->steps[step_index];
	const char *users;
	const char *found;
	char index[DB_NAME_LEN];
	char why[1024];
	int rc, ret = -1;

	memset(p, 0, sizeof(*p));
	p->rule = r;
	p->step = s;
	p->rule_index = rule_index;
	p->step_index = step_index;
	p->estimate = -1;
	p->run_id = run_id;
	p->scope = e->scoped ? e->named.literal : NULL;
	if (plan_quote_names(p, e, err, errlen) != 0)
		return -1;
	/*
	 * One transaction for every read, with the run's settings: planning
	 * waits for a table's lock no longer than a batch would, and plans a
	 * comparison of times in the run's time zone.
	 */
	if (db_begin(e->conn, state, why, sizeof(why)) != 0)
		return plan_failure(p, state, why, err, errlen);
	users = p->q_users[0] ? p->q_users : NULL;
	rc = table_facts_read(e->conn, p->q_table, p->q_key,
			      s->user_column ? p->q_user : NULL, users,
			      &p->facts, state, why, sizeof(why));
	if (rc < 0) {
		ret = plan_failure(p, state, why, err, errlen);
		goto out;
	}
	if (rc > 0) {
		char hint[1024];

		step_table_hint(r, s->table, hint, sizeof(hint));
		snprintf(err, errlen, "rule '%s': table '%s' does not exist; %s",
			 r->name, s->table, hint);
		goto out;
	}
	if (plan_key(p, err, errlen) != 0)
		goto out;
	p->walk = STMT_WALK_BLOCKS;
	plan_source(p, e);
	/*
	 * A scoped run walks a step with a user column by its named users
	 * whatever the planner expects, and without a progress line nothing
	 * reads the estimate: planning a count over every named id (40,000
	 * after a bulk disable) would only cost.
	 */
	found = NULL;
	if (!(e->scoped && s->user_column && !e->sample_rows)) {
		ret = plan_estimate(p, e->conn, index, sizeof(index), &found,
				    err, errlen);
		if (ret != 0)
			goto out;
	}
	ret = -1;
	if (plan_choose_walk(p, e, found, err, errlen) != 0)
		goto out;
	/* Rows left and an ETA are the live progress line's (a run that
	 * deletes, on a terminal, not at -q); and a sample finds no rows an
	 * index is needed to find. */
	if (e->sample_rows && p->walk != STMT_WALK_INDEX) {
		const struct plan_stmt *est;

		est = plan_stmt(p, STMT_ESTIMATE, 0, why, sizeof(why));
		if (est)
			plan_sample(p, e->conn, est);
	}
	/* The walk changes the statements: none was built for it yet. */
	p->src.walk = p->walk;
	ret = plan_first_batch(p, e, err, errlen);
	/* Every statement the walk may run, built now: the plan is read
	 * only from here on. */
	if (ret == 0)
		ret = plan_prepare_walk(p, err, errlen);
out:
	PQclear(PQexec(e->conn, "ROLLBACK"));
	return ret;
}

void plan_add_earlier(struct plan *p, const struct plan *earlier)
{
	struct stmt_earlier *es;

	p->earlier = xrealloc(p->earlier, (p->nearlier + 1) *
			      sizeof(*p->earlier));
	p->earlier_src = xrealloc(p->earlier_src, (p->nearlier + 1) *
				  sizeof(*p->earlier_src));
	p->earlier[p->nearlier] = earlier;
	es = &p->earlier_src[p->nearlier];
	es->predicate = earlier->step->predicate;
	es->nparams = earlier->step->nparams;
	/* In a scoped run an earlier step deletes the named users' rows. */
	es->user = earlier->src.scoped && earlier->step->user_column ?
		   earlier->q_user : NULL;
	p->nearlier++;
	/* The count was built without it. */
	stmt_text_free(&p->stmts[STMT_COUNT][0].text);
	p->stmts[STMT_COUNT][0].built = 0;
}

void plan_free(struct plan *p)
{
	int k, s, i;

	for (k = 0; k < STMT_KINDS; k++)
		for (s = 0; s < STMT_SHAPES; s++)
			stmt_text_free(&p->stmts[k][s].text);
	for (i = 0; i < p->nfirst_params; i++)
		free(p->first_params[i]);
	free(p->first_params);
	free(p->first_explain);
	free(p->first_where);
	free(p->earlier);
	free(p->earlier_src);
	free(p->key);
	memset(p, 0, sizeof(*p));
}
