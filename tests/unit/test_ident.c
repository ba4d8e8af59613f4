/*
 * test_ident.c: quoting of SQL identifiers from configuration, including
 * names that try to break out of the identifier.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "ident.h"
#include "rule.h"

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
	char name[128];

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

	/* Quotes double: 63 of them need 63 * 2 + 2 bytes and the NUL. */
	memset(name, '"', 63);
	name[0] = 'a';
	name[63] = '\0';
	assert_int_equal(ident_quote(name, big, 63 * 2 + 1), -1);
	assert_int_equal(ident_quote(name, big, 63 * 2 + 2), 0);
	assert_int_equal(strlen(big), 63 * 2 + 1);
	/* The longest name there is always fits IDENT_MAX. */
	memset(name, '"', 63);
	name[63] = '.';
	memset(name + 64, '"', 63);
	name[0] = name[64] = 'a';
	name[127] = '\0';
	assert_int_equal(ident_quote(name, big, sizeof(big)), 0);
	assert_int_equal(strlen(big), 2 * (1 + 62 * 2 + 2) + 1);
}

/* A name of `len` bytes of `c`, for the length limits. */
static const char *name_of(char *buf, size_t len, char c)
{
	memset(buf, c, len);
	buf[len] = '\0';
	return buf;
}

static void test_name_length(void **state)
{
	char buf[IDENT_MAX];
	char a[200];
	char b[200];
	char name[420];

	(void)state;
	/* PostgreSQL keeps 63 bytes of a name: 63 pass, 64 are refused. */
	name_of(a, 63, 'a');
	assert_int_equal(ident_quote(a, buf, sizeof(buf)), 0);
	assert_int_equal(strlen(buf), 65);
	assert_int_equal(ident_quote_column(a, buf, sizeof(buf)), 0);
	name_of(a, 64, 'a');
	memset(buf, 'x', sizeof(buf));
	assert_int_equal(ident_quote(a, buf, sizeof(buf)), IDENT_TOO_LONG);
	assert_string_equal(buf, "");
	assert_int_equal(ident_quote_column(a, buf, sizeof(buf)),
			 IDENT_TOO_LONG);
	name_of(a, 190, 'a');
	assert_int_equal(ident_quote(a, buf, sizeof(buf)), IDENT_TOO_LONG);

	/* Bytes, not characters: 21 three-byte characters are 63 bytes. */
	name[0] = '\0';
	while (strlen(name) < 63)
		strcat(name, "\xe2\x82\xac");
	assert_int_equal(ident_quote(name, buf, sizeof(buf)), 0);
	strcat(name, "x");
	assert_int_equal(ident_quote(name, buf, sizeof(buf)), IDENT_TOO_LONG);

	/* Each part of schema.table counts alone. */
	snprintf(name, sizeof(name), "%s.%s", name_of(a, 63, 's'),
		 name_of(b, 63, 't'));
	assert_int_equal(ident_quote(name, buf, sizeof(buf)), 0);
	snprintf(name, sizeof(name), "%s.%s", name_of(a, 64, 's'),
		 name_of(b, 3, 't'));
	assert_int_equal(ident_quote(name, buf, sizeof(buf)), IDENT_TOO_LONG);
	snprintf(name, sizeof(name), "%s.%s", name_of(a, 3, 's'),
		 name_of(b, 64, 't'));
	assert_int_equal(ident_quote(name, buf, sizeof(buf)), IDENT_TOO_LONG);

	/*
	 * A quoted part counts as PostgreSQL reads it: without its quotes,
	 * "" as one byte, and a dot inside as a byte of the name.
	 */
	snprintf(name, sizeof(name), "\"%s\"", name_of(a, 63, 'q'));
	assert_int_equal(ident_quote(name, buf, sizeof(buf)), 0);
	snprintf(name, sizeof(name), "\"%s\"", name_of(a, 64, 'q'));
	assert_int_equal(ident_quote(name, buf, sizeof(buf)), IDENT_TOO_LONG);
	snprintf(name, sizeof(name), "\"%s\"\"\"", name_of(a, 62, 'q'));
	assert_int_equal(ident_quote_column(name, buf, sizeof(buf)), 0);
	snprintf(name, sizeof(name), "\"%s\"\"\"", name_of(a, 63, 'q'));
	assert_int_equal(ident_quote_column(name, buf, sizeof(buf)),
			 IDENT_TOO_LONG);
	snprintf(name, sizeof(name), "\"%s.%s\"", name_of(a, 31, 'q'),
		 name_of(b, 32, 'q'));
	assert_int_equal(ident_quote_column(name, buf, sizeof(buf)),
			 IDENT_TOO_LONG);

	/* Other faults stay IDENT_INVALID. */
	assert_int_equal(ident_quote("", buf, sizeof(buf)), IDENT_INVALID);
	assert_int_equal(ident_quote("a..b", buf, sizeof(buf)), IDENT_INVALID);
}

/* Plugins quote through the host API, with the same limit. */
static void test_host_api_quoting(void **state)
{
	const struct sweeper_host_api *api = host_api();
	char buf[IDENT_MAX];
	char a[100];
	char name[220];

	(void)state;
	name_of(a, 63, 'a');
	assert_int_equal(api->quote_ident(NULL, a, buf, sizeof(buf)),
			 SWEEPER_OK);
	assert_int_equal(api->quote_column(NULL, a, buf, sizeof(buf)),
			 SWEEPER_OK);
	snprintf(name, sizeof(name), "s.%s", a);
	assert_int_equal(api->quote_ident(NULL, name, buf, sizeof(buf)),
			 SWEEPER_OK);
	name_of(a, 64, 'a');
	assert_int_equal(api->quote_ident(NULL, a, buf, sizeof(buf)),
			 SWEEPER_ERR_RANGE);
	assert_string_equal(buf, "");
	assert_int_equal(api->quote_column(NULL, a, buf, sizeof(buf)),
			 SWEEPER_ERR_RANGE);
	snprintf(name, sizeof(name), "s.%s", a);
	assert_int_equal(api->quote_ident(NULL, name, buf, sizeof(buf)),
			 SWEEPER_ERR_RANGE);
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
		cmocka_unit_test(test_name_length),
		cmocka_unit_test(test_host_api_quoting),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
