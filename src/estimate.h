/*
 * estimate.h: the planner's estimate of how many rows a statement reads,
 * for progress displays.  Never exact: label it as an estimate.
 */
#ifndef SWEEPER_ESTIMATE_H
#define SWEEPER_ESTIMATE_H

#include <stddef.h>

#include <libpq-fe.h>

#include "statement.h"

/*
 * EXPLAIN (FORMAT JSON) the count statement `st` (a STMT_COUNT, "SELECT
 * count(*) FROM ... WHERE ...") and set *rows to the planner's estimate of
 * the rows the aggregate counts: "Plan Rows" of the node under the
 * aggregates and gathers, scaled up by the workers of a parallel plan.
 * Returns 0, or -1 with one line in err (*rows is then -1).
 */
int estimate_count_rows(PGconn *conn, const struct stmt *st, long long *rows,
			char *err, size_t errlen);

/*
 * The same from the text of such a plan, for tests.  Returns 0, or -1
 * with one line in err.
 */
int estimate_from_plan(const char *plan_json, long long *rows, char *err,
		       size_t errlen);

#endif /* SWEEPER_ESTIMATE_H */
