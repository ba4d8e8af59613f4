/*
 * dry_run.h: what a dry run counts for a step: the rows it would delete.
 *
 * Each step counts the rows its predicate matches (of the named users, in
 * a scoped run) less those an earlier step of the same run on the same
 * table deletes first (plan_add_earlier()), so that on a database nothing
 * else writes to, would_delete_total is what the run then deletes: a used
 * backup code of a user who disabled MFA, which user_disabled and
 * used_backup_codes both match, is counted once, by the first of them.
 * Rows the database would refuse to delete are counted: only deleting a
 * row tells.
 */
#ifndef SWEEPER_DRY_RUN_H
#define SWEEPER_DRY_RUN_H

#include "engine.h"
#include "plan.h"
#include "summary.h"

/*
 * Count the rows step `p` would delete into sr->deleted, and the batches
 * at the first batch size (engine_start_size()) into sr->batches.
 * Returns ENGINE_DONE, or ENGINE_FAILED / ENGINE_LOST with res->error.
 */
int dry_run_count(struct engine *e, struct plan *p, struct step_result *sr,
		  struct rule_result *res);

#endif /* SWEEPER_DRY_RUN_H */
