/*
 * walk_index.c: a step walked by its predicate's index (walk.h), when
 * the planner reaches the matching rows through an index (used_at with
 * an index on it): capped batches with no bounds, each the first rows
 * the index finds, until one comes up short.  They take their rows
 * unlocked (STMT_UNLOCKED) until one would wait for a row another session
 * holds, and from then on lock them FOR UPDATE SKIP LOCKED first (batch.c
 * decides).  The rows a batch deletes are gone from the next one's scan,
 * so no cursor is needed; the walk cannot be split, since every batch
 * reads from the index's start.
 */
#include <stdio.h>

#include "walk.h"

static int index_start(struct walk *w, PGconn *conn,
		       char state[DB_SQLSTATE_LEN], char *err, size_t errlen)
{
	(void)w;
	(void)conn;
	(void)state;
	(void)err;
	(void)errlen;
	return 0;
}

static void index_next(struct walk *w)
{
	w->limit = batch_sizer_next(&w->sz);
	w->plain = walk_tries_plain(w);
}

static int index_advance(struct walk *w)
{
	return w->selected >= w->limit;
}

static void index_describe(const struct walk *w, char *buf, size_t size)
{
	(void)w;
	snprintf(buf, size, "found by index");
}

static int index_split(const struct walk *w, PGconn *conn,
		       struct walk *parts, size_t n, size_t *nparts,
		       char *err, size_t errlen)
{
	(void)conn;
	(void)n;
	(void)err;
	(void)errlen;
	walk_copy(&parts[0], w);
	*nparts = 1;
	return 0;
}

const struct walk_ops walk_index_ops = {
	.name = "index",
	.start = index_start,
	.next = index_next,
	.in_batch = NULL,
	.advance = index_advance,
	.describe = index_describe,
	.split = index_split,
};
