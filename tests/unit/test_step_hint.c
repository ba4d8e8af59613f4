/*
 * test_step_hint.c: the hint a step that does not plan gets (step_hint.h):
 * it names where the missing name came from ([schema], the rule's own
 * section, the plugin's code, or none of the rule's), points at the
 * placeholders for the SQLSTATEs about them, and shows the predicate.
 *
 * The rule is built here as the host API leaves it after init() and plan():
 * its config values read (rule_note_origin()) and its step, over a config
 * file loaded from a temporary file, so that file and line are real.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "config.h"
#include "rule.h"
#include "step_hint.h"
#include "xalloc.h"

struct fixture {
	char path[64];
	struct config cfg;
	struct rule rule;
	struct step step;
	char *params[2];
};

static const char config_text[] =
	"[database]\n"
	"dsn = dbname=x\n"
	"\n"
	"[sweeper]\n"
	"rules = tokens\n"
	"\n"
	"[schema]\n"
	"code_used_at_column = usedat\n"
	"codes_table = app.codes\n"
	"\n"
	"[rule.tokens]\n"
	"expires_column = Expires At\n";

static int setup(void **state)
{
	struct fixture *f = xcalloc(1, sizeof(*f));
	char err[1024];
	FILE *out;
	int fd;

	snprintf(f->path, sizeof(f->path), "/tmp/test_step_hint.XXXXXX");
	fd = mkstemp(f->path);
	if (fd < 0)
		fail_msg("mkstemp: %s", strerror(errno));
	out = fdopen(fd, "w");
	fputs(config_text, out);
	fclose(out);
	if (config_load(&f->cfg, f->path, err, sizeof(err)) != 0)
		fail_msg("config_load: %s", err);
	f->rule.name = xstrdup("tokens");
	f->rule.cfg = &f->cfg;
	f->rule.ctx.rule = &f->rule;
	/* What the plugin read, as the host API records it. */
	rule_note_origin(&f->rule, "schema", "code_used_at_column", "usedat");
	rule_note_origin(&f->rule, "schema", "codes_table", "app.codes");
	rule_note_origin(&f->rule, "rule.tokens", "expires_column",
			 "Expires At");
	rule_note_origin(&f->rule, "rule.tokens", "user_column", "owner");
	f->step.table = "app.codes";
	f->step.key_column = "id";
	f->step.user_column = "owner";
	f->step.predicate = "t.\"usedat\" < now() - $1::interval\n"
			    "  AND t.\"Expires At\" < now() AND t.\"fixed\"";
	f->step.nparams = 2;
	f->step.params = f->params;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	/* The step is the fixture's, not the rule's. */
	rule_close(&f->rule);
	config_free(&f->cfg);
	unlink(f->path);
	free(f);
	return 0;
}

static void hint(struct fixture *f, const char *sqlstate, const char *why,
		 char *buf, size_t len)
{
	memset(buf, 0, len);
	step_hint(&f->rule, &f->step, sqlstate, why, buf, len);
	assert_non_null(buf[0] ? buf : NULL);
	assert_null(strchr(buf, '\n'));
}

#define assert_has(buf, needle) \
	do { \
		if (!strstr((buf), (needle))) \
			fail_msg("hint '%s' does not say '%s'", (buf), \
				 (needle)); \
	} while (0)

#define assert_lacks(buf, needle) \
	do { \
		if (strstr((buf), (needle))) \
			fail_msg("hint '%s' says '%s'", (buf), (needle)); \
	} while (0)

static void test_column_from_schema(void **state)
{
	struct fixture *f = *state;
	char buf[2048], where[128];

	hint(f, "42703", "column t.usedat does not exist (SQLSTATE 42703)",
	     buf, sizeof(buf));
	snprintf(where, sizeof(where), "[schema] code_used_at_column ('%s' "
		 "line 8)", f->path);
	assert_has(buf, where);
	assert_has(buf, "'usedat'");
	assert_has(buf, "check the column names in [schema]");
	assert_lacks(buf, "[rule.");
}

/* PostgreSQL writes the column after its alias unquoted, blanks and all. */
static void test_column_from_rule_section(void **state)
{
	struct fixture *f = *state;
	char buf[2048], where[128];

	hint(f, "42703", "column t.Expires At does not exist (SQLSTATE 42703)",
	     buf, sizeof(buf));
	snprintf(where, sizeof(where), "[rule.tokens] expires_column ('%s' "
		 "line 12)", f->path);
	assert_has(buf, where);
	assert_has(buf, "check [rule.tokens]");
	assert_lacks(buf, "[schema]");
}

/* A default counts as read from the config: the key is where to fix it. */
static void test_column_from_default(void **state)
{
	struct fixture *f = *state;
	char buf[2048];

	hint(f, "42703", "column t.owner does not exist (SQLSTATE 42703)",
	     buf, sizeof(buf));
	assert_has(buf, "[rule.tokens] user_column (its default)");
	assert_lacks(buf, "[schema]");
}

static void test_column_in_plugin_code(void **state)
{
	struct fixture *f = *state;
	char buf[2048];

	hint(f, "42703", "column t.fixed does not exist (SQLSTATE 42703)",
	     buf, sizeof(buf));
	assert_has(buf, "'fixed' is written in plugin 'tokens' itself "
		   "(its step's predicate)");
	assert_has(buf, "fix the plugin");
	assert_lacks(buf, "[schema]");

	hint(f, "42703", "column t.id does not exist (SQLSTATE 42703)",
	     buf, sizeof(buf));
	assert_has(buf, "(its step's key_column)");
	assert_lacks(buf, "[schema]");
}

/* A name none of the rule's: the core's own (ledger, users table). */
static void test_column_of_the_core(void **state)
{
	struct fixture *f = *state;
	char buf[2048];

	hint(f, "42703", "column \"rule\" of relation \"deletions\" does not "
	     "exist (SQLSTATE 42703)", buf, sizeof(buf));
	assert_has(buf, "'rule' is not one of rule 'tokens'");
	assert_has(buf, "--print-ledger-sql");
}

static void test_table_from_schema(void **state)
{
	struct fixture *f = *state;
	char buf[2048];

	hint(f, "42P01", "relation \"app.codes\" does not exist (SQLSTATE "
	     "42P01)", buf, sizeof(buf));
	assert_has(buf, "[schema] codes_table");
	assert_has(buf, "check the table names in [schema]");

	memset(buf, 0, sizeof(buf));
	step_table_hint(&f->rule, "app.codes", buf, sizeof(buf));
	assert_has(buf, "[schema] codes_table");
	assert_has(buf, "the table 'app.codes'");
	memset(buf, 0, sizeof(buf));
	step_table_hint(&f->rule, "hard_coded", buf, sizeof(buf));
	assert_has(buf, "written in plugin 'tokens' itself");
	assert_lacks(buf, "[schema]");
}

static void test_placeholders(void **state)
{
	static const char *const states[] = {
		"42883", "42P18", "42P02", "08P01"
	};
	struct fixture *f = *state;
	char buf[2048];
	size_t i;

	for (i = 0; i < sizeof(states) / sizeof(states[0]); i++) {
		hint(f, states[i], "bind message supplies 3 parameters, but "
		     "prepared statement \"\" requires 4", buf, sizeof(buf));
		assert_has(buf, "placeholders");
		assert_has(buf, "nparams = 2 parameters");
		assert_has(buf, "$1::interval");
		/* The predicate, on one line. */
		assert_has(buf, "the predicate: t.\"usedat\" < now() - "
			   "$1::interval AND t.\"Expires At\"");
		assert_lacks(buf, "[schema]");
	}
}

static void test_other_errors_show_the_predicate(void **state)
{
	struct fixture *f = *state;
	char buf[2048];
	char *long_predicate = xmalloc(1000);

	hint(f, "42601", "syntax error at or near \"AND\"", buf, sizeof(buf));
	assert_has(buf, "check the predicate of rule 'tokens'");
	assert_has(buf, "--print-plan -r tokens");
	assert_has(buf, "t.\"fixed\"");
	assert_lacks(buf, "[schema]");

	memset(long_predicate, 'x', 999);
	long_predicate[999] = '\0';
	f->step.predicate = long_predicate;
	hint(f, "42601", "syntax error", buf, sizeof(buf));
	assert_has(buf, "xxx...");
	assert_true(strlen(buf) < 600);
	free(long_predicate);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(test_column_from_schema),
		T(test_column_from_rule_section),
		T(test_column_from_default),
		T(test_column_in_plugin_code),
		T(test_column_of_the_core),
		T(test_table_from_schema),
		T(test_placeholders),
		T(test_other_errors_show_the_predicate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
