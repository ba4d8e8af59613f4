/*
 * estimate.h: what the planner expects of a step, from its EXPLAIN
 * (FORMAT JSON): how many rows match (for progress displays; never
 * exact, label it as an estimate), and whether an index finds them
 * (which chooses the walk, plan.h).
 */
#ifndef SWEEPER_ESTIMATE_H
#define SWEEPER_ESTIMATE_H

#include <stddef.h>

/*
 * From the text of EXPLAIN (FORMAT JSON) of a count statement ("SELECT
 * count(*) FROM ... WHERE ..."): set *rows to the planner's estimate of
 * the rows the aggregate counts: "Plan Rows" of the node under the
 * aggregates and gathers, scaled up by the workers of a parallel plan.
 * Returns 0, or -1 with one line in err (*rows is then -1).
 */
int estimate_from_plan(const char *plan_json, long long *rows, char *err,
		       size_t errlen);

/*
 * Whether the plan (EXPLAIN (FORMAT JSON) text) reaches the rows of the
 * table aliased `alias` through an index of its own (an Index Scan, Index
 * Only Scan or Bitmap Heap Scan on it that is not the inner side of a
 * join): the planner then expects the predicate to match few rows it can
 * find without reading the table.  1, 0, or -1 when the text is not such
 * a plan.
 */
int estimate_plan_indexed(const char *plan_json, const char *alias);

/*
 * estimate_plan_indexed() that also writes the index's name into `index`
 * (`size` bytes; "" when not indexed or unnamed; may be NULL with size 0).
 */
int estimate_plan_index(const char *plan_json, const char *alias,
			char *index, size_t size);

#endif /* SWEEPER_ESTIMATE_H */
