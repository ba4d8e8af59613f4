/*
 * reads_other: a valid test plugin whose predicate reads a table the core
 * knows nothing of, as a team's rule may (a blocklist, a sessions table).
 *
 * It deletes the used backup codes of the users listed in
 * mfa_test_blocklist (user_id), a table the tests create.  The sweeper's
 * privilege check cannot name that table, so a role without SELECT on it
 * is refused by the preflight's EXPLAIN (SQLSTATE 42501): the test of
 * least privilege checks that the message blames the role, not [schema].
 */
#include <stddef.h>

#include <sweeper/plugin.h>

#include "stub.h"

static int reads_other_plan(const struct sweeper_host_api *api,
			    struct sweeper_ctx *ctx, void *state, char *err,
			    size_t errlen)
{
	struct sweeper_step step = STUB_CODES_STEP(
		"t.used AND EXISTS (SELECT 1 FROM mfa_test_blocklist AS b"
		" WHERE b.user_id = t.user_id)", "blocklisted users' codes");

	(void)state;
	(void)err;
	(void)errlen;
	return api->add_step(ctx, &step) == SWEEPER_OK ? 0 : -1;
}

static const struct sweeper_plugin reads_other = {
	SWEEPER_PLUGIN_HEADER,
	"reads_other", "1.0",
	"test plugin whose predicate reads a table of its own",
	NULL, NULL, reads_other_plan, NULL
};

SWEEPER_PLUGIN_DEFINE(reads_other)
