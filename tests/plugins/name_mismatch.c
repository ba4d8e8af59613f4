/*
 * name_mismatch: a test plugin installed as name_mismatch.so whose
 * descriptor says "other_name", as a renamed or mis-copied file would be.
 * The loader must refuse it and name both names.
 */
#include <sweeper/plugin.h>

#include "stub.h"

static const struct sweeper_plugin name_mismatch = {
	SWEEPER_PLUGIN_HEADER,
	"other_name", "1.0", "test plugin whose name differs from its file",
	NULL, NULL, stub_plan, NULL
};

SWEEPER_PLUGIN_DEFINE(name_mismatch)
