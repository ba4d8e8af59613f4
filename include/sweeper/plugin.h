/*
 * sweeper/plugin.h: the rule plugin ABI of mfa-sweeper, version 1.
 *
 * This is the only public header of mfa-sweeper.  A rule plugin is a shared
 * object that includes it, declares its descriptor with SWEEPER_PLUGIN()
 * and plans its work through the host API table (`struct
 * sweeper_host_api`) passed to its callbacks.  The plugin never links
 * against the sweeper.  Build one with
 *
 *     cc -shared -fPIC $(pkg-config --cflags mfa-sweeper-plugin) \
 *         -o my_rule.so my_rule.c
 *
 * (the pkg-config flags add -fvisibility=hidden, so the entry point is the
 * plugin's only exported symbol), install it as PLUGIN_DIR/my_rule.so
 * (`pkg-config --variable=plugindir mfa-sweeper-plugin`), and check what it
 * plans without a database with `mfa-sweeper --print-plan -r my_rule`.
 * The example plugins are installed under `pkg-config
 * --variable=examplesdir mfa-sweeper-plugin`.
 *
 * Life of a plugin in one run:
 *
 *   1. The loader dlopen()s PLUGIN_DIR/NAME.so, calls sweeper_plugin_entry()
 *      and checks magic, abi_version and size of the descriptor, and the
 *      declaration of every key (type, choices, range, default).
 *   2. The core validates the [rule.NAME] config section against `keys`:
 *      unknown keys, values of the wrong type and values outside a
 *      declared range are rejected, with the file, line and key, before
 *      the plugin sees them; absent keys take their declared default.
 *   3. init() is called once, if there is one; it may read its
 *      configuration, quote the identifiers it needs and keep private
 *      state.
 *   4. plan() is called once; it describes its work as steps through
 *      api->add_step().  It runs no SQL: the core owns the database
 *      connection and every transaction.  A rule may read its whole
 *      configuration in plan() and need neither init() nor fini().
 *   5. fini() is called once, whatever happened, if init() succeeded.
 *
 * All plugins are initialised and planned before the first row is deleted,
 * so a plugin that fails in init() or plan() stops the run with exit code
 * 78 and nothing deleted.  `mfa-sweeper --print-plan` runs steps 1 to 5
 * and prints every step planned, connecting to nothing: a plugin's plan
 * can be tested in CI without a database.
 *
 * Errors: a callback that fails returns non-zero and may write one
 * lowercase line into its `err` buffer.  A host function that refuses a
 * call during a callback also tells the core why (which key, which value,
 * which field of the step), and the core prints that with the rule's
 * error: "rule 'x': plan failed: add_step(): the step has no key_column;
 * ...".  So a plugin may simply return the failure it got,
 *
 *     if (api->config_column(ctx, "used_at_column", used, sizeof(used)))
 *             return -1;
 *
 * and leave err empty.  plan() that returns 0 although add_step() refused
 * a step fails all the same: the step it meant to add would be missing.
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
 * plugin reports covers them, and host functions added later are there
 * only when SWEEPER_API_HAS() says so.  Added since the first release of
 * version 1: struct sweeper_step's time_columns (the time columns a step
 * compares, checked against [database] time_zone); a range in the
 * `choices` of int and duration keys; the host functions from
 * config_column() on; SWEEPER_PLUGIN() and the public limits below.
 *
 * C++: the header compiles as C++ (g++ and clang++; designated
 * initialisers need C++20, or a compiler that takes them as an extension,
 * and must follow the order of the members, as SWEEPER_PLUGIN()'s
 * example does).  SWEEPER_PLUGIN() and SWEEPER_PLUGIN_DEFINE() give the
 * entry point C linkage, so the loader finds it by its plain name.
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

/*
 * Public limits.
 *
 * SWEEPER_MAX_PARAMS: the most placeholders ($1..$64) and parameters one
 * step predicate or user filter may have.
 *
 * SWEEPER_NAME_MAX: the longest part of a name, in bytes, as PostgreSQL
 * reads it (NAMEDATALEN - 1).  PostgreSQL would cut a longer one short
 * into another name without an error, so the host refuses it.
 *
 * SWEEPER_QUOTED_MAX: a buffer that holds any name quote_ident(),
 * quote_column(), config_column() or schema_column() writes, NUL
 * included: two parts of SWEEPER_NAME_MAX bytes, each of which may be all
 * double quotes (doubled when quoted) between its own two quotes, and the
 * dot between them.
 *
 * SWEEPER_INTERVAL_MAX: a buffer that holds any interval config_interval()
 * writes, such as "3153600000000 milliseconds", NUL included.
 */
#define SWEEPER_MAX_PARAMS 64
#define SWEEPER_NAME_MAX 63
#define SWEEPER_QUOTED_MAX (2 * (2 * SWEEPER_NAME_MAX + 2) + 2)
#define SWEEPER_INTERVAL_MAX 32

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
	SWEEPER_KEY_DURATION = 4, /* number with unit ms, s, m, h or d; or 0;
				     at most 36500d */
	SWEEPER_KEY_ENUM = 5      /* one of `choices` */
};

/*
 * One config key a plugin accepts in its [rule.NAME] section.  A plugin
 * declares its keys as a static array ending with SWEEPER_KEYS_END (an
 * entry whose name is NULL).  The core owns nothing here: the array must
 * stay valid as long as the plugin is loaded (static storage is the normal
 * case).
 *
 *     static const struct sweeper_key keys[] = {
 *             { "table", SWEEPER_KEY_STRING, "password_reset_tokens",
 *               NULL, "the tokens' table, as table or schema.table" },
 *             { "max_age", SWEEPER_KEY_DURATION, "7d",
 *               SWEEPER_RANGE("1h", "3650d"),
 *               "delete tokens expired longer ago than this" },
 *             { "mode", SWEEPER_KEY_ENUM, "keep", "keep|delete",
 *               "what to do with unconfirmed tokens" },
 *             SWEEPER_KEYS_END
 *     };
 *
 * `choices` means what the type makes of it:
 *   - SWEEPER_KEY_ENUM: the values allowed, "keep|delete" (required).
 *   - SWEEPER_KEY_INT and SWEEPER_KEY_DURATION: the range allowed, as
 *     SWEEPER_RANGE(min, max) writes it, "1h..3650d", both ends included;
 *     either end may be left out ("1h..", "..3650d"); NULL for any value
 *     of the type.  The core refuses a value outside it at config check,
 *     naming file, line, key and range, so the plugin need not check it.
 *   - other types: ignored.
 * The loader refuses a plugin whose declaration does not hold together
 * (an unknown type, an enum without choices, a range that does not parse
 * or whose min is above its max), naming the key.
 */
struct sweeper_key {
	const char *name;            /* key name, e.g. "max_age" */
	enum sweeper_key_type type;
	const char *default_value;   /* as written in config; NULL = required */
	const char *choices;         /* enum: "keep|delete"; int, duration:
					a range, SWEEPER_RANGE("1h", "30d") */
	const char *help;            /* one line shown by --list-rules */
};

/* The range "min..max" of an int or duration key; min and max are string
 * literals, "" for an end left open. */
#define SWEEPER_RANGE(min, max) min ".." max

/* The entry that ends a key array; the same in C and C++. */
#define SWEEPER_KEYS_END \
	{ NULL, (enum sweeper_key_type)0, NULL, NULL, NULL }

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
 * `table` for which `predicate` is true, each batch one transaction.
 * Filled in by the plugin and passed to api->add_step(), which copies
 * every string: the struct and its strings may live on the plugin's stack.
 *
 * Required: size, table, key_column and predicate (add_step() refuses a
 * step without one, and says which); params when nparams > 0, and
 * time_columns when ntime_columns > 0.  Everything else may be 0 or NULL.
 *
 * Quoting: `table`, `key_column`, `user_column` and the time columns are
 * written unquoted, as in config ("schema.table", "Odd Name"): the core
 * quotes them itself, and quoting them again would name something else.
 * Every name the plugin writes into `predicate` is its own SQL and must be
 * quoted there: columns through quote_column() (or config_column() /
 * schema_column(), which read and quote in one call), tables of its own
 * subqueries through quote_ident().  Values never go into the text: they
 * are parameters.
 *
 * How a step is walked is the core's plan, made once per step before the
 * first batch (mfa-sweeper-plugin(7), "How steps are walked"), and no
 * plugin depends on it.  The first that applies:
 *   - by named users: a scoped run, for a step with a user_column; the
 *     named users' rows through that column (its index, if any);
 *   - by key, in key order, after a keyset cursor: a partitioned or
 *     inherited table (where a ctid names no row), a fixed batch_size,
 *     or PostgreSQL 13 and older;
 *   - by users: a rule with a user filter (set_user_filter()) and an
 *     index that leads with `user_column`: windows of the users table's
 *     blocks, the filtered users' rows through that index;
 *   - by index: the planner finds the matching rows through an index;
 *   - by heap blocks: windows of the table's blocks, each deleted by one
 *     plain DELETE.
 * A fixed batch_size caps every batch at that many rows; it does not fill
 * each one (a batch ends with its window of keys where matching rows are
 * sparse).  The key also names the rows the database refuses to delete.  Each batch re-evaluates the predicate
 * on the rows it deletes, so a predicate must be true of a row exactly
 * when the row should go, whatever order the rows are visited in.
 * `mfa-sweeper --explain` prints each step's plan: the walk and why, the
 * key, the first batch's statement with PostgreSQL's plan for it, and the
 * walk's other statements; `--print-plan` prints the steps without a
 * database.
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
	 * the last key it deleted.  A key_column the plugin read from a
	 * config key (through config_get(), schema_get() or their quoting
	 * readers) is only that key's default while the config does not
	 * write it: the core then walks the table's one-column primary key,
	 * read from the catalog, and names that key in its messages.
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
	 * with identifiers quoted through api->quote_column() or
	 * api->quote_ident() and every value written as a placeholder
	 * $1..$nparams.  NULL makes a row stay: see mfa-sweeper-plugin(7),
	 * "RULES A PLUGIN MUST FOLLOW".
	 */
	const char *predicate;
	/* Number of placeholders and their values, sent as text parameters:
	 * cast them in the predicate ($1::interval).  A NULL entry in params
	 * is SQL NULL.  At most SWEEPER_MAX_PARAMS.  The core appends its own
	 * parameters after these, so a $n above nparams names one of the
	 * core's, with another type: number them from $1 without gaps. */
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
	 * The predicate once more, written for a statement that has already
	 * joined the row's user: a boolean SQL expression over the row
	 * (alias SWEEPER_TARGET_ALIAS) and its user (alias
	 * SWEEPER_USER_ALIAS: the row of the [schema] users table whose
	 * user_id_column equals the row's user_column), true of the pair
	 * exactly when `predicate` is true of the row, with the same
	 * placeholders $1..$nparams.  NULL or "": none.
	 *
	 * Only read for a step with a user_column, in a rule with a user
	 * filter.  A window of the walk by users that joins its users, and
	 * a window of named users, then delete with
	 *     DELETE FROM <table> AS t USING <users> AS u
	 *     WHERE u.<user_id> = t.<user_column> AND <the window's users>
	 *       AND (<user filter>) AND (<joined_predicate>)
	 * instead of testing `predicate`, which would look each row's user
	 * up a second time (user_disabled's EXISTS): 10 to 17% of a window's
	 * time on a bulk disable (doc/benchmarks.md).  Every other statement
	 * (capped batches, counts, estimates) still uses `predicate`, so the
	 * two must agree; the user filter is there in both.  A subquery of
	 * its own must not alias a table SWEEPER_USER_ALIAS.
	 */
	const char *joined_predicate;
};

/*
 * Facts about the current run, for plugins whose plan depends on them.
 * Returned by api->run_info(); owned by the host, valid during the callback.
 */
struct sweeper_run_info {
	uint32_t size;       /* sizeof as compiled into the host */
	int dry_run;         /* 1 when the run deletes nothing: --dry-run,
				--check-config, --explain, --print-plan */
	int now;             /* 1 with --now: ignore grace periods */
	int scoped;          /* 1 when restricted to named users */
};

/* Opaque per-rule context the host passes to every callback. */
struct sweeper_ctx;

/*
 * The host API table, in the manner of SQLite's sqlite3_api_routines: the
 * plugin calls the host only through it.  New functions are appended at the
 * end; a plugin that needs one added after the first release of ABI
 * version 1 checks that the host has it first:
 *
 *     if (!SWEEPER_API_HAS(api, config_column))
 *             ... fall back, or fail with a message saying so ...
 *
 * Unless stated otherwise, functions return SWEEPER_OK (0) on success and a
 * negative enum sweeper_status on failure; `ctx` is the context the
 * callback received, and must not be kept after the callback returns.  A
 * function that fails inside init() or plan() also tells the core why
 * (see "Errors" above).
 */
struct sweeper_host_api {
	uint32_t size;          /* sizeof(struct sweeper_host_api) in the host */
	uint32_t abi_version;   /* SWEEPER_ABI_VERSION of the host */

	/*
	 * Value of a declared key of this rule's section, after validation
	 * and defaults.  Returns a borrowed string valid until fini(), or
	 * NULL if the plugin did not declare `key` (or declared it without a
	 * default and the config does not set it, which config validation
	 * refuses before init()).
	 */
	const char *(*config_get)(struct sweeper_ctx *ctx, const char *key);

	/*
	 * Typed readers of declared keys.  On success store the value in
	 * *out and return SWEEPER_OK.  SWEEPER_ERR_NOKEY if `key` is not
	 * declared, SWEEPER_ERR_TYPE if it was declared with another type.
	 * Durations come in milliseconds.  A declared range has been checked
	 * already: the value lies within it.
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
	 * to `buf` (SWEEPER_QUOTED_MAX always suffices).  SWEEPER_ERR_RANGE
	 * if it does not fit, if `name` is empty or not valid UTF-8 text
	 * without control characters, or if a part is longer than
	 * SWEEPER_NAME_MAX bytes (PostgreSQL would silently cut it short into
	 * another name).
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
	 * everything it keeps.  SWEEPER_ERR_RANGE when `size` is not set, a
	 * required field is missing, nparams is negative or above
	 * SWEEPER_MAX_PARAMS, ntime_columns is negative or above
	 * SWEEPER_MAX_TIME_COLUMNS or a time column has no name; the core
	 * reports which.
	 */
	int (*add_step)(struct sweeper_ctx *ctx, const struct sweeper_step *step);

	/* Facts about this run; never NULL, owned by the host. */
	const struct sweeper_run_info *(*run_info)(struct sweeper_ctx *ctx);

	/*
	 * Optionally declare which users the rule acts on, as a boolean SQL
	 * expression over the [schema] users table aliased SWEEPER_USER_ALIAS,
	 * with $1..$nparams placeholders like a step predicate.  It must
	 * hold for the user of every row a step's predicate matches (the
	 * predicate implies it): the core may then reach a step's rows
	 * through the filtered users only (the walks by users and by named
	 * users), and in scoped runs it reports the named users the rule
	 * skips (for instance an enrolled user).  Only valid inside plan();
	 * a second call replaces the first.  Copies its arguments.
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

	/*
	 * The functions below were added after the first release of ABI
	 * version 1: check SWEEPER_API_HAS(api, fn) before calling one in a
	 * plugin that must also load into an older mfa-sweeper.
	 */

	/*
	 * Read the string key `key` of the rule's section and quote it as
	 * one column name (quote_column()) into `buf` (SWEEPER_QUOTED_MAX
	 * bytes suffice): config value to quoted identifier in one call.
	 * SWEEPER_ERR_NOKEY / SWEEPER_ERR_TYPE as the typed readers;
	 * SWEEPER_ERR_RANGE when the value is empty or not one column name.
	 * On failure the core is told the key, the value, and the file and
	 * line it was written on.  The unquoted value is config_get()'s.
	 */
	int (*config_column)(struct sweeper_ctx *ctx, const char *key,
			     char *buf, size_t size);

	/* config_column() for a key of [schema], e.g. "code_used_at_column". */
	int (*schema_column)(struct sweeper_ctx *ctx, const char *key,
			     char *buf, size_t size);

	/*
	 * Write the duration key `key` as the text of an interval parameter,
	 * "86400000 milliseconds", for a predicate that casts it:
	 * `t."expires_at" < now() - $1::interval`.  Milliseconds keep it
	 * exact ("1 day" would be a calendar day, 23 or 25 hours across a
	 * daylight saving change).  SWEEPER_INTERVAL_MAX bytes suffice.
	 * Errors as config_duration_ms(), and SWEEPER_ERR_RANGE when `size`
	 * is too small.
	 */
	int (*config_interval)(struct sweeper_ctx *ctx, const char *key,
			       char *buf, size_t size);

	/*
	 * Read the enum key `key`: *out is the position of its value among
	 * the declared choices, from 0 ("keep|delete": keep is 0, delete 1).
	 * Errors as the typed readers.
	 */
	int (*config_enum)(struct sweeper_ctx *ctx, const char *key, int *out);
};

/*
 * Whether the host's table has the function `fn`: a plugin built against
 * this header may be loaded by an older mfa-sweeper whose table ends
 * earlier.
 */
#define SWEEPER_API_HAS(api, fn) \
	((api)->size >= offsetof(struct sweeper_host_api, fn) + \
	 sizeof((api)->fn))

/*
 * The descriptor of a plugin, returned by its entry function.  It must stay
 * valid while the plugin is loaded: a static const object, which
 * SWEEPER_PLUGIN() declares.
 */
struct sweeper_plugin {
	uint32_t magic;          /* SWEEPER_PLUGIN_MAGIC */
	uint32_t abi_version;    /* SWEEPER_ABI_VERSION the plugin was built for */
	uint32_t size;           /* sizeof(struct sweeper_plugin) in the plugin */
	const char *name;        /* rule name; must equal the file name sans .so */
	const char *version;     /* plugin's own version, free text */
	const char *description; /* one line for --list-rules */
	const struct sweeper_key *keys; /* declared keys, SWEEPER_KEYS_END
					   terminated; NULL when the rule
					   takes none */

	/*
	 * Called once after config validation.  May store private state in
	 * *state (freed by fini()).  On failure return non-zero, having
	 * written one lowercase line naming the problem into err (at most
	 * errlen bytes, NUL included), or left err empty when a host
	 * function's refusal says it all: the run stops with exit 78.  May be
	 * NULL.
	 */
	int (*init)(const struct sweeper_host_api *api, struct sweeper_ctx *ctx,
		    void **state, char *err, size_t errlen);

	/*
	 * Called once to describe the rule's work through api->add_step();
	 * `state` is what init() stored, or NULL.  Same error convention as
	 * init().  Required.  A plan with no step is valid but warned about.
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

/* The entry point has C linkage wherever the macros below expand. */
#ifdef __cplusplus
#define SWEEPER_EXTERN_C extern "C"
#else
#define SWEEPER_EXTERN_C
#endif

/*
 * Declare the plugin in one statement, with named fields, valid C and C++:
 *
 *     SWEEPER_PLUGIN(.name = "my_rule", .version = "1.0",
 *                    .description = "what it deletes", .keys = my_keys,
 *                    .init = NULL, .plan = my_plan, .fini = NULL);
 *
 * It fills in magic, abi_version and size, defines the descriptor and
 * exports sweeper_plugin_entry().  Fields left out are NULL (g++ may warn
 * about them under -Wextra; naming them as NULL, as above, keeps it
 * quiet).  In C++ the fields must come in the order of struct
 * sweeper_plugin, as above.
 */
#define SWEEPER_PLUGIN(...) \
	static const struct sweeper_plugin sweeper_plugin_descriptor = { \
		.magic = SWEEPER_PLUGIN_MAGIC, \
		.abi_version = SWEEPER_ABI_VERSION, \
		.size = (uint32_t)sizeof(struct sweeper_plugin), \
		__VA_ARGS__ \
	}; \
	SWEEPER_PLUGIN_DEFINE(sweeper_plugin_descriptor) \
	SWEEPER_EXTERN_C SWEEPER_EXPORT \
	const struct sweeper_plugin *sweeper_plugin_entry(void)

/*
 * The older, positional form, which keeps compiling: a descriptor whose
 * first three fields are SWEEPER_PLUGIN_HEADER, exported with
 * SWEEPER_PLUGIN_DEFINE(), placed once, after the descriptor.
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
	SWEEPER_EXTERN_C SWEEPER_EXPORT \
	const struct sweeper_plugin *sweeper_plugin_entry(void); \
	SWEEPER_EXTERN_C SWEEPER_EXPORT \
	const struct sweeper_plugin *sweeper_plugin_entry(void) \
	{ \
		return &(descriptor); \
	}

#ifdef __cplusplus
}
#endif

#endif /* SWEEPER_PLUGIN_H */
