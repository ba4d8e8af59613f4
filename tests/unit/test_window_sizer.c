/*
 * test_window_sizer.c: the length of a block walk's windows
 * (src/window_sizer.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "window_sizer.h"

/*
 * Feed whole windows of a table with `density` matching rows per block,
 * `ms_per_block` each, `n` times; return the last length.
 */
static long long settle(struct window_sizer *ws, double density,
			double ms_per_block, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		long long blocks = window_sizer_next(ws);

		window_sizer_observe(ws, blocks,
				     (long long)((double)blocks * density),
				     (double)blocks * ms_per_block);
	}
	return window_sizer_next(ws);
}

static void test_first_window_holds_the_start_size(void **state)
{
	struct window_sizer ws;

	(void)state;
	/* 1000 rows at 100 rows a block, as if every row matched. */
	window_sizer_init(&ws, 50000, 1000, 100.0, 200);
	assert_int_equal(window_sizer_next(&ws), 10);
	/* Never analysed: one block. */
	window_sizer_init(&ws, 50000, 1000, 0, 200);
	assert_int_equal(window_sizer_next(&ws), 1);
	/* The start is never over the cap. */
	window_sizer_init(&ws, 300, 1000, 10.0, 200);
	assert_int_equal(window_sizer_next(&ws), 30);
}

static void test_grows_in_bounded_steps(void **state)
{
	struct window_sizer ws;

	(void)state;
	window_sizer_init(&ws, 50000, 1000, 100.0, 200);
	/* Cheap and sparse: only the growth bound holds it back. */
	window_sizer_observe(&ws, 10, 1, 1.0);
	assert_int_equal(window_sizer_next(&ws), 10 * WINDOW_SIZER_STEP);
	window_sizer_observe(&ws, 40, 1, 1.0);
	assert_int_equal(window_sizer_next(&ws), 40 * WINDOW_SIZER_STEP);
}

static void test_time_bounds_the_window(void **state)
{
	struct window_sizer ws;

	(void)state;
	/* 2 ms a block, few rows: 200 ms is 100 blocks. */
	window_sizer_init(&ws, 50000, 1000, 100.0, 200);
	assert_int_equal(settle(&ws, 0.01, 2.0, 20), 100);
	/* Slower blocks shrink it at once, without a bounded step. */
	window_sizer_observe(&ws, 100, 1, 2000.0);
	assert_true(window_sizer_next(&ws) < 20);
}

static void test_rows_bound_the_window(void **state)
{
	struct window_sizer ws;

	(void)state;
	/* 50 rows a block, cheap: the cap of 1000 rows at 75% is 15 blocks. */
	window_sizer_init(&ws, 1000, 1000, 100.0, 200);
	assert_int_equal(settle(&ws, 50.0, 0.01, 20), 15);
}

static void test_overflow_shrinks(void **state)
{
	struct window_sizer ws;

	(void)state;
	window_sizer_init(&ws, 1000, 1000, 100.0, 200);
	/* Sparse so far: the windows grew long. */
	assert_true(settle(&ws, 0.1, 0.01, 6) >= 1000);
	/* A window of 1000 blocks held 5000 rows: 5 a block, 150 blocks. */
	window_sizer_overflow(&ws, 1000, 5000);
	assert_int_equal(window_sizer_next(&ws), 150);
	/* Never below one block. */
	window_sizer_overflow(&ws, 1, 100000);
	assert_int_equal(window_sizer_next(&ws), 1);
}

/* Workers share the cap: the next window shrinks with it, never grows. */
static void test_cap_shares_the_window(void **state)
{
	struct window_sizer ws;

	(void)state;
	window_sizer_init(&ws, 1000, 1000, 100.0, 200);
	assert_int_equal(settle(&ws, 50.0, 0.01, 20), 15);
	window_sizer_cap(&ws, 500);
	assert_int_equal(ws.cap, 500);
	assert_int_equal(window_sizer_next(&ws), 7);
	/* What it learns next is sized to the new cap: 375 rows, 7 blocks. */
	assert_int_equal(settle(&ws, 50.0, 0.01, 20), 7);
	/* A larger cap changes nothing. */
	window_sizer_cap(&ws, 5000);
	assert_int_equal(ws.cap, 500);
	assert_int_equal(window_sizer_next(&ws), 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_window_holds_the_start_size),
		cmocka_unit_test(test_grows_in_bounded_steps),
		cmocka_unit_test(test_time_bounds_the_window),
		cmocka_unit_test(test_rows_bound_the_window),
		cmocka_unit_test(test_overflow_shrinks),
		cmocka_unit_test(test_cap_shares_the_window),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
