/*
 * rule.h: one configured rule: its plugin, its validated configuration and
 * the steps it planned.
 */
#ifndef SWEEPER_RULE_H
#define SWEEPER_RULE_H

#include <stddef.h>

#include "config.h"
#include "plugin_loader.h"
#include "sweeper/plugin.h"

/* Upper bound of parameters in one step predicate or user filter. */
#define RULE_MAX_PARAMS SWEEPER_MAX_PARAMS

/* A time column a step compares (struct sweeper_time_column), owned. */
struct step_time_column {
	char *table;          /* unquoted; the step's table when the plugin
			       * gave none, never NULL */
	char *column;         /* unquoted */
};

/* A step as the core keeps it: every string owned by the rule. */
struct step {
	char *table;          /* unquoted, as in config */
	char *key_column;     /* unquoted */
	char *user_column;    /* unquoted, or NULL */
	char *predicate;
	char *joined_predicate; /* over t and its user u, or NULL: the
				 * plugin gave none, or the step cannot join
				 * its user (no user_column) */
	char *label;          /* never NULL: the table when the plugin gave none */
	char **params;        /* nparams values, entries may be NULL */
	int nparams;
	/*
	 * The time columns the predicate compares.  `time_declared` is 0 for
	 * a plugin built against a plugin.h older than the field: the core
	 * then cannot know which columns it compares.
	 */
	struct step_time_column *time_columns;
	int ntime_columns;
	int time_declared;
	/*
	 * The config key that names key_column ("[schema] code_id_column"),
	 * owned, or NULL; and whether the config writes it.  Named but not
	 * written, the plan walks the table's primary key (plan.h).
	 */
	char *key_setting;
	int key_written;
};

/*
 * The host's side of struct sweeper_ctx: plugins receive a pointer to the
 * `ctx` member and the host API finds the rule from it.
 */
struct sweeper_ctx {
	struct rule *rule;
};

/* Which of the plugin's callbacks is running: what the host API allows. */
enum rule_phase {
	RULE_PHASE_NONE = 0,
	RULE_PHASE_INIT,
	RULE_PHASE_PLAN
};

/*
 * A config value the plugin read through the host API, with where it came
 * from, so that an error about a name can say which key to fix
 * (step_hint.h).  All three strings owned.
 */
struct rule_origin {
	char *section;                 /* "schema" or "rule.NAME" */
	char *key;
	char *value;
};

struct rule {
	struct sweeper_ctx ctx;
	char *name;                    /* owned */
	struct plugin plugin;
	const struct config *cfg;      /* borrowed, outlives the rule */
	const struct sweeper_run_info *info; /* borrowed, outlives the rule */
	enum rule_phase phase;         /* the callback running, if any */
	void *state;                   /* the plugin's, freed by its fini() */
	int initialised;               /* init() succeeded: fini() is owed */
	char prefix[96];               /* "rule 'NAME': " for log lines */

	struct step *steps;
	size_t nsteps;
	size_t steps_alloc;

	char *user_filter;             /* or NULL */
	char **filter_params;
	int filter_nparams;

	/*
	 * Why the host last refused a call of the running callback, one
	 * line starting with the function's name ("" when none did): the
	 * core adds it to the callback's error.
	 */
	char refusal[512];
	/* The first refusal of add_step() in this plan(), or "". */
	char step_refusal[512];

	/* The config values the plugin read (rule_note_origin()). */
	struct rule_origin *origins;
	size_t norigins;
	size_t origins_alloc;
};

/*
 * Open cfg->plugin_dir into *d (provided by the caller) with
 * plugin_dir_open(): resolved and checked once, and held open for every
 * rule_open() of the run, which the caller follows with plugin_dir_close().
 * Returns 0, or -1 with one line in err that names where the config sets
 * plugin_dir (file and line), or says that the built-in default is in use,
 * so the operator knows what to change.
 */
int rule_open_plugin_dir(struct plugin_dir *d, const struct config *cfg,
			 char *err, size_t errlen);

/*
 * Load the plugin of rule `name` from `dir` (cfg->plugin_dir, opened with
 * rule_open_plugin_dir()), check its [rule.NAME] section against the keys
 * it declares and call its init().  `r` is provided by the caller; `cfg`
 * and `info` must outlive it, `dir` must stay open until this returns.
 * Returns 0, or -1 with one line in err (the run must then stop with exit
 * 78); *r is then safe for rule_close().
 */
int rule_open(struct rule *r, const struct config *cfg,
	      const struct plugin_dir *dir, const char *name,
	      const struct sweeper_run_info *info, char *err, size_t errlen);

/*
 * Call the plugin's plan() to collect its steps.  Returns 0, or -1 with one
 * line in err: when plan() fails, or when it returns 0 although add_step()
 * refused one of its steps (that step would silently be missing).  A rule
 * that plans no step is valid, and logged as a warning: it deletes nothing.
 */
int rule_plan(struct rule *r, char *err, size_t errlen);

/*
 * Record why a host API function refuses a call of the running callback
 * (printf format): the one line the core adds to the callback's error,
 * starting with the function's name, e.g. "add_step(): the step has no
 * key_column; ...".  Ignored outside a callback, and for a NULL `r`.
 */
void rule_refuse(struct rule *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Record that the plugin read `value` (not NULL) from `key` of `section`
 * ("schema" or "rule.NAME").  Copies all three; a key read twice is kept
 * once.
 */
void rule_note_origin(struct rule *r, const char *section, const char *key,
		      const char *value);

/*
 * The value of a declared key of the rule's section: as written, else the
 * declared default.  NULL when the key is not declared.  Borrowed from the
 * config or the plugin, valid until rule_close().
 */
const char *rule_config_value(const struct rule *r, const char *key,
			      const struct sweeper_key **decl);

/* Call fini() if owed, unload the plugin, free everything; *r is zeroed.
 * Accepts a zeroed struct. */
void rule_close(struct rule *r);

/*
 * The first config value the plugin read (rule_note_origin()) that is
 * exactly `value`, or NULL: where a name in a step came from.
 */
const struct rule_origin *rule_origin_find(const struct rule *r,
					   const char *value);

/* The name of a key type as --list-rules and messages show it: "string",
 * "bool", "int", "duration", "enum", or "?" for another value. */
const char *rule_key_type_name(enum sweeper_key_type type);

/* The host API table handed to every plugin callback. */
const struct sweeper_host_api *host_api(void);

#endif /* SWEEPER_RULE_H */
