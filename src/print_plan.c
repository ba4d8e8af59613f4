/*
 * print_plan.c: --print-plan (print_plan.h).
 *
 * Everything printed is what the core keeps of each step (struct step),
 * the very copy the run would use, not what the plugin meant to pass.
 */
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "log.h"
#include "print_plan.h"
#include "summary_json.h"

/* The column the values of the text output start at. */
#define PLAN_VALUE_COLUMN 19

/* Write `text` in single quotes on one line, control characters as \xNN,
 * or NULL for a NULL text (an SQL NULL parameter). */
static void plan_quote(FILE *out, const char *text)
{
	const unsigned char *p;

	if (!text) {
		fputs("NULL", out);
		return;
	}
	fputc('\'', out);
	for (p = (const unsigned char *)text; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			fprintf(out, "\\x%02x", *p);
		else
			fputc(*p, out);
	}
	fputc('\'', out);
}

/* The parameters $1..$n, one a line, under `indent`. */
static void plan_print_params(FILE *out, const char *indent, char **params,
			      int nparams)
{
	int width = PLAN_VALUE_COLUMN - (int)strlen(indent);
	char label[16];
	int i;

	for (i = 0; i < nparams; i++) {
		snprintf(label, sizeof(label), "$%d:", i + 1);
		fprintf(out, "%s%-*s", indent, width, label);
		plan_quote(out, params[i]);
		fputc('\n', out);
	}
}

/* A predicate on as many lines as it has, each in the value column. */
static void plan_print_sql(FILE *out, const char *sql)
{
	const char *p;

	for (p = sql; *p; p++) {
		fputc(*p, out);
		if (*p == '\n' && p[1])
			fprintf(out, "%*s", PLAN_VALUE_COLUMN, "");
	}
	fputc('\n', out);
}

static void plan_print_step(FILE *out, size_t n, const struct step *s)
{
	int i;

	fprintf(out, "  step %zu: %s\n", n, s->label);
	fprintf(out, "    table:         %s\n", s->table);
	fprintf(out, "    key column:    %s\n", s->key_column);
	fprintf(out, "    user column:   %s\n",
		s->user_column ? s->user_column :
		"none (skipped in runs scoped to users)");
	fprintf(out, "    predicate:     ");
	plan_print_sql(out, s->predicate);
	if (s->joined_predicate) {
		fprintf(out, "    joined:        ");
		plan_print_sql(out, s->joined_predicate);
	}
	plan_print_params(out, "    ", s->params, s->nparams);
	fprintf(out, "    time columns:  ");
	if (!s->time_declared)
		fprintf(out, "not declared (the plugin was built before "
			"steps declared them)");
	else if (s->ntime_columns == 0)
		fprintf(out, "none");
	for (i = 0; i < s->ntime_columns; i++)
		fprintf(out, "%s%s.%s", i ? ", " : "", s->time_columns[i].table,
			s->time_columns[i].column);
	fputc('\n', out);
}

static void plan_print_text(FILE *out, const struct invocation *inv)
{
	size_t i, j;

	for (i = 0; i < inv->nopen; i++) {
		const struct rule *r = &inv->rules[i];

		fprintf(out, "%srule %s: %zu step%s (plugin %s)\n", i ? "\n" : "",
			r->name, r->nsteps, r->nsteps == 1 ? "" : "s",
			r->plugin.path);
		for (j = 0; j < r->nsteps; j++)
			plan_print_step(out, j + 1, &r->steps[j]);
		if (r->user_filter) {
			fprintf(out, "  user filter:     ");
			plan_print_sql(out, r->user_filter);
			plan_print_params(out, "  ", r->filter_params,
					  r->filter_nparams);
		}
	}
}

/* A string, or null for NULL. */
static json_t *plan_json_string(const char *text)
{
	return text ? summary_json_string(text) : json_null();
}

static json_t *plan_json_params(char **params, int nparams)
{
	json_t *a = json_array();
	int i;

	for (i = 0; i < nparams; i++)
		json_array_append_new(a, plan_json_string(params[i]));
	return a;
}

static json_t *plan_json_step(const struct step *s)
{
	json_t *o = json_object();
	json_t *times;
	int i;

	json_object_set_new(o, "label", plan_json_string(s->label));
	json_object_set_new(o, "table", plan_json_string(s->table));
	json_object_set_new(o, "key_column", plan_json_string(s->key_column));
	json_object_set_new(o, "user_column",
			    plan_json_string(s->user_column));
	json_object_set_new(o, "predicate", plan_json_string(s->predicate));
	json_object_set_new(o, "joined_predicate",
			    plan_json_string(s->joined_predicate));
	json_object_set_new(o, "params", plan_json_params(s->params,
							  s->nparams));
	times = s->time_declared ? json_array() : json_null();
	for (i = 0; i < s->ntime_columns; i++) {
		json_t *c = json_object();

		json_object_set_new(c, "table",
				    plan_json_string(s->time_columns[i].table));
		json_object_set_new(c, "column",
				    plan_json_string(s->time_columns[i].column));
		json_array_append_new(times, c);
	}
	json_object_set_new(o, "time_columns", times);
	return o;
}

static json_t *plan_json(const struct invocation *inv)
{
	json_t *rules = json_array();
	json_t *doc = json_object();
	size_t i, j;

	for (i = 0; i < inv->nopen; i++) {
		const struct rule *r = &inv->rules[i];
		json_t *rule = json_object();
		json_t *steps = json_array();
		json_t *filter = json_null();

		for (j = 0; j < r->nsteps; j++)
			json_array_append_new(steps,
					      plan_json_step(&r->steps[j]));
		if (r->user_filter) {
			filter = json_object();
			json_object_set_new(filter, "predicate",
					    plan_json_string(r->user_filter));
			json_object_set_new(filter, "params",
					    plan_json_params(r->filter_params,
							     r->filter_nparams));
		}
		json_object_set_new(rule, "name", plan_json_string(r->name));
		json_object_set_new(rule, "plugin",
				    plan_json_string(r->plugin.path));
		json_object_set_new(rule, "steps", steps);
		json_object_set_new(rule, "user_filter", filter);
		json_array_append_new(rules, rule);
	}
	json_object_set_new(doc, "rules", rules);
	return doc;
}

enum outcome print_plan(struct invocation *inv)
{
	int rc = 0;

	if (inv->o->json) {
		json_t *doc = plan_json(inv);

		rc = json_dumpf(doc, stdout, JSON_INDENT(2) |
				JSON_PRESERVE_ORDER);
		if (rc == 0)
			rc = fputc('\n', stdout) == EOF ? -1 : 0;
		json_decref(doc);
	} else {
		plan_print_text(stdout, inv);
	}
	if (fflush(stdout) != 0 || ferror(stdout) || rc != 0) {
		log_msg(SWEEPER_LOG_ERROR, "cannot write the plan to stdout");
		return OUTCOME_IOERR;
	}
	return OUTCOME_OK;
}
