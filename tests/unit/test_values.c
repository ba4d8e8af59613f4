/*
 * test_values.c: durations, booleans, whole numbers, lists and the checks
 * of declared keys' values.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "values.h"

static void assert_duration(const char *text, long long want)
{
	long long ms = -42;

	if (duration_parse(text, &ms) != 0)
		fail_msg("duration_parse(\"%s\") failed", text);
	if (ms != want)
		fail_msg("duration_parse(\"%s\") = %lld, want %lld", text, ms,
			 want);
}

static void assert_not_duration(const char *text)
{
	long long ms = -42;

	if (duration_parse(text, &ms) == 0)
		fail_msg("duration_parse(\"%s\") accepted it as %lld",
			 text ? text : "NULL", ms);
	assert_int_equal(ms, -42);
}

static void test_duration_units(void **state)
{
	(void)state;
	assert_duration("500ms", 500);
	assert_duration("30s", 30000);
	assert_duration("5m", 300000);
	assert_duration("24h", 86400000LL);
	assert_duration("90d", 90LL * 86400000LL);
	assert_duration("0", 0);
	assert_duration("0ms", 0);
	assert_duration("0s", 0);
	assert_duration("00", 0);
	assert_duration("1ms", 1);
	assert_duration("007s", 7000);
}

static void test_duration_blanks(void **state)
{
	(void)state;
	assert_duration("5 m", 300000);
	assert_duration("5\tm", 300000);
	assert_duration("5  ms", 5);
	assert_duration("  30s  ", 30000);
	assert_duration("\t2s\t", 2000);
	assert_duration(" 0 ", 0);
}

static void test_duration_bad(void **state)
{
	(void)state;
	assert_not_duration("");
	assert_not_duration("   ");
	assert_not_duration("5");
	assert_not_duration("5x");
	assert_not_duration("-5m");
	assert_not_duration("+5m");
	assert_not_duration("1.5h");
	assert_not_duration("5 minutes");
	assert_not_duration("5min");
	assert_not_duration("5sec");
	assert_not_duration("5M");
	assert_not_duration("5S");
	assert_not_duration("m");
	assert_not_duration("ms");
	assert_not_duration("5mm");
	assert_not_duration("5m5s");
	assert_not_duration("5 m s");
	assert_not_duration("0x10s");
	assert_not_duration("1e3ms");
	assert_not_duration("5m ; comment");
	assert_not_duration(NULL);
}

/* A duration, but too long to add to a clock: not "not a duration". */
static void assert_duration_too_large(const char *text)
{
	long long ms = -42;

	if (duration_parse(text, &ms) != DURATION_TOO_LARGE)
		fail_msg("duration_parse(\"%s\") did not say too large", text);
	assert_int_equal(ms, -42);
}

static void test_duration_overflow(void **state)
{
	long long ms;

	(void)state;
	/* The largest taken, in every unit, and one past it. */
	assert_int_equal(DURATION_MAX_MS, 36500LL * 86400000LL);
	assert_duration("36500d", DURATION_MAX_MS);
	assert_duration_too_large("36501d");
	assert_duration("876000h", DURATION_MAX_MS);
	assert_duration_too_large("876001h");
	assert_duration("52560000m", DURATION_MAX_MS);
	assert_duration_too_large("52560001m");
	assert_duration("3153600000s", DURATION_MAX_MS);
	assert_duration_too_large("3153600001s");
	assert_duration("3153600000000ms", DURATION_MAX_MS);
	assert_duration_too_large("3153600000001ms");
	/* Past a long long of ms, of digits, and of any length. */
	assert_duration_too_large("9223372036854775807ms");
	assert_duration_too_large("9223372036854775808ms");
	assert_duration_too_large("99999999999999999999999ms");
	assert_duration_too_large("106751991168d");
	assert_duration_too_large("9223372036854775807s");
	assert_duration_too_large(" 99999999999999999999999999999999999 d ");
	/* Without a unit or with a wrong one it is no duration at all. */
	assert_int_equal(duration_parse("99999999999999999999999", &ms),
			 DURATION_INVALID);
	assert_int_equal(duration_parse("99999999999999999999999x", &ms),
			 DURATION_INVALID);
	assert_int_equal(duration_parse("-99999999999999999999999d", &ms),
			 DURATION_INVALID);
	/* A huge zero still parses: only its value matters. */
	assert_duration("000000000000000000000000000000", 0);
	assert_duration("000000000000000000000000000000036500d",
			DURATION_MAX_MS);
}

static void test_bool_forms(void **state)
{
	static const char *const yes[] = {
		"true", "TRUE", "True", "yes", "YES", "Yes", "on", "ON", "On",
		"1", " true ", "\tyes",
	};
	static const char *const no[] = {
		"false", "FALSE", "False", "no", "NO", "off", "OFF", "Off", "0",
		" off\t",
	};
	static const char *const bad[] = {
		"", " ", "2", "tru", "truee", "y", "n", "enable", "-1", "00",
		"yes please", "\"true\"",
	};
	size_t i;
	int b;

	(void)state;
	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		b = -1;
		assert_int_equal(bool_parse(yes[i], &b), 0);
		assert_int_equal(b, 1);
	}
	for (i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		b = -1;
		assert_int_equal(bool_parse(no[i], &b), 0);
		assert_int_equal(b, 0);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		b = -1;
		if (bool_parse(bad[i], &b) == 0)
			fail_msg("bool_parse(\"%s\") accepted it", bad[i]);
		assert_int_equal(b, -1);
	}
	assert_int_equal(bool_parse(NULL, &b), -1);
}

static void test_uint(void **state)
{
	long long n = -1;

	(void)state;
	assert_int_equal(uint_parse("0", &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(uint_parse("5000", &n), 0);
	assert_int_equal(n, 5000);
	assert_int_equal(uint_parse(" 42\t", &n), 0);
	assert_int_equal(n, 42);
	assert_int_equal(uint_parse("0005", &n), 0);
	assert_int_equal(n, 5);
	assert_int_equal(uint_parse("9223372036854775807", &n), 0);
	assert_true(n == LLONG_MAX);

	n = -1;
	assert_int_equal(uint_parse("9223372036854775808", &n), -1);
	assert_int_equal(uint_parse("18446744073709551616", &n), -1);
	assert_int_equal(uint_parse("", &n), -1);
	assert_int_equal(uint_parse("  ", &n), -1);
	assert_int_equal(uint_parse("-1", &n), -1);
	assert_int_equal(uint_parse("+1", &n), -1);
	assert_int_equal(uint_parse("1.0", &n), -1);
	assert_int_equal(uint_parse("1e3", &n), -1);
	assert_int_equal(uint_parse("0x10", &n), -1);
	assert_int_equal(uint_parse("5s", &n), -1);
	assert_int_equal(uint_parse("5 000", &n), -1);
	assert_int_equal(uint_parse("lots", &n), -1);
	assert_int_equal(uint_parse(NULL, &n), -1);
	assert_int_equal(n, -1);
}

static void assert_list(const char *text, size_t want_count,
			const char *const *want)
{
	char **items = NULL;
	size_t count = 99;
	size_t i;

	if (list_split(text, &items, &count) != 0)
		fail_msg("list_split(\"%s\") failed", text);
	assert_int_equal(count, want_count);
	assert_non_null(items);
	for (i = 0; i < count; i++)
		assert_string_equal(items[i], want[i]);
	/* The array ends with NULL even when empty. */
	assert_null(items[count]);
	list_free(items, count);
}

static void assert_bad_list(const char *text)
{
	char **items = (char **)&items;
	size_t count = 99;

	if (list_split(text, &items, &count) == 0)
		fail_msg("list_split(\"%s\") accepted it", text ? text : "NULL");
	assert_null(items);
	assert_int_equal(count, 0);
}

static void test_list_split(void **state)
{
	static const char *const three[] = { "a", "b", "c" };
	static const char *const one[] = { "user_disabled" };
	static const char *const spaced[] = { "a b", "c" };

	(void)state;
	assert_list("a,b,c", 3, three);
	assert_list("a, b, c", 3, three);
	assert_list("  a  ,\tb\t,  c  ", 3, three);
	assert_list("user_disabled", 1, one);
	assert_list(" user_disabled ", 1, one);
	assert_list("a b , c", 2, spaced);
	assert_list("", 0, NULL);
	assert_list("   ", 0, NULL);
	assert_list("\t", 0, NULL);

	assert_bad_list(",");
	assert_bad_list("a,");
	assert_bad_list("a, ");
	assert_bad_list(",a");
	assert_bad_list("a,,b");
	assert_bad_list("a, ,b");
	assert_bad_list(" , ");
	assert_bad_list(NULL);

	/* Freeing nothing is fine. */
	list_free(NULL, 0);
}

static void test_list_split_many(void **state)
{
	char text[4096] = "";
	char **items = NULL;
	size_t count = 0;
	size_t len = 0;
	int i;

	(void)state;
	for (i = 0; i < 300; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
					"%sr%d", i ? "," : "", i);
	assert_int_equal(list_split(text, &items, &count), 0);
	assert_int_equal(count, 300);
	assert_string_equal(items[0], "r0");
	assert_string_equal(items[299], "r299");
	assert_null(items[300]);
	list_free(items, count);
}

static const struct sweeper_key k_string = {
	"label", SWEEPER_KEY_STRING, "", NULL, "help"
};
static const struct sweeper_key k_bool = {
	"flag", SWEEPER_KEY_BOOL, "true", NULL, "help"
};
static const struct sweeper_key k_int = {
	"count", SWEEPER_KEY_INT, "3", NULL, "help"
};
static const struct sweeper_key k_duration = {
	"max_age", SWEEPER_KEY_DURATION, "24h", NULL, "help"
};
static const struct sweeper_key k_enum = {
	"null_created_at", SWEEPER_KEY_ENUM, "keep", "keep|delete", "help"
};

static void assert_check_fails(const struct sweeper_key *decl,
			       const char *value, const char *want)
{
	char why[512] = "unchanged";

	if (value_check(decl, value, why, sizeof(why)) == 0)
		fail_msg("value_check(%s, \"%s\") accepted it", decl->name,
			 value);
	if (!strstr(why, want))
		fail_msg("value_check(%s, \"%s\") said \"%s\", want \"%s\"",
			 decl->name, value, why, want);
	/* The key's name is the caller's to add. */
	if (strncmp(why, decl->name, strlen(decl->name)) == 0)
		fail_msg("message starts with the key: \"%s\"", why);
}

static void test_value_check_ok(void **state)
{
	char why[256] = "";

	(void)state;
	assert_int_equal(value_check(&k_string, "", why, sizeof(why)), 0);
	assert_int_equal(value_check(&k_string, "\"quoted # stays\"", why,
				     sizeof(why)), 0);
	assert_int_equal(value_check(&k_bool, "off", why, sizeof(why)), 0);
	assert_int_equal(value_check(&k_int, "0", why, sizeof(why)), 0);
	assert_int_equal(value_check(&k_duration, "90d", why, sizeof(why)), 0);
	assert_int_equal(value_check(&k_duration, "0", why, sizeof(why)), 0);
	assert_int_equal(value_check(&k_enum, "keep", why, sizeof(why)), 0);
	assert_int_equal(value_check(&k_enum, "delete", why, sizeof(why)), 0);
	assert_string_equal(why, "");
}

static void test_value_check_bad(void **state)
{
	struct sweeper_key no_choices = k_enum;
	struct sweeper_key bad_type = k_int;

	(void)state;
	assert_check_fails(&k_duration, "5x",
			   "'5x' is not a duration; write a number and a unit: 500ms, 30s, 5m, 24h, 90d");
	assert_check_fails(&k_duration, "5", "'5' is not a duration");
	assert_check_fails(&k_duration, "",
			   "the value is empty; write a number and a unit");
	assert_check_fails(&k_duration, "\"24h\"",
			   "'\"24h\"' is in quotes; remove them and write just '24h'");
	assert_check_fails(&k_duration, "24h  # a day",
			   "'#' starts a comment only at the start of a line");
	assert_check_fails(&k_enum, "remove",
			   "'remove' is not one of keep, delete");
	assert_check_fails(&k_enum, "Delete",
			   "choices are case-sensitive: write delete");
	assert_check_fails(&k_enum, "", "the value is empty; write one of keep, delete");
	assert_check_fails(&k_bool, "maybe", "'maybe' is not true or false");
	assert_check_fails(&k_duration, "36501d",
			   "'36501d' is too large; the longest duration is 36500d");
	assert_check_fails(&k_duration, "99999999999999999999999999s",
			   "is too large; the longest duration is 36500d");
	assert_check_fails(&k_int, "-1", "'-1' is not a whole number");
	assert_check_fails(&k_int, "99999999999999999999",
			   "is not a whole number");

	no_choices.choices = NULL;
	assert_check_fails(&no_choices, "keep", "lists no choices; fix the plugin");
	bad_type.type = (enum sweeper_key_type)99;
	assert_check_fails(&bad_type, "1", "unknown type 99; fix the plugin");
}

/*
 * An int or duration key declares its range in `choices`, min..max with
 * either end left out; the value must lie within it, both ends included.
 */
static void test_value_check_range(void **state)
{
	struct sweeper_key age = k_duration;
	struct sweeper_key count = k_int;
	struct sweeper_key string = k_string;
	struct value_range r;
	char why[256] = "";

	(void)state;
	age.choices = SWEEPER_RANGE("1h", "3650d");
	assert_int_equal(value_range_parse(&age, &r), 0);
	assert_true(r.has_min && r.has_max);
	assert_true(r.min == 3600000LL && r.max == 3650LL * 86400000LL);
	assert_int_equal(value_check(&age, "1h", why, sizeof(why)), 0);
	assert_int_equal(value_check(&age, "3650d", why, sizeof(why)), 0);
	assert_int_equal(value_check(&age, "90d", why, sizeof(why)), 0);
	assert_check_fails(&age, "59m",
			   "'59m' is out of range; write a duration from 1h to 3650d");
	assert_check_fails(&age, "3651d",
			   "'3651d' is out of range; write a duration from 1h to 3650d");
	/* The type's own checks come first. */
	assert_check_fails(&age, "5x", "'5x' is not a duration");

	age.choices = "..30d";
	assert_int_equal(value_check(&age, "0", why, sizeof(why)), 0);
	assert_check_fails(&age, "31d", "'31d' is too long; write at most 30d");
	age.choices = "5m..";
	assert_check_fails(&age, "4m", "'4m' is too short; write at least 5m");
	assert_int_equal(value_check(&age, "36500d", why, sizeof(why)), 0);

	count.choices = SWEEPER_RANGE("1", "100");
	assert_int_equal(value_check(&count, "100", why, sizeof(why)), 0);
	assert_check_fails(&count, "0",
			   "'0' is out of range; write a whole number from 1 to 100");
	count.choices = "..10";
	assert_check_fails(&count, "11", "'11' is too large; write at most 10");

	/* Declarations that do not hold together. */
	age.choices = "1h-30d";
	assert_int_equal(value_range_parse(&age, &r), -1);
	age.choices = "30d..1h";
	assert_int_equal(value_range_parse(&age, &r), -1);
	age.choices = "..";
	assert_int_equal(value_range_parse(&age, &r), -1);
	age.choices = "1h..2h..3h";
	assert_int_equal(value_range_parse(&age, &r), -1);
	count.choices = "1h..2h";
	assert_int_equal(value_range_parse(&count, &r), -1);
	assert_check_fails(&count, "1", "is not min..max; fix the plugin");

	/* No range: NULL or "" (as a plugin of the first ABI 1 header may
	 * have left it), or a type that takes none. */
	age.choices = "";
	assert_int_equal(value_range_parse(&age, &r), 0);
	assert_null(r.text);
	string.choices = "keep|delete";
	assert_int_equal(value_range_parse(&string, &r), 0);
	assert_int_equal(value_check(&string, "anything", why, sizeof(why)), 0);
}

static void test_value_check_small_buffer(void **state)
{
	char why[8];

	(void)state;
	memset(why, 'x', sizeof(why));
	assert_int_equal(value_check(&k_duration, "5x", why, sizeof(why)), -1);
	assert_int_equal(strlen(why), sizeof(why) - 1);
	assert_int_equal(value_check(&k_duration, "5x", NULL, 0), -1);
}

static void test_value_quote(void **state)
{
	char buf[VALUE_QUOTE_MAX];
	char small[6];
	char long_text[200];

	(void)state;
	value_quote("5x", buf, sizeof(buf));
	assert_string_equal(buf, "'5x'");
	value_quote(NULL, buf, sizeof(buf));
	assert_string_equal(buf, "''");
	value_quote("a\rb\x1b[31mc\x7f", buf, sizeof(buf));
	assert_string_equal(buf, "'a\\x0db\\x1b[31mc\\x7f'");
	value_quote("gel\xc3\xb6scht", buf, sizeof(buf));
	assert_string_equal(buf, "'gel\xc3\xb6scht'");
	value_quote("bad\xc3(", buf, sizeof(buf));
	assert_string_equal(buf, "'bad\\xc3('");

	memset(long_text, 'a', sizeof(long_text) - 1);
	long_text[sizeof(long_text) - 1] = '\0';
	value_quote(long_text, buf, sizeof(buf));
	assert_int_equal(strlen(buf), 1 + 60 + 3 + 1);
	assert_non_null(strstr(buf, "a...'"));

	/* Sixty bytes that all need escaping still fit. */
	memset(long_text, '\x01', sizeof(long_text) - 1);
	value_quote(long_text, buf, sizeof(buf));
	assert_int_equal(strlen(buf), 1 + 60 * 4 + 3 + 1);

	value_quote("abcdefgh", small, sizeof(small));
	assert_string_equal(small, "'abcd");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_duration_units),
		cmocka_unit_test(test_duration_blanks),
		cmocka_unit_test(test_duration_bad),
		cmocka_unit_test(test_duration_overflow),
		cmocka_unit_test(test_bool_forms),
		cmocka_unit_test(test_uint),
		cmocka_unit_test(test_list_split),
		cmocka_unit_test(test_list_split_many),
		cmocka_unit_test(test_value_check_ok),
		cmocka_unit_test(test_value_check_bad),
		cmocka_unit_test(test_value_check_range),
		cmocka_unit_test(test_value_check_small_buffer),
		cmocka_unit_test(test_value_quote),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
