/*
 * abi1_cxx: a test plugin written in C++ against the header as first
 * released (tests/plugins/abi1/sweeper/plugin.h), whose
 * SWEEPER_PLUGIN_DEFINE() expanded outside any extern "C": the entry point
 * is exported under its mangled C++ name.  The loader must say so, and how
 * to fix it, rather than claim that the macro was not used.
 */
#include <sweeper/plugin.h>

#ifdef SWEEPER_API_HAS
#error "abi1_cxx must be built against tests/plugins/abi1/sweeper/plugin.h"
#endif

namespace {

int abi1_cxx_plan(const struct sweeper_host_api *api, struct sweeper_ctx *ctx,
		  void *state, char *err, size_t errlen)
{
	(void)api;
	(void)ctx;
	(void)state;
	(void)err;
	(void)errlen;
	return 0;
}

} // namespace

static const struct sweeper_plugin abi1_cxx = {
	SWEEPER_PLUGIN_HEADER,
	"abi1_cxx", "1.0", "C++ test plugin built against the first ABI 1 header",
	nullptr, nullptr, abi1_cxx_plan, nullptr
};

SWEEPER_PLUGIN_DEFINE(abi1_cxx)
