/*
 * test_walk.c: the walks' windows and the parts they hand out for several
 * connections (src/walk.c, src/walk_blocks.c, src/walk_named.c), without
 * a database: a walk started from its plan's facts.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "walk.h"

static const struct walk_sizing sizing = { 0, 100, 50000, 200 };

/* A plan of `walk` over a table of `nblocks` blocks of 100 rows. */
static void test_plan(struct plan *p, enum stmt_walk walk, long long nblocks)
{
	memset(p, 0, sizeof(*p));
	p->walk = walk;
	p->facts.nblocks = nblocks;
	p->facts.rows_per_block = 100;
	p->facts.rows = 100.0 * (double)nblocks;
	p->facts.users_rows = 10.0 * (double)nblocks;
}

/* Start *w on plan `p` from its facts. */
static void start(struct walk *w, struct plan *p,
		  const struct walk_named_users *named)
{
	char state[DB_SQLSTATE_LEN];
	char err[256];

	walk_init(w, p, &sizing, named);
	assert_int_equal(w->ops->start(w, NULL, state, err, sizeof(err)), 0);
}

/*
 * Walk *w to its end as if every window went whole with `rows` rows,
 * checking that windows follow one another; returns the first unit past
 * the last window.
 */
static long long walk_through(struct walk *w, long long from)
{
	long long next = from;
	int n = 0;

	do {
		w->ops->next(w);
		assert_int_equal(w->pos, next);
		assert_true(w->len >= 1);
		next = w->pos + w->len;
		w->selected = w->deleted = 10;
		w->ms = 10;
		walk_learn(w);
		assert_true(++n < 10000);
	} while (w->ops->advance(w));
	return next;
}

static void test_block_windows_cover_the_table(void **state)
{
	struct plan p;
	struct walk w;

	(void)state;
	test_plan(&p, STMT_WALK_BLOCKS, 1000);
	start(&w, &p, NULL);
	w.ops->next(&w);
	/* 1000 rows at 100 a block: the first window is 10 blocks. */
	assert_int_equal(w.len, 10);
	assert_string_equal(w.after, "(0,0)");
	assert_string_equal(w.upto, "(10,0)");
	assert_true(w.plain);
	walk_free(&w);
	start(&w, &p, NULL);
	/* The last window has no end: it takes rows added since. */
	assert_true(walk_through(&w, 0) >= 1000);
	assert_null(w.upto);
	walk_free(&w);
}

/* Parts of a walk are disjoint, follow one another and cover it. */
static void check_parts(struct walk *parts, size_t nparts, long long from,
			long long end, long long nunits)
{
	long long next = from;
	size_t i;

	for (i = 0; i < nparts; i++) {
		assert_int_equal(parts[i].pos, next);
		if (i + 1 < nparts) {
			assert_true(parts[i].end > parts[i].pos);
			next = walk_through(&parts[i], parts[i].pos);
			assert_int_equal(next, parts[i].end);
			/* A part ends before the next: its last window is
			 * bounded. */
			assert_non_null(parts[i].upto);
		} else {
			assert_int_equal(parts[i].end, end);
			next = walk_through(&parts[i], parts[i].pos);
			assert_true(next >= nunits);
		}
		walk_free(&parts[i]);
	}
}

static void test_block_walk_splits(void **state)
{
	struct walk parts[4];
	struct plan p;
	struct walk w;
	size_t n;

	(void)state;
	test_plan(&p, STMT_WALK_BLOCKS, 1000);
	start(&w, &p, NULL);
	assert_int_equal(w.ops->split(&w, NULL, parts, 3, &n, NULL, 0), 0);
	assert_int_equal(n, 3);
	/* The last part keeps the open end of the table. */
	check_parts(parts, n, 0, -1, 1000);
	/* Split after a window began: it stays with the first part. */
	w.ops->next(&w);
	w.capped = 1;
	w.new_window = 0;
	assert_int_equal(w.ops->split(&w, NULL, parts, 2, &n, NULL, 0), 0);
	assert_int_equal(n, 2);
	assert_int_equal(parts[0].pos, 0);
	assert_int_equal(parts[0].end, w.len);
	assert_int_equal(parts[1].pos, w.len);
	assert_int_equal(parts[1].end, -1);
	walk_free(&parts[0]);
	walk_free(&parts[1]);
	walk_free(&w);
	/* A table of two blocks gives at most two parts. */
	test_plan(&p, STMT_WALK_BLOCKS, 2);
	start(&w, &p, NULL);
	assert_int_equal(w.ops->split(&w, NULL, parts, 4, &n, NULL, 0), 0);
	assert_int_equal(n, 2);
	check_parts(parts, n, 0, -1, 2);
	walk_free(&w);
}

static void test_named_windows_and_parts(void **state)
{
	static char *ids[] = { "3", "5", "8", "13", "21", "34", "55" };
	struct walk_named_users named = { ids, 7 };
	struct walk parts[3];
	struct plan p;
	struct walk w;
	size_t n;

	(void)state;
	/* 10 rows a user: the first window is 100 users, all seven. */
	test_plan(&p, STMT_WALK_NAMED, 70);
	start(&w, &p, &named);
	w.ops->next(&w);
	assert_int_equal(w.pos, 0);
	assert_int_equal(w.len, 7);
	assert_string_equal(w.users, "{\"3\",\"5\",\"8\",\"13\",\"21\",\"34\",\"55\"}");
	assert_int_equal(w.ops->advance(&w), 0);
	walk_free(&w);
	start(&w, &p, &named);
	assert_int_equal(w.ops->split(&w, NULL, parts, 3, &n, NULL, 0), 0);
	assert_int_equal(n, 3);
	parts[0].ops->next(&parts[0]);
	assert_string_equal(parts[0].users, "{\"3\",\"5\",\"8\"}");
	parts[2].ops->next(&parts[2]);
	assert_string_equal(parts[2].users, "{\"55\"}");
	for (n = 0; n < 3; n++)
		walk_free(&parts[n]);
	walk_free(&w);
	/* No named user found: one empty window, then done. */
	named.n = 0;
	start(&w, &p, &named);
	w.ops->next(&w);
	assert_string_equal(w.users, "{}");
	assert_int_equal(w.ops->advance(&w), 0);
	walk_free(&w);
}

/* A fixed batch_size: one window of every named user, capped batches. */
static void test_named_fixed_size(void **state)
{
	static char *ids[] = { "1", "2", "3" };
	struct walk_sizing fixed = { 2, 100, 50000, 200 };
	struct walk_named_users named = { ids, 3 };
	char state_[DB_SQLSTATE_LEN];
	char err[256];
	struct plan p;
	struct walk w;

	(void)state;
	test_plan(&p, STMT_WALK_NAMED, 70);
	walk_init(&w, &p, &fixed, &named);
	assert_int_equal(w.ops->start(&w, NULL, state_, err, sizeof(err)), 0);
	w.ops->next(&w);
	assert_int_equal(w.limit, 2);
	assert_int_equal(w.len, 3);
	assert_false(w.plain);
	w.selected = 2;
	assert_int_equal(w.ops->advance(&w), 1);
	w.ops->next(&w);
	assert_int_equal(w.pos, 0);
	w.selected = 1;
	assert_int_equal(w.ops->advance(&w), 0);
	walk_free(&w);
}

/* Rows refused so far are passed over in every part. */
static void test_parts_keep_the_refused_rows(void **state)
{
	struct walk parts[2];
	struct plan p;
	struct walk w;
	size_t n;

	(void)state;
	test_plan(&p, STMT_WALK_BLOCKS, 100);
	start(&w, &p, NULL);
	walk_exclude(&w, "17");
	walk_exclude(&w, "a\"b");
	assert_string_equal(w.excluded, "{\"17\",\"a\\\"b\"}");
	assert_int_equal(w.ops->split(&w, NULL, parts, 2, &n, NULL, 0), 0);
	assert_int_equal(n, 2);
	assert_string_equal(parts[1].excluded, w.excluded);
	walk_free(&parts[0]);
	walk_free(&parts[1]);
	walk_free(&w);
}

/* A users walk splits the users table's blocks, as a block walk does. */
static void test_users_walk_splits(void **state)
{
	struct walk parts[3];
	struct plan p;
	struct walk w;
	size_t n;

	(void)state;
	test_plan(&p, STMT_WALK_USERS, 10);
	p.facts.users_nblocks = 600;
	p.facts.users_rows_per_block = 50;
	start(&w, &p, NULL);
	assert_int_equal(w.nunits, 600);
	assert_int_equal(w.ops->split(&w, NULL, parts, 3, &n, NULL, 0), 0);
	assert_int_equal(n, 3);
	assert_int_equal(parts[1].pos, 200);
	assert_int_equal(parts[2].pos, 400);
	check_parts(parts, n, 0, -1, 600);
	walk_free(&w);
}

/*
 * A step its index walks gives one part: every batch takes the first
 * rows the index finds, there is no range to split.
 */
static void test_index_walk_gives_one_part(void **state)
{
	struct walk parts[3];
	struct plan p;
	struct walk w;
	size_t n;

	(void)state;
	test_plan(&p, STMT_WALK_INDEX, 1000);
	start(&w, &p, NULL);
	assert_int_equal(w.ops->split(&w, NULL, parts, 3, &n, NULL, 0), 0);
	assert_int_equal(n, 1);
	assert_ptr_equal(parts[0].ops, &walk_index_ops);
	walk_free(&parts[0]);
	walk_free(&w);
}

/* More parts than blocks left after a begun window: one per block. */
static void test_split_never_gives_empty_parts(void **state)
{
	struct walk parts[8];
	struct plan p;
	struct walk w;
	size_t n, i;

	(void)state;
	test_plan(&p, STMT_WALK_BLOCKS, 5);
	start(&w, &p, NULL);
	assert_int_equal(w.ops->split(&w, NULL, parts, 8, &n, NULL, 0), 0);
	assert_int_equal(n, 5);
	for (i = 0; i < n; i++) {
		assert_int_equal(parts[i].pos, (long long)i);
		assert_int_equal(parts[i].end, i + 1 < n ? (long long)i + 1 : -1);
	}
	check_parts(parts, n, 0, -1, 5);
	walk_free(&w);
	/* One part asked: a copy of the walk. */
	start(&w, &p, NULL);
	assert_int_equal(w.ops->split(&w, NULL, parts, 1, &n, NULL, 0), 0);
	assert_int_equal(n, 1);
	check_parts(parts, n, 0, -1, 5);
	walk_free(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_block_windows_cover_the_table),
		cmocka_unit_test(test_block_walk_splits),
		cmocka_unit_test(test_named_windows_and_parts),
		cmocka_unit_test(test_named_fixed_size),
		cmocka_unit_test(test_parts_keep_the_refused_rows),
		cmocka_unit_test(test_users_walk_splits),
		cmocka_unit_test(test_index_walk_gives_one_part),
		cmocka_unit_test(test_split_never_gives_empty_parts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
