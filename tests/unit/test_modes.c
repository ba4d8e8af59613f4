/*
 * test_modes.c: the table of modes (doc/design.md "Modes"): which mode a command
 * line selects, what each needs and reports, and the exit code of every
 * outcome (mfa-sweeper(1) "EXIT STATUS").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mode.h"
#include "outcome.h"

static const struct mode *mode_of(const struct cli_options *o)
{
	const struct mode *m = mode_find(o);

	assert_non_null(m);
	return m;
}

static void test_selection(void **state)
{
	struct cli_options o;

	(void)state;
	memset(&o, 0, sizeof(o));
	assert_string_equal(mode_of(&o)->name, "run");
	o.dry_run = 1;
	assert_string_equal(mode_of(&o)->name, "--dry-run");
	/* A mode option wins over -n: it deletes nothing either way. */
	o.check_config = 1;
	assert_string_equal(mode_of(&o)->name, "--check-config");
	o.check_config = 0;
	o.explain = 1;
	assert_string_equal(mode_of(&o)->name, "--explain");
	o.explain = 0;
	o.history = 5;
	assert_string_equal(mode_of(&o)->name, "--history");
	/* -h and -V win over everything. */
	o.version = 1;
	assert_string_equal(mode_of(&o)->name, "--version");
	o.help = 1;
	assert_string_equal(mode_of(&o)->name, "--help");
}

/* Only a run and a dry run report; only a run deletes and writes metrics. */
static void test_what_each_reports(void **state)
{
	struct cli_options o;
	const struct mode *m;

	(void)state;
	memset(&o, 0, sizeof(o));
	m = mode_of(&o);
	assert_int_equal(m->needs & MODE_REPORTS, MODE_REPORTS);
	assert_true(m->needs & MODE_LOCK);
	assert_true(m->needs & MODE_PREFLIGHT);
	o.dry_run = 1;
	m = mode_of(&o);
	assert_int_equal(m->needs & MODE_REPORTS,
			 MODE_PRINT | MODE_POST | MODE_LEDGER);
	assert_false(m->needs & MODE_LOCK);
	o.dry_run = 0;
	o.check_config = 1;
	m = mode_of(&o);
	assert_int_equal(m->needs & (MODE_REPORTS | MODE_LOCK), 0);
	assert_true(m->needs & MODE_PREFLIGHT);
	o.check_config = 0;
	o.list_rules = 1;
	m = mode_of(&o);
	assert_int_equal(m->needs & ~(unsigned)(MODE_CONFIG | MODE_RULES), 0);
	o.list_rules = 0;
	o.print_ledger_sql = 1;
	assert_int_equal(mode_of(&o)->needs, MODE_CONFIG);
	o.print_ledger_sql = 0;
	/* --print-plan runs the plugins and connects to nothing, even with
	 * -n: a plugin's CI has no database. */
	o.print_plan = 1;
	o.dry_run = 1;
	m = mode_of(&o);
	assert_string_equal(m->name, "--print-plan");
	assert_int_equal(m->needs, MODE_CONFIG | MODE_RULES | MODE_PLUGINS);
	o.print_plan = 0;
	o.dry_run = 0;
	o.help = 1;
	assert_int_equal(mode_of(&o)->needs, 0);
}

static void test_exit_codes(void **state)
{
	(void)state;
	assert_int_equal(outcome_exit_code(OUTCOME_OK), 0);
	assert_int_equal(outcome_exit_code(OUTCOME_RULE_FAILED), 1);
	assert_int_equal(outcome_exit_code(OUTCOME_USAGE), 64);
	assert_int_equal(outcome_exit_code(OUTCOME_LEFT_BEHIND), 65);
	assert_int_equal(outcome_exit_code(OUTCOME_UNAVAILABLE), 69);
	assert_int_equal(outcome_exit_code(OUTCOME_IOERR), 74);
	assert_int_equal(outcome_exit_code(OUTCOME_SKIPPED), 75);
	assert_int_equal(outcome_exit_code(OUTCOME_INTERRUPTED), 75);
	assert_int_equal(outcome_exit_code(OUTCOME_CONFIG), 78);
	assert_int_equal(outcome_run_status(OUTCOME_INTERRUPTED),
			 RUN_INTERRUPTED);
	assert_int_equal(outcome_run_status(OUTCOME_UNAVAILABLE), RUN_FAILED);
	assert_int_equal(outcome_run_status(OUTCOME_CONFIG), RUN_FAILED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_selection),
		cmocka_unit_test(test_what_each_reports),
		cmocka_unit_test(test_exit_codes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
