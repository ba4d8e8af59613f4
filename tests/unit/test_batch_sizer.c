/*
 * test_batch_sizer.c: the adaptive batch size (src/batch_sizer.c) and the
 * decimal numbers pause_ratio is written in.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "batch_sizer.h"
#include "values.h"

/* Feed full batches at `ms_per_row` until the size settles; return it. */
static long long settle(struct batch_sizer *s, double ms_per_row, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		long long size = batch_sizer_next(s);

		batch_sizer_observe(s, size, size, (double)size * ms_per_row);
	}
	return batch_sizer_next(s);
}

static void test_fixed_size_never_moves(void **state)
{
	struct batch_sizer s;

	(void)state;
	batch_sizer_init(&s, 5000, 100, 50000, 200);
	assert_int_equal(batch_sizer_next(&s), 5000);
	batch_sizer_observe(&s, 5000, 5000, 10000.0);
	batch_sizer_observe(&s, 5000, 5000, 1.0);
	assert_int_equal(batch_sizer_next(&s), 5000);
}

static void test_start_is_clamped(void **state)
{
	struct batch_sizer s;

	(void)state;
	batch_sizer_init(&s, 0, 100, 50000, 200);
	assert_int_equal(batch_sizer_next(&s), BATCH_SIZER_START);
	batch_sizer_init(&s, 0, 2000, 50000, 200);
	assert_int_equal(batch_sizer_next(&s), 2000);
	batch_sizer_init(&s, 0, 10, 300, 200);
	assert_int_equal(batch_sizer_next(&s), 300);
}

/* 0.01 ms a row and a 200 ms target: 20000 rows, reached step by step. */
static void test_converges_up_in_bounded_steps(void **state)
{
	struct batch_sizer s;
	long long prev, next;
	int i;

	(void)state;
	batch_sizer_init(&s, 0, 100, 50000, 200);
	prev = batch_sizer_next(&s);
	for (i = 0; i < 20; i++) {
		batch_sizer_observe(&s, prev, prev, (double)prev * 0.01);
		next = batch_sizer_next(&s);
		assert_true(next <= prev * BATCH_SIZER_STEP);
		prev = next;
	}
	assert_in_range(prev, 19000, 21000);
}

/* 2 ms a row: 100 rows for 200 ms, halving at most per batch. */
static void test_converges_down_in_bounded_steps(void **state)
{
	struct batch_sizer s;

	(void)state;
	batch_sizer_init(&s, 0, 10, 50000, 200);
	batch_sizer_observe(&s, 1000, 1000, 2000.0);
	assert_int_equal(batch_sizer_next(&s), 500);
	assert_in_range(settle(&s, 2.0, 20), 95, 105);
}

static void test_clamped_to_min_and_max(void **state)
{
	struct batch_sizer s;

	(void)state;
	batch_sizer_init(&s, 0, 100, 50000, 200);
	assert_int_equal(settle(&s, 0.0001, 30), 50000);
	batch_sizer_init(&s, 0, 100, 50000, 200);
	assert_int_equal(settle(&s, 50.0, 30), 100);
}

/*
 * A batch that found 3 rows in 1 ms was cut short by its window: it must
 * not grow the size.  A short batch that was slow anyway shrinks it.
 */
static void test_short_batches(void **state)
{
	struct batch_sizer s;

	(void)state;
	batch_sizer_init(&s, 0, 100, 50000, 200);
	batch_sizer_observe(&s, 1000, 3, 1.0);
	batch_sizer_observe(&s, 1000, 0, 0.2);
	assert_int_equal(batch_sizer_next(&s), 1000);
	batch_sizer_observe(&s, 1000, 3, 900.0);
	assert_int_equal(batch_sizer_next(&s), 500);
}

/* A batch cut by max_rows still counts, and moves the size from the
 * sizer's size, not from the cut limit. */
static void test_cut_limit(void **state)
{
	struct batch_sizer s;

	(void)state;
	batch_sizer_init(&s, 0, 100, 50000, 200);
	batch_sizer_observe(&s, 7, 7, 1.0);
	assert_int_equal(batch_sizer_next(&s), 1400);
}

static void test_decimal_parse(void **state)
{
	double d = -1;

	(void)state;
	assert_int_equal(decimal_parse("0.5", &d), 0);
	assert_true(d > 0.4999 && d < 0.5001);
	assert_int_equal(decimal_parse(" 2 ", &d), 0);
	assert_true(d > 1.9999 && d < 2.0001);
	assert_int_equal(decimal_parse("100", &d), 0);
	assert_int_equal(decimal_parse(".25", &d), 0);
	assert_true(d > 0.2499 && d < 0.2501);
	assert_int_equal(decimal_parse("3.", &d), 0);
	assert_int_equal(decimal_parse("0", &d), 0);
	assert_true(d == 0);
	assert_int_equal(decimal_parse("", &d), -1);
	assert_int_equal(decimal_parse(".", &d), -1);
	assert_int_equal(decimal_parse("-1", &d), -1);
	assert_int_equal(decimal_parse("1e3", &d), -1);
	assert_int_equal(decimal_parse("0,5", &d), -1);
	assert_int_equal(decimal_parse("1.2.3", &d), -1);
	assert_int_equal(decimal_parse("50%", &d), -1);
	assert_int_equal(decimal_parse("1234567890123", &d), -1);
	assert_int_equal(decimal_parse(NULL, &d), -1);
}

/* Workers share batch_max: never below min, never raised, fixed kept. */
static void test_cap(void **state)
{
	struct batch_sizer s;

	(void)state;
	batch_sizer_init(&s, 0, 100, 50000, 200);
	/* Fast batches: the size climbs to max. */
	while (batch_sizer_next(&s) < 50000)
		batch_sizer_observe(&s, batch_sizer_next(&s),
				    batch_sizer_next(&s), 1.0);
	batch_sizer_cap(&s, 25000);
	assert_int_equal(s.max, 25000);
	assert_int_equal(batch_sizer_next(&s), 25000);
	batch_sizer_observe(&s, 25000, 25000, 1.0);
	assert_int_equal(batch_sizer_next(&s), 25000);
	batch_sizer_cap(&s, 40000);
	assert_int_equal(s.max, 25000);
	batch_sizer_cap(&s, 10);
	assert_int_equal(s.max, 100);
	assert_int_equal(batch_sizer_next(&s), 100);
	batch_sizer_init(&s, 5000, 100, 50000, 200);
	batch_sizer_cap(&s, 1000);
	assert_int_equal(batch_sizer_next(&s), 5000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixed_size_never_moves),
		cmocka_unit_test(test_start_is_clamped),
		cmocka_unit_test(test_converges_up_in_bounded_steps),
		cmocka_unit_test(test_converges_down_in_bounded_steps),
		cmocka_unit_test(test_clamped_to_min_and_max),
		cmocka_unit_test(test_short_batches),
		cmocka_unit_test(test_cut_limit),
		cmocka_unit_test(test_decimal_parse),
		cmocka_unit_test(test_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
