/*
 * walk_blocks.c: a step walked by windows of its table's heap blocks
 * (walk.h), for a plain table whose predicate no index serves.
 *
 * A window's bounds are ctids, ctid >= '(a,0)' AND ctid < '(b,0)', read
 * by a TID range scan (PostgreSQL 14 and later): the physical order a
 * single DELETE reads the table in, so each window's plain DELETE costs
 * about what one DELETE costs per row, and the walk reads each block
 * once however few rows match.  The last window has no end, and so also
 * takes rows added since the walk began.
 */
#include <stdio.h>
#include <stdlib.h>

#include "table_facts.h"
#include "walk.h"
#include "xalloc.h"

/*
 * Start the windows over `nunits` blocks of a table with
 * `rows_per_block` rows a block: the first holds the first batch's worth
 * of rows as if every row matched.
 */
void walk_blocks_begin(struct walk *w, long long nunits,
		       double rows_per_block)
{
	w->nunits = nunits;
	w->pos = 0;
	w->new_window = 1;
	window_sizer_init(&w->ws, w->sizing.batch_max, batch_sizer_next(&w->sz),
			  rows_per_block, w->sizing.batch_target_ms);
}

static int blocks_start(struct walk *w, PGconn *conn,
			char state[DB_SQLSTATE_LEN], char *err, size_t errlen)
{
	const struct table_facts *f = &w->plan->facts;
	long long nblocks = f->nblocks;

	/* The table may have grown since the preflight read its size. */
	if (conn && !table_facts_fresh(f) &&
	    table_facts_size(conn, f->oid, &nblocks, state, err, errlen) != 0)
		return -1;
	walk_blocks_begin(w, nblocks, f->rows_per_block);
	return 0;
}

/* "(b,0)": the first tuple of block b, as a tid. */
static char *blocks_tid(long long block)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "(%lld,0)", block);
	return xstrdup(buf);
}

/* Whether the current window is the table's last, without an end. */
static int blocks_open_ended(const struct walk *w)
{
	return w->end < 0 && walk_window_last(w);
}

void walk_blocks_bounds(struct walk *w)
{
	walk_window_next(w);
	w->plain = !w->capped;
	free(w->after);
	free(w->upto);
	w->after = blocks_tid(w->pos);
	w->upto = blocks_open_ended(w) ? NULL : blocks_tid(w->pos + w->len);
}

static int blocks_advance(struct walk *w)
{
	return walk_window_advance(w);
}

void walk_blocks_describe(const struct walk *w, const char *what, char *buf,
			  size_t size)
{
	if (blocks_open_ended(w))
		snprintf(buf, size, "%s %lld-end", what, w->pos);
	else
		snprintf(buf, size, "%s %lld-%lld", what, w->pos,
			 w->pos + w->len - 1);
}

static void blocks_describe(const struct walk *w, char *buf, size_t size)
{
	walk_blocks_describe(w, "blocks", buf, size);
}


const struct walk_ops walk_blocks_ops = {
	.name = "blocks",
	.start = blocks_start,
	.next = walk_blocks_bounds,
	.in_batch = NULL,
	.advance = blocks_advance,
	.describe = blocks_describe,
	.split = walk_window_split_op,
};
