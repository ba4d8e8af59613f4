/*
 * estimate.c: the planner's row estimate of a step, from EXPLAIN (FORMAT
 * JSON), parsed with jansson.
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

#include "db.h"
#include "estimate.h"
#include "strbuf.h"
#include "xalloc.h"

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

/*
 * Whether the scan of `alias` reads its rows through an index of its own:
 * an index or bitmap scan that is not the inner side of a join (where the
 * index is probed once per row of another table, which says nothing of
 * how few rows the predicate matches).
 */
static int estimate_indexed(json_t *doc, const char *alias)
{
	json_t *scan = estimate_find_scan(json_object_get(json_array_get(doc, 0),
							  "Plan"), alias);
	const char *type, *parent;

	if (!scan)
		return 0;
	type = json_string_value(json_object_get(scan, "Node Type"));
	parent = json_string_value(json_object_get(scan,
						   "Parent Relationship"));
	if (parent && strcmp(parent, "Inner") == 0)
		return 0;
	return type && (strcmp(type, "Index Scan") == 0 ||
			strcmp(type, "Index Only Scan") == 0 ||
			strcmp(type, "Bitmap Heap Scan") == 0);
}

int estimate_plan_indexed(const char *plan_json, const char *alias)
{
	json_error_t jerr;
	json_t *doc = json_loads(plan_json, 0, &jerr);
	int ret;

	if (!doc)
		return -1;
	ret = estimate_indexed(doc, alias);
	json_decref(doc);
	return ret;
}

int estimate_explain(PGconn *conn, const struct stmt *st, char **plan_json,
		     char *err, size_t errlen)
{
	struct strbuf sql = STRBUF_INIT;
	PGresult *res;

	*plan_json = NULL;
	strbuf_addf(&sql, "EXPLAIN (FORMAT JSON) %s", st->sql);
	res = db_query(conn, strbuf_str(&sql), st->nparams, st->params, err,
		       errlen);
	strbuf_release(&sql);
	if (!res)
		return -1;
	if (PQntuples(res) != 1) {
		snprintf(err, errlen, "EXPLAIN returned %d rows", PQntuples(res));
		PQclear(res);
		return -1;
	}
	*plan_json = xstrdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return 0;
}

int estimate_count_plan(PGconn *conn, const struct stmt *st,
			const char *alias, long long *rows, int *indexed,
			char *err, size_t errlen)
{
	char *plan;
	int ret;

	*rows = -1;
	*indexed = 0;
	if (estimate_explain(conn, st, &plan, err, errlen) != 0)
		return -1;
	ret = estimate_from_plan(plan, rows, err, errlen);
	if (ret == 0)
		*indexed = estimate_plan_indexed(plan, alias) == 1;
	free(plan);
	return ret;
}
