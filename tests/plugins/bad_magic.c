/*
 * bad_magic: a test plugin whose descriptor carries the wrong magic number,
 * as a random shared object or a corrupted build would.  The loader must
 * refuse it and name the magic field and both values.
 */
#include <stddef.h>

#include <sweeper/plugin.h>

static int bad_magic_plan(const struct sweeper_host_api *api,
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

/* Everything but the magic is right, so only the magic check can fail. */
static const struct sweeper_plugin bad_magic = {
	0xdeadbeefu, SWEEPER_ABI_VERSION,
	(uint32_t)sizeof(struct sweeper_plugin),
	"bad_magic", "1.0", "test plugin with a wrong magic number",
	NULL, NULL, bad_magic_plan, NULL
};

SWEEPER_PLUGIN_DEFINE(bad_magic)
