/*
 * rule.c: the life of one rule: load its plugin, validate its config
 * section, init() it, collect its plan, and release it.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "log.h"
#include "rule.h"
#include "xalloc.h"

int rule_open_plugin_dir(struct plugin_dir *d, const struct config *cfg,
			 char *err, size_t errlen)
{
	const struct config_entry *e;
	char why[1024];

	if (plugin_dir_open(d, cfg->plugin_dir, why, sizeof(why)) == 0)
		return 0;
	e = config_entry_find(cfg, "sweeper", "plugin_dir");
	if (e)
		snprintf(err, errlen, "%s:%d: [sweeper] plugin_dir: %s",
			 cfg->path, e->line, why);
	else
		snprintf(err, errlen,
			 "%s: [sweeper] plugin_dir is not set, and the built-in "
			 "default does not work: %s; set plugin_dir to where "
			 "the plugins are installed", cfg->path, why);
	return -1;
}

/*
 * The error of a callback (`what`: "init" or "plan") that failed with the
 * plugin's message `perr` ("" for none): the plugin's words first, then
 * the host's refusal, which often says more than the plugin could.
 */
static void rule_callback_error(const struct rule *r, const char *what,
				const char *perr, char *err, size_t errlen)
{
	if (perr[0] && r->refusal[0])
		snprintf(err, errlen, "rule '%s': %s failed: %s; %s", r->name,
			 what, perr, r->refusal);
	else
		snprintf(err, errlen, "rule '%s': %s failed: %s", r->name,
			 what, perr[0] ? perr : r->refusal[0] ? r->refusal :
			 "(the plugin gave no reason)");
}

int rule_open(struct rule *r, const struct config *cfg,
	      const struct plugin_dir *dir, const char *name,
	      const struct sweeper_run_info *info, char *err, size_t errlen)
{
	char perr[512] = "";
	int ret = -1;

	memset(r, 0, sizeof(*r));
	r->ctx.rule = r;
	r->name = xstrdup(name);
	r->cfg = cfg;
	r->info = info;
	snprintf(r->prefix, sizeof(r->prefix), "rule '%s': ", name);

	if (plugin_load_at(&r->plugin, dir, name, err, errlen) != 0)
		goto out;
	if (config_check_rule(cfg, name, r->plugin.desc->keys, err, errlen) != 0)
		goto out;

	if (r->plugin.desc->init) {
		int rc;

		r->refusal[0] = '\0';
		r->phase = RULE_PHASE_INIT;
		rc = r->plugin.desc->init(host_api(), &r->ctx, &r->state, perr,
					  sizeof(perr));
		r->phase = RULE_PHASE_NONE;
		if (rc != 0) {
			rule_callback_error(r, "init", perr, err, errlen);
			goto out;
		}
	}
	r->initialised = 1;
	ret = 0;
out:
	return ret;
}

int rule_plan(struct rule *r, char *err, size_t errlen)
{
	char perr[512] = "";
	int rc;

	r->refusal[0] = '\0';
	r->step_refusal[0] = '\0';
	r->phase = RULE_PHASE_PLAN;
	rc = r->plugin.desc->plan(host_api(), &r->ctx, r->state, perr,
				  sizeof(perr));
	r->phase = RULE_PHASE_NONE;
	if (rc != 0) {
		rule_callback_error(r, "plan", perr, err, errlen);
		return -1;
	}
	if (r->step_refusal[0]) {
		snprintf(err, errlen,
			 "rule '%s': plan failed: it returned success, but "
			 "%s; the plugin must check what add_step() returns",
			 r->name, r->step_refusal);
		return -1;
	}
	if (r->nsteps == 0)
		log_msg(SWEEPER_LOG_WARN,
			"rule '%s' planned no step, so it deletes nothing; "
			"check its [rule.%s] section, or mfa-sweeper "
			"--print-plan -r %s", r->name, r->name, r->name);
	return 0;
}

void rule_refuse(struct rule *r, const char *fmt, ...)
{
	va_list ap;

	if (!r || r->phase == RULE_PHASE_NONE)
		return;
	va_start(ap, fmt);
	vsnprintf(r->refusal, sizeof(r->refusal), fmt, ap);
	va_end(ap);
}

void rule_note_origin(struct rule *r, const char *section, const char *key,
		      const char *value)
{
	struct rule_origin *o;
	size_t i;

	for (i = 0; i < r->norigins; i++) {
		if (strcmp(r->origins[i].section, section) == 0 &&
		    strcmp(r->origins[i].key, key) == 0)
			return;
	}
	xgrow((void **)&r->origins, &r->origins_alloc, r->norigins + 1,
	      sizeof(*r->origins));
	o = &r->origins[r->norigins++];
	o->section = xstrdup(section);
	o->key = xstrdup(key);
	o->value = xstrdup(value);
}

const char *rule_config_value(const struct rule *r, const char *key,
			      const struct sweeper_key **decl)
{
	const struct sweeper_key *k;
	const char *v;
	char section[128];

	if (decl)
		*decl = NULL;
	if (!r->plugin.desc || !r->plugin.desc->keys)
		return NULL;
	for (k = r->plugin.desc->keys; k->name; k++) {
		if (strcmp(k->name, key) != 0)
			continue;
		if (decl)
			*decl = k;
		snprintf(section, sizeof(section), "rule.%s", r->name);
		v = config_written(r->cfg, section, key);
		return v ? v : k->default_value;
	}
	return NULL;
}

const struct rule_origin *rule_origin_find(const struct rule *r,
					   const char *value)
{
	size_t i;

	for (i = 0; i < r->norigins; i++) {
		if (strcmp(r->origins[i].value, value) == 0)
			return &r->origins[i];
	}
	return NULL;
}

const char *rule_key_type_name(enum sweeper_key_type type)
{
	switch (type) {
	case SWEEPER_KEY_STRING:
		return "string";
	case SWEEPER_KEY_BOOL:
		return "bool";
	case SWEEPER_KEY_INT:
		return "int";
	case SWEEPER_KEY_DURATION:
		return "duration";
	case SWEEPER_KEY_ENUM:
		return "enum";
	}
	return "?";
}

static void step_free(struct step *s)
{
	int i;

	free(s->table);
	free(s->key_column);
	free(s->user_column);
	free(s->predicate);
	free(s->joined_predicate);
	free(s->label);
	for (i = 0; i < s->nparams; i++)
		free(s->params[i]);
	free(s->params);
	for (i = 0; i < s->ntime_columns; i++) {
		free(s->time_columns[i].table);
		free(s->time_columns[i].column);
	}
	free(s->time_columns);
	free(s->key_setting);
}

void rule_close(struct rule *r)
{
	size_t i;
	int j;

	if (r->initialised && r->plugin.desc && r->plugin.desc->fini)
		r->plugin.desc->fini(r->state);
	for (i = 0; i < r->nsteps; i++)
		step_free(&r->steps[i]);
	free(r->steps);
	free(r->user_filter);
	for (j = 0; j < r->filter_nparams; j++)
		free(r->filter_params[j]);
	free(r->filter_params);
	for (i = 0; i < r->norigins; i++) {
		free(r->origins[i].section);
		free(r->origins[i].key);
		free(r->origins[i].value);
	}
	free(r->origins);
	plugin_unload(&r->plugin);
	free(r->name);
	memset(r, 0, sizeof(*r));
}
