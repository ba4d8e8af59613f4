/*
 * test_doc_keys.c: every key of the core sections, as the program declares
 * it (core_sections[] of src/config_keys.c), is documented: in
 * mfa-sweeper.ini(5) under its section, with its default, and in the
 * example config/mfa-sweeper.ini under its section, set to its default.
 * A key added to the program without a word in either fails here.  The
 * rule plugins' keys are checked by tests/integration/test_docs.sh, which
 * asks --list-rules for them.  Run from the repository's top directory,
 * as tests/run.sh does.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "config_keys.h"

#define MAN_PAGE "doc/mfa-sweeper.ini.5"
#define EXAMPLE "config/mfa-sweeper.ini"

/* The whole of `path`, NUL-terminated; fails the test when unreadable. */
static char *read_all(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf = NULL;
	long n;

	if (!f)
		fail_msg("cannot open '%s'; run from the repository's top "
			 "directory", path);
	if (fseek(f, 0, SEEK_END) != 0)
		goto out;
	n = ftell(f);
	if (n < 0 || fseek(f, 0, SEEK_SET) != 0)
		goto out;
	buf = calloc((size_t)n + 1, 1);
	assert_non_null(buf);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
out:
	fclose(f);
	if (!buf)
		fail_msg("cannot read '%s'", path);
	return buf;
}

/*
 * The part of `text` from the line `start` (exactly, at the start of a
 * line) to the next line that begins with `next` or to the end, as a
 * fresh string; NULL when there is no such line.
 */
static char *section_of(const char *text, const char *start, const char *next)
{
	const char *p = text, *end;
	size_t len = strlen(start);
	char *out;

	for (;;) {
		if (strncmp(p, start, len) == 0 &&
		    (p[len] == '\n' || p[len] == '\0'))
			break;
		p = strchr(p, '\n');
		if (!p)
			return NULL;
		p++;
	}
	p += len;
	for (end = p; *end; end++)
		if (end[0] == '\n' && strncmp(end + 1, next, strlen(next)) == 0)
			break;
	out = calloc((size_t)(end - p) + 1, 1);
	assert_non_null(out);
	memcpy(out, p, (size_t)(end - p));
	return out;
}

/* The line of `text` that starts with `prefix`, up to its end, or NULL. */
static char *line_starting(const char *text, const char *prefix)
{
	const char *p = text;
	size_t len = strlen(prefix);
	char *out;
	size_t n;

	while (p && *p) {
		if (strncmp(p, prefix, len) == 0) {
			n = strcspn(p, "\n");
			out = calloc(n + 1, 1);
			assert_non_null(out);
			memcpy(out, p, n);
			return out;
		}
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	return NULL;
}

static void test_core_keys_in_man_page(void **state)
{
	const struct core_section *cs;
	const struct sweeper_key *k;
	char *page = read_all(MAN_PAGE);
	char head[64], prefix[128], want[256];
	int missing = 0;

	(void)state;
	for (cs = core_sections; cs->name; cs++) {
		char *sec;

		snprintf(head, sizeof(head), ".SH [%s]", cs->name);
		sec = section_of(page, head, ".SH");
		if (!sec) {
			print_error("%s: no '%s' for the section [%s]\n",
				    MAN_PAGE, head, cs->name);
			missing++;
			continue;
		}
		for (k = cs->keys; k->name; k++) {
			char *line;

			snprintf(prefix, sizeof(prefix), ".BR %s \"", k->name);
			line = line_starting(sec, prefix);
			if (!line) {
				print_error("%s: [%s] %s is not documented "
					    "(want a line '.BR %s \" (TYPE; "
					    "default ...)\"')\n", MAN_PAGE,
					    cs->name, k->name, k->name);
				missing++;
				continue;
			}
			/* plugin_dir's default is the build's PREFIX. */
			snprintf(want, sizeof(want), "default %s)",
				 k->default_value && *k->default_value ?
				 k->default_value : "empty");
			if (strcmp(k->name, "plugin_dir") != 0 &&
			    !strstr(line, want)) {
				print_error("%s: [%s] %s: '%s' does not say "
					    "'%s'\n", MAN_PAGE, cs->name,
					    k->name, line, want);
				missing++;
			}
			free(line);
		}
		free(sec);
	}
	free(page);
	assert_int_equal(missing, 0);
}

static void test_core_keys_in_example(void **state)
{
	const struct core_section *cs;
	const struct sweeper_key *k;
	char *ini = read_all(EXAMPLE);
	char head[64], prefix[128], want[512];
	int missing = 0;

	(void)state;
	for (cs = core_sections; cs->name; cs++) {
		char *sec;

		snprintf(head, sizeof(head), "[%s]", cs->name);
		sec = section_of(ini, head, "[");
		if (!sec) {
			print_error("%s: no section %s\n", EXAMPLE, head);
			missing++;
			continue;
		}
		for (k = cs->keys; k->name; k++) {
			char *line;

			snprintf(prefix, sizeof(prefix), "\n%s =", k->name);
			line = line_starting(strstr(sec, prefix) ?
					     strstr(sec, prefix) + 1 : "",
					     prefix + 1);
			if (!line) {
				print_error("%s: [%s] has no line '%s = "
					    "...'\n", EXAMPLE, cs->name,
					    k->name);
				missing++;
				continue;
			}
			snprintf(want, sizeof(want), "%s =%s%s", k->name,
				 k->default_value && *k->default_value ?
				 " " : "", k->default_value ?
				 k->default_value : "");
			if (strcmp(k->name, "plugin_dir") != 0 &&
			    strcmp(line, want) != 0) {
				print_error("%s: '%s' is not the default, "
					    "'%s'\n", EXAMPLE, line, want);
				missing++;
			}
			free(line);
		}
		free(sec);
	}
	free(ini);
	assert_int_equal(missing, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_core_keys_in_man_page),
		cmocka_unit_test(test_core_keys_in_example),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
