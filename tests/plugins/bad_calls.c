/*
 * bad_calls: a test plugin that makes, on purpose, one of the mistakes a
 * plugin author makes with the host API, chosen by its `mistake` key, and
 * then fails (or, for "ignored", carries on) without writing a word into
 * err: the sweeper's own explanation is all the operator gets, so a test
 * can check that it names the mistake and its fix.
 *
 *   unsized        a step whose size is left 0
 *   no_key_column  a step without key_column
 *   no_predicate   a step without predicate
 *   params_null    nparams = 2 with params NULL
 *   joined_no_user a joined_predicate on a step without user_column
 *   in_init        add_step() called from init()
 *   ignored        add_step() refused (no key_column), plan() returns 0
 *   bad_column     config_column() of `column`, as configured
 *   wrong_type     config_interval() of the string key `column`
 *   undeclared     config_get()-style read of a key it never declared
 *   none           no mistake: one valid step
 */
#include <string.h>

#include <sweeper/plugin.h>

#include "stub.h"

static const struct sweeper_key bad_calls_keys[] = {
	{ "mistake", SWEEPER_KEY_ENUM, "none",
	  "unsized|no_key_column|no_predicate|params_null|joined_no_user|"
	  "in_init|ignored|bad_column|wrong_type|undeclared|none", "the mistake to make" },
	{ "column", SWEEPER_KEY_STRING, "used_at", NULL, "a column name" },
	SWEEPER_KEYS_END
};

enum { UNSIZED, NO_KEY_COLUMN, NO_PREDICATE, PARAMS_NULL, JOINED_NO_USER,
       IN_INIT, IGNORED, BAD_COLUMN, WRONG_TYPE, UNDECLARED, NONE };

static int bad_calls_init(const struct sweeper_host_api *api,
			  struct sweeper_ctx *ctx, void **state, char *err,
			  size_t errlen)
{
	struct sweeper_step step = STUB_CODES_STEP("false", "in init");
	int mistake;

	(void)state;
	(void)err;
	(void)errlen;
	if (api->config_enum(ctx, "mistake", &mistake) != SWEEPER_OK)
		return -1;
	if (mistake == IN_INIT && api->add_step(ctx, &step) != SWEEPER_OK)
		return -1;
	return 0;
}

static int bad_calls_plan(const struct sweeper_host_api *api,
			  struct sweeper_ctx *ctx, void *state, char *err,
			  size_t errlen)
{
	struct sweeper_step step = STUB_CODES_STEP(
		"t.code_hash LIKE 'must-go-calls-%'", "codes of bad_calls");
	char buf[SWEEPER_QUOTED_MAX];
	int mistake, rc;

	(void)state;
	(void)err;
	(void)errlen;
	if (api->config_enum(ctx, "mistake", &mistake) != SWEEPER_OK)
		return -1;
	switch (mistake) {
	case UNSIZED:
		step.size = 0;
		break;
	case NO_KEY_COLUMN:
	case IGNORED:
		step.key_column = NULL;
		break;
	case NO_PREDICATE:
		step.predicate = "";
		break;
	case PARAMS_NULL:
		step.nparams = 2;
		break;
	case JOINED_NO_USER:
		step.user_column = NULL;
		step.joined_predicate = "u.mfa_enrolled";
		break;
	case BAD_COLUMN:
		return api->config_column(ctx, "column", buf, sizeof(buf));
	case WRONG_TYPE:
		return api->config_interval(ctx, "column", buf, sizeof(buf));
	case UNDECLARED:
		return api->config_column(ctx, "colum", buf, sizeof(buf));
	}
	rc = api->add_step(ctx, &step);
	return mistake == IGNORED ? 0 : rc;
}

SWEEPER_PLUGIN(.name = "bad_calls", .version = "1.0",
	       .description = "test plugin making one host API mistake",
	       .keys = bad_calls_keys, .init = bad_calls_init,
	       .plan = bad_calls_plan);
