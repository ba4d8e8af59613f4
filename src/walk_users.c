/*
 * walk_users.c: a step walked by users (walk.h): windows of the users
 * table's heap blocks, the users the rule's filter keeps in each (the
 * disabled ones, for user_disabled), and their rows through the index on
 * the step's user column.
 *
 * A batch then costs what its users' rows cost, however large the
 * tables, where a walk of the step's own blocks reads the whole table
 * and its semi-join the whole users table.  Chosen for a rule with a
 * user filter when an index leads with the step's user column (plan.c).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "table_facts.h"
#include "walk.h"

/*
 * Whether the rule's user filter keeps few users: at most WALK_USERS_FEW,
 * and no more than one window's worth at the step's rows per user (the
 * table's rows over the users table's).  Counted, not estimated: the
 * planner's estimate of a step's rows can be off a hundredfold where a
 * filter joins users (plan.c), and the count stops one user past the
 * limit.  Returns 0, or -1 with the SQLSTATE in `state` and one line in
 * err.
 */
static int users_few(struct walk *w, PGconn *conn,
		     char state[DB_SQLSTATE_LEN], char *err, size_t errlen)
{
	const struct table_facts *f = &w->plan->facts;
	double per_user = table_facts_rows_per_user(f);
	long long most = WALK_USERS_FEW;
	const struct plan_stmt *st;
	struct plan_values v;
	struct plan_args a;
	PGresult *res;

	w->few = 0;
	if (per_user > 0 && WINDOW_SIZER_FILL * (double)w->ws.cap / per_user <
	    (double)most)
		most = (long long)(WINDOW_SIZER_FILL * (double)w->ws.cap /
				   per_user);
	if (most < 1)
		most = 1;
	memset(&v, 0, sizeof(v));
	v.limit = most + 1;
	st = plan_stmt(w->plan, STMT_FEW_USERS, 0, err, errlen);
	if (!st) {
		state[0] = '\0';
		return -1;
	}
	plan_args_fill(w->plan, st, &v, &a);
	res = db_query_state(conn, st->text.sql, a.nparams, a.params, state,
			     err, errlen);
	plan_args_free(&a);
	if (!res)
		return -1;
	if (PQntuples(res) == 1 &&
	    strtoll(PQgetvalue(res, 0, 0), NULL, 10) <= most)
		w->few = most;
	PQclear(res);
	return 0;
}

static int users_start(struct walk *w, PGconn *conn,
		       char state[DB_SQLSTATE_LEN], char *err, size_t errlen)
{
	const struct table_facts *f = &w->plan->facts;
	long long nblocks = f->users_nblocks;

	if (conn && !table_facts_fresh(f) &&
	    table_facts_size(conn, f->users_oid, &nblocks, state, err,
			     errlen) != 0)
		return -1;
	walk_blocks_begin(w, nblocks, f->users_rows_per_block);
	/*
	 * A filter that keeps few users (user_disabled with a lookback, on a
	 * frequent timer) has them taken in one window of the whole users
	 * table: the planner then finds them through an index on the
	 * filter's columns (mfa_disabled_at) in one statement, where windows
	 * of blocks would read every block of the users table, and an idle
	 * run would cost what the users table weighs.  A window that holds
	 * more than its cap all the same (users with thousands of rows each)
	 * is rolled back and deleted again in capped batches.
	 */
	if (conn) {
		/* Counted once: by the plan's first batch, a moment ago. */
		if (w->plan->few_counted && table_facts_fresh(f))
			w->few = w->plan->few;
		else if (users_few(w, conn, state, err, errlen) != 0)
			return -1;
		if (w->few)
			w->ws.blocks = nblocks > 1 ? nblocks : 1;
	}
	return 0;
}

static int users_advance(struct walk *w)
{
	return walk_window_advance(w);
}

static void users_describe(const struct walk *w, char *buf, size_t size)
{
	char where[96];

	walk_blocks_describe(w, "users blocks", where, sizeof(where));
	if (w->few && w->pos == 0 && w->end < 0 && walk_window_last(w))
		snprintf(buf, size, "%s: the %lld or fewer users the rule's "
			 "filter keeps, in one window", where, w->few);
	else
		snprintf(buf, size, "%s", where);
}


const struct walk_ops walk_users_ops = {
	.name = "users",
	.start = users_start,
	.next = walk_blocks_bounds,
	.in_batch = NULL,
	.advance = users_advance,
	.describe = users_describe,
	.split = walk_window_split_op,
};
