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
 * Also set *indexed to 1 when the plan reaches the rows of the table
 * aliased `alias` through an index of its own (an Index Scan,
 * Index Only Scan or Bitmap Heap Scan on it that is not the inner side of
 * a join), 0 otherwise: the planner then expects the predicate to match
 * few rows it can find without reading the table.  Returns 0, or -1 with
 * one line in err (*rows is then -1 and *indexed 0).
 */
int estimate_count_plan(PGconn *conn, const struct stmt *st,
			const char *alias, long long *rows, int *indexed,
			char *err, size_t errlen);

/*
 * Whether the plan (EXPLAIN (FORMAT JSON) text) scans `alias` through an
 * index, as estimate_count_plan() says: 1, 0, or -1 when the text is not
 * such a plan.
 */
int estimate_plan_indexed(const char *plan_json, const char *alias);

/*
 * EXPLAIN (FORMAT JSON) the statement `st` into *plan_json (allocated;
 * the caller frees it).  Returns 0, or -1 with one line in err and
 * *plan_json NULL.
 */
int estimate_explain(PGconn *conn, const struct stmt *st, char **plan_json,
		     char *err, size_t errlen);

/*
 * The same from the text of such a plan, for tests.  Returns 0, or -1
 * with one line in err.
 */
int estimate_from_plan(const char *plan_json, long long *rows, char *err,
		       size_t errlen);

#endif /* SWEEPER_ESTIMATE_H */
