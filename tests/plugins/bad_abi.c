/*
 * bad_abi: a test plugin that claims ABI version 99, as one built against
 * a future sweeper/plugin.h would.  The loader must refuse it and name the
 * abi_version field, 99 and the version it supports.
 */
#include <stddef.h>

#include <sweeper/plugin.h>

static int bad_abi_plan(const struct sweeper_host_api *api,
			struct sweeper_ctx *ctx, void *state, char *err,
			size_t errlen)
{
	(void)api;
	(void)ctx;
	(void)state;
	(void)err;
	(void)errlen;
	return 0;
}

static const struct sweeper_plugin bad_abi = {
	SWEEPER_PLUGIN_MAGIC, 99u, (uint32_t)sizeof(struct sweeper_plugin),
	"bad_abi", "1.0", "test plugin built for ABI version 99",
	NULL, NULL, bad_abi_plan, NULL
};

SWEEPER_PLUGIN_DEFINE(bad_abi)
