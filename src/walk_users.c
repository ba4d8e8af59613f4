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

#include "table_facts.h"
#include "walk.h"

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
	return 0;
}

static int users_advance(struct walk *w)
{
	return walk_window_advance(w);
}

static void users_describe(const struct walk *w, char *buf, size_t size)
{
	walk_blocks_describe(w, "users blocks", buf, size);
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
