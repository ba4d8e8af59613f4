/*
 * rule.c: the life of one rule: load its plugin, validate its config
 * section, init() it, collect its plan, and release it.
 */
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
		if (r->plugin.desc->init(host_api(), &r->ctx, &r->state, perr,
					 sizeof(perr)) != 0) {
			snprintf(err, errlen, "rule '%s': init failed: %s", name,
				 perr[0] ? perr : "(the plugin gave no reason)");
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

	r->planning = 1;
	rc = r->plugin.desc->plan(host_api(), &r->ctx, r->state, perr,
				  sizeof(perr));
	r->planning = 0;
	if (rc != 0) {
		snprintf(err, errlen, "rule '%s': plan failed: %s", r->name,
			 perr[0] ? perr : "(the plugin gave no reason)");
		return -1;
	}
	return 0;
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

static void step_free(struct step *s)
{
	int i;

	free(s->table);
	free(s->key_column);
	free(s->user_column);
	free(s->predicate);
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
	plugin_unload(&r->plugin);
	free(r->name);
	memset(r, 0, sizeof(*r));
}
