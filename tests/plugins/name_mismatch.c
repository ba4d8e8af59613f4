/*
 * name_mismatch: a test plugin installed as name_mismatch.so whose
 * descriptor says "other_name", as a renamed or mis-copied file would be.
 * The loader must refuse it and name both names.
 */
#include <stddef.h>

#include <sweeper/plugin.h>

static int name_mismatch_plan(const struct sweeper_host_api *api,
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

static const struct sweeper_plugin name_mismatch = {
	SWEEPER_PLUGIN_HEADER,
	"other_name", "1.0", "test plugin whose name differs from its file",
	NULL, NULL, name_mismatch_plan, NULL
};

SWEEPER_PLUGIN_DEFINE(name_mismatch)
