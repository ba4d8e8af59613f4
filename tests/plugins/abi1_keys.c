/*
 * abi1_keys: a valid test plugin built against the header as first
 * released (tests/plugins/abi1/sweeper/plugin.h, first on its include
 * path), written the way that header documented: a positional descriptor
 * with SWEEPER_PLUGIN_HEADER, keys ending with { NULL, 0, NULL, NULL, NULL },
 * the readers of that time.  It must keep loading and running unchanged
 * in a sweeper whose key declarations, host API and messages have grown.
 *
 * It declares one key of each type, `choices` set on a string key too (a
 * field that header ignored for strings, and the sweeper still does), and
 * deletes the backup codes whose code_hash starts with "must-go-abi1-" and
 * that were used longer ago than max_age (default 1d).  plan() logs
 * "abi1_keys: host api size N, abi 1" at INFO.
 */
#include <stdio.h>

#include <sweeper/plugin.h>

#ifdef SWEEPER_API_HAS
#error "abi1_keys must be built against tests/plugins/abi1/sweeper/plugin.h"
#endif

static const struct sweeper_key abi1_keys_keys[] = {
	{ "max_age", SWEEPER_KEY_DURATION, "1d", NULL, "codes used before" },
	{ "label", SWEEPER_KEY_STRING, "codes of an abi1 plugin", "a|b",
	  "the step's label" },
	{ "enabled", SWEEPER_KEY_BOOL, "true", NULL, "plan the step" },
	{ "limit", SWEEPER_KEY_INT, "5", NULL, "unused" },
	{ "mode", SWEEPER_KEY_ENUM, "keep", "keep|delete", "unused" },
	{ NULL, 0, NULL, NULL, NULL }
};

static int abi1_keys_plan(const struct sweeper_host_api *api,
			  struct sweeper_ctx *ctx, void *state, char *err,
			  size_t errlen)
{
	const struct sweeper_time_column times[1] = { { NULL, "used_at" } };
	struct sweeper_step step = {
		.size = sizeof(struct sweeper_step),
		.table = "accounts_backupcode",
		.key_column = "id",
		.user_column = "user_id",
		.predicate = "t.code_hash LIKE 'must-go-abi1-%' AND "
			     "t.used_at < now() - $1::interval",
		.nparams = 1,
		.label = api->config_get(ctx, "label"),
		.ntime_columns = 1,
		.time_columns = times,
	};
	char interval[48];
	const char *params[1] = { interval };
	long long ms, limit;
	int enabled;

	(void)state;
	if (api->config_duration_ms(ctx, "max_age", &ms) != SWEEPER_OK ||
	    api->config_bool(ctx, "enabled", &enabled) != SWEEPER_OK ||
	    api->config_int(ctx, "limit", &limit) != SWEEPER_OK) {
		snprintf(err, errlen, "cannot read the keys");
		return -1;
	}
	api->log(ctx, SWEEPER_LOG_INFO, "abi1_keys: host api size %u, abi %u",
		 (unsigned)api->size, (unsigned)api->abi_version);
	if (!enabled)
		return 0;
	snprintf(interval, sizeof(interval), "%lld milliseconds", ms);
	step.params = params;
	if (api->add_step(ctx, &step) != SWEEPER_OK) {
		snprintf(err, errlen, "cannot add the step");
		return -1;
	}
	return 0;
}

static const struct sweeper_plugin abi1_keys = {
	SWEEPER_PLUGIN_HEADER,
	"abi1_keys", "1.0", "test plugin built against the first ABI 1 header",
	abi1_keys_keys, NULL, abi1_keys_plan, NULL
};

SWEEPER_PLUGIN_DEFINE(abi1_keys)
