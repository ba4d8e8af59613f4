/*
 * test_scope.c: the users a scoped run names, as array literals and as
 * read from a users file.  The lookups themselves need a server:
 * tests/integration/test_scope.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "scope.h"

static void assert_literal(char *const *items, size_t n, const char *want)
{
	char *got = scope_text_array(items, n);

	assert_string_equal(got, want);
	free(got);
}

/* Each element double-quoted; '"' and '\' escaped, nothing else. */
static void test_text_array(void **state)
{
	char *plain[] = { "1", "22", "333" };
	char *odd[] = { "a\"b", "c\\d", "", "e,f{g}", "\"\\\"" };

	(void)state;
	assert_literal(NULL, 0, "{}");
	assert_literal(plain, 3, "{\"1\",\"22\",\"333\"}");
	assert_literal(odd, 5,
		       "{\"a\\\"b\",\"c\\\\d\",\"\",\"e,f{g}\",\"\\\"\\\\\\\"\"}");
}

/*
 * A users file of many lines: every id kept in order, with its line, and
 * the lists freed whole (run under the sanitizers by make check).
 */
static void test_many_lines(void **state)
{
	char path[] = "/tmp/test_scope.XXXXXX";
	struct scope s;
	char err[256];
	char want[32];
	FILE *f;
	int fd, i;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	fputs("# ticket 1234\n", f);
	for (i = 1; i <= 70000; i++)
		fprintf(f, "%d\n", i);
	fputs("someone@example.com\n", f);
	fclose(f);
	memset(&s, 0, sizeof(s));
	scope_add(&s, "42", 0);
	assert_int_equal(scope_read_file(&s, path, err, sizeof(err)), 0);
	unlink(path);
	assert_int_equal(s.nids, 70001);
	assert_int_equal(s.nemails, 1);
	assert_string_equal(s.ids[0], "42");
	assert_int_equal(s.id_line[0], 0);
	snprintf(want, sizeof(want), "%d", 70000);
	assert_string_equal(s.ids[70000], want);
	assert_int_equal(s.id_line[70000], 70001);
	assert_string_equal(s.emails[0], "someone@example.com");
	assert_string_equal(s.file, path);
	scope_free(&s);
	assert_null(s.ids);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text_array),
		cmocka_unit_test(test_many_lines),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
