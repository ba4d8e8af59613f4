/*
 * dry_run.c: a dry run's count of a step (dry_run.h), by the statement
 * its plan holds for it (STMT_COUNT), in a transaction of its own with
 * the run's settings (the time zone of naive times included).
 */
#include <stdio.h>
#include <stdlib.h>

#include "db.h"
#include "dry_run.h"

int dry_run_count(struct engine *e, struct plan *p, struct step_result *sr,
		  struct rule_result *res)
{
	char state[DB_SQLSTATE_LEN];
	struct plan_values v = { 0 };
	const struct plan_stmt *st;
	struct plan_args a;
	char why[1024];
	PGresult *pg;
	long long size;

	st = plan_stmt(p, STMT_COUNT, 0, why, sizeof(why));
	if (!st)
		return engine_failure(e, "cannot build the count", why, res);
	plan_args_fill(p, st, &v, &a);
	pg = db_query_state(e->conn, st->text.sql, a.nparams, a.params, state,
			    why, sizeof(why));
	plan_args_free(&a);
	if (!pg)
		return engine_failure(e, "count failed", why, res);
	sr->deleted = strtoll(PQgetvalue(pg, 0, 0), NULL, 10);
	PQclear(pg);
	/* An adaptive run's count will differ: this is at the first size. */
	size = engine_start_size(e);
	sr->batches = (sr->deleted + size - 1) / size;
	return ENGINE_DONE;
}
