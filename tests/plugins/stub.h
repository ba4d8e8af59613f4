/*
 * stub.h: the trivial parts the test plugins of tests/plugins share.
 *
 * Each test plugin carries one deliberate defect, and its own file should
 * show that defect and little else, so the plan() that does nothing and
 * the step on the reference schema live here.  Both are static and marked
 * unused, so a plugin that needs only one of them still builds without
 * warnings and exports nothing more.
 */
#ifndef SWEEPER_TEST_STUB_H
#define SWEEPER_TEST_STUB_H

#include <stddef.h>

#include <sweeper/plugin.h>

/*
 * A plan() that adds no step and succeeds, for a plugin whose defect lies
 * before plan() (in its descriptor or its entry point): reaching it at all
 * means the loader let the defect through.
 */
__attribute__((unused))
static int stub_plan(const struct sweeper_host_api *api,
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

/*
 * An initializer for a step on the backup codes of the reference schema,
 * leaving the predicate and the label to the plugin.  The table, key and
 * user column exist there, so whatever a test makes of the step, it comes
 * from the predicate; user_column is set so that scoped runs do not skip
 * the step and hide it.
 */
#define STUB_CODES_STEP(pred, text) { \
	.size = sizeof(struct sweeper_step), \
	.table = "accounts_backupcode", \
	.key_column = "id", \
	.user_column = "user_id", \
	.predicate = (pred), \
	.nparams = 0, \
	.params = NULL, \
	.label = (text), \
}

#endif /* SWEEPER_TEST_STUB_H */
