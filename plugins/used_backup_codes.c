/*
 * used_backup_codes: delete backup codes used long ago (doc/design.md
 * "Rule semantics").
 *
 * A code goes when used AND used_at < now() - max_age (default 90d).  When
 * [schema] code_used_column is empty the table has no flag, and "used"
 * means used_at IS NOT NULL.
 *
 * NULLs: t.used is NULL for a NULL flag and t.used_at < ... is NULL for a
 * NULL time; a WHERE clause that is NULL deletes nothing, so only a code
 * known to be used, at a known time, goes.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE	/* asprintf() */
#endif

#include <stdio.h>
#include <stdlib.h>

#include <sweeper/plugin.h>

#include "builtin.h"

#define RULE_NAME "used_backup_codes"

static const struct sweeper_key used_backup_codes_keys[] = {
	{ "max_age", SWEEPER_KEY_DURATION, "90d", NULL,
	  "delete backup codes used longer ago than this" },
	{ NULL, 0, NULL, NULL, NULL }
};

static int used_backup_codes_init(const struct sweeper_host_api *api,
				  struct sweeper_ctx *ctx, void **state,
				  char *err, size_t errlen)
{
	struct one_step_state *st;
	char used[QUOTED_MAX];
	char used_at[QUOTED_MAX];
	char scratch[QUOTED_MAX];
	long long max_age_ms;
	int ret = -1;

	st = calloc(1, sizeof(*st));
	if (!st) {
		set_err(err, errlen, "out of memory");
		goto out;
	}
	/* How one_step_plan() names the step in logs and errors. */
	st->label = "used backup codes";
	st->what = "used backup codes";
	if (read_duration_ms(api, ctx, "max_age", &max_age_ms, err, errlen))
		goto out;
	interval_param(st->interval, sizeof(st->interval), max_age_ms);

	/* The table and key go into the step unquoted, for the core quotes
	 * them itself; schema_name() checks them all the same.  Unless the
	 * config sets the key, the core walks the table's primary key. */
	if (schema_name(api, ctx, RULE_NAME, "codes_table", SCHEMA_TABLE,
			&st->table, scratch, err, errlen) ||
	    schema_name(api, ctx, RULE_NAME, "code_id_column", SCHEMA_COLUMN,
			&st->key_column, scratch, err, errlen) ||
	    schema_name(api, ctx, RULE_NAME, "code_user_column",
			SCHEMA_COLUMN, &st->user_column, scratch, err,
			errlen) ||
	    schema_name(api, ctx, RULE_NAME, "code_used_column",
			SCHEMA_COLUMN | SCHEMA_OPTIONAL, NULL, used, err,
			errlen) ||
	    schema_name(api, ctx, RULE_NAME, "code_used_at_column",
			SCHEMA_COLUMN, &st->time_column, used_at, err, errlen))
		goto out;

	/*
	 * Without a flag, a used_at is what marks a code used; the explicit
	 * IS NOT NULL says so, though the comparison alone would be NULL,
	 * and so false, for a NULL used_at.
	 */
	if (*used) {
		if (asprintf(&st->predicate,
			     "t.%s AND t.%s < now() - $1::interval",
			     used, used_at) < 0)
			st->predicate = NULL;
	} else {
		if (asprintf(&st->predicate,
			     "t.%s IS NOT NULL AND t.%s < now() - $1::interval",
			     used_at, used_at) < 0)
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

static const struct sweeper_plugin used_backup_codes = {
	SWEEPER_PLUGIN_HEADER,
	RULE_NAME,
	"1.0",
	"delete backup codes used longer ago than max_age",
	used_backup_codes_keys,
	used_backup_codes_init,
	one_step_plan,
	one_step_free
};

SWEEPER_PLUGIN_DEFINE(used_backup_codes)
