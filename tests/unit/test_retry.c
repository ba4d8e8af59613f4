/*
 * test_retry.c: which SQLSTATEs make a batch run again, and the backoff
 * before each retry.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "retry.h"

static void test_retryable_states(void **state)
{
	(void)state;
	assert_string_equal(retry_reason("40P01"), "deadlock");
	assert_string_equal(retry_reason("55P03"), "lock timeout");
	assert_string_equal(retry_reason("40001"), "serialization failure");
	assert_string_equal(retry_reason("57014"), "statement timeout");
}

static void test_other_states(void **state)
{
	(void)state;
	/* No SQLSTATE: libpq's own failure, such as a lost connection. */
	assert_null(retry_reason(""));
	/* Raised by a trigger, a missing table, an admin shutdown. */
	assert_null(retry_reason("P0001"));
	assert_null(retry_reason("42P01"));
	assert_null(retry_reason("57P01"));
	assert_null(retry_reason("40P0"));
	assert_null(retry_reason("40P011"));
}

static void test_delay_doubles_within_jitter(void **state)
{
	long long attempt, want = 100;

	(void)state;
	for (attempt = 1; attempt <= 5; attempt++, want *= 2) {
		/* Equal jitter: from half the delay to all of it. */
		assert_int_equal(retry_delay_ms(100, attempt, 0), want - want / 2);
		assert_int_equal(retry_delay_ms(100, attempt,
						(unsigned int)(want / 2)), want);
		assert_in_range(retry_delay_ms(100, attempt, 12345u),
				want - want / 2, want);
	}
}

static void test_delay_capped(void **state)
{
	(void)state;
	assert_int_equal(retry_delay_ms(100, 20, 15000u), RETRY_DELAY_MAX_MS);
	assert_int_equal(retry_delay_ms(100, 1000000, 0), RETRY_DELAY_MAX_MS / 2);
	assert_int_equal(retry_delay_ms(86400000LL, 1, 15000u),
			 RETRY_DELAY_MAX_MS);
	assert_in_range(retry_delay_ms(100, 20, 4000000000u),
			RETRY_DELAY_MAX_MS / 2, RETRY_DELAY_MAX_MS);
}

static void test_no_backoff(void **state)
{
	(void)state;
	assert_int_equal(retry_delay_ms(0, 1, 99u), 0);
	assert_int_equal(retry_delay_ms(0, 7, 99u), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_retryable_states),
		cmocka_unit_test(test_other_states),
		cmocka_unit_test(test_delay_doubles_within_jitter),
		cmocka_unit_test(test_delay_capped),
		cmocka_unit_test(test_no_backoff),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
