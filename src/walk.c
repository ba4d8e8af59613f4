/*
 * walk.c: what the walks share (walk.h): choosing a walk's operations,
 * the statement of its next batch, learning from a batch, the rows it
 * passes over, and the windows of the three windowed walks.
 *
 * A window is a range of units (heap blocks of the table or of the users
 * table, or named users) [pos, pos + len), sized by window_sizer.h to
 * hold at most three quarters of the cap and to take about
 * batch_target.  Its plain DELETE goes first; when batch.c rolls that
 * back (a row lock, too many rows, a refusal), the window goes in capped
 * batches until one comes up short.
 */
#include <stdlib.h>
#include <string.h>

#include "scope.h"
#include "walk.h"
#include "xalloc.h"

static const struct walk_ops *walk_ops_of(enum stmt_walk walk)
{
	switch (walk) {
	case STMT_WALK_BLOCKS:
		return &walk_blocks_ops;
	case STMT_WALK_USERS:
		return &walk_users_ops;
	case STMT_WALK_NAMED:
		return &walk_named_ops;
	case STMT_WALK_INDEX:
		return &walk_index_ops;
	case STMT_WALK_KEY:
		break;
	}
	return &walk_key_ops;
}

void walk_init(struct walk *w, struct plan *plan,
	       const struct walk_sizing *sizing,
	       const struct walk_named_users *named)
{
	memset(w, 0, sizeof(*w));
	w->ops = walk_ops_of(plan->walk);
	w->plan = plan;
	w->sizing = *sizing;
	if (named)
		w->named = *named;
	w->end = -1;
	/* Each table has its own cost per row: sizing starts over. */
	batch_sizer_init(&w->sz, sizing->batch_size, sizing->batch_min,
			 sizing->batch_max, sizing->batch_target_ms);
}

int walk_windowed(const struct walk *w)
{
	return w->plan->walk == STMT_WALK_BLOCKS ||
	       w->plan->walk == STMT_WALK_USERS ||
	       w->plan->walk == STMT_WALK_NAMED;
}

int walk_tries_plain(const struct walk *w)
{
	return (walk_windowed(w) || w->plan->walk == STMT_WALK_INDEX) &&
	       !w->capped;
}

/*
 * Whether a walk by users joins its window's users (statement.c): once
 * its windows find, on average, WALK_USERS_JOIN_DENSITY rows or more per
 * block of the users table, each user found is likely to have rows, and
 * reading the user once beats looking the user up again for every row.
 * Before the first window and while windows find next to nothing (a
 * table already swept), the users are listed.
 */
static int walk_users_joined(const struct walk *w)
{
	return w->plan->walk == STMT_WALK_USERS &&
	       w->ws.density >= WALK_USERS_JOIN_DENSITY;
}

/* The bounds of the walk's batch into *v and *shape. */
static void walk_bounds(const struct walk *w, unsigned *shape,
			struct plan_values *v)
{
	if (walk_users_joined(w))
		*shape |= STMT_JOINED;
	if (w->plan->walk == STMT_WALK_NAMED) {
		v->users = w->users;
		return;
	}
	if (w->plan->walk == STMT_WALK_INDEX)
		return;
	if (w->after) {
		*shape |= STMT_AFTER;
		v->after = w->after;
	}
	if (w->upto) {
		*shape |= STMT_UPTO;
		v->upto = w->upto;
	}
}

void walk_statement(const struct walk *w, enum stmt_kind *kind,
		    unsigned *shape, struct plan_values *v)
{
	memset(v, 0, sizeof(*v));
	*shape = 0;
	if (w->excluded) {
		*shape |= STMT_EXCLUDED;
		v->excluded = w->excluded;
	}
	v->limit = w->limit;
	if (w->only_keys) {
		*kind = STMT_KEYS_DELETE;
		v->keys = w->only_keys;
		return;
	}
	*kind = walk_windowed(w) && w->plain ? STMT_WINDOW_DELETE :
		STMT_CAPPED_DELETE;
	if (*kind == STMT_CAPPED_DELETE && w->plain)
		*shape |= STMT_UNLOCKED;
	walk_bounds(w, shape, v);
}

void walk_victims_statement(const struct walk *w, unsigned *shape,
			    struct plan_values *v)
{
	memset(v, 0, sizeof(*v));
	*shape = 0;
	if (w->excluded) {
		*shape |= STMT_EXCLUDED;
		v->excluded = w->excluded;
	}
	v->limit = w->limit;
	walk_bounds(w, shape, v);
}

void walk_learn(struct walk *w)
{
	/* A split batch's time is that of its parts: not a rate. */
	if (w->isolated)
		return;
	/*
	 * The sizers learn from the try that succeeded: a retry's backoff
	 * says nothing about what a row costs.  A window teaches only when
	 * deleted whole.
	 */
	if (!walk_windowed(w))
		batch_sizer_observe(&w->sz, w->limit, w->selected, w->ms);
	else if (w->plain)
		window_sizer_observe(&w->ws, w->len, w->deleted, w->ms);
}

void walk_exclude(struct walk *w, const char *key)
{
	w->refused = xrealloc(w->refused, (w->nrefused + 1) *
			      sizeof(*w->refused));
	w->refused[w->nrefused++] = xstrdup(key);
	free(w->excluded);
	w->excluded = scope_text_array(w->refused, w->nrefused);
}

int walk_window_next(struct walk *w)
{
	w->limit = w->capped_only ? w->sizing.batch_size : w->ws.cap;
	if (!w->new_window)
		return 0;
	w->new_window = 0;
	w->capped = w->capped_only;
	w->len = window_sizer_next(&w->ws);
	if (w->end >= 0 && w->pos + w->len > w->end)
		w->len = w->end - w->pos;
	if (w->len < 1)
		w->len = 1;
	return 1;
}

int walk_window_last(const struct walk *w)
{
	if (w->end >= 0)
		return w->pos + w->len >= w->end;
	return w->pos + w->len >= w->nunits;
}

int walk_window_advance(struct walk *w)
{
	/* A full capped batch may have left rows in its window. */
	if (w->capped && w->selected >= w->limit)
		return 1;
	if (walk_window_last(w))
		return 0;
	w->pos += w->len;
	w->new_window = 1;
	return 1;
}

static char *walk_strdup(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

void walk_copy(struct walk *dst, const struct walk *src)
{
	size_t i;

	*dst = *src;
	dst->after = walk_strdup(src->after);
	dst->upto = walk_strdup(src->upto);
	dst->users = walk_strdup(src->users);
	dst->last_key = walk_strdup(src->last_key);
	dst->last_victim = NULL;
	dst->deleted = dst->selected = 0;
	dst->ms = 0;
	dst->isolated = 0;
	dst->only_keys = NULL;
	dst->refused = NULL;
	dst->nrefused = 0;
	dst->excluded = NULL;
	/* Rows refused so far stay passed over in every part. */
	for (i = 0; i < src->nrefused; i++)
		walk_exclude(dst, src->refused[i]);
}

int walk_window_split(const struct walk *w, struct walk *parts, size_t n,
		      size_t *nparts)
{
	long long stop = w->end >= 0 ? w->end : w->nunits;
	long long from = w->pos, each;
	size_t k = 0;

	if (n < 1)
		n = 1;
	/*
	 * A window already begun (its next batch capped in it) stays with
	 * the first part, which ends with it unless nothing comes after.
	 */
	if (!w->new_window) {
		walk_copy(&parts[k++], w);
		from = w->pos + w->len;
		if (n == 1 || from >= stop) {
			*nparts = 1;
			return 0;
		}
		parts[0].end = from;
	}
	each = (stop - from + (long long)(n - k) - 1) / (long long)(n - k);
	if (each < 1)
		each = 1;
	while (k < n && from < stop) {
		struct walk *p = &parts[k++];

		walk_copy(p, w);
		p->pos = from;
		p->new_window = 1;
		p->capped = p->capped_only;
		from += each;
		/* The last part keeps the walk's own end, open or not. */
		p->end = from >= stop ? w->end : from;
	}
	if (k == 0)
		walk_copy(&parts[k++], w);
	*nparts = k;
	return 0;
}

long long walk_share_cap(struct walk *parts, size_t n)
{
	long long share;
	size_t i;

	if (n == 0)
		return 0;
	share = parts[0].sizing.batch_max / (long long)n;
	if (share < parts[0].sizing.batch_min)
		share = parts[0].sizing.batch_min;
	for (i = 0; i < n; i++) {
		struct walk *p = &parts[i];

		if (p->sizing.batch_size > 0)
			continue;
		p->sizing.batch_max = share;
		batch_sizer_cap(&p->sz, share);
		window_sizer_cap(&p->ws, share);
	}
	return share;
}

int walk_window_split_op(const struct walk *w, PGconn *conn,
			 struct walk *parts, size_t n, size_t *nparts,
			 char *err, size_t errlen)
{
	(void)conn;
	(void)err;
	(void)errlen;
	return walk_window_split(w, parts, n, nparts);
}

void walk_free(struct walk *w)
{
	size_t i;

	free(w->after);
	free(w->upto);
	free(w->users);
	free(w->last_key);
	free(w->last_victim);
	for (i = 0; i < w->nrefused; i++)
		free(w->refused[i]);
	free(w->refused);
	free(w->excluded);
	memset(w, 0, sizeof(*w));
}
