/*
 * bad_step: a test plugin that loads, initialises and plans fine, but whose
 * step names a column that does not exist.  Only the database can tell, so
 * this checks that --check-config (which must prepare or explain every
 * step) and a real run both report it instead of deleting anything.
 */
#include <stdio.h>

#include <sweeper/plugin.h>

static int bad_step_plan(const struct sweeper_host_api *api,
			 struct sweeper_ctx *ctx, void *state, char *err,
			 size_t errlen)
{
	/*
	 * The table, key and user column exist in the reference schema, so
	 * the only fault is in the predicate.  user_column is set so that
	 * scoped runs do not skip the step and hide the fault.
	 */
	struct sweeper_step step = {
		.size = sizeof(struct sweeper_step),
		.table = "accounts_backupcode",
		.key_column = "id",
		.user_column = "user_id",
		.predicate = "t.no_such_column IS NULL",
		.nparams = 0,
		.params = NULL,
		.label = "broken step",
	};
	int rc;

	(void)state;
	rc = api->add_step(ctx, &step);
	if (rc != SWEEPER_OK) {
		snprintf(err, errlen, "cannot add the step (status %d)", rc);
		return -1;
	}
	return 0;
}

static const struct sweeper_plugin bad_step = {
	SWEEPER_PLUGIN_HEADER,
	"bad_step", "1.0", "test plugin whose step names a missing column",
	NULL, NULL, bad_step_plan, NULL
};

SWEEPER_PLUGIN_DEFINE(bad_step)
