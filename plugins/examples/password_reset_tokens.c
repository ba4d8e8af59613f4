/*
 * password_reset_tokens: delete password-reset tokens that were used, or
 * that expired longer ago than max_age (in scoped runs, only the users').
 *   cc -shared -fPIC $(pkg-config --cflags mfa-sweeper-plugin) \
 *       -o password_reset_tokens.so password_reset_tokens.c
 */
#include <stdio.h>
#include <sweeper/plugin.h>

static const struct sweeper_key keys[] = {
	{ "table", SWEEPER_KEY_STRING, "password_reset_tokens", NULL,
	  "the tokens' table, as table or schema.table" },
	{ "user_column", SWEEPER_KEY_STRING, "user_id", NULL,
	  "the column holding the token's user" },
	{ "used_at_column", SWEEPER_KEY_STRING, "used_at", NULL,
	  "when the token was used; NULL while unused" },
	{ "expires_at_column", SWEEPER_KEY_STRING, "expires_at", NULL,
	  "when the token expires" },
	{ "max_age", SWEEPER_KEY_DURATION, "7d", SWEEPER_RANGE("0", "3650d"),
	  "how long to keep a token after it expired" },
	SWEEPER_KEYS_END
};

static int plan(const struct sweeper_host_api *api, struct sweeper_ctx *ctx,
		void *state, char *err, size_t errlen)
{
	char used[SWEEPER_QUOTED_MAX], expires[SWEEPER_QUOTED_MAX];
	char max_age[SWEEPER_INTERVAL_MAX], predicate[3 * SWEEPER_QUOTED_MAX];
	const char *params[] = { max_age };

	(void)state;
	if (!SWEEPER_API_HAS(api, config_enum)) {
		snprintf(err, errlen, "needs a newer mfa-sweeper");
		return -1;
	}
	/* On failure the sweeper names the key at fault: just return. */
	if (api->config_column(ctx, "used_at_column", used, sizeof(used)) ||
	    api->config_column(ctx, "expires_at_column", expires,
			       sizeof(expires)) ||
	    api->config_interval(ctx, "max_age", max_age, sizeof(max_age)))
		return -1;
	/* Names from config go in quoted, values as $1..$n parameters. */
	snprintf(predicate, sizeof(predicate), "t.%s IS NOT NULL OR "
		 "t.%s < now() - $1::interval", used, expires);
	const struct sweeper_time_column times[] = {
		{ NULL, api->config_get(ctx, "expires_at_column") } };
	const struct sweeper_step step = {
		.size = sizeof(step), .table = api->config_get(ctx, "table"),
		.key_column = "id",
		.user_column = api->config_get(ctx, "user_column"),
		.predicate = predicate, .nparams = 1, .params = params,
		.label = "password-reset tokens", .ntime_columns = 1,
		.time_columns = times, .joined_predicate = NULL };
	return api->add_step(ctx, &step);
}

SWEEPER_PLUGIN(.name = "password_reset_tokens", .version = "1.0",
	       .description = "delete used or long-expired reset tokens",
	       .keys = keys, .init = NULL, .plan = plan, .fini = NULL);
