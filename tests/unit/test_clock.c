/*
 * test_clock.c: deadlines on the monotonic clock never overflow, however
 * far off they are asked to be, so that a huge duration never wraps into a
 * deadline that has already passed.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "clock.h"
#include "values.h"

static void test_add_saturates(void **state)
{
	(void)state;
	assert_int_equal(clock_add_ms(1000, 500), 1500);
	assert_int_equal(clock_add_ms(1000, 0), 1000);
	assert_true(clock_add_ms(LLONG_MAX - 10, 10) == LLONG_MAX);
	assert_true(clock_add_ms(LLONG_MAX - 10, 11) == LLONG_MAX);
	assert_true(clock_add_ms(clock_now_ms(), LLONG_MAX) == LLONG_MAX);
	assert_true(clock_add_ms(LLONG_MAX, LLONG_MAX) == LLONG_MAX);
	/* The longest duration config takes fits without saturating. */
	assert_true(clock_add_ms(clock_now_ms(), DURATION_MAX_MS) >
		    DURATION_MAX_MS);
}

static void test_far_deadline(void **state)
{
	struct timespec d;
	long long left;

	(void)state;
	/* Asked for more than any config holds: as far as the longest. */
	clock_deadline_in(&d, LLONG_MAX);
	assert_true(d.tv_sec > 0);
	assert_false(clock_past(&d));
	left = clock_left_ms(&d);
	assert_true(left > DURATION_MAX_MS - 1000);
	assert_true(left <= DURATION_MAX_MS);

	clock_deadline_in(&d, DURATION_MAX_MS);
	assert_false(clock_past(&d));
	assert_true(clock_left_ms(&d) > DURATION_MAX_MS - 1000);

	/* 0 and below are "none". */
	clock_deadline_in(&d, 0);
	assert_int_equal(d.tv_sec, 0);
	assert_int_equal(clock_left_ms(&d), -1);
	assert_false(clock_past(&d));
	clock_deadline_in(&d, LLONG_MIN);
	assert_int_equal(clock_left_ms(&d), -1);
}

static void test_near_deadline(void **state)
{
	struct timespec d;

	(void)state;
	clock_deadline_in(&d, 1);
	while (!clock_past(&d))
		;
	assert_int_equal(clock_left_ms(&d), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_add_saturates),
		cmocka_unit_test(test_far_deadline),
		cmocka_unit_test(test_near_deadline),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
