/*
 * test_rate_limit.c: max_rate's shared token bucket (src/rate_limit.c):
 * what a batch waits, what it gives back, that idle time saves up no
 * burst, and that workers charging it at once lose no charge.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rate_limit.h"

static void test_off(void **state)
{
	struct rate_limit r;

	(void)state;
	assert_int_equal(rate_limit_init(&r, 0), 0);
	assert_false(rate_limit_on(&r));
	assert_false(rate_limit_on(NULL));
	assert_int_equal(rate_limit_cap(&r, 50000), 50000);
	assert_int_equal(rate_limit_cap(NULL, 7), 7);
	assert_int_equal(rate_limit_take(&r, 50000, 0), 0);
	rate_limit_destroy(&r);
}

static void test_waits_for_the_rows_charged(void **state)
{
	struct rate_limit r;

	(void)state;
	assert_int_equal(rate_limit_init(&r, 100), 0);
	/* A batch is at most one second's worth. */
	assert_int_equal(rate_limit_cap(&r, 5000), 100);
	assert_int_equal(rate_limit_cap(&r, 40), 40);
	/* The bucket starts empty: 100 rows at 100/s wait a second. */
	assert_int_equal(rate_limit_take(&r, 100, 0), 1000);
	/* The next 50 rows are paid for at 1500. */
	assert_int_equal(rate_limit_take(&r, 50, 1000), 500);
	/* That batch deleted nothing: its charge comes back. */
	rate_limit_refund(&r, 50);
	assert_int_equal(rate_limit_take(&r, 10, 1000), 100);
	/* Rounded up: a batch never starts early. */
	assert_int_equal(rate_limit_take(&r, 1, 1100), 10);
	rate_limit_destroy(&r);
	assert_int_equal(rate_limit_init(&r, 3), 0);
	assert_int_equal(rate_limit_take(&r, 1, 0), 334);
	rate_limit_destroy(&r);
}

static void test_idle_time_saves_no_burst(void **state)
{
	struct rate_limit r;

	(void)state;
	assert_int_equal(rate_limit_init(&r, 1000), 0);
	assert_int_equal(rate_limit_take(&r, 1000, 0), 1000);
	/* An hour later the bucket is empty again, not full. */
	assert_int_equal(rate_limit_take(&r, 500, 3600000), 500);
	rate_limit_destroy(&r);
}

#define THREADS 4
#define TAKES 500

static void *charge(void *arg)
{
	struct rate_limit *r = arg;
	int i;

	for (i = 0; i < TAKES; i++)
		rate_limit_take(r, 10, 0);
	return NULL;
}

/* Workers charging at once: every charge counts. */
static void test_shared_by_workers(void **state)
{
	pthread_t th[THREADS];
	struct rate_limit r;
	int i;

	(void)state;
	assert_int_equal(rate_limit_init(&r, 1000), 0);
	for (i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, charge, &r), 0);
	for (i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	/* 4 x 500 x 10 rows at 1000/s: paid for at 20 s, then 1 s more. */
	assert_int_equal(rate_limit_take(&r, 1000, 0), 21000);
	rate_limit_destroy(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_off),
		cmocka_unit_test(test_waits_for_the_rows_charged),
		cmocka_unit_test(test_idle_time_saves_no_burst),
		cmocka_unit_test(test_shared_by_workers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
