/*
 * walk_key.c: a step walked by its key (walk.h): capped batches in key
 * order from a keyset cursor, each locked FOR UPDATE SKIP LOCKED and
 * deleted by ctid, within a window of keys.
 *
 * The walk for what the others cannot do: a partitioned or inherited
 * table, where a ctid names no row; a fixed batch_size, whose capped
 * batches only a key order keeps in step; a server before PostgreSQL 14,
 * which has no TID range scans.  The window bounds each batch above by a
 * key found first (STMT_KEY_WINDOW, reading only the key's index), so
 * that the planner always sees a small key range and never picks a plan
 * that reads every remaining matching row in each batch.  It starts at
 * WALK_KEY_WINDOW_START times the batch size and doubles, up to
 * WALK_KEY_WINDOW_MAX times, while matching rows are sparse.
 */
#include <stdlib.h>
#include <string.h>

#include "walk.h"
#include "xalloc.h"

static int key_start(struct walk *w, PGconn *conn, char state[DB_SQLSTATE_LEN],
		     char *err, size_t errlen)
{
	(void)conn;
	(void)state;
	(void)err;
	(void)errlen;
	w->factor = WALK_KEY_WINDOW_START;
	return 0;
}

static void key_next(struct walk *w)
{
	w->limit = batch_sizer_next(&w->sz);
	w->window = w->factor * w->limit;
}

/*
 * The key `offset` keys after w->after (and at most w->last_key), into
 * *key (owned; NULL when fewer keys are left).  Returns 0, or -1 with the
 * SQLSTATE in `state` and one line in err.
 */
static int key_at(struct walk *w, PGconn *conn, long long offset, char **key,
		  char state[DB_SQLSTATE_LEN], char *err, size_t errlen)
{
	struct plan_values v;
	struct plan_args a;
	const struct plan_stmt *st;
	struct db_diag diag;
	unsigned shape = 0;
	PGresult *res;

	*key = NULL;
	memset(&v, 0, sizeof(v));
	if (w->after) {
		shape |= STMT_AFTER;
		v.after = w->after;
	}
	if (w->last_key) {
		shape |= STMT_UPTO;
		v.upto = w->last_key;
	}
	v.offset = offset;
	st = plan_stmt(w->plan, STMT_KEY_WINDOW, shape, err, errlen);
	if (!st) {
		state[0] = '\0';
		return -1;
	}
	plan_args_fill(w->plan, st, &v, &a);
	res = db_run(conn, w->unprepared || !st->name[0] ? NULL : st->name,
		     st->text.sql, a.nparams, a.params, &diag, err, errlen);
	plan_args_free(&a);
	snprintf(state, DB_SQLSTATE_LEN, "%s", diag.state);
	if (!res)
		return -1;
	if (PQntuples(res) == 1 && !PQgetisnull(res, 0, 0))
		*key = xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

/*
 * The end of the next batch's window, w->window keys after the cursor,
 * into w->upto: the part's last key when fewer are left before it, and
 * none when the part runs to the end of the table (the last window is
 * unbounded).
 */
static int key_in_batch(struct walk *w, PGconn *conn,
			char state[DB_SQLSTATE_LEN], char *err, size_t errlen)
{
	char *end;

	free(w->upto);
	w->upto = NULL;
	if (w->window <= 0)
		return 0;
	if (key_at(w, conn, w->window - 1, &end, state, err, errlen) != 0)
		return -1;
	if (!end && w->last_key)
		end = xstrdup(w->last_key);
	w->upto = end;
	return 0;
}

/*
 * A full batch may have stopped inside its window: resume after its last
 * victim.  Otherwise the window held no further victim: resume after the
 * window, and widen it, since matching rows are sparse here.
 */
static int key_advance(struct walk *w)
{
	if (w->selected >= w->limit && w->last_victim) {
		free(w->after);
		w->after = w->last_victim;
		w->last_victim = NULL;
		return 1;
	}
	/* The last window, to the end of the table or of the part. */
	if (!w->upto || (w->last_key && strcmp(w->upto, w->last_key) == 0))
		return 0;
	free(w->after);
	w->after = w->upto;
	w->upto = NULL;
	if (w->factor > 0 && w->factor < WALK_KEY_WINDOW_MAX)
		w->factor *= 2;
	return 1;
}

static void key_describe(const struct walk *w, char *buf, size_t size)
{
	snprintf(buf, size, "up to key %s",
		 w->last_victim ? w->last_victim : "-");
}

/*
 * Parts of about as many keys each, by the table's row count: the keys
 * at offsets rows/n, 2 rows/n, ... after the cursor bound them, read
 * from the key's index in one transaction.
 */
static int key_split(const struct walk *w, PGconn *conn, struct walk *parts,
		     size_t n, size_t *nparts, char *err, size_t errlen)
{
	char state[DB_SQLSTATE_LEN];
	struct walk probe;
	long long each;
	char *bound = NULL;
	size_t k;
	int rc = 0;

	*nparts = 0;
	each = n > 1 ? (long long)(w->plan->facts.rows / (double)n) : 0;
	walk_copy(&parts[0], w);
	*nparts = 1;
	if (n <= 1 || each < 1)
		return 0;
	walk_copy(&probe, w);
	if (db_begin(conn, state, err, errlen) != 0) {
		rc = -1;
		goto out;
	}
	for (k = 1; k < n; k++) {
		if (key_at(&probe, conn, each - 1, &bound, state, err,
			   errlen) != 0) {
			rc = -1;
			break;
		}
		if (!bound)
			break;
		/* The part before ends at the bound, the next starts after. */
		free(parts[k - 1].last_key);
		parts[k - 1].last_key = xstrdup(bound);
		walk_copy(&parts[k], w);
		free(parts[k].after);
		parts[k].after = xstrdup(bound);
		parts[k].factor = WALK_KEY_WINDOW_START;
		free(probe.after);
		probe.after = bound;
		bound = NULL;
		(*nparts)++;
	}
	PQclear(PQexec(conn, "ROLLBACK"));
out:
	walk_free(&probe);
	if (rc != 0) {
		for (k = 0; k < *nparts; k++)
			walk_free(&parts[k]);
		*nparts = 0;
	}
	return rc;
}

const struct walk_ops walk_key_ops = {
	.name = "key",
	.start = key_start,
	.next = key_next,
	.in_batch = key_in_batch,
	.advance = key_advance,
	.describe = key_describe,
	.split = key_split,
};
