/*
 * user_disabled: delete the MFA artifacts a user left behind by disabling
 * MFA (DESIGN.md section 3).
 *
 * For every user U with NOT mfa_enrolled AND mfa_disabled_at IS NOT NULL
 * AND mfa_disabled_at <= now() - grace, the rule deletes U's backup codes
 * and TOTP devices created at or before U.mfa_disabled_at (a NULL
 * created_at counts as before).  Confirmed devices go too unless
 * delete_confirmed_devices = false.
 *
 * The created-at guard keeps what a user who disabled MFA last month and
 * is re-enrolling right now has just made.  A user who re-enabled MFA has
 * mfa_enrolled true and loses nothing.
 *
 * NULLs: every test on a flag is written so that a NULL makes it unknown,
 * and an unknown WHERE clause deletes nothing.  NOT u.mfa_enrolled is NULL
 * for a NULL flag, so the EXISTS finds no user; NOT t.confirmed is NULL for
 * a NULL flag, so the device stays.
 *
 * Codes go first, then devices: a backup code is a secret that works on
 * its own, so if a run is cut short (max_runtime, a lock timeout) the
 * usable credentials are the ones already gone.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* asprintf() */
#endif

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sweeper/plugin.h>

#define RULE_NAME "user_disabled"

/* Room for any identifier the host quotes, "schema"."table" included. */
#define QUOTED_MAX 520

/* Room for a duration parameter such as "86400000000000 milliseconds". */
#define INTERVAL_MAX 48

/*
 * The longest grace accepted: one million days.  now() minus more than
 * about 6,700 years leaves PostgreSQL's timestamp range, and the batch would
 * fail at run time; refusing it here turns that into a config error.
 */
#define DURATION_MAX_MS (1000000LL * 86400000LL)

static const struct sweeper_key user_disabled_keys[] = {
	{ "grace", SWEEPER_KEY_DURATION, "5m", NULL,
	  "how long after disabling MFA a user's artifacts are kept (0 = none)" },
	{ "delete_confirmed_devices", SWEEPER_KEY_BOOL, "true", NULL,
	  "also delete confirmed TOTP devices, not only unconfirmed ones" },
	{ NULL, 0, NULL, NULL, NULL }
};

/* What init() works out and plan() hands to the host. */
struct user_disabled_state {
	/* $1 of every predicate: the grace as an interval literal. */
	char grace[INTERVAL_MAX];

	/*
	 * Unquoted names for the steps, borrowed from the host's [schema]
	 * values, which stay valid until fini().
	 */
	const char *codes_table;
	const char *code_id;
	const char *code_user;
	const char *devices_table;
	const char *device_id;
	const char *device_user;

	/* Owned SQL text. */
	char *codes_predicate;
	char *devices_predicate;
	char *user_filter;
};

/* The quoted identifiers the SQL text is built from. */
struct user_disabled_idents {
	char users[QUOTED_MAX];
	char user_id[QUOTED_MAX];
	char enrolled[QUOTED_MAX];
	char disabled_at[QUOTED_MAX];
	char code_user[QUOTED_MAX];
	char code_created_at[QUOTED_MAX];   /* "" when not configured */
	char device_user[QUOTED_MAX];
	char device_confirmed[QUOTED_MAX];
	char device_created_at[QUOTED_MAX]; /* "" when not configured */
};

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
 * Copy at most 80 bytes of a config value into buf for an error message,
 * replacing control characters, so that the message stays one line even
 * when the value is the very thing being rejected.
 */
static const char *printable(const char *value, char *buf, size_t size)
{
	size_t i;

	for (i = 0; value[i] && i < 80 && i + 1 < size; i++) {
		unsigned char c = (unsigned char)value[i];

		buf[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
	}
	buf[i] = '\0';
	return buf;
}

/*
 * True when `q` is exactly one double-quoted identifier.  The host quotes
 * "schema.table" as two parts; a column name must be one, or t."a"."b"
 * would name something else than a column of the row.
 */
static int is_one_quoted_part(const char *q)
{
	size_t n = strlen(q);
	size_t i;

	if (n < 2 || q[0] != '"' || q[n - 1] != '"')
		return 0;
	for (i = 1; i < n - 1; i++) {
		if (q[i] != '"')
			continue;
		/* Inside the quotes a double quote only appears doubled. */
		if (i + 1 >= n - 1 || q[i + 1] != '"')
			return 0;
		i++;
	}
	return 1;
}

/*
 * Read the [schema] key `key` into *value.  A required key must be set; an
 * optional one may be empty.
 */
static int schema_value(const struct sweeper_host_api *api,
			struct sweeper_ctx *ctx, const char *key, int required,
			const char **value, char *err, size_t errlen)
{
	const char *v = api->schema_get(ctx, key);

	if (!v) {
		set_err(err, errlen,
			"[schema] %s is unknown to this sweeper; rule %s needs a sweeper that has it",
			key, RULE_NAME);
		return -1;
	}
	if (required && !*v) {
		set_err(err, errlen,
			"[schema] %s is empty; rule %s needs it, set it to a name in your database",
			key, RULE_NAME);
		return -1;
	}
	*value = v;
	return 0;
}

/*
 * Quote the [schema] value of `key` into buf (QUOTED_MAX bytes).  `column`
 * demands a single identifier, as opposed to a table's "schema.table".
 */
static int quote_schema(const struct sweeper_host_api *api,
			struct sweeper_ctx *ctx, const char *key,
			const char *value, int column, char *buf, char *err,
			size_t errlen)
{
	char shown[96];

	if (api->quote_ident(ctx, value, buf, QUOTED_MAX) != SWEEPER_OK) {
		set_err(err, errlen,
			"[schema] %s = '%s' is not a valid sql identifier",
			key, printable(value, shown, sizeof(shown)));
		return -1;
	}
	if (column && !is_one_quoted_part(buf)) {
		set_err(err, errlen,
			"[schema] %s = '%s' is not a single column name; write the column without a table or schema",
			key, printable(value, shown, sizeof(shown)));
		return -1;
	}
	return 0;
}

/* Read a required [schema] key and quote it. */
static int schema_quoted(const struct sweeper_host_api *api,
			 struct sweeper_ctx *ctx, const char *key, int column,
			 char *buf, char *err, size_t errlen)
{
	const char *value;

	if (schema_value(api, ctx, key, 1, &value, err, errlen))
		return -1;
	return quote_schema(api, ctx, key, value, column, buf, err, errlen);
}

/* Read an optional [schema] column and quote it, or leave buf "" if empty. */
static int schema_quoted_optional(const struct sweeper_host_api *api,
				  struct sweeper_ctx *ctx, const char *key,
				  char *buf, char *err, size_t errlen)
{
	const char *value;

	buf[0] = '\0';
	if (schema_value(api, ctx, key, 0, &value, err, errlen))
		return -1;
	if (!*value)
		return 0;
	return quote_schema(api, ctx, key, value, 1, buf, err, errlen);
}

/*
 * The grace period as the text of $1.  Milliseconds keep it exact:
 * "1 day" would mean a calendar day in the session's time zone, which is
 * not 24 hours across a daylight saving change.
 */
static int read_grace(const struct sweeper_host_api *api,
		      struct sweeper_ctx *ctx, char *buf, size_t size,
		      char *err, size_t errlen)
{
	char shown[96];
	const char *written;
	long long ms;
	int rc;

	rc = api->config_duration_ms(ctx, "grace", &ms);
	if (rc != SWEEPER_OK) {
		set_err(err, errlen,
			"grace: the sweeper could not read the value (status %d)",
			rc);
		return -1;
	}
	written = api->config_get(ctx, "grace");
	if (!written)
		written = "?";
	if (ms < 0 || ms > DURATION_MAX_MS) {
		set_err(err, errlen,
			"grace = %s is out of range; write at most 1000000d",
			printable(written, shown, sizeof(shown)));
		return -1;
	}
	/* --now means "immediately", whatever grace the config sets. */
	if (api->run_info(ctx)->now) {
		if (ms)
			api->log(ctx, SWEEPER_LOG_INFO,
				 "--now: ignoring grace = %s",
				 printable(written, shown, sizeof(shown)));
		ms = 0;
	}
	snprintf(buf, size, "%lld milliseconds", ms);
	return 0;
}

/*
 * The predicate over one artifact table (codes or devices): the row's
 * owner disabled MFA at least the grace ago and the row is not newer than
 * that disable.  `created_at` is "" when the table has no such column, in
 * which case every row of the owner counts as older than the disable.
 * `extra` is appended verbatim after the EXISTS ("" for none).
 */
static char *artifact_predicate(const struct user_disabled_idents *id,
				const char *owner, const char *created_at,
				const char *extra)
{
	char *guard = NULL;
	char *sql = NULL;

	if (*created_at) {
		if (asprintf(&guard,
			     " AND (t.%s IS NULL OR t.%s <= u.%s)",
			     created_at, created_at, id->disabled_at) < 0) {
			guard = NULL;
			goto out;
		}
	}
	if (asprintf(&sql,
		     "EXISTS (SELECT 1 FROM %s AS u"
		     " WHERE u.%s = t.%s"
		     " AND NOT u.%s"
		     " AND u.%s IS NOT NULL"
		     " AND u.%s <= now() - $1::interval%s)%s",
		     id->users, id->user_id, owner, id->enrolled,
		     id->disabled_at, id->disabled_at, guard ? guard : "",
		     extra) < 0)
		sql = NULL;
out:
	free(guard);
	return sql;
}

static void user_disabled_free(struct user_disabled_state *st)
{
	if (!st)
		return;
	free(st->codes_predicate);
	free(st->devices_predicate);
	free(st->user_filter);
	free(st);
}

/*
 * Read the [schema] name of a step's table or key, which the core quotes
 * itself.  It is quoted here once anyway, and thrown away, so that a bad
 * name is reported now by its key rather than by the first batch.
 */
static int schema_step_name(const struct sweeper_host_api *api,
			    struct sweeper_ctx *ctx, const char *key,
			    int column, const char **value, char *err,
			    size_t errlen)
{
	char scratch[QUOTED_MAX];

	if (schema_value(api, ctx, key, 1, value, err, errlen))
		return -1;
	return quote_schema(api, ctx, key, *value, column, scratch, err,
			    errlen);
}

/* Quote every identifier the SQL uses, and note the unquoted step names. */
static int read_schema(const struct sweeper_host_api *api,
		       struct sweeper_ctx *ctx, struct user_disabled_state *st,
		       struct user_disabled_idents *id, char *err,
		       size_t errlen)
{
	if (schema_quoted(api, ctx, "users_table", 0, id->users, err,
			  errlen) ||
	    schema_quoted(api, ctx, "user_id_column", 1, id->user_id, err,
			  errlen) ||
	    schema_quoted(api, ctx, "mfa_enrolled_column", 1, id->enrolled,
			  err, errlen) ||
	    schema_quoted(api, ctx, "mfa_disabled_at_column", 1,
			  id->disabled_at, err, errlen))
		return -1;

	if (schema_step_name(api, ctx, "codes_table", 0, &st->codes_table,
			     err, errlen) ||
	    schema_step_name(api, ctx, "code_id_column", 1, &st->code_id,
			     err, errlen) ||
	    schema_step_name(api, ctx, "code_user_column", 1, &st->code_user,
			     err, errlen) ||
	    quote_schema(api, ctx, "code_user_column", st->code_user, 1,
			 id->code_user, err, errlen) ||
	    schema_quoted_optional(api, ctx, "code_created_at_column",
				   id->code_created_at, err, errlen))
		return -1;

	if (schema_step_name(api, ctx, "devices_table", 0,
			     &st->devices_table, err, errlen) ||
	    schema_step_name(api, ctx, "device_id_column", 1, &st->device_id,
			     err, errlen) ||
	    schema_step_name(api, ctx, "device_user_column", 1,
			     &st->device_user, err, errlen) ||
	    quote_schema(api, ctx, "device_user_column", st->device_user, 1,
			 id->device_user, err, errlen) ||
	    schema_quoted(api, ctx, "device_confirmed_column", 1,
			  id->device_confirmed, err, errlen) ||
	    schema_quoted_optional(api, ctx, "device_created_at_column",
				   id->device_created_at, err, errlen))
		return -1;
	return 0;
}

static int user_disabled_init(const struct sweeper_host_api *api,
			      struct sweeper_ctx *ctx, void **state,
			      char *err, size_t errlen)
{
	struct user_disabled_state *st;
	struct user_disabled_idents *id;
	char *confirmed_only = NULL;
	int delete_confirmed;
	int ret = -1;
	int rc;

	st = calloc(1, sizeof(*st));
	/* Nine quoted names are too much for a plugin's share of the stack. */
	id = calloc(1, sizeof(*id));
	if (!st || !id) {
		set_err(err, errlen, "out of memory");
		goto out;
	}

	if (read_grace(api, ctx, st->grace, sizeof(st->grace), err, errlen))
		goto out;
	rc = api->config_bool(ctx, "delete_confirmed_devices",
			      &delete_confirmed);
	if (rc != SWEEPER_OK) {
		set_err(err, errlen,
			"delete_confirmed_devices: the sweeper could not read the value (status %d)",
			rc);
		goto out;
	}
	if (read_schema(api, ctx, st, id, err, errlen))
		goto out;

	/*
	 * Without confirmed devices the device step also needs the row to be
	 * known unconfirmed: NOT of a NULL flag is NULL, so a device whose
	 * confirmed is NULL stays.
	 */
	if (!delete_confirmed) {
		if (asprintf(&confirmed_only, " AND NOT t.%s",
			     id->device_confirmed) < 0) {
			confirmed_only = NULL;
			set_err(err, errlen, "out of memory");
			goto out;
		}
	}

	st->codes_predicate = artifact_predicate(id, id->code_user,
						 id->code_created_at, "");
	st->devices_predicate = artifact_predicate(id, id->device_user,
						   id->device_created_at,
						   confirmed_only ?
						   confirmed_only : "");
	if (asprintf(&st->user_filter,
		     "NOT u.%s AND u.%s IS NOT NULL AND u.%s <= now() - $1::interval",
		     id->enrolled, id->disabled_at, id->disabled_at) < 0)
		st->user_filter = NULL;
	if (!st->codes_predicate || !st->devices_predicate ||
	    !st->user_filter) {
		set_err(err, errlen, "out of memory");
		goto out;
	}

	*state = st;
	st = NULL;
	ret = 0;
out:
	free(confirmed_only);
	free(id);
	user_disabled_free(st);
	return ret;
}

static int user_disabled_plan(const struct sweeper_host_api *api,
			      struct sweeper_ctx *ctx, void *state,
			      char *err, size_t errlen)
{
	const struct user_disabled_state *st = state;
	const char *params[1] = { st->grace };
	struct sweeper_step codes = {
		.size = sizeof(struct sweeper_step),
		.table = st->codes_table,
		.key_column = st->code_id,
		.user_column = st->code_user,
		.predicate = st->codes_predicate,
		.nparams = 1,
		.params = params,
		.label = "backup codes",
	};
	struct sweeper_step devices = {
		.size = sizeof(struct sweeper_step),
		.table = st->devices_table,
		.key_column = st->device_id,
		.user_column = st->device_user,
		.predicate = st->devices_predicate,
		.nparams = 1,
		.params = params,
		.label = "totp devices",
	};
	int rc;

	rc = api->add_step(ctx, &codes);
	if (rc != SWEEPER_OK) {
		set_err(err, errlen,
			"cannot add the backup codes step on %s (status %d)",
			st->codes_table, rc);
		return -1;
	}
	rc = api->add_step(ctx, &devices);
	if (rc != SWEEPER_OK) {
		set_err(err, errlen,
			"cannot add the totp devices step on %s (status %d)",
			st->devices_table, rc);
		return -1;
	}
	rc = api->set_user_filter(ctx, st->user_filter, 1, params);
	if (rc != SWEEPER_OK) {
		set_err(err, errlen, "cannot set the user filter (status %d)",
			rc);
		return -1;
	}
	return 0;
}

static void user_disabled_fini(void *state)
{
	user_disabled_free(state);
}

static const struct sweeper_plugin user_disabled = {
	SWEEPER_PLUGIN_HEADER,
	RULE_NAME,
	"1.0",
	"delete backup codes and TOTP devices of users who disabled MFA",
	user_disabled_keys,
	user_disabled_init,
	user_disabled_plan,
	user_disabled_fini
};

SWEEPER_PLUGIN_DEFINE(user_disabled)
