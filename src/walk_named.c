/*
 * walk_named.c: a step of a scoped run walked by its named users
 * (walk.h): windows of the users the run was given (--user-id,
 * --user-email, --users-file), resolved once to their ids, in id order;
 * each window's rows are found through the user column's index,
 * " AND t.user = ANY($n)" with the ids typed as the column is.
 *
 * The windows are sized as a block walk's are, in users instead of
 * blocks: the first holds the first batch's worth of rows at the table's
 * rows per user, and each is deleted whole by a plain DELETE unless that
 * would wait for a row lock or delete more than the batch size.  With a
 * fixed batch_size one window holds every named user, deleted in capped
 * batches of that size.
 */
#include <stdio.h>
#include <stdlib.h>

#include "scope.h"
#include "walk.h"
#include "xalloc.h"

static int named_start(struct walk *w, PGconn *conn,
		       char state[DB_SQLSTATE_LEN], char *err, size_t errlen)
{
	const struct table_facts *f = &w->plan->facts;
	double per_user = table_facts_rows_per_user(f);

	(void)conn;
	(void)state;
	(void)err;
	(void)errlen;
	w->nunits = (long long)w->named.n;
	w->pos = 0;
	w->new_window = 1;
	w->capped_only = w->sizing.batch_size > 0;
	window_sizer_init(&w->ws, w->sizing.batch_max, batch_sizer_next(&w->sz),
			  per_user, w->sizing.batch_target_ms);
	return 0;
}

static void named_next(struct walk *w)
{
	long long stop = w->end >= 0 ? w->end : w->nunits;

	if (walk_window_next(w) || !w->users) {
		if (w->capped_only || w->pos + w->len > stop)
			w->len = stop - w->pos;
		if (w->len < 0)
			w->len = 0;
		free(w->users);
		w->users = w->len > 0 ?
			   scope_text_array(w->named.ids + w->pos,
					    (size_t)w->len) : xstrdup("{}");
	}
	w->plain = !w->capped;
}

static int named_advance(struct walk *w)
{
	return walk_window_advance(w);
}

static void named_describe(const struct walk *w, char *buf, size_t size)
{
	snprintf(buf, size, "named users %lld-%lld", w->pos,
		 w->pos + w->len - 1);
}


const struct walk_ops walk_named_ops = {
	.name = "named users",
	.start = named_start,
	.next = named_next,
	.in_batch = NULL,
	.advance = named_advance,
	.describe = named_describe,
	.split = walk_window_split_op,
};
