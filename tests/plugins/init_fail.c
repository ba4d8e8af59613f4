/*
 * init_fail: a test plugin that loads and passes every check but fails in
 * init(), as a rule would that cannot reach a service it depends on.  The
 * run must stop with exit code 78, delete nothing and print the message.
 */
#include <stdio.h>

#include <sweeper/plugin.h>

static int init_fail_init(const struct sweeper_host_api *api,
			  struct sweeper_ctx *ctx, void **state, char *err,
			  size_t errlen)
{
	(void)api;
	(void)ctx;
	(void)state;
	snprintf(err, errlen, "cannot reach the ticket system");
	return -1;
}

/* Never reached: init() fails first. */
static int init_fail_plan(const struct sweeper_host_api *api,
			  struct sweeper_ctx *ctx, void *state, char *err,
			  size_t errlen)
{
	(void)api;
	(void)ctx;
	(void)state;
	snprintf(err, errlen, "plan called after a failed init");
	return -1;
}

static const struct sweeper_plugin init_fail = {
	SWEEPER_PLUGIN_HEADER,
	"init_fail", "1.0", "test plugin whose init fails",
	NULL, init_fail_init, init_fail_plan, NULL
};

SWEEPER_PLUGIN_DEFINE(init_fail)
