/*
 * bad_sql: a test plugin whose step plans fine in the plugin and fails in
 * the database, with the mistake chosen by its `mistake` key, so that a
 * test can check the hint the sweeper gives for each:
 *
 *   wrong_cast   $1 cast to text where an interval is needed (42883)
 *   no_cast      $1 compared with nothing that gives it a type (42P18)
 *   own_column   a column named by its `column` key, which the table
 *                lacks (42703): the hint names [rule.bad_sql] column
 *   joined       a valid predicate and user filter, but a joined
 *                predicate naming a column the users table lacks
 *                (42703), which only the joined windows of a walk by
 *                users would run: the preflight must find it
 */
#include <stdio.h>

#include <sweeper/plugin.h>

#include "stub.h"

static const struct sweeper_key bad_sql_keys[] = {
	{ "mistake", SWEEPER_KEY_ENUM, "wrong_cast",
	  "wrong_cast|no_cast|own_column|joined", "the mistake to make" },
	{ "column", SWEEPER_KEY_STRING, "usedat", NULL,
	  "a column of the backup codes" },
	SWEEPER_KEYS_END
};

static int bad_sql_plan(const struct sweeper_host_api *api,
			struct sweeper_ctx *ctx, void *state, char *err,
			size_t errlen)
{
	static const char *const predicates[] = {
		"t.used_at < now() - $1::text",
		"$1 IS NULL",
		"t.%s IS NOT NULL AND $1::interval IS NOT NULL",
		"EXISTS (SELECT 1 FROM accounts_user AS u WHERE u.id = "
		"t.user_id AND NOT u.mfa_enrolled) AND $1::interval IS NOT NULL",
	};
	enum { JOINED = 3 };
	struct sweeper_step step = STUB_CODES_STEP(NULL, "codes of bad_sql");
	const char *params[1] = { "1 day" };
	char column[SWEEPER_QUOTED_MAX];
	char predicate[SWEEPER_QUOTED_MAX + 64];
	int mistake;

	(void)state;
	(void)err;
	(void)errlen;
	if (api->config_enum(ctx, "mistake", &mistake) != SWEEPER_OK ||
	    api->config_column(ctx, "column", column, sizeof(column)) !=
	    SWEEPER_OK)
		return -1;
	/* The format is one of the constant predicates above. */
	snprintf(predicate, sizeof(predicate), predicates[mistake], column);
	step.predicate = predicate;
	step.nparams = 1;
	step.params = params;
	if (mistake != JOINED)
		return api->add_step(ctx, &step);
	step.joined_predicate = "NOT u.mfa_enroled AND $1::interval IS NOT NULL";
	if (api->add_step(ctx, &step) != SWEEPER_OK)
		return -1;
	return api->set_user_filter(ctx, "NOT u.mfa_enrolled", 0, NULL);
}

SWEEPER_PLUGIN(.name = "bad_sql", .version = "1.0",
	       .description = "test plugin whose step the database refuses",
	       .keys = bad_sql_keys, .plan = bad_sql_plan);
