/*
 * bad_size: a test plugin whose descriptor reports a size smaller than the
 * ABI v1 struct sweeper_plugin, as if it stopped before plan and fini.  The
 * loader must refuse it and name the size field and both sizes, without
 * reading the fields the size does not cover.
 */
#include <stddef.h>

#include <sweeper/plugin.h>

#include "stub.h"

/*
 * The object itself is complete, so a loader that wrongly reads past the
 * reported size finds valid pointers; the test then fails on the result,
 * not on a crash.
 */
static const struct sweeper_plugin bad_size = {
	SWEEPER_PLUGIN_MAGIC, SWEEPER_ABI_VERSION,
	(uint32_t)offsetof(struct sweeper_plugin, plan),
	"bad_size", "1.0", "test plugin reporting a truncated descriptor",
	NULL, NULL, stub_plan, NULL
};

SWEEPER_PLUGIN_DEFINE(bad_size)
