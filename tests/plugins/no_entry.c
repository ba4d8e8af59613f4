/*
 * no_entry: a test plugin that exports no sweeper_plugin_entry, only an
 * entry function under another name, as a plugin written for another
 * program (or a misspelt one) would.  The loader must refuse it and name
 * the missing symbol.
 */
#include <stddef.h>

#include <sweeper/plugin.h>

static int no_entry_plan(const struct sweeper_host_api *api,
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

static const struct sweeper_plugin no_entry = {
	SWEEPER_PLUGIN_HEADER,
	"no_entry", "1.0", "test plugin without the entry symbol",
	NULL, NULL, no_entry_plan, NULL
};

/*
 * Exported, so the .so has a dynamic symbol the loader could mistake for
 * the entry point, just not the one it looks for.
 */
SWEEPER_EXPORT const struct sweeper_plugin *sweeper_plugin_entry_v0(void);
SWEEPER_EXPORT const struct sweeper_plugin *sweeper_plugin_entry_v0(void)
{
	return &no_entry;
}
