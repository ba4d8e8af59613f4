/*
 * sweeper/plugin.h: the rule plugin ABI of mfa-sweeper, version 1.
 *
 * This is the only public header of mfa-sweeper.  A rule plugin is a shared
 * object that includes it, fills in one `struct sweeper_plugin` and exports
 * it through SWEEPER_PLUGIN_DEFINE().  The plugin never links against the
 * sweeper: everything it may call reaches it through the host API table
 * (`struct sweeper_host_api`) passed to its callbacks.
 *
 * Life of a plugin in one run:
 *
 *   1. The loader dlopen()s PLUGIN_DIR/NAME.so, calls sweeper_plugin_entry()
 *      and checks magic, abi_version and size of the descriptor.
 *   2. The core validates the [rule.NAME] config section against `keys`:
 *      unknown keys and values of the wrong type are rejected before the
 *      plugin sees them, and absent keys take their declared default.
 *   3. init() is called once; it reads its configuration, quotes the
 *      identifiers it needs and may keep private state.
 *   4. plan() is called once; it describes its work as steps through
 *      api->add_step().  It runs no SQL: the core owns the database
 *      connection and every transaction.
 *   5. fini() is called once, whatever happened, if init() succeeded.
 *
 * All plugins are initialised and planned before the first row is deleted,
 * so a plugin that fails in init() or plan() stops the run with exit code
 * 78 and nothing deleted.
 *
 * Ownership: every pointer the host passes to a plugin is borrowed and valid
 * only until the callback that received it returns, unless a function below
 * says otherwise.  Every pointer a plugin passes to the host is borrowed by
 * the host only for the duration of that call: the host copies what it
 * keeps.  Strings are NUL-terminated UTF-8.
 *
 * Compatibility: structs carry their own size and grow only at the end.  A
 * plugin built against ABI version 1 keeps loading into every host of ABI
 * version 1; fields added later are read by the host only when the size the
 * plugin reports covers them.  Added since the first release of version 1:
 * struct sweeper_step's time_columns (the time columns a step compares,
 * checked against [database] time_zone) and key_setting (the config key
 * that names key_column; unset, the table's primary key is walked).
 */
#ifndef SWEEPER_PLUGIN_H
#define SWEEPER_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* "SWPR" read as a little-endian 32-bit word. */
#define SWEEPER_PLUGIN_MAGIC 0x52505753u

/* Bumped only when a change breaks plugins built against the old header. */
#define SWEEPER_ABI_VERSION 1u

/* The name of the one symbol the loader looks up in a plugin. */
#define SWEEPER_PLUGIN_ENTRY_SYMBOL "sweeper_plugin_entry"

/*
 * The alias under which a step's table is visible to its predicate: the core
 * builds "... FROM <table> AS t WHERE (<predicate>) ...", so a predicate
 * names the row's columns as t.<column>.  Aliases of a plugin's own
 * subqueries must differ from it.
 */
#define SWEEPER_TARGET_ALIAS "t"

/*
 * The alias under which the [schema] users table is visible to a user
 * filter (api->set_user_filter()): "... FROM <users_table> AS u WHERE ...".
 */
#define SWEEPER_USER_ALIAS "u"

/* Return codes of host API functions and plugin callbacks. */
enum sweeper_status {
	SWEEPER_OK = 0,
	SWEEPER_ERR = -1,          /* generic failure, message in err */
	SWEEPER_ERR_NOKEY = -2,    /* config key not declared by the plugin */
	SWEEPER_ERR_TYPE = -3,     /* config key read with the wrong type */
	SWEEPER_ERR_RANGE = -4,    /* value or buffer out of range */
	SWEEPER_ERR_NOMEM = -5,    /* out of memory */
	SWEEPER_ERR_PHASE = -6     /* function called outside its callback */
};

/* Log levels for api->log(). */
enum sweeper_log_level {
	SWEEPER_LOG_ERROR = 0,
	SWEEPER_LOG_WARN = 1,
	SWEEPER_LOG_INFO = 2,
	SWEEPER_LOG_DEBUG = 3
};

/* Types of declared config keys; the core checks values against them. */
enum sweeper_key_type {
	SWEEPER_KEY_STRING = 1,   /* any text, may be empty */
	SWEEPER_KEY_BOOL = 2,     /* true/false, yes/no, on/off, 1/0 */
	SWEEPER_KEY_INT = 3,      /* decimal integer >= 0 */
	SWEEPER_KEY_DURATION = 4, /* number with unit ms, s, m, h or d; or 0 */
	SWEEPER_KEY_ENUM = 5      /* one of `choices` */
};

/*
 * One config key a plugin accepts in its [rule.NAME] section.  A plugin
 * declares its keys as a static array ending with an entry whose name is
 * NULL.  The core owns nothing here: the array must stay valid as long as
 * the plugin is loaded (static storage is the normal case).
 */
struct sweeper_key {
	const char *name;            /* key name, e.g. "max_age" */
	enum sweeper_key_type type;
	const char *default_value;   /* as written in config; NULL = required */
	const char *choices;         /* SWEEPER_KEY_ENUM: "keep|delete" */
	const char *help;            /* one line shown by --list-rules */
};

/*
 * A time column a step compares, with now() or with another time column
 * (struct sweeper_step, time_columns).  Before the run the core looks up
 * its type: a `timestamp without time zone` column holds the application's
 * local wall-clock times, and PostgreSQL compares those with now() in the
 * session's time zone, so the comparison is exact only when [database]
 * time_zone names the zone the application writes them in.  Without that
 * setting the run refuses to start (exit 78) rather than delete by a clock
 * that is off by hours.
 *
 * This struct is frozen: facts about a column that a later version needs
 * come as a new array in struct sweeper_step, never as fields here.
 */
struct sweeper_time_column {
	/* The column's table as written in config, "table" or
	 * "schema.table", unquoted; NULL means the step's own table. */
	const char *table;
	/* One column name, unquoted. */
	const char *column;
};

/* The most time columns one step may declare. */
#define SWEEPER_MAX_TIME_COLUMNS 16

/*
 * Whether a struct that carries its own size (`size`, as compiled where
 * it was filled in) has the member `field`: a struct from a plugin built
 * against an older header is shorter, and the members it lacks are absent,
 * not zero.  Used by the host on struct sweeper_step.
 */
#define SWEEPER_HAS_FIELD(ptr, type, field) \
	((ptr)->size >= offsetof(type, field) + sizeof(((type *)0)->field))

/*
 * One unit of deletion work.  The core deletes, in batches, every row of
 * `table` for which `predicate` is true, each batch one transaction.  How
 * it walks the table is the core's plan, made once per step before the
 * first batch (README "How a run works"): by windows of the table's heap
 * blocks, each deleted by one plain DELETE; by windows of the users
 * table, for a rule with a user filter and an index on `user_column`; by
 * the named users of a scoped run; by the predicate's own index; or by
 * the key, in key order, for partitioned tables and a fixed batch_size.
 * A fixed batch_size caps every batch at that many rows; it does not fill
 * each one (a batch ends with its window of keys where matching rows are
 * sparse).  The key also names the rows the database refuses to delete.
 * `mfa-sweeper --explain` prints each step's plan: the walk and why, the
 * key, the first batch's statement with PostgreSQL's plan for it, and
 * the walk's other statements.  Filled in by the plugin and passed to
 * api->add_step(), which copies every string: the struct and its strings
 * may live on the plugin's stack.
 */
struct sweeper_step {
	/* sizeof(struct sweeper_step) as compiled into the plugin. */
	uint32_t size;
	/*
	 * Table to delete from, as written in config: "table" or
	 * "schema.table", unquoted.  The core quotes it.
	 */
	const char *table;
	/*
	 * A unique, NOT NULL, orderable column of `table` (normally the
	 * primary key), unquoted.  A walk by key resumes every batch after
	 * the last key it deleted; see key_setting for a key the config
	 * leaves to the catalog.
	 */
	const char *key_column;
	/*
	 * Column of `table` holding the user id, unquoted, or NULL.  In a run
	 * scoped with --user-id, --user-email or --users-file, the core
	 * restricts the step to rows whose user_column holds one of those
	 * users; a step without user_column is skipped in scoped runs.
	 */
	const char *user_column;
	/*
	 * A boolean SQL expression over the row aliased SWEEPER_TARGET_ALIAS,
	 * with identifiers quoted through api->quote_ident() and every value
	 * written as a placeholder $1..$nparams.
	 */
	const char *predicate;
	/* Number of placeholders and their values, sent as text parameters:
	 * cast them in the predicate ($1::interval).  A NULL entry in params
	 * is SQL NULL. */
	int nparams;
	const char *const *params;
	/* Short human label for logs and the summary, e.g. "backup codes";
	 * NULL means the table name. */
	const char *label;

	/*
	 * The fields above are those of the first release of ABI version 1;
	 * the host reads the ones below only when `size` covers them
	 * (SWEEPER_HAS_FIELD), so a plugin built against an older header
	 * keeps loading and is treated as declaring nothing here.
	 */

	/*
	 * The time columns the predicate compares (struct
	 * sweeper_time_column), at most SWEEPER_MAX_TIME_COLUMNS: every
	 * column that meets now() or another time column in the predicate,
	 * and in the rule's user filter for a step that has a user column.
	 * 0 (with time_columns NULL) declares that the predicate compares no
	 * time.  The host copies the array and its strings.
	 */
	int ntime_columns;
	const struct sweeper_time_column *time_columns;

	/*
	 * Where the operator names key_column, as "[section] key" (the
	 * built-in rules: "[schema] code_id_column"), or NULL.  When the
	 * config does not write that key, key_column is only its default,
	 * and the core walks the table's primary key instead, read from the
	 * catalog (a one-column primary key; key_column serves a table
	 * without one), so a schema whose key is not named as the default
	 * needs no setting.  The core's messages about the key name this
	 * setting.  NULL: key_column is the key, as given.  The host copies
	 * it.
	 */
	const char *key_setting;
};

/*
 * Facts about the current run, for plugins whose plan depends on them.
 * Returned by api->run_info(); owned by the host, valid during the callback.
 */
struct sweeper_run_info {
	uint32_t size;       /* sizeof as compiled into the host */
	int dry_run;         /* 1 with --dry-run: count, delete nothing */
	int now;             /* 1 with --now: ignore grace periods */
	int scoped;          /* 1 when restricted to named users */
};

/* Opaque per-rule context the host passes to every callback. */
struct sweeper_ctx;

/*
 * The host API table, in the manner of SQLite's sqlite3_api_routines: the
 * plugin calls the host only through it.  New functions are appended at the
 * end; a plugin that needs one checks `size` first:
 *
 *     if (api->size >= offsetof(struct sweeper_host_api, fn) + sizeof(api->fn))
 *
 * Unless stated otherwise, functions return SWEEPER_OK (0) on success and a
 * negative enum sweeper_status on failure; `ctx` is the context the
 * callback received, and must not be kept after the callback returns.
 */
struct sweeper_host_api {
	uint32_t size;          /* sizeof(struct sweeper_host_api) in the host */
	uint32_t abi_version;   /* SWEEPER_ABI_VERSION of the host */

	/*
	 * Value of a declared key of this rule's section, after validation
	 * and defaults.  Returns a borrowed string valid until fini(), or
	 * NULL if the plugin did not declare `key`.
	 */
	const char *(*config_get)(struct sweeper_ctx *ctx, const char *key);

	/*
	 * Typed readers of declared keys.  On success store the value in
	 * *out and return SWEEPER_OK.  SWEEPER_ERR_NOKEY if `key` is not
	 * declared, SWEEPER_ERR_TYPE if it was declared with another type.
	 * Durations come in milliseconds.
	 */
	int (*config_bool)(struct sweeper_ctx *ctx, const char *key, int *out);
	int (*config_int)(struct sweeper_ctx *ctx, const char *key,
			  long long *out);
	int (*config_duration_ms)(struct sweeper_ctx *ctx, const char *key,
				  long long *out);

	/*
	 * Value of a key of the [schema] section, e.g. "codes_table", with
	 * its default applied.  Returns a borrowed string valid until fini(),
	 * possibly empty, or NULL if the key does not exist.
	 */
	const char *(*schema_get)(struct sweeper_ctx *ctx, const char *key);

	/*
	 * Quote an identifier for SQL: "name" becomes "name" in double
	 * quotes, "schema.table" becomes "schema"."table"; embedded double
	 * quotes are doubled.  Writes at most `size` bytes including the NUL
	 * to `buf`.  SWEEPER_ERR_RANGE if it does not fit, if `name` is empty
	 * or not valid UTF-8 text without control characters, or if a part
	 * is longer than 63 bytes (PostgreSQL would silently cut it short
	 * into another name).
	 */
	int (*quote_ident)(struct sweeper_ctx *ctx, const char *name,
			   char *buf, size_t size);

	/* Log one line, prefixed with the rule name.  printf format. */
	void (*log)(struct sweeper_ctx *ctx, int level, const char *fmt, ...)
#if defined(__GNUC__)
		__attribute__((format(printf, 3, 4)))
#endif
		;

	/*
	 * Add a step to this rule's work, in the order steps should run.
	 * Only valid inside plan() (SWEEPER_ERR_PHASE otherwise).  Copies
	 * everything it keeps.  SWEEPER_ERR_RANGE when a required field is
	 * missing, nparams is negative or above 64, ntime_columns is
	 * negative or above SWEEPER_MAX_TIME_COLUMNS or a time column has
	 * no name, or key_setting is not "[section] key".
	 */
	int (*add_step)(struct sweeper_ctx *ctx, const struct sweeper_step *step);

	/* Facts about this run; never NULL, owned by the host. */
	const struct sweeper_run_info *(*run_info)(struct sweeper_ctx *ctx);

	/*
	 * Optionally declare which users the rule acts on, as a boolean SQL
	 * expression over the [schema] users table aliased SWEEPER_USER_ALIAS,
	 * with $1..$nparams placeholders like a step predicate.  It restricts
	 * nothing: in scoped runs the core uses it to report the named users
	 * the rule skips (for instance an enrolled user).  Only valid inside
	 * plan(); a second call replaces the first.  Copies its arguments.
	 */
	int (*set_user_filter)(struct sweeper_ctx *ctx, const char *predicate,
			       int nparams, const char *const *params);

	/*
	 * Quote a column name: like quote_ident(), but exactly one part, so
	 * "a.b" is refused instead of becoming "a"."b", which after t. would
	 * name something other than a column of the row.  SWEEPER_ERR_RANGE
	 * for such a name and in every case quote_ident() refuses.
	 */
	int (*quote_column)(struct sweeper_ctx *ctx, const char *name,
			    char *buf, size_t size);
};

/*
 * The descriptor of a plugin, returned by its entry function.  It must stay
 * valid while the plugin is loaded: a static const object.
 */
struct sweeper_plugin {
	uint32_t magic;          /* SWEEPER_PLUGIN_MAGIC */
	uint32_t abi_version;    /* SWEEPER_ABI_VERSION the plugin was built for */
	uint32_t size;           /* sizeof(struct sweeper_plugin) in the plugin */
	const char *name;        /* rule name; must equal the file name sans .so */
	const char *version;     /* plugin's own version, free text */
	const char *description; /* one line for --list-rules */
	const struct sweeper_key *keys; /* declared keys, NULL-name terminated;
					   NULL when the rule takes none */

	/*
	 * Called once after config validation.  May store private state in
	 * *state (freed by fini()).  On failure write one lowercase line
	 * naming the problem into err (at most errlen bytes, NUL included)
	 * and return non-zero: the run stops with exit 78.  May be NULL.
	 */
	int (*init)(const struct sweeper_host_api *api, struct sweeper_ctx *ctx,
		    void **state, char *err, size_t errlen);

	/*
	 * Called once to describe the rule's work through api->add_step().
	 * Same error convention as init().  Required.
	 */
	int (*plan)(const struct sweeper_host_api *api, struct sweeper_ctx *ctx,
		    void *state, char *err, size_t errlen);

	/* Releases what init() allocated.  May be NULL. */
	void (*fini)(void *state);
};

/* The type of the entry function, for the loader's dlsym(). */
typedef const struct sweeper_plugin *(*sweeper_plugin_entry_fn)(void);

#if defined(__GNUC__)
#define SWEEPER_EXPORT __attribute__((visibility("default")))
#else
#define SWEEPER_EXPORT
#endif

/*
 * Export a descriptor: place once in the plugin, after the descriptor.
 *
 *     static const struct sweeper_plugin my_rule = {
 *             SWEEPER_PLUGIN_HEADER, "my_rule", "1.0", "what it deletes",
 *             my_keys, my_init, my_plan, my_fini
 *     };
 *     SWEEPER_PLUGIN_DEFINE(my_rule)
 *
 * The entry point is a function, not a data symbol, because dlsym() is only
 * guaranteed to work for functions on every platform.
 */
#define SWEEPER_PLUGIN_HEADER \
	SWEEPER_PLUGIN_MAGIC, SWEEPER_ABI_VERSION, \
	(uint32_t)sizeof(struct sweeper_plugin)

#define SWEEPER_PLUGIN_DEFINE(descriptor) \
	SWEEPER_EXPORT const struct sweeper_plugin *sweeper_plugin_entry(void); \
	SWEEPER_EXPORT const struct sweeper_plugin *sweeper_plugin_entry(void) \
	{ \
		return &(descriptor); \
	}

#ifdef __cplusplus
}
#endif

#endif /* SWEEPER_PLUGIN_H */
