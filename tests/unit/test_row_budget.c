/*
 * test_row_budget.c: max_rows as one reservation for the run
 * (src/row_budget.c): a batch takes only what is left, gives back what
 * it did not delete, waits while running batches hold the rest, and
 * threads taking at once never pass the limit together.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "row_budget.h"

static void test_takes_what_is_left(void **state)
{
	struct row_budget b;
	long long limit = 400;

	(void)state;
	memset(&b, 0, sizeof(b));
	assert_int_equal(row_budget_take(&b, 1000, &limit), ROW_BUDGET_TAKEN);
	assert_int_equal(limit, 400);
	row_budget_give(&b, 400, 400);
	limit = 400;
	assert_int_equal(row_budget_take(&b, 1000, &limit), ROW_BUDGET_TAKEN);
	assert_int_equal(limit, 400);
	row_budget_give(&b, 400, 400);
	limit = 400;
	/* The last batch takes only the 200 left. */
	assert_int_equal(row_budget_take(&b, 1000, &limit), ROW_BUDGET_TAKEN);
	assert_int_equal(limit, 200);
	row_budget_give(&b, 200, 200);
	limit = 400;
	assert_int_equal(row_budget_take(&b, 1000, &limit), ROW_BUDGET_SPENT);
	assert_int_equal(row_budget_deleted(&b), 1000);
}

static void test_waits_for_held_rows_and_gets_them_back(void **state)
{
	struct row_budget b;
	long long a = 100, c = 100;

	(void)state;
	memset(&b, 0, sizeof(b));
	assert_int_equal(row_budget_take(&b, 100, &a), ROW_BUDGET_TAKEN);
	/* All of it held by a running batch: wait, not stop. */
	assert_int_equal(row_budget_take(&b, 100, &c), ROW_BUDGET_WAIT);
	assert_int_equal(b.held, 100);
	/* That batch deleted 60: the 40 it did not go to the next one. */
	row_budget_give(&b, 100, 60);
	c = 100;
	assert_int_equal(row_budget_take(&b, 100, &c), ROW_BUDGET_TAKEN);
	assert_int_equal(c, 40);
	row_budget_give(&b, 40, 40);
	assert_int_equal(row_budget_deleted(&b), 100);
	assert_int_equal(b.held, 0);
}

#define THREADS 4
#define MAX 10007

static void *batches(void *arg)
{
	struct row_budget *b = arg;

	for (;;) {
		long long limit = 7;
		int rc = row_budget_take(b, MAX, &limit);

		if (rc == ROW_BUDGET_SPENT)
			break;
		if (rc == ROW_BUDGET_TAKEN)
			/* Every other batch deletes one row less. */
			row_budget_give(b, limit, limit % 2 ? limit : limit - 1);
	}
	return NULL;
}

static void test_threads_never_pass_the_limit(void **state)
{
	struct row_budget b;
	pthread_t th[THREADS];
	int i;

	(void)state;
	memset(&b, 0, sizeof(b));
	for (i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, batches, &b), 0);
	for (i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(row_budget_deleted(&b), MAX);
	assert_int_equal(b.held, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_takes_what_is_left),
		cmocka_unit_test(test_waits_for_held_rows_and_gets_them_back),
		cmocka_unit_test(test_threads_never_pass_the_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
