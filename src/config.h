/*
 * config.h: the INI configuration file (parsed with inih) and its checks.
 *
 * config_load() reads the whole file, rejects unknown sections and keys,
 * duplicate keys and bad values of the core sections ([database],
 * [sweeper], [schema], [webhook], [ledger]), and resolves them with their defaults.
 * [rule.NAME] sections are kept as written; they are checked against the
 * keys the rule's plugin declares by config_check_rule() once the plugin is
 * loaded.
 *
 * Every error is one line, "FILE:LINE: [SECTION] KEY: problem; fix", or
 * "FILE: ..." when no line applies (a missing required key).
 */
#ifndef SWEEPER_CONFIG_H
#define SWEEPER_CONFIG_H

#include <stddef.h>

#include "sweeper/plugin.h"

/* One "key = value" line as written. */
struct config_entry {
	char *section;   /* "database", "rule.user_disabled", ... */
	char *key;
	char *value;     /* blanks and inline comment removed; may be "" */
	int line;        /* 1-based line number in the file */
};

struct config {
	char *path;                       /* the file, as given */
	struct config_entry *entries;
	size_t nentries;

	/* [database], resolved with defaults; strings point into entries
	 * or static defaults, valid until config_free(). */
	const char *dsn;                  /* default "" = libpq defaults */
	long long lock_timeout_ms;        /* default 2s */
	long long statement_timeout_ms;   /* default 60s */
	const char *pooler;               /* none | session | transaction */
	long long lease_ttl_ms;           /* default 2m, >= 1s */

	/* [sweeper] */
	const char *plugin_dir;           /* default SWEEPER_PLUGIN_DIR */
	char **rules;                     /* owned; default the three rules */
	size_t nrules;
	long long batch_size;             /* 1..1000000; 0 (not written) =
					   * adaptive */
	long long max_runtime_ms;         /* default 0 = no limit */
	long long pause_ms;               /* default 0 */
	const char *metrics_file;         /* "" = none; else absolute */
	long long retries;                /* default 3, 0..20 */
	long long retry_backoff_ms;       /* default 100ms */
	long long stop_timeout_ms;        /* default 10s; 0 = cancel at once */
	long long batch_target_ms;        /* default 200ms, > 0 */
	long long batch_min;              /* default 100, 1..1000000 */
	long long batch_max;              /* default 50000, batch_min..1000000 */
	double pause_ratio;               /* default 0 = off, 0..100 */
	long long max_replica_lag_ms;     /* default 0 = off */
	long long max_throttle_ms;        /* default 10m; 0 = no limit */
	long long max_rows;               /* default 0 = no limit */
	long long workers;                /* default 1, 1..SWEEPER_WORKERS_MAX */
	long long max_rate;               /* rows per second; 0 = no limit */

	/* [webhook] */
	const char *webhook_url;          /* "" = no webhook */
	const char *webhook_format;       /* json | slack */
	const char *webhook_secret;
	const char *webhook_secret_file;
	long long webhook_timeout_ms;     /* default 10s */
	long long webhook_retries;        /* default 3 */
	long long webhook_max_time_ms;    /* default 60s, all attempts */
	long long webhook_backoff_ms;     /* default 1s, first retry's cap */
	int webhook_required;             /* default 0: failure exits 1 */

	long long jobs;                   /* default 1, 1..64: targets at once */

	/* [target.NAME] sections, in file order (doc/fleet.md); none for a config that sweeps [database] alone. */
	struct config_target *targets;    /* owned array */
	size_t ntargets;
	/* The target this config was derived for (config_for_target()),
	 * or NULL for the file's own; strings owned. */
	char *target_name;                /* "NAME" or "NAME/SCHEMA" */
	char *tenant_schema;              /* the tenant's schema, or NULL */

	/* [ledger] */
	int ledger_enabled;               /* default false */
	const char *ledger_schema;        /* unquoted; default mfa_sweeper */
};

/*
 * One [target.NAME] section: where it is, and the tenants query of the
 * tenant form.  Strings borrowed from the config's entries (name points
 * past "target." in its section), valid until config_free().
 */
struct config_target {
	const char *name;
	int line;                         /* of its first header */
	const char *tenants_query;        /* NULL: one database target */
};

/* Built-in default of plugin_dir, set by the Makefile from PREFIX. */
#ifndef SWEEPER_PLUGIN_DIR
#define SWEEPER_PLUGIN_DIR "/usr/local/lib/mfa-sweeper/plugins"
#endif

/*
 * Declared keys of the core sections, NULL-name terminated, in the order
 * of the example config.  Exposed for --list-rules and the tests.
 */
extern const struct sweeper_key config_database_keys[];
extern const struct sweeper_key config_sweeper_keys[];
extern const struct sweeper_key config_schema_keys[];
extern const struct sweeper_key config_webhook_keys[];
extern const struct sweeper_key config_ledger_keys[];
extern const struct sweeper_key config_target_keys[];

/* Longest NAME of a [target.NAME] section, in bytes. */
#define CONFIG_TARGET_NAME_MAX 63

/*
 * Limits of the file: a configuration is a few KiB, so anything near these
 * is the wrong file (a device, a log, a database dump), not a config.  A
 * line may be long enough for a DSN with certificate paths or a webhook URL
 * with its token, not counting its line break.
 */
/*
 * The most [sweeper] workers a run may use: each is a server connection
 * and a backend deleting at once (config_keys.c says why 16).
 */
#define SWEEPER_WORKERS_MAX 16

#define CONFIG_FILE_MAX (1024 * 1024)
#define CONFIG_LINE_MAX 8192

/*
 * Read and check the file at `path` into *cfg (which the caller provides;
 * its previous contents are ignored).  Returns 0 on success.  On failure
 * returns -1 with one line in `err` (at most `errlen` bytes) and leaves
 * *cfg safe to pass to config_free().
 *
 * The file is read as safe_file.h reads (a symbolic link is followed, as
 * configuration management links configs), so a FIFO, a device or a
 * directory is refused at once, as is a file over CONFIG_FILE_MAX bytes.
 * Besides the per-key checks it rejects: a file that cannot be read, one
 * without a single setting (it would run every rule on the defaults), a
 * line over CONFIG_LINE_MAX bytes or with a NUL byte, a line inih cannot
 * parse, a key outside any section, a [rule.NAME] section whose NAME is
 * not listed in `rules`, a `rules` list that is empty, has duplicates or
 * has a name that is not [a-z0-9_]+, and a [schema] or [ledger] name
 * PostgreSQL would cut short (over 63 bytes a part).
 */
int config_load(struct config *cfg, const char *path, char *err,
		size_t errlen);

/*
 * Check the [rule.NAME] section against the keys its plugin declares
 * (`keys` may be NULL for none): unknown keys, values of the wrong type and
 * missing required keys are errors.  Returns 0, or -1 with one line in err.
 */
int config_check_rule(const struct config *cfg, const char *rule,
		      const struct sweeper_key *keys, char *err,
		      size_t errlen);

/*
 * The value written for `key` in `section`, or NULL if the file does not
 * set it.  Borrowed, valid until config_free().
 */
const char *config_written(const struct config *cfg, const char *section,
			   const char *key);

/*
 * The entry for `key` in `section`, or NULL.  Borrowed, valid until
 * config_free().  For error messages that need the line.
 */
const struct config_entry *config_entry_find(const struct config *cfg,
					     const char *section,
					     const char *key);

/*
 * The value of a [schema] key, its default when not written, or NULL for
 * a key that does not exist.  Borrowed, valid until config_free().
 */
const char *config_schema(const struct config *cfg, const char *key);

/*
 * Log a warning (src/log.h) for each secret the loaded config exposes,
 * without failing: a password in [database] dsn or a [webhook] secret in
 * a config file that group or others may read, and a signed webhook (secret
 * or secret_file set) posted over plain http:// to a host other than
 * this one (localhost, 127.0.0.0/8, [::1]).  The warnings name the file,
 * line and key and the fix, never the value.
 */
void config_warn_exposed(const struct config *cfg);

/* The target called `name`, or NULL. */
const struct config_target *config_target_find(const struct config *cfg,
					       const char *name);

/*
 * Derive into *out (provided by the caller) the config one target is
 * swept with: `base` with the target's [database] keys and schema.KEY
 * overrides in place of [database] and [schema], and, for a tenant
 * (`tenant_schema` not NULL, a name tenant_schema_valid() accepts), every
 * [schema] *_table name that names no schema put in that schema.  The
 * result has no targets of its own; its entries keep the file's line
 * numbers.  Returns 0, or -1 with one line in err; *out is then safe for
 * config_free().
 */
int config_for_target(const struct config *base, const struct config_target *t,
		      const char *tenant_schema, struct config *out, char *err,
		      size_t errlen);

/*
 * Whether `name` (a row of a tenants_query) is a schema name the sweeper
 * accepts: 1 to 63 bytes of ASCII letters, digits, '_' and '$', not
 * starting with a digit or '$'.  Such a name needs no quoting to be read
 * as one part of a table name, and is still quoted in every statement.
 */
int tenant_schema_valid(const char *name);

/* Free everything config_load() allocated; *cfg is zeroed.  Accepts a
 * zeroed struct. */
void config_free(struct config *cfg);

#endif /* SWEEPER_CONFIG_H */
