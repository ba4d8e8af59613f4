/*
 * bad_step: a test plugin that loads, initialises and plans fine, but whose
 * step names a column that does not exist.  Only the database can tell, so
 * this checks that --check-config (which must prepare or explain every
 * step) and a real run both report it instead of deleting anything.
 */
#include <stdio.h>

#include <sweeper/plugin.h>

#include "stub.h"

static int bad_step_plan(const struct sweeper_host_api *api,
			 struct sweeper_ctx *ctx, void *state, char *err,
			 size_t errlen)
{
	/* The one fault: the table has no column of that name. */
	struct sweeper_step step = STUB_CODES_STEP("t.no_such_column IS NULL",
						   "broken step");
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
