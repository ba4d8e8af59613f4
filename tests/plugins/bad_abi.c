/*
 * bad_abi: a test plugin that claims ABI version 99, as one built against
 * a future sweeper/plugin.h would.  The loader must refuse it and name the
 * abi_version field, 99 and the version it supports.
 */
#include <sweeper/plugin.h>

#include "stub.h"

static const struct sweeper_plugin bad_abi = {
	SWEEPER_PLUGIN_MAGIC, 99u, (uint32_t)sizeof(struct sweeper_plugin),
	"bad_abi", "1.0", "test plugin built for ABI version 99",
	NULL, NULL, stub_plan, NULL
};

SWEEPER_PLUGIN_DEFINE(bad_abi)
