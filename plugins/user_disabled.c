/*
 * user_disabled: delete the MFA artifacts a user left behind by disabling
 * MFA (doc/design.md "Rule semantics").
 *
 * For every user U with NOT mfa_enrolled AND mfa_disabled_at IS NOT NULL
 * AND mfa_disabled_at <= now() - grace, the rule deletes U's backup codes
 * and TOTP devices created at or before U.mfa_disabled_at (a NULL
 * created_at counts as before).  Confirmed devices go too unless
 * delete_confirmed_devices = false.
 *
 * With lookback = L (more than 0), only users whose mfa_disabled_at is
 * also after now() - grace - L count: a run every few minutes then looks
 * at the users who disabled MFA lately, through an index on
 * mfa_disabled_at, whatever the number of users who disabled it long ago;
 * a run without lookback (nightly) still covers them all.
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

#include <stdio.h>
#include <stdlib.h>

#include <sweeper/plugin.h>

#include "builtin.h"

#define RULE_NAME "user_disabled"

static const struct sweeper_key user_disabled_keys[] = {
	{ "grace", SWEEPER_KEY_DURATION, "5m", NULL,
	  "how long after disabling MFA a user's artifacts are kept (0 = none)" },
	{ "delete_confirmed_devices", SWEEPER_KEY_BOOL, "true", NULL,
	  "also delete confirmed TOTP devices, not only unconfirmed ones" },
	{ "lookback", SWEEPER_KEY_DURATION, "0", NULL,
	  "only users who disabled MFA at most this long before the grace ended; for a frequent timer, beside a nightly run without it (0 = every user)" },
	{ NULL, 0, NULL, NULL, NULL }
};

/* What init() works out and plan() hands to the host. */
struct user_disabled_state {
	/* $1 of every predicate: the grace as an interval literal. */
	char grace[INTERVAL_MAX];
	/* $2, with lookback more than 0: the lookback. */
	char lookback[INTERVAL_MAX];
	int nparams;

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
	/* The time columns the predicates compare; a created_at is "" when
	 * not configured. */
	const char *users_table;
	const char *disabled_at;
	const char *code_created_at;
	const char *device_created_at;

	/* Owned SQL text. */
	char *codes_predicate;
	char *devices_predicate;
	char *codes_joined;
	char *devices_joined;
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

/* The grace period as the text of $1. */
static int read_grace(const struct sweeper_host_api *api,
		      struct sweeper_ctx *ctx, char *buf, size_t size,
		      char *err, size_t errlen)
{
	char shown[96];
	const char *written;
	long long ms;

	if (read_duration_ms(api, ctx, "grace", &ms, err, errlen))
		return -1;
	/* --now means "immediately", whatever grace the config sets. */
	if (api->run_info(ctx)->now) {
		if (ms) {
			written = api->config_get(ctx, "grace");
			api->log(ctx, SWEEPER_LOG_INFO,
				 "--now: ignoring grace = %s",
				 printable(written ? written : "?", shown,
					   sizeof(shown)));
		}
		ms = 0;
	}
	interval_param(buf, size, ms);
	return 0;
}

/*
 * The predicate over one artifact table (codes or devices): the row's
 * owner passes the user filter (disabled MFA at least the grace ago) and
 * the row is not newer than that disable.  `created_at` is "" when the
 * table has no such column, in which case every row of the owner counts
 * as older than the disable.  `extra` is appended verbatim ("" for none).
 * Into *predicate the row alone, looking its owner up (EXISTS); into
 * *joined the same over the row and its owner, already joined as alias u
 * (struct sweeper_step's joined_predicate).  Returns 0, or -1 when out of
 * memory.
 */
static int artifact_predicates(const struct user_disabled_idents *id,
			       const char *filter, const char *owner,
			       const char *created_at, const char *extra,
			       char **predicate, char **joined)
{
	char *guard = NULL;
	int ret = -1;

	*predicate = NULL;
	*joined = NULL;
	if (*created_at) {
		if (asprintf(&guard,
			     " AND (t.%s IS NULL OR t.%s <= u.%s)",
			     created_at, created_at, id->disabled_at) < 0) {
			guard = NULL;
			goto out;
		}
	}
	if (asprintf(predicate,
		     "EXISTS (SELECT 1 FROM %s AS u WHERE u.%s = t.%s AND %s%s)%s",
		     id->users, id->user_id, owner, filter, guard ? guard : "",
		     extra) < 0) {
		*predicate = NULL;
		goto out;
	}
	if (asprintf(joined, "%s%s%s", filter, guard ? guard : "", extra) < 0) {
		*joined = NULL;
		goto out;
	}
	ret = 0;
out:
	free(guard);
	return ret;
}

static void user_disabled_free(struct user_disabled_state *st)
{
	if (!st)
		return;
	free(st->codes_predicate);
	free(st->devices_predicate);
	free(st->codes_joined);
	free(st->devices_joined);
	free(st->user_filter);
	free(st);
}

/*
 * Quote every identifier the SQL uses, and note the unquoted names of the
 * steps' tables and columns, which the core quotes itself.
 */
static int read_schema(const struct sweeper_host_api *api,
		       struct sweeper_ctx *ctx, struct user_disabled_state *st,
		       struct user_disabled_idents *id, char *err,
		       size_t errlen)
{
	char scratch[QUOTED_MAX];

	if (schema_name(api, ctx, RULE_NAME, "users_table", SCHEMA_TABLE,
			&st->users_table, id->users, err, errlen) ||
	    schema_name(api, ctx, RULE_NAME, "user_id_column", SCHEMA_COLUMN,
			NULL, id->user_id, err, errlen) ||
	    schema_name(api, ctx, RULE_NAME, "mfa_enrolled_column",
			SCHEMA_COLUMN, NULL, id->enrolled, err, errlen) ||
	    schema_name(api, ctx, RULE_NAME, "mfa_disabled_at_column",
			SCHEMA_COLUMN, &st->disabled_at, id->disabled_at, err,
			errlen))
		return -1;

	if (schema_name(api, ctx, RULE_NAME, "codes_table", SCHEMA_TABLE,
			&st->codes_table, scratch, err, errlen) ||
	    schema_name(api, ctx, RULE_NAME, "code_id_column", SCHEMA_COLUMN,
			&st->code_id, scratch, err, errlen) ||
	    schema_name(api, ctx, RULE_NAME, "code_user_column",
			SCHEMA_COLUMN, &st->code_user, id->code_user, err,
			errlen) ||
	    schema_name(api, ctx, RULE_NAME, "code_created_at_column",
			SCHEMA_COLUMN | SCHEMA_OPTIONAL, &st->code_created_at,
			id->code_created_at, err, errlen))
		return -1;

	if (schema_name(api, ctx, RULE_NAME, "devices_table", SCHEMA_TABLE,
			&st->devices_table, scratch, err, errlen) ||
	    schema_name(api, ctx, RULE_NAME, "device_id_column",
			SCHEMA_COLUMN, &st->device_id, scratch, err, errlen) ||
	    schema_name(api, ctx, RULE_NAME, "device_user_column",
			SCHEMA_COLUMN, &st->device_user, id->device_user, err,
			errlen) ||
	    schema_name(api, ctx, RULE_NAME, "device_confirmed_column",
			SCHEMA_COLUMN, NULL, id->device_confirmed, err,
			errlen) ||
	    schema_name(api, ctx, RULE_NAME, "device_created_at_column",
			SCHEMA_COLUMN | SCHEMA_OPTIONAL, &st->device_created_at,
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
	char *since = NULL;
	long long lookback_ms;
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
	if (read_duration_ms(api, ctx, "lookback", &lookback_ms, err, errlen))
		goto out;
	st->nparams = 1;
	if (lookback_ms > 0) {
		interval_param(st->lookback, sizeof(st->lookback), lookback_ms);
		st->nparams = 2;
		if (asprintf(&since, " AND u.%s > now() - $1::interval - "
			     "$2::interval", id->disabled_at) < 0) {
			since = NULL;
			set_err(err, errlen, "out of memory");
			goto out;
		}
	}

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

	if (asprintf(&st->user_filter,
		     "NOT u.%s AND u.%s IS NOT NULL AND u.%s <= now() - $1::interval%s",
		     id->enrolled, id->disabled_at, id->disabled_at,
		     since ? since : "") < 0)
		st->user_filter = NULL;
	if (!st->user_filter ||
	    artifact_predicates(id, st->user_filter, id->code_user,
				id->code_created_at, "", &st->codes_predicate,
				&st->codes_joined) ||
	    artifact_predicates(id, st->user_filter, id->device_user,
				id->device_created_at,
				confirmed_only ? confirmed_only : "",
				&st->devices_predicate, &st->devices_joined)) {
		set_err(err, errlen, "out of memory");
		goto out;
	}

	*state = st;
	st = NULL;
	ret = 0;
out:
	free(confirmed_only);
	free(since);
	free(id);
	user_disabled_free(st);
	return ret;
}

/*
 * The time columns an artifact step compares: the owner's mfa_disabled_at
 * with now() (in the predicate and in the user filter), and the row's
 * created_at, when configured, with that mfa_disabled_at.  Fills `cols`
 * (two entries) and returns how many apply.
 */
static int artifact_time_columns(const struct user_disabled_state *st,
				 const char *created_at,
				 struct sweeper_time_column cols[2])
{
	cols[0].table = st->users_table;
	cols[0].column = st->disabled_at;
	if (!*created_at)
		return 1;
	/* NULL: the step's own table. */
	cols[1].table = NULL;
	cols[1].column = created_at;
	return 2;
}

static int user_disabled_plan(const struct sweeper_host_api *api,
			      struct sweeper_ctx *ctx, void *state,
			      char *err, size_t errlen)
{
	const struct user_disabled_state *st = state;
	const char *params[2] = { st->grace, st->lookback };
	struct sweeper_time_column code_times[2];
	struct sweeper_time_column device_times[2];
	struct sweeper_step codes = {
		.size = sizeof(struct sweeper_step),
		.table = st->codes_table,
		.key_column = st->code_id,
		.user_column = st->code_user,
		/* Unless the config sets it, the table's primary key. */
		.predicate = st->codes_predicate,
		.joined_predicate = st->codes_joined,
		.nparams = st->nparams,
		.params = params,
		.label = "backup codes",
		.ntime_columns = artifact_time_columns(st, st->code_created_at,
						       code_times),
		.time_columns = code_times,
	};
	struct sweeper_step devices = {
		.size = sizeof(struct sweeper_step),
		.table = st->devices_table,
		.key_column = st->device_id,
		.user_column = st->device_user,
		.predicate = st->devices_predicate,
		.joined_predicate = st->devices_joined,
		.nparams = st->nparams,
		.params = params,
		.label = "totp devices",
		.ntime_columns = artifact_time_columns(st,
						       st->device_created_at,
						       device_times),
		.time_columns = device_times,
	};
	int rc;

	if (plan_step(api, ctx, &codes, "backup codes", err, errlen) ||
	    plan_step(api, ctx, &devices, "totp devices", err, errlen))
		return -1;
	rc = api->set_user_filter(ctx, st->user_filter, st->nparams, params);
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
