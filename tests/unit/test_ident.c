/*
 * test_ident.c: quoting of SQL identifiers from configuration, including
 * names that try to break out of the identifier.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "ident.h"

static void assert_quote(const char *name, const char *want)
{
	char buf[IDENT_MAX];

	if (ident_quote(name, buf, sizeof(buf)) != 0)
		fail_msg("ident_quote(%s) failed", name);
	assert_string_equal(buf, want);
}

static void assert_column(const char *name, const char *want)
{
	char buf[IDENT_MAX];

	if (ident_quote_column(name, buf, sizeof(buf)) != 0)
		fail_msg("ident_quote_column(%s) failed", name);
	assert_string_equal(buf, want);
}

/* A refused name leaves an empty string, never half an identifier. */
static void assert_bad(const char *name, int column)
{
	char buf[IDENT_MAX];
	int rc;

	memset(buf, 'x', sizeof(buf));
	if (column)
		rc = ident_quote_column(name, buf, sizeof(buf));
	else
		rc = ident_quote(name, buf, sizeof(buf));
	if (rc == 0)
		fail_msg("%s(%s) accepted it as %s",
			 column ? "ident_quote_column" : "ident_quote",
			 name ? name : "NULL", buf);
	assert_string_equal(buf, "");
}

static void test_plain(void **state)
{
	(void)state;
	assert_quote("accounts_user", "\"accounts_user\"");
	assert_quote("AccountsUser", "\"AccountsUser\"");
	assert_quote("a", "\"a\"");
	assert_quote("my table", "\"my table\"");
	assert_quote("gel\xc3\xb6scht", "\"gel\xc3\xb6scht\"");
	assert_quote("\xf0\x9f\x94\x91", "\"\xf0\x9f\x94\x91\"");
	assert_column("id", "\"id\"");
	assert_column("created_at", "\"created_at\"");
}

static void test_schema_table(void **state)
{
	(void)state;
	assert_quote("public.accounts_user", "\"public\".\"accounts_user\"");
	assert_quote("app.T", "\"app\".\"T\"");
	assert_quote("\"odd.schema\".table", "\"odd.schema\".\"table\"");
	assert_quote("schema.\"odd.table\"", "\"schema\".\"odd.table\"");
	assert_quote("\"a.b\".\"c.d\"", "\"a.b\".\"c.d\"");
	assert_quote("\"only.one\"", "\"only.one\"");
	assert_quote("\"Mixed Case\"", "\"Mixed Case\"");
	/* "" inside a quoted part is one double quote. */
	assert_quote("\"say \"\"hi\"\"\".t", "\"say \"\"hi\"\"\".\"t\"");
}

static void test_embedded_quotes(void **state)
{
	(void)state;
	assert_quote("a\"b", "\"a\"\"b\"");
	assert_quote("ab\"", "\"ab\"\"\"");
	assert_column("a\"b", "\"a\"\"b\"");
}

static void test_injection(void **state)
{
	char buf[IDENT_MAX];

	(void)state;
	/* One identifier: every " inside is doubled. */
	assert_quote("users\"; DROP TABLE x; --",
		     "\"users\"\"; DROP TABLE x; --\"");
	assert_column("id\" OR 1=1 --", "\"id\"\" OR 1=1 --\"");
	assert_quote("x\"\"; DROP TABLE y; --",
		     "\"x\"\"\"\"; DROP TABLE y; --\"");

	/* A quoted part that closes early and goes on is refused. */
	assert_bad("\"users\"; DROP TABLE x; --", 0);
	assert_bad("\"id\" OR 1=1", 1);
	/* A dot in the payload makes three parts, or two for a column. */
	assert_bad("a\".b.c", 0);
	assert_bad("id\".x", 1);

	/* The payload stays inside quotes whichever way it is split. */
	assert_int_equal(ident_quote("s.t\"; DROP TABLE x; --", buf,
				     sizeof(buf)), 0);
	assert_string_equal(buf, "\"s\".\"t\"\"; DROP TABLE x; --\"");
}

static void test_empty_parts(void **state)
{
	(void)state;
	assert_bad(NULL, 0);
	assert_bad("", 0);
	assert_bad("", 1);
	assert_bad(".", 0);
	assert_bad(".t", 0);
	assert_bad("s.", 0);
	assert_bad("s..t", 0);
	assert_bad("\"\"", 0);
	assert_bad("\"\".t", 0);
	assert_bad("s.\"\"", 0);
}

static void test_parts_count(void **state)
{
	(void)state;
	assert_bad("a.b.c", 0);
	assert_bad("db.s.t", 0);
	assert_bad("a.b", 1);
	assert_bad("t.id", 1);
	assert_column("\"t.id\"", "\"t.id\"");
}

static void test_unterminated(void **state)
{
	(void)state;
	assert_bad("\"abc", 0);
	assert_bad("\"abc.def", 0);
	assert_bad("s.\"abc", 0);
	assert_bad("\"", 0);
	assert_bad("\"abc\"\"", 0);
	assert_bad("\"abc\"x", 0);
	assert_bad("\"abc\" ", 1);
}

static void test_bad_bytes(void **state)
{
	(void)state;
	assert_bad("a\nb", 0);
	assert_bad("a\rb", 0);
	assert_bad("a\tb", 0);
	assert_bad("a\x1b[0m", 0);
	assert_bad("a\x7f", 1);
	assert_bad("\x01", 1);
	/* Not UTF-8: a lone continuation byte, a cut sequence, an overlong
	 * slash, a surrogate, a code point above U+10FFFF, Latin-1. */
	assert_bad("a\x80", 0);
	assert_bad("a\xc3", 0);
	assert_bad("\xc0\xaf", 0);
	assert_bad("\xe0\x80\xaf", 0);
	assert_bad("\xed\xa0\x80", 0);
	assert_bad("\xf4\x90\x80\x80", 0);
	assert_bad("caf\xe9", 1);
	assert_bad("\"a\x01\".t", 0);
}

static void test_buffer_size(void **state)
{
	char buf[8];
	char big[IDENT_MAX];
	char name[300];

	(void)state;
	/* "abcde" needs 7 bytes and the NUL. */
	assert_int_equal(ident_quote("abcde", buf, sizeof(buf)), 0);
	assert_string_equal(buf, "\"abcde\"");
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(ident_quote("abcdef", buf, sizeof(buf)), -1);
	assert_string_equal(buf, "");
	assert_int_equal(ident_quote("a.b", buf, 7), -1);
	assert_int_equal(ident_quote("a.b", buf, 8), 0);
	assert_string_equal(buf, "\"a\".\"b\"");
	/* Doubling counts. */
	assert_int_equal(ident_quote("a\"\"b", buf, sizeof(buf)), -1);
	assert_int_equal(ident_quote("a", buf, 0), -1);
	assert_int_equal(ident_quote("a", NULL, 10), -1);

	/* Quotes double: 299 of them need more than IDENT_MAX. */
	memset(name, '"', sizeof(name) - 1);
	name[0] = 'a';
	name[sizeof(name) - 1] = '\0';
	assert_int_equal(ident_quote(name, big, sizeof(big)), -1);
	memset(name, 'n', sizeof(name) - 1);
	name[130] = '.';
	name[sizeof(name) - 1] = '\0';
	assert_int_equal(ident_quote(name, big, sizeof(big)), 0);
	assert_int_equal(strlen(big), strlen(name) + 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain),
		cmocka_unit_test(test_schema_table),
		cmocka_unit_test(test_embedded_quotes),
		cmocka_unit_test(test_injection),
		cmocka_unit_test(test_empty_parts),
		cmocka_unit_test(test_parts_count),
		cmocka_unit_test(test_unterminated),
		cmocka_unit_test(test_bad_bytes),
		cmocka_unit_test(test_buffer_size),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
