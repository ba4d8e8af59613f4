/*
 * plan_fail: a test plugin whose init() succeeds and whose plan() fails
 * after adding a step, as a rule would that finds its work cannot be
 * described.  The run must stop with exit code 78 and delete nothing, not
 * even the step added before the failure; fini() must still be called.
 */
#include <stdio.h>
#include <stdlib.h>

#include <sweeper/plugin.h>

#include "stub.h"

/* Allocated so that a leak checker sees whether fini() was called. */
static int plan_fail_init(const struct sweeper_host_api *api,
			  struct sweeper_ctx *ctx, void **state, char *err,
			  size_t errlen)
{
	(void)api;
	(void)ctx;
	*state = malloc(16);
	if (!*state) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

static int plan_fail_plan(const struct sweeper_host_api *api,
			  struct sweeper_ctx *ctx, void *state, char *err,
			  size_t errlen)
{
	/*
	 * A step that would delete every backup code if the core ran it
	 * despite the failure below.
	 */
	struct sweeper_step step = STUB_CODES_STEP("true", "everything");

	(void)state;
	/* Whether the host took the step does not matter: plan fails. */
	(void)api->add_step(ctx, &step);
	snprintf(err, errlen, "cannot plan: the ticket queue is closed");
	return -1;
}

static void plan_fail_fini(void *state)
{
	free(state);
}

static const struct sweeper_plugin plan_fail = {
	SWEEPER_PLUGIN_HEADER,
	"plan_fail", "1.0", "test plugin whose plan fails",
	NULL, plan_fail_init, plan_fail_plan, plan_fail_fini
};

SWEEPER_PLUGIN_DEFINE(plan_fail)
