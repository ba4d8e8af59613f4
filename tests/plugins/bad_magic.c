/*
 * bad_magic: a test plugin whose descriptor carries the wrong magic number,
 * as a random shared object or a corrupted build would.  The loader must
 * refuse it and name the magic field and both values.
 */
#include <sweeper/plugin.h>

#include "stub.h"

/* Everything but the magic is right, so only the magic check can fail. */
static const struct sweeper_plugin bad_magic = {
	0xdeadbeefu, SWEEPER_ABI_VERSION,
	(uint32_t)sizeof(struct sweeper_plugin),
	"bad_magic", "1.0", "test plugin with a wrong magic number",
	NULL, NULL, stub_plan, NULL
};

SWEEPER_PLUGIN_DEFINE(bad_magic)
