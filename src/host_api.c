/*
 * host_api.c: the table of functions a plugin may call (struct
 * sweeper_host_api), implemented over struct rule.
 *
 * Everything a plugin hands in is copied before the call returns, and
 * everything handed out is owned by the host, so a plugin's mistakes with
 * lifetimes stay inside the plugin.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "ident.h"
#include "log.h"
#include "rule.h"
#include "strbuf.h"
#include "values.h"
#include "xalloc.h"

/*
 * Refusals: every function below that refuses a call made during init()
 * or plan() says why through rule_refuse(), naming itself, the key or
 * field at fault and the fix, so that a plugin may return the status it
 * got and leave the explaining to the core.
 */

/* "rule.NAME": the section of the rule's own keys. */
static void host_section(const struct rule *r, char *buf, size_t size)
{
	snprintf(buf, size, "rule.%s", r->name);
}

/*
 * Name the config value `value` of `key` in `section` for a refusal:
 * "[schema] code_used_column = 'x' ('FILE' line 3)", or "... (its
 * default)" when the file does not set it.
 */
static void host_config_what(const struct rule *r, const char *section,
			     const char *key, const char *value,
			     struct strbuf *what)
{
	const struct config_entry *e = config_entry_find(r->cfg, section, key);
	char shown[VALUE_QUOTE_MAX];

	value_quote(value, shown, sizeof(shown));
	strbuf_addf(what, "[%s] %s = %s", section, key, shown);
	if (e)
		strbuf_addf(what, " ('%s' line %d)", r->cfg->path, e->line);
	else
		strbuf_add(what, " (its default)");
}

/* The reader a plugin should use for a key declared with `type`. */
static const char *host_reader_for(enum sweeper_key_type type)
{
	switch (type) {
	case SWEEPER_KEY_STRING:
		return "config_get() or config_column()";
	case SWEEPER_KEY_BOOL:
		return "config_bool()";
	case SWEEPER_KEY_INT:
		return "config_int()";
	case SWEEPER_KEY_DURATION:
		return "config_duration_ms() or config_interval()";
	case SWEEPER_KEY_ENUM:
		return "config_enum() or config_get()";
	}
	return "config_get()";
}

static const char *host_config_get(struct sweeper_ctx *ctx, const char *key)
{
	struct rule *r = ctx->rule;
	char section[128];
	const char *v;

	if (!key)
		return NULL;
	v = rule_config_value(r, key, NULL);
	if (v) {
		host_section(r, section, sizeof(section));
		rule_note_origin(r, section, key, v);
	}
	return v;
}

/*
 * Look up a declared key for the reader `fn` and check it was declared
 * with `type`; a refusal names both.
 */
static int host_typed_value(struct sweeper_ctx *ctx, const char *fn,
			    const char *key, enum sweeper_key_type type,
			    const char **value)
{
	const struct sweeper_key *decl;
	struct rule *r = ctx->rule;
	char shown[VALUE_QUOTE_MAX];

	*value = NULL;
	if (!key) {
		rule_refuse(r, "%s(): the key name is NULL", fn);
		return SWEEPER_ERR_NOKEY;
	}
	value_quote(key, shown, sizeof(shown));
	*value = rule_config_value(r, key, &decl);
	if (!decl) {
		rule_refuse(r, "%s(%s): rule '%s' declares no key %s; add it "
			    "to the plugin's keys, or fix the name", fn, shown,
			    r->name, shown);
		return SWEEPER_ERR_NOKEY;
	}
	if (decl->type != type) {
		rule_refuse(r, "%s(%s): key %s is declared as %s, not %s; read "
			    "it with %s", fn, shown, shown,
			    rule_key_type_name(decl->type),
			    rule_key_type_name(type),
			    host_reader_for(decl->type));
		return SWEEPER_ERR_TYPE;
	}
	/* A required key without a value was refused by config_check_rule(). */
	if (!*value) {
		rule_refuse(r, "%s(%s): key %s has no value", fn, shown, shown);
		return SWEEPER_ERR_NOKEY;
	}
	return SWEEPER_OK;
}

static int host_config_bool(struct sweeper_ctx *ctx, const char *key, int *out)
{
	const char *v;
	int rc = host_typed_value(ctx, "config_bool", key, SWEEPER_KEY_BOOL,
				  &v);

	if (rc != SWEEPER_OK)
		return rc;
	return bool_parse(v, out) == 0 ? SWEEPER_OK : SWEEPER_ERR_TYPE;
}

static int host_config_int(struct sweeper_ctx *ctx, const char *key,
			   long long *out)
{
	const char *v;
	int rc = host_typed_value(ctx, "config_int", key, SWEEPER_KEY_INT, &v);

	if (rc != SWEEPER_OK)
		return rc;
	return uint_parse(v, out) == 0 ? SWEEPER_OK : SWEEPER_ERR_TYPE;
}

static int host_duration(struct sweeper_ctx *ctx, const char *fn,
			 const char *key, long long *out)
{
	const char *v;
	int rc = host_typed_value(ctx, fn, key, SWEEPER_KEY_DURATION, &v);

	if (rc != SWEEPER_OK)
		return rc;
	return duration_parse(v, out) == 0 ? SWEEPER_OK : SWEEPER_ERR_TYPE;
}

static int host_config_duration_ms(struct sweeper_ctx *ctx, const char *key,
				   long long *out)
{
	return host_duration(ctx, "config_duration_ms", key, out);
}

static int host_config_interval(struct sweeper_ctx *ctx, const char *key,
				char *buf, size_t size)
{
	long long ms;
	int rc = host_duration(ctx, "config_interval", key, &ms);
	int n;

	if (rc != SWEEPER_OK)
		return rc;
	if (!buf || size == 0)
		n = -1;
	else
		n = snprintf(buf, size, "%lld milliseconds", ms);
	if (n < 0 || (size_t)n >= size) {
		if (buf && size)
			buf[0] = '\0';
		rule_refuse(ctx->rule, "config_interval(): a buffer of %zu "
			    "bytes is too small; give it SWEEPER_INTERVAL_MAX "
			    "(%d)", size, SWEEPER_INTERVAL_MAX);
		return SWEEPER_ERR_RANGE;
	}
	return SWEEPER_OK;
}

static int host_config_enum(struct sweeper_ctx *ctx, const char *key, int *out)
{
	const struct sweeper_key *decl;
	const char *v, *p;
	size_t len;
	int rc = host_typed_value(ctx, "config_enum", key, SWEEPER_KEY_ENUM,
				  &v);
	int i;

	if (rc != SWEEPER_OK)
		return rc;
	rule_config_value(ctx->rule, key, &decl);
	len = strlen(v);
	/* config_check_rule() let only one of the choices through. */
	for (p = decl->choices, i = 0; p && *p; i++) {
		size_t n = strcspn(p, "|");

		if (n == len && strncmp(p, v, n) == 0) {
			*out = i;
			return SWEEPER_OK;
		}
		p += n;
		if (*p == '|')
			p++;
	}
	return SWEEPER_ERR_TYPE;
}

static const char *host_schema_get(struct sweeper_ctx *ctx, const char *key)
{
	const char *v;

	if (!key)
		return NULL;
	v = config_schema(ctx->rule->cfg, key);
	if (v)
		rule_note_origin(ctx->rule, "schema", key, v);
	return v;
}

/*
 * Quote `name` (a column, or with `column` 0 any identifier) into buf for
 * the function `fn`, refusing with `what` naming the name: "[schema]
 * code_used_column = 'x' ('FILE' line 3)" or "'x'".
 */
static int host_quote(struct rule *r, const char *fn, const char *name,
		      int column, const char *what, char *buf, size_t size)
{
	char quoted[IDENT_MAX];
	int rc;

	if (buf && size)
		buf[0] = '\0';
	if (!buf) {
		rule_refuse(r, "%s(): the buffer is NULL", fn);
		return SWEEPER_ERR_RANGE;
	}
	if (!name || !*name) {
		rule_refuse(r, "%s(): %s is empty; %s", fn, what,
			    column ? "write a column name" : "write a name");
		return SWEEPER_ERR_RANGE;
	}
	rc = column ? ident_quote_column(name, quoted, sizeof(quoted)) :
		      ident_quote(name, quoted, sizeof(quoted));
	if (rc == IDENT_TOO_LONG) {
		rule_refuse(r, "%s(): %s has a part longer than %d bytes, "
			    "which PostgreSQL would cut short into another "
			    "name; shorten it", fn, what, SWEEPER_NAME_MAX);
		return SWEEPER_ERR_RANGE;
	}
	if (rc != 0 && column && ident_quote(name, quoted,
					     sizeof(quoted)) == 0) {
		rule_refuse(r, "%s(): %s is not one column name; write the "
			    "column alone, without a table or schema", fn,
			    what);
		return SWEEPER_ERR_RANGE;
	}
	if (rc != 0) {
		rule_refuse(r, "%s(): %s is not a valid name: it has a control "
			    "character, bytes that are not UTF-8, an empty "
			    "part, more than two parts or an unterminated "
			    "double quote", fn, what);
		return SWEEPER_ERR_RANGE;
	}
	if (strlen(quoted) >= size) {
		rule_refuse(r, "%s(): a buffer of %zu bytes is too small for "
			    "%s; give it SWEEPER_QUOTED_MAX (%d)", fn, size,
			    what, SWEEPER_QUOTED_MAX);
		return SWEEPER_ERR_RANGE;
	}
	memcpy(buf, quoted, strlen(quoted) + 1);
	return SWEEPER_OK;
}

static int host_quote_ident(struct sweeper_ctx *ctx, const char *name,
			    char *buf, size_t size)
{
	char shown[VALUE_QUOTE_MAX];

	/* Quoting needs no rule: a NULL ctx quotes without refusals. */
	value_quote(name, shown, sizeof(shown));
	return host_quote(ctx ? ctx->rule : NULL, "quote_ident", name, 0,
			  shown, buf, size);
}

static int host_quote_column(struct sweeper_ctx *ctx, const char *name,
			     char *buf, size_t size)
{
	char shown[VALUE_QUOTE_MAX];

	value_quote(name, shown, sizeof(shown));
	return host_quote(ctx ? ctx->rule : NULL, "quote_column", name, 1,
			  shown, buf, size);
}

static int host_config_column(struct sweeper_ctx *ctx, const char *key,
			      char *buf, size_t size)
{
	struct rule *r = ctx->rule;
	struct strbuf what = STRBUF_INIT;
	char section[128];
	const char *v;
	int rc = host_typed_value(ctx, "config_column", key,
				  SWEEPER_KEY_STRING, &v);

	if (rc != SWEEPER_OK) {
		if (buf && size)
			buf[0] = '\0';
		return rc;
	}
	host_section(r, section, sizeof(section));
	rule_note_origin(r, section, key, v);
	host_config_what(r, section, key, v, &what);
	rc = host_quote(r, "config_column", v, 1, strbuf_str(&what), buf,
			size);
	strbuf_release(&what);
	return rc;
}

static int host_schema_column(struct sweeper_ctx *ctx, const char *key,
			      char *buf, size_t size)
{
	struct rule *r = ctx->rule;
	struct strbuf what = STRBUF_INIT;
	char shown[VALUE_QUOTE_MAX];
	const char *v;
	int rc;

	if (buf && size)
		buf[0] = '\0';
	v = key ? config_schema(r->cfg, key) : NULL;
	if (!v) {
		value_quote(key, shown, sizeof(shown));
		rule_refuse(r, "schema_column(%s): [schema] has no key %s; see "
			    "the [schema] keys of the example config", shown,
			    shown);
		return SWEEPER_ERR_NOKEY;
	}
	rule_note_origin(r, "schema", key, v);
	host_config_what(r, "schema", key, v, &what);
	rc = host_quote(r, "schema_column", v, 1, strbuf_str(&what), buf,
			size);
	strbuf_release(&what);
	return rc;
}

static void host_log(struct sweeper_ctx *ctx, int level, const char *fmt, ...)
{
	struct log_fields f = LOG_FIELDS_INIT;
	va_list ap;

	/* In json logs the line carries its rule as a field too. */
	f.rule = ctx->rule->name;
	va_start(ap, fmt);
	log_vevent(level, &f, ctx->rule->prefix, fmt, ap);
	va_end(ap);
}

static char **host_copy_params(int nparams, const char *const *params)
{
	char **copy;
	int i;

	if (nparams == 0)
		return NULL;
	copy = xcalloc((size_t)nparams, sizeof(*copy));
	for (i = 0; i < nparams; i++)
		copy[i] = params[i] ? xstrdup(params[i]) : NULL;
	return copy;
}

/*
 * Check the time columns a step declares (a plugin built against an older
 * plugin.h has no such field: `in` is then too short to hold it, and
 * nothing is read past its end).  Returns SWEEPER_OK or SWEEPER_ERR_RANGE.
 */
static int host_check_time_columns(struct rule *r,
				   const struct sweeper_step *in)
{
	int i;

	if (!SWEEPER_HAS_FIELD(in, struct sweeper_step, time_columns))
		return SWEEPER_OK;
	if (in->ntime_columns < 0 ||
	    in->ntime_columns > SWEEPER_MAX_TIME_COLUMNS) {
		rule_refuse(r, "add_step(): the step on '%s' has ntime_columns "
			    "= %d; a step declares 0 to "
			    "SWEEPER_MAX_TIME_COLUMNS (%d)", in->table,
			    in->ntime_columns, SWEEPER_MAX_TIME_COLUMNS);
		return SWEEPER_ERR_RANGE;
	}
	if (in->ntime_columns > 0 && !in->time_columns) {
		rule_refuse(r, "add_step(): the step on '%s' has ntime_columns "
			    "= %d but time_columns is NULL; point "
			    ".time_columns at them", in->table,
			    in->ntime_columns);
		return SWEEPER_ERR_RANGE;
	}
	for (i = 0; i < in->ntime_columns; i++) {
		const struct sweeper_time_column *c = &in->time_columns[i];

		if (!c->column || !*c->column) {
			rule_refuse(r, "add_step(): time_columns[%d] of the "
				    "step on '%s' has no column; name the "
				    "column, unquoted", i, in->table);
			return SWEEPER_ERR_RANGE;
		}
		if (c->table && !*c->table) {
			rule_refuse(r, "add_step(): time_columns[%d] of the "
				    "step on '%s' has an empty table; write "
				    "NULL for the step's own table", i,
				    in->table);
			return SWEEPER_ERR_RANGE;
		}
	}
	return SWEEPER_OK;
}

/* The step's joined predicate, or NULL when its size or value has none. */
static const char *host_step_joined(const struct sweeper_step *in)
{
	if (!SWEEPER_HAS_FIELD(in, struct sweeper_step, joined_predicate) ||
	    !in->joined_predicate || !*in->joined_predicate)
		return NULL;
	return in->joined_predicate;
}

/* Copy the declared time columns into `s`; the table defaults to the
 * step's. */
static void host_copy_time_columns(struct step *s,
				   const struct sweeper_step *in)
{
	int i;

	if (!SWEEPER_HAS_FIELD(in, struct sweeper_step, time_columns))
		return;
	s->time_declared = 1;
	if (in->ntime_columns == 0)
		return;
	s->time_columns = xcalloc((size_t)in->ntime_columns,
				  sizeof(*s->time_columns));
	for (i = 0; i < in->ntime_columns; i++) {
		const struct sweeper_time_column *c = &in->time_columns[i];

		s->time_columns[i].table = xstrdup(c->table ? c->table :
						   in->table);
		s->time_columns[i].column = xstrdup(c->column);
	}
	s->ntime_columns = in->ntime_columns;
}

/*
 * Where a step's key column came from, into s->key_setting and
 * s->key_written.  A key the plugin read from a config key (the host API
 * notes every value it hands out) is that key's: while the config does
 * not write it, the plan walks the table's primary key instead, so a
 * schema whose key is not named as the default says needs no setting.  A
 * value more than one key gave counts as written when any of them is: the
 * operator then named that column.  A key the plugin wrote itself is
 * taken as given (key_setting NULL).
 */
static void host_step_key_origin(const struct rule *r, struct step *s)
{
	const struct rule_origin *first = NULL;
	struct strbuf setting = STRBUF_INIT;
	size_t i;

	s->key_written = 1;
	for (i = 0; i < r->norigins; i++) {
		const struct rule_origin *o = &r->origins[i];

		if (strcmp(o->value, s->key_column) != 0)
			continue;
		if (!first)
			first = o;
		if (config_written(r->cfg, o->section, o->key))
			return;
	}
	if (!first)
		return;
	s->key_written = 0;
	strbuf_addf(&setting, "[%s] %s", first->section, first->key);
	s->key_setting = strbuf_detach(&setting);
}

/* The phase a callback is in, for a refusal of add_step() and the like. */
static const char *host_phase_name(const struct rule *r)
{
	return r->phase == RULE_PHASE_INIT ? "init()" : "no callback";
}

/*
 * Check a name of a step the core will quote: `field` names it in the
 * refusal.  Returns SWEEPER_OK or SWEEPER_ERR_RANGE.
 */
static int host_check_step_name(struct rule *r, const char *field,
				const char *name, int column)
{
	const struct rule_origin *o;
	struct strbuf what = STRBUF_INIT;
	char quoted[IDENT_MAX];
	char shown[VALUE_QUOTE_MAX];
	int rc = column ? ident_quote_column(name, quoted, sizeof(quoted)) :
			  ident_quote(name, quoted, sizeof(quoted));

	if (rc == 0)
		return SWEEPER_OK;
	/* A name read from config is named by its key: fix it there. */
	o = rule_origin_find(r, name);
	if (o) {
		host_config_what(r, o->section, o->key, name, &what);
	} else {
		value_quote(name, shown, sizeof(shown));
		strbuf_add(&what, shown);
	}
	if (rc == IDENT_TOO_LONG)
		rule_refuse(r, "add_step(): %s %s has a part longer than %d "
			    "bytes; shorten it", field, strbuf_str(&what),
			    SWEEPER_NAME_MAX);
	else
		rule_refuse(r, "add_step(): %s %s is not %s%s", field,
			    strbuf_str(&what), column ? "one column name" :
			    "a table name (\"table\" or \"schema.table\")",
			    o ? "" : "; write it unquoted, as in config (the "
			    "core quotes it)");
	strbuf_release(&what);
	return SWEEPER_ERR_RANGE;
}

/*
 * Check a step as add_step() receives it, refusing with the field at
 * fault.  Returns SWEEPER_OK or SWEEPER_ERR_RANGE.
 */
static int host_check_step(struct rule *r, const struct sweeper_step *in)
{
	size_t v1 = offsetof(struct sweeper_step, label) + sizeof(in->label);

	if (!in) {
		rule_refuse(r, "add_step(): the step is NULL");
		return SWEEPER_ERR_RANGE;
	}
	/*
	 * A step must hold at least the fields of the first release of ABI
	 * version 1 (up to label); a longer one is a newer plugin, whose
	 * later fields are read only as far as its size covers them.
	 */
	if (in->size < v1) {
		rule_refuse(r, "add_step(): the step's size is %u%s; set .size "
			    "= sizeof(struct sweeper_step)", (unsigned)in->size,
			    in->size == 0 ? " (not set)" : ", smaller than any "
			    "struct sweeper_step");
		return SWEEPER_ERR_RANGE;
	}
	if (!in->table || !*in->table) {
		rule_refuse(r, "add_step(): the step has no table; set .table "
			    "to the table to delete from, unquoted "
			    "(\"schema.table\")");
		return SWEEPER_ERR_RANGE;
	}
	if (!in->key_column || !*in->key_column) {
		rule_refuse(r, "add_step(): the step on '%s' has no key_column; "
			    "set .key_column to a unique, NOT NULL column of "
			    "the table, normally its primary key", in->table);
		return SWEEPER_ERR_RANGE;
	}
	if (!in->predicate || !*in->predicate) {
		rule_refuse(r, "add_step(): the step on '%s' has no predicate; "
			    "set .predicate to the condition a row must meet "
			    "to be deleted", in->table);
		return SWEEPER_ERR_RANGE;
	}
	if (host_check_step_name(r, ".table", in->table, 0) != SWEEPER_OK ||
	    host_check_step_name(r, ".key_column", in->key_column, 1) !=
	    SWEEPER_OK ||
	    (in->user_column && *in->user_column &&
	     host_check_step_name(r, ".user_column", in->user_column, 1) !=
	     SWEEPER_OK))
		return SWEEPER_ERR_RANGE;
	if (in->nparams < 0 || in->nparams > RULE_MAX_PARAMS) {
		rule_refuse(r, "add_step(): the step on '%s' has nparams = %d; "
			    "a step takes 0 to SWEEPER_MAX_PARAMS (%d)",
			    in->table, in->nparams, RULE_MAX_PARAMS);
		return SWEEPER_ERR_RANGE;
	}
	if (in->nparams > 0 && !in->params) {
		rule_refuse(r, "add_step(): the step on '%s' has nparams = %d "
			    "but params is NULL; point .params at its %d "
			    "value%s", in->table, in->nparams, in->nparams,
			    in->nparams == 1 ? "" : "s");
		return SWEEPER_ERR_RANGE;
	}
	if (host_step_joined(in) && !(in->user_column && *in->user_column)) {
		rule_refuse(r, "add_step(): the step on '%s' has a "
			    "joined_predicate but no user_column, which the "
			    "core would join its user on; set .user_column, or "
			    "leave .joined_predicate NULL", in->table);
		return SWEEPER_ERR_RANGE;
	}
	return host_check_time_columns(r, in);
}

static int host_add_step(struct sweeper_ctx *ctx, const struct sweeper_step *in)
{
	struct rule *r = ctx->rule;
	struct step *s;
	int rc;

	if (r->phase != RULE_PHASE_PLAN) {
		rule_refuse(r, "add_step(): called from %s; steps are added in "
			    "plan()", host_phase_name(r));
		return SWEEPER_ERR_PHASE;
	}
	rc = host_check_step(r, in);
	if (rc != SWEEPER_OK) {
		if (!r->step_refusal[0])
			snprintf(r->step_refusal, sizeof(r->step_refusal),
				 "%s", r->refusal);
		return rc;
	}

	xgrow((void **)&r->steps, &r->steps_alloc, r->nsteps + 1,
	      sizeof(*r->steps));
	s = &r->steps[r->nsteps++];
	memset(s, 0, sizeof(*s));
	s->table = xstrdup(in->table);
	s->key_column = xstrdup(in->key_column);
	s->user_column = (in->user_column && *in->user_column) ?
			 xstrdup(in->user_column) : NULL;
	s->predicate = xstrdup(in->predicate);
	if (host_step_joined(in))
		s->joined_predicate = xstrdup(host_step_joined(in));
	s->label = xstrdup(in->label && *in->label ? in->label : in->table);
	s->nparams = in->nparams;
	s->params = host_copy_params(in->nparams, in->params);
	host_copy_time_columns(s, in);
	host_step_key_origin(r, s);
	return SWEEPER_OK;
}

static const struct sweeper_run_info *host_run_info(struct sweeper_ctx *ctx)
{
	return ctx->rule->info;
}

static int host_set_user_filter(struct sweeper_ctx *ctx, const char *predicate,
				int nparams, const char *const *params)
{
	struct rule *r = ctx->rule;
	int i;

	if (r->phase != RULE_PHASE_PLAN) {
		rule_refuse(r, "set_user_filter(): called from %s; the user "
			    "filter is set in plan()", host_phase_name(r));
		return SWEEPER_ERR_PHASE;
	}
	if (!predicate || !*predicate) {
		rule_refuse(r, "set_user_filter(): the filter is empty; pass "
			    "the condition a user must meet");
		return SWEEPER_ERR_RANGE;
	}
	if (nparams < 0 || nparams > RULE_MAX_PARAMS ||
	    (nparams > 0 && !params)) {
		rule_refuse(r, "set_user_filter(): nparams = %d%s; it takes 0 "
			    "to SWEEPER_MAX_PARAMS (%d) values", nparams,
			    nparams > 0 && !params ? " with params NULL" : "",
			    RULE_MAX_PARAMS);
		return SWEEPER_ERR_RANGE;
	}
	free(r->user_filter);
	for (i = 0; i < r->filter_nparams; i++)
		free(r->filter_params[i]);
	free(r->filter_params);
	r->user_filter = xstrdup(predicate);
	r->filter_nparams = nparams;
	r->filter_params = host_copy_params(nparams, params);
	return SWEEPER_OK;
}

/* The whole buffer IDENT_MAX, which the core quotes into, holds any name
 * SWEEPER_QUOTED_MAX promises plugins. */
_Static_assert(SWEEPER_QUOTED_MAX <= IDENT_MAX,
	       "SWEEPER_QUOTED_MAX exceeds the core's own buffers");

static const struct sweeper_host_api host_api_table = {
	.size = sizeof(struct sweeper_host_api),
	.abi_version = SWEEPER_ABI_VERSION,
	.config_get = host_config_get,
	.config_bool = host_config_bool,
	.config_int = host_config_int,
	.config_duration_ms = host_config_duration_ms,
	.schema_get = host_schema_get,
	.quote_ident = host_quote_ident,
	.log = host_log,
	.add_step = host_add_step,
	.run_info = host_run_info,
	.set_user_filter = host_set_user_filter,
	.quote_column = host_quote_column,
	.config_column = host_config_column,
	.schema_column = host_schema_column,
	.config_interval = host_config_interval,
	.config_enum = host_config_enum,
};

const struct sweeper_host_api *host_api(void)
{
	return &host_api_table;
}
