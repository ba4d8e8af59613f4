/*
 * old_step: a valid test plugin whose step is laid out as the first
 * release of ABI version 1 laid out struct sweeper_step: no time columns,
 * and a size that says so.  A plugin built against that header must keep
 * loading and running unchanged in a host that reads the later fields,
 * which it may only do when the size covers them.
 *
 * The step deletes the backup codes whose code_hash starts with
 * "must-go-old-" and whose used_at has passed: a comparison of a time
 * column the core is never told about.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <sweeper/plugin.h>

/* struct sweeper_step as the first release of ABI version 1 had it. */
struct sweeper_step_v1 {
	uint32_t size;
	const char *table;
	const char *key_column;
	const char *user_column;
	const char *predicate;
	int nparams;
	const char *const *params;
	const char *label;
};

/* The fields added since begin where the old struct ended. */
_Static_assert(sizeof(struct sweeper_step_v1) ==
	       offsetof(struct sweeper_step, ntime_columns),
	       "the old layout ends where the time columns begin");

static int old_step_plan(const struct sweeper_host_api *api,
			 struct sweeper_ctx *ctx, void *state, char *err,
			 size_t errlen)
{
	const struct sweeper_step_v1 step = {
		.size = sizeof(struct sweeper_step_v1),
		.table = "accounts_backupcode",
		.key_column = "id",
		.user_column = "user_id",
		.predicate = "t.code_hash LIKE 'must-go-old-%' AND t.used_at < now()",
		.nparams = 0,
		.params = NULL,
		.label = "codes of an old plugin",
	};
	int rc;

	(void)state;
	/* What an old plugin passes: its own, shorter struct. */
	rc = api->add_step(ctx, (const struct sweeper_step *)(const void *)&step);
	if (rc != SWEEPER_OK) {
		snprintf(err, errlen, "cannot add the step (status %d)", rc);
		return -1;
	}
	return 0;
}

static const struct sweeper_plugin old_step = {
	SWEEPER_PLUGIN_HEADER,
	"old_step", "1.0", "test plugin built against the first ABI 1 header",
	NULL, NULL, old_step_plan, NULL
};

SWEEPER_PLUGIN_DEFINE(old_step)
