/*
 * no_entry: a test plugin that exports no sweeper_plugin_entry, only an
 * entry function under another name, as a plugin written for another
 * program (or a misspelt one) would.  The loader must refuse it and name
 * the missing symbol.
 */
#include <sweeper/plugin.h>

#include "stub.h"

static const struct sweeper_plugin no_entry = {
	SWEEPER_PLUGIN_HEADER,
	"no_entry", "1.0", "test plugin without the entry symbol",
	NULL, NULL, stub_plan, NULL
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
