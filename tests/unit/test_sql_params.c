/*
 * test_sql_params.c: moving the placeholders of a rule's SQL past another
 * one's (src/sql_params.c), and nothing else.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "sql_params.h"
#include "strbuf.h"

/* Shift `sql` by `shift`; expect `want`, return code `rc` and `top`. */
static void expect_shift(const char *sql, int shift, const char *want,
			 int rc, int top)
{
	struct strbuf out = STRBUF_INIT;
	int highest = -1;

	assert_int_equal(sql_params_shift(&out, sql, shift, &highest), rc);
	assert_string_equal(strbuf_str(&out), want);
	assert_int_equal(highest, top);
	strbuf_release(&out);
}

static void test_placeholders_move(void **state)
{
	(void)state;
	expect_shift("t.used_at < now() - $1::interval", 2,
		     "t.used_at < now() - $3::interval", 0, 1);
	expect_shift("$1 + $10 + $2", 10, "$11 + $20 + $12", 0, 10);
	expect_shift("x = ANY($2)", 0, "x = ANY($2)", 0, 2);
	expect_shift("(t.a=$1)AND(t.b<$2)", 1, "(t.a=$2)AND(t.b<$3)", 0, 2);
	/* A number right before a placeholder, as the lexer reads it. */
	expect_shift("1+$1", 1, "1+$2", 0, 1);
	expect_shift("no placeholders at all", 5, "no placeholders at all",
		     0, 0);
	expect_shift("", 5, "", 0, 0);
}

static void test_strings_and_identifiers_stay(void **state)
{
	(void)state;
	expect_shift("t.x = '$1' AND t.y = $1", 1,
		     "t.x = '$1' AND t.y = $2", 0, 1);
	/* A doubled quote stays inside the string. */
	expect_shift("'it''s $1' || $1", 1, "'it''s $1' || $2", 0, 1);
	/* Standard strings: a backslash is a backslash. */
	expect_shift("'a\\' || $1", 1, "'a\\' || $2", 0, 1);
	/* E'' strings: a backslash escapes the quote. */
	expect_shift("E'a\\' $1' || $1", 1, "E'a\\' $1' || $2", 0, 1);
	expect_shift("e'\\\\' || $1", 1, "e'\\\\' || $2", 0, 1);
	/* A word ending in e before a string is no E'' prefix. */
	expect_shift("CASE WHEN true THEN'\\' ELSE $1 END", 1,
		     "CASE WHEN true THEN'\\' ELSE $2 END", 0, 1);
	expect_shift("U&'$1' || B'01' || X'1F' || N'$2' || $1", 1,
		     "U&'$1' || B'01' || X'1F' || N'$2' || $2", 0, 1);
	expect_shift("\"col$1\" = $1 AND U&\"$2\" = $2", 1,
		     "\"col$1\" = $2 AND U&\"$2\" = $3", 0, 2);
	expect_shift("\"a\"\"$1\" = $1", 1, "\"a\"\"$1\" = $2", 0, 1);
	/* '$' inside an identifier belongs to it. */
	expect_shift("t.a$1 = $1", 1, "t.a$1 = $2", 0, 1);
}

static void test_dollar_quotes_and_comments_stay(void **state)
{
	(void)state;
	expect_shift("$$ $1 $$ = $1", 1, "$$ $1 $$ = $2", 0, 1);
	expect_shift("$fn$ $1 $x$ $1 $fn$ || $1", 2,
		     "$fn$ $1 $x$ $1 $fn$ || $3", 0, 1);
	expect_shift("$_a1$ $1 $_a1$ $2", 1, "$_a1$ $1 $_a1$ $3", 0, 2);
	expect_shift("-- $1\n$1", 1, "-- $1\n$2", 0, 1);
	expect_shift("/* $1 /* $2 */ $3 */ $1", 1,
		     "/* $1 /* $2 */ $3 */ $2", 0, 1);
	/* Unterminated: the rest is inside. */
	expect_shift("'$1", 1, "'$1", 0, 0);
	expect_shift("$$ $1", 1, "$$ $1", 0, 0);
	expect_shift("/* $1", 1, "/* $1", 0, 0);
	/* A lone '$' is copied. */
	expect_shift("$ $a $1", 1, "$ $a $2", 0, 1);
}

static void test_out_of_range(void **state)
{
	(void)state;
	expect_shift("$0 = $1", 1, "$0 = $2", -1, 1);
	expect_shift("$65535", 1, "$65535", -1, 0);
	expect_shift("$99999999999999999999999", 0,
		     "$99999999999999999999999", -1, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_placeholders_move),
		cmocka_unit_test(test_strings_and_identifiers_stay),
		cmocka_unit_test(test_dollar_quotes_and_comments_stay),
		cmocka_unit_test(test_out_of_range),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
