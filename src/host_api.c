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
#include "values.h"
#include "xalloc.h"

static const char *host_config_get(struct sweeper_ctx *ctx, const char *key)
{
	return rule_config_value(ctx->rule, key, NULL);
}

/* Look up a declared key and check it was declared with `type`. */
static int host_typed_value(struct sweeper_ctx *ctx, const char *key,
			    enum sweeper_key_type type, const char **value)
{
	const struct sweeper_key *decl;

	*value = rule_config_value(ctx->rule, key, &decl);
	if (!decl)
		return SWEEPER_ERR_NOKEY;
	if (decl->type != type)
		return SWEEPER_ERR_TYPE;
	/* A required key without a value was refused by config_check_rule(). */
	if (!*value)
		return SWEEPER_ERR_NOKEY;
	return SWEEPER_OK;
}

static int host_config_bool(struct sweeper_ctx *ctx, const char *key, int *out)
{
	const char *v;
	int rc = host_typed_value(ctx, key, SWEEPER_KEY_BOOL, &v);

	if (rc != SWEEPER_OK)
		return rc;
	return bool_parse(v, out) == 0 ? SWEEPER_OK : SWEEPER_ERR_TYPE;
}

static int host_config_int(struct sweeper_ctx *ctx, const char *key,
			   long long *out)
{
	const char *v;
	int rc = host_typed_value(ctx, key, SWEEPER_KEY_INT, &v);

	if (rc != SWEEPER_OK)
		return rc;
	return uint_parse(v, out) == 0 ? SWEEPER_OK : SWEEPER_ERR_TYPE;
}

static int host_config_duration_ms(struct sweeper_ctx *ctx, const char *key,
				   long long *out)
{
	const char *v;
	int rc = host_typed_value(ctx, key, SWEEPER_KEY_DURATION, &v);

	if (rc != SWEEPER_OK)
		return rc;
	return duration_parse(v, out) == 0 ? SWEEPER_OK : SWEEPER_ERR_TYPE;
}

static const char *host_schema_get(struct sweeper_ctx *ctx, const char *key)
{
	return config_schema(ctx->rule->cfg, key);
}

static int host_quote_ident(struct sweeper_ctx *ctx, const char *name,
			    char *buf, size_t size)
{
	(void)ctx;
	if (!name || !buf)
		return SWEEPER_ERR_RANGE;
	return ident_quote(name, buf, size) == 0 ? SWEEPER_OK :
						   SWEEPER_ERR_RANGE;
}

static int host_quote_column(struct sweeper_ctx *ctx, const char *name,
			     char *buf, size_t size)
{
	(void)ctx;
	if (!name || !buf)
		return SWEEPER_ERR_RANGE;
	return ident_quote_column(name, buf, size) == 0 ? SWEEPER_OK :
							  SWEEPER_ERR_RANGE;
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
static int host_check_time_columns(const struct sweeper_step *in)
{
	int i;

	if (!SWEEPER_HAS_FIELD(in, struct sweeper_step, time_columns))
		return SWEEPER_OK;
	if (in->ntime_columns < 0 ||
	    in->ntime_columns > SWEEPER_MAX_TIME_COLUMNS ||
	    (in->ntime_columns > 0 && !in->time_columns))
		return SWEEPER_ERR_RANGE;
	for (i = 0; i < in->ntime_columns; i++) {
		const struct sweeper_time_column *c = &in->time_columns[i];

		if (!c->column || !*c->column || (c->table && !*c->table))
			return SWEEPER_ERR_RANGE;
	}
	return SWEEPER_OK;
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
 * Whether the config writes the key that `setting` ("[section] key")
 * names, into *written.  Returns SWEEPER_OK, or SWEEPER_ERR_RANGE for a
 * setting not so written.
 */
static int host_key_setting(const struct rule *r, const char *setting,
			    int *written)
{
	char section[128];
	const char *end;
	size_t len;

	if (setting[0] != '[')
		return SWEEPER_ERR_RANGE;
	end = strchr(setting, ']');
	len = end ? (size_t)(end - setting - 1) : 0;
	if (!end || len == 0 || len >= sizeof(section) || end[1] != ' ' ||
	    !end[2])
		return SWEEPER_ERR_RANGE;
	memcpy(section, setting + 1, len);
	section[len] = '\0';
	*written = config_written(r->cfg, section, end + 2) != NULL;
	return SWEEPER_OK;
}

static int host_add_step(struct sweeper_ctx *ctx, const struct sweeper_step *in)
{
	const char *key_setting = NULL;
	int key_written = 1;
	struct rule *r = ctx->rule;
	struct step *s;

	if (!r->planning)
		return SWEEPER_ERR_PHASE;
	/*
	 * A step must hold at least the fields of the first release of ABI
	 * version 1 (up to label); a longer one is a newer plugin, whose
	 * later fields are read only as far as its size covers them.
	 */
	if (!in || !SWEEPER_HAS_FIELD(in, struct sweeper_step, label))
		return SWEEPER_ERR_RANGE;
	if (!in->table || !*in->table || !in->key_column || !*in->key_column ||
	    !in->predicate || !*in->predicate || in->nparams < 0 ||
	    in->nparams > RULE_MAX_PARAMS || (in->nparams > 0 && !in->params))
		return SWEEPER_ERR_RANGE;
	if (host_check_time_columns(in) != SWEEPER_OK)
		return SWEEPER_ERR_RANGE;
	if (SWEEPER_HAS_FIELD(in, struct sweeper_step, key_setting) &&
	    in->key_setting) {
		key_setting = in->key_setting;
		if (host_key_setting(r, key_setting, &key_written) != SWEEPER_OK)
			return SWEEPER_ERR_RANGE;
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
	s->label = xstrdup(in->label && *in->label ? in->label : in->table);
	s->nparams = in->nparams;
	s->params = host_copy_params(in->nparams, in->params);
	host_copy_time_columns(s, in);
	s->key_setting = key_setting ? xstrdup(key_setting) : NULL;
	s->key_written = key_written;
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

	if (!r->planning)
		return SWEEPER_ERR_PHASE;
	if (!predicate || !*predicate || nparams < 0 ||
	    nparams > RULE_MAX_PARAMS || (nparams > 0 && !params))
		return SWEEPER_ERR_RANGE;
	free(r->user_filter);
	for (i = 0; i < r->filter_nparams; i++)
		free(r->filter_params[i]);
	free(r->filter_params);
	r->user_filter = xstrdup(predicate);
	r->filter_nparams = nparams;
	r->filter_params = host_copy_params(nparams, params);
	return SWEEPER_OK;
}

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
};

const struct sweeper_host_api *host_api(void)
{
	return &host_api_table;
}
