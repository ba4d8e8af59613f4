/*
 * proc_state: a valid test plugin that reports the state of the process
 * it was loaded into, for the tests of the sweeper's own hardening (no
 * core dumps once secrets are loaded).  init() logs, at INFO, one line
 *
 *     process: dumpable=0 core=0/0
 *
 * with prctl(PR_GET_DUMPABLE) and the soft and hard RLIMIT_CORE ("inf"
 * for no limit, "?" when they cannot be read).  It plans no step.  That it
 * logs at all shows that it was loaded, through /proc/self/fd, after the
 * process stopped being dumpable.
 */
#include <stdio.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <sweeper/plugin.h>

#include "stub.h"

/* A limit as the line shows it. */
static void proc_state_limit(rlim_t v, char *buf, size_t size)
{
	if (v == RLIM_INFINITY)
		snprintf(buf, size, "inf");
	else
		snprintf(buf, size, "%llu", (unsigned long long)v);
}

static int proc_state_init(const struct sweeper_host_api *api,
			   struct sweeper_ctx *ctx, void **state, char *err,
			   size_t errlen)
{
	struct rlimit core;
	char soft[32] = "?";
	char hard[32] = "?";

	(void)state;
	(void)err;
	(void)errlen;
	if (getrlimit(RLIMIT_CORE, &core) == 0) {
		proc_state_limit(core.rlim_cur, soft, sizeof(soft));
		proc_state_limit(core.rlim_max, hard, sizeof(hard));
	}
	api->log(ctx, SWEEPER_LOG_INFO, "process: dumpable=%d core=%s/%s",
		 prctl(PR_GET_DUMPABLE, 0L, 0L, 0L, 0L), soft, hard);
	return 0;
}

static const struct sweeper_plugin proc_state = {
	SWEEPER_PLUGIN_HEADER,
	"proc_state", "1.0", "test plugin reporting the process's state",
	NULL, proc_state_init, stub_plan, NULL
};

SWEEPER_PLUGIN_DEFINE(proc_state)
