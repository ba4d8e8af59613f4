/*
 * estimate.c: the planner's row estimate of a step, and whether an index
 * finds its rows, from the text of EXPLAIN (FORMAT JSON), parsed with
 * jansson.  The EXPLAIN itself is the plan's (plan.c).
 *
 * The count statement's plan is an Aggregate over the scan that finds the
 * matching rows; in a parallel plan, a Finalize Aggregate over a Gather
 * over a Partial Aggregate over a parallel scan whose "Plan Rows" is per
 * process.  The estimate is the first node below the aggregates and
 * gathers, times the parallel divisor PostgreSQL itself uses
 * (costsize.c, get_parallel_divisor()).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "estimate.h"

static int estimate_passthrough(const char *type)
{
	return strcmp(type, "Aggregate") == 0 || strcmp(type, "Gather") == 0 ||
	       strcmp(type, "Gather Merge") == 0;
}

/* PostgreSQL's parallel divisor for `workers` planned workers. */
static double estimate_divisor(long long workers)
{
	double divisor = (double)workers;
	double leader = 1.0 - 0.3 * (double)workers;

	if (leader > 0)
		divisor += leader;
	return divisor > 0 ? divisor : 1.0;
}

int estimate_from_plan(const char *plan_json, long long *rows, char *err,
		       size_t errlen)
{
	json_error_t jerr;
	json_t *doc, *node, *n;
	long long workers = 0;
	double plan_rows;
	int ret = -1;

	*rows = -1;
	doc = json_loads(plan_json, 0, &jerr);
	if (!doc) {
		snprintf(err, errlen, "the plan is not JSON: %s", jerr.text);
		return -1;
	}
	node = json_object_get(json_array_get(doc, 0), "Plan");
	while (json_is_object(node)) {
		const char *type = json_string_value(json_object_get(node,
								     "Node Type"));
		json_t *children = json_object_get(node, "Plans");

		if (!type || !estimate_passthrough(type) ||
		    json_array_size(children) != 1)
			break;
		n = json_object_get(node, "Workers Planned");
		if (json_is_integer(n))
			workers = json_integer_value(n);
		node = json_array_get(children, 0);
	}
	n = json_object_get(node, "Plan Rows");
	if (!json_is_number(n)) {
		snprintf(err, errlen, "the plan has no \"Plan Rows\"");
		goto out;
	}
	plan_rows = json_number_value(n);
	if (workers > 0 && json_is_true(json_object_get(node, "Parallel Aware")))
		plan_rows *= estimate_divisor(workers);
	*rows = plan_rows < 0 ? 0 : (long long)(plan_rows + 0.5);
	ret = 0;
out:
	json_decref(doc);
	return ret;
}

/* The first node in `node`'s tree that scans `alias`, or NULL. */
static json_t *estimate_find_scan(json_t *node, const char *alias)
{
	const char *a = json_string_value(json_object_get(node, "Alias"));
	const char *type = json_string_value(json_object_get(node,
							     "Node Type"));
	json_t *children, *child, *found;
	size_t i;

	if (!json_is_object(node))
		return NULL;
	/* A DELETE's ModifyTable node names its table too: not a scan. */
	if (a && strcmp(a, alias) == 0 &&
	    !(type && strcmp(type, "ModifyTable") == 0))
		return node;
	children = json_object_get(node, "Plans");
	json_array_foreach(children, i, child) {
		found = estimate_find_scan(child, alias);
		if (found)
			return found;
	}
	return NULL;
}

/* The first "Index Name" in `node`'s tree, or NULL. */
static const char *estimate_index_name(json_t *node)
{
	const char *name = json_string_value(json_object_get(node,
							     "Index Name"));
	json_t *child;
	size_t i;

	if (name)
		return name;
	json_array_foreach(json_object_get(node, "Plans"), i, child) {
		name = estimate_index_name(child);
		if (name)
			return name;
	}
	return NULL;
}

/*
 * Whether the scan of `alias` reads its rows through an index of its own:
 * an index or bitmap scan that is not the inner side of a join (where the
 * index is probed once per row of another table, which says nothing of
 * how few rows the predicate matches).  Then `index` holds the index's
 * name ("" when the plan does not say).
 */
static int estimate_indexed(json_t *doc, const char *alias, char *index,
			    size_t size)
{
	json_t *scan = estimate_find_scan(json_object_get(json_array_get(doc, 0),
							  "Plan"), alias);
	const char *type, *parent, *name;

	if (size)
		index[0] = '\0';
	if (!scan)
		return 0;
	type = json_string_value(json_object_get(scan, "Node Type"));
	parent = json_string_value(json_object_get(scan,
						   "Parent Relationship"));
	if (parent && strcmp(parent, "Inner") == 0)
		return 0;
	if (!type || (strcmp(type, "Index Scan") != 0 &&
		      strcmp(type, "Index Only Scan") != 0 &&
		      strcmp(type, "Bitmap Heap Scan") != 0))
		return 0;
	name = estimate_index_name(scan);
	if (size)
		snprintf(index, size, "%s", name ? name : "");
	return 1;
}

int estimate_plan_indexed(const char *plan_json, const char *alias)
{
	return estimate_plan_index(plan_json, alias, NULL, 0);
}

int estimate_plan_index(const char *plan_json, const char *alias,
			char *index, size_t size)
{
	json_error_t jerr;
	json_t *doc = json_loads(plan_json, 0, &jerr);
	int ret;

	if (size)
		index[0] = '\0';
	if (!doc)
		return -1;
	ret = estimate_indexed(doc, alias, index, size);
	json_decref(doc);
	return ret;
}
