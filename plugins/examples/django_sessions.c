/*
 * django_sessions: an example rule plugin that deletes expired rows of
 * Django's session table.
 *
 * This file is meant to be copied.  It is a complete, working plugin for a
 * rule that has nothing to do with MFA, written to show every part a team
 * needs for its own rule: the descriptor, declared config keys, init() that
 * reads and checks configuration, plan() that hands the work to the core,
 * and fini() that frees what init() kept.  mfa-sweeper-plugin(7)
 * walks through building, installing and enabling it; the shorter
 * password_reset_tokens.c next to it shows the helpers that make a
 * one-step rule fit in a page.
 *
 * The table it cleans is the one django.contrib.sessions creates:
 *
 *     CREATE TABLE django_session (
 *         session_key  varchar(40) PRIMARY KEY,
 *         session_data text NOT NULL,
 *         expire_date  timestamptz NOT NULL
 *     );
 *
 * (with USE_TZ = False, Django makes expire_date a "timestamp without time
 * zone" instead, holding local times: see plan() for what that changes),
 * and the rule is: delete every row whose expire_date has passed, which is
 * what Django's own "manage.py clearsessions" does, but in bounded batches
 * that do not hold locks on the whole table for one long transaction.
 *
 * Enable it with, in the sweeper's config:
 *
 *     [sweeper]
 *     rules = user_disabled, stale_devices, used_backup_codes, django_sessions
 *
 *     [rule.django_sessions]
 *     table = django_session        ; or myschema.django_session
 *     key_column = session_key
 *     expire_column = expire_date
 *
 * Build it on its own with
 *
 *     cc -shared -fPIC $(pkg-config --cflags mfa-sweeper-plugin) \
 *         -o django_sessions.so django_sessions.c
 *
 * The flags include -fvisibility=hidden, which keeps every symbol of the
 * plugin private except the one entry point SWEEPER_PLUGIN_DEFINE()
 * exports, so two plugins can both have a static helper called, say,
 * read_keys() without clashing.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/*
 * The only header a plugin needs from the sweeper.  A plugin never links
 * against the sweeper: everything it calls arrives in the `api` table
 * passed to each callback, so the same .so loads into any sweeper speaking
 * plugin ABI version 1.
 */
#include <sweeper/plugin.h>

/*
 * A quoted identifier: the host turns "myschema.django_session" into
 * "myschema"."django_session" and doubles any double quote in a name.  520
 * bytes hold two PostgreSQL identifiers of the longest length, fully
 * quoted, with room to spare.
 */
#define QUOTED_MAX 520

/*
 * The keys this rule accepts in its [rule.django_sessions] section.  The
 * core checks the section against this list before init() runs: an unknown
 * key, or a value of the wrong type, stops the run with an error that names
 * the file, line and key, so the plugin never sees a bad value.  A key left
 * out of the config takes the default written here, exactly as if it had
 * been written in the file.  A NULL default would make the key required.
 *
 * The help text is what `mfa-sweeper --list-rules` prints next to the key.
 * The list ends with an entry whose name is NULL.
 */
static const struct sweeper_key django_sessions_keys[] = {
	{ "table", SWEEPER_KEY_STRING, "django_session", NULL,
	  "session table, as table or schema.table" },
	{ "key_column", SWEEPER_KEY_STRING, "session_key", NULL,
	  "the table's primary key; batches walk the table in its order" },
	{ "expire_column", SWEEPER_KEY_STRING, "expire_date", NULL,
	  "time column after which a session is expired" },
	{ NULL, 0, NULL, NULL, NULL }
};

/*
 * What init() works out once and plan() hands to the core.  The sweeper
 * keeps nothing of the plugin's between callbacks except this pointer, so
 * everything plan() needs lives here.  fini() frees it.
 */
struct django_sessions_state {
	/*
	 * The table and key column, unquoted: the core quotes the names in
	 * a step itself.  These point at the config values, which the host
	 * keeps valid until fini(), so there is no need to copy them.
	 */
	const char *table;
	const char *key_column;
	/* The column the predicate compares with now(), unquoted. */
	const char *expire_column;

	/* The step's WHERE condition, built once in init(). */
	char predicate[QUOTED_MAX + 64];
};

/*
 * Errors from init() and plan() go into the caller's buffer as one
 * lowercase line that names the key and the value at fault; the sweeper
 * prints it with the rule name and stops the run before anything is
 * deleted.  There is no global error state: everything a callback reports
 * goes through err.
 */
__attribute__((format(printf, 3, 4)))
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/*
 * Read the string key `key` and check that it quotes as an identifier.
 * A column (`column` non-zero) goes through quote_column(), which takes
 * exactly one name: quote_ident() accepts "schema.table", which as a
 * column would be t."schema"."table" and name something else.  On success
 * *value is the unquoted text and `quoted` (QUOTED_MAX bytes) its quoted
 * form.
 */
static int read_name(const struct sweeper_host_api *api,
		     struct sweeper_ctx *ctx, const char *key, int column,
		     const char **value, char *quoted, char *err,
		     size_t errlen)
{
	const char *v;
	int rc;

	/* config_get() returns NULL only for a key the plugin never
	 * declared: a typo in this file, not in the user's config. */
	v = api->config_get(ctx, key);
	if (!v) {
		set_err(err, errlen, "%s: key not declared by the plugin",
			key);
		return -1;
	}
	/* A string key may be empty in the config; a name may not. */
	if (!*v) {
		set_err(err, errlen, "%s is empty; write a name, e.g. %s",
			key, column ? "expire_date" : "django_session");
		return -1;
	}
	/*
	 * Never paste a name from config into SQL as it is: quote_ident()
	 * makes any text one identifier, so a name with spaces, capitals or
	 * quotes in it cannot change the meaning of the statement.
	 */
	rc = column ? api->quote_column(ctx, v, quoted, QUOTED_MAX) :
		      api->quote_ident(ctx, v, quoted, QUOTED_MAX);
	if (rc != SWEEPER_OK) {
		/* The value is not printed: what the host rejects includes
		 * control characters, which would break the line. */
		set_err(err, errlen,
			"%s is not a valid %s: too long, badly quoted, with control characters%s",
			key, column ? "column name" : "sql identifier",
			column ? ", or naming a table too" : "");
		return -1;
	}
	*value = v;
	return 0;
}

/*
 * init(): called once, after the config section passed validation and
 * before any plan() of any rule.  Read the configuration, check what the
 * core could not (here: that the names are usable identifiers), and build
 * the SQL.  Failing here is cheap: the run stops with exit code 78 before
 * a single row is deleted, and the message tells the operator what to fix.
 */
static int django_sessions_init(const struct sweeper_host_api *api,
				struct sweeper_ctx *ctx, void **state,
				char *err, size_t errlen)
{
	struct django_sessions_state *st;
	char scratch[QUOTED_MAX];
	char expire[QUOTED_MAX];
	int n;
	int ret = -1;

	st = calloc(1, sizeof(*st));
	if (!st) {
		set_err(err, errlen, "out of memory");
		goto out;
	}

	/*
	 * The table and key column go into the step unquoted, because the
	 * core quotes them itself; they are still quoted here, into scratch,
	 * so that a bad name is reported now, by key, rather than by the
	 * database in the middle of the run.
	 */
	if (read_name(api, ctx, "table", 0, &st->table, scratch, err,
		      errlen) ||
	    read_name(api, ctx, "key_column", 1, &st->key_column, scratch,
		      err, errlen) ||
	    read_name(api, ctx, "expire_column", 1, &st->expire_column, expire,
		      err, errlen))
		goto out;

	/*
	 * The predicate: a boolean SQL expression over one row of the table.
	 * The core runs it as
	 *
	 *     ... FROM <table> AS t WHERE (<predicate>) ...
	 *
	 * so the row's columns are written t.<quoted column> (t is
	 * SWEEPER_TARGET_ALIAS).  "Now" is the database's now(), never this
	 * machine's clock, so that a skewed client clock cannot delete live
	 * sessions.
	 *
	 * This rule needs no values.  A rule that does (an age, a status)
	 * never prints them into the SQL: it writes $1, $2, ... and passes the
	 * values as text in the step's params, casting them in SQL, e.g.
	 *
	 *     t."expire_date" < now() - $1::interval    with "3600000 milliseconds"
	 *
	 * Number them from $1: the core appends its own parameters after the
	 * plugin's.
	 *
	 * A NULL expire_date makes the comparison NULL, and a NULL condition
	 * deletes nothing: a session with no expiry is kept.
	 */
	n = snprintf(st->predicate, sizeof(st->predicate), "t.%s < now()",
		     expire);
	if (n < 0 || (size_t)n >= sizeof(st->predicate)) {
		set_err(err, errlen, "expire_column = '%s' is too long",
			st->expire_column);
		goto out;
	}

	/*
	 * Hand the state to the core only when everything succeeded: fini()
	 * is not called when init() fails, so on failure init() frees what
	 * it allocated itself (below the out: label).
	 */
	*state = st;
	st = NULL;
	ret = 0;
out:
	free(st);
	return ret;
}

/*
 * plan(): describe the work as steps.  plan() runs no SQL and opens no
 * transaction; the core owns the connection, runs each step in batches of
 * batch_size rows, one transaction per batch, walks the table in order of
 * key_column and commits each batch itself.  A plugin never commits.
 *
 * With --dry-run the core counts what each step would delete instead, so
 * plan() does not need to know whether the run is a dry run.
 */
static int django_sessions_plan(const struct sweeper_host_api *api,
				struct sweeper_ctx *ctx, void *state,
				char *err, size_t errlen)
{
	const struct django_sessions_state *st = state;
	/*
	 * Every time column the predicate compares, with now() or with
	 * another time column.  Before the run the core looks up each one's
	 * type: Django with USE_TZ = False writes naive local times into
	 * "timestamp without time zone" columns, which are compared with
	 * now() correctly only in the application's time zone, so for such a
	 * column the core requires [database] time_zone (Django's TIME_ZONE)
	 * and refuses to run without it.  A NULL table means the step's own.
	 */
	const struct sweeper_time_column times[] = {
		{ NULL, st->expire_column },
	};
	struct sweeper_step step = {
		/* The size lets a newer sweeper tell which fields this
		 * plugin knows about. */
		.size = sizeof(struct sweeper_step),
		.table = st->table,
		/*
		 * Must be unique, NOT NULL and orderable: the primary key.
		 * Read from config, so unless the config sets key_column the
		 * sweeper walks the table's primary key, read from the
		 * catalog, and names this key in its messages.
		 */
		.key_column = st->key_column,
		/*
		 * Sessions have no user column the sweeper can use, so NULL:
		 * in a run scoped to users (--user-id, --user-email,
		 * --users-file) the core skips this step rather than delete
		 * other users' rows.
		 */
		.user_column = NULL,
		.predicate = st->predicate,
		.nparams = 0,
		.params = NULL,
		/* Shown in logs and the run summary. */
		.label = "expired sessions",
		.ntime_columns = 1,
		.time_columns = times,
	};
	int rc;

	/* add_step() copies everything, so `step` may live on the stack. */
	rc = api->add_step(ctx, &step);
	if (rc != SWEEPER_OK) {
		set_err(err, errlen, "cannot add the step on table %s (status %d)",
			st->table, rc);
		return -1;
	}
	api->log(ctx, SWEEPER_LOG_DEBUG, "planned: delete from %s where %s",
		 st->table, st->predicate);
	return 0;
}

/* fini(): called once at the end of the run if init() succeeded. */
static void django_sessions_fini(void *state)
{
	free(state);
}

/*
 * The descriptor.  SWEEPER_PLUGIN_HEADER fills in the magic number, the
 * ABI version and the size of the struct as this plugin was compiled, which
 * the loader checks before anything else.  The name must equal the file
 * name without ".so" and the rule's name in `rules =`.
 */
static const struct sweeper_plugin django_sessions = {
	SWEEPER_PLUGIN_HEADER,
	"django_sessions",
	"1.0",
	"delete expired rows of Django's session table",
	django_sessions_keys,
	django_sessions_init,
	django_sessions_plan,
	django_sessions_fini
};

/* Exports sweeper_plugin_entry(), the one symbol the loader looks up. */
SWEEPER_PLUGIN_DEFINE(django_sessions)
