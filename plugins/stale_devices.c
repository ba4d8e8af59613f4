/*
 * stale_devices: delete TOTP devices whose enrolment was never finished
 * (doc/design.md "Rule semantics").
 *
 * A device is stale when NOT confirmed AND created_at < now() - max_age
 * (default 24h).  A device with a NULL created_at predates the migration
 * that added the column, so its age is unknown: it is kept unless
 * null_created_at = delete.
 *
 * NULLs: NOT t.confirmed is NULL for a NULL flag, and a WHERE clause that
 * is NULL deletes nothing, so only a device known to be unconfirmed goes.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* asprintf() */
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sweeper/plugin.h>

#include "builtin.h"

#define RULE_NAME "stale_devices"

static const struct sweeper_key stale_devices_keys[] = {
	{ "max_age", SWEEPER_KEY_DURATION, "24h", NULL,
	  "delete unconfirmed TOTP devices created longer ago than this" },
	{ "null_created_at", SWEEPER_KEY_ENUM, "keep", "keep|delete",
	  "what to do with unconfirmed devices whose created_at is NULL" },
	{ NULL, 0, NULL, NULL, NULL }
};

static int stale_devices_init(const struct sweeper_host_api *api,
			      struct sweeper_ctx *ctx, void **state,
			      char *err, size_t errlen)
{
	struct one_step_state *st;
	char confirmed[QUOTED_MAX];
	char created_at[QUOTED_MAX];
	char scratch[QUOTED_MAX];
	const char *unquoted;
	const char *null_created_at;
	char shown[96];
	long long max_age_ms;
	int delete_null;
	int ret = -1;

	st = calloc(1, sizeof(*st));
	if (!st) {
		set_err(err, errlen, "out of memory");
		goto out;
	}
	/* How one_step_plan() names the step in logs and errors. */
	st->label = "unconfirmed totp devices";
	st->what = "unconfirmed devices";
	if (read_duration_ms(api, ctx, "max_age", &max_age_ms, err, errlen))
		goto out;
	interval_param(st->interval, sizeof(st->interval), max_age_ms);

	null_created_at = api->config_get(ctx, "null_created_at");
	if (!null_created_at) {
		set_err(err, errlen,
			"null_created_at: the sweeper did not pass the value");
		goto out;
	}
	if (!strcmp(null_created_at, "keep")) {
		delete_null = 0;
	} else if (!strcmp(null_created_at, "delete")) {
		delete_null = 1;
	} else {
		set_err(err, errlen,
			"null_created_at = '%s' is not valid; write keep or delete",
			printable(null_created_at, shown, sizeof(shown)));
		goto out;
	}

	/*
	 * Without a creation time there is no age, and "stale" means nothing:
	 * rather than guess, refuse, and say which key to set.
	 */
	unquoted = api->schema_get(ctx, "device_created_at_column");
	if (unquoted && !*unquoted) {
		set_err(err, errlen,
			"[schema] device_created_at_column is empty; rule %s needs the devices' creation time column, set it or remove %s from rules",
			RULE_NAME, RULE_NAME);
		goto out;
	}

	/* The table and key go into the step unquoted, for the core quotes
	 * them itself; schema_name() checks them all the same.  Unless the
	 * config sets the key, the core walks the table's primary key. */
	if (schema_name(api, ctx, RULE_NAME, "devices_table", SCHEMA_TABLE,
			&st->table, scratch, err, errlen) ||
	    schema_name(api, ctx, RULE_NAME, "device_id_column",
			SCHEMA_COLUMN, &st->key_column, scratch, err, errlen) ||
	    schema_name(api, ctx, RULE_NAME, "device_user_column",
			SCHEMA_COLUMN, &st->user_column, scratch, err,
			errlen) ||
	    schema_name(api, ctx, RULE_NAME, "device_confirmed_column",
			SCHEMA_COLUMN, NULL, confirmed, err, errlen) ||
	    schema_name(api, ctx, RULE_NAME, "device_created_at_column",
			SCHEMA_COLUMN, &st->time_column, created_at, err,
			errlen))
		goto out;

	/*
	 * With null_created_at = delete a NULL created_at counts as old
	 * enough; with keep, "t.created_at < ..." is NULL for it and the row
	 * stays.
	 */
	if (delete_null) {
		if (asprintf(&st->predicate,
			     "NOT t.%s AND (t.%s IS NULL OR t.%s < now() - $1::interval)",
			     confirmed, created_at, created_at) < 0)
			st->predicate = NULL;
	} else {
		if (asprintf(&st->predicate,
			     "NOT t.%s AND t.%s < now() - $1::interval",
			     confirmed, created_at) < 0)
			st->predicate = NULL;
	}
	if (!st->predicate) {
		set_err(err, errlen, "out of memory");
		goto out;
	}

	*state = st;
	st = NULL;
	ret = 0;
out:
	one_step_free(st);
	return ret;
}

static const struct sweeper_plugin stale_devices = {
	SWEEPER_PLUGIN_HEADER,
	RULE_NAME,
	"1.0",
	"delete TOTP devices never confirmed within max_age of their creation",
	stale_devices_keys,
	stale_devices_init,
	one_step_plan,
	one_step_free
};

SWEEPER_PLUGIN_DEFINE(stale_devices)
