/*
 * used_backup_codes: delete backup codes used long ago (DESIGN.md
 * section 3).
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

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sweeper/plugin.h>

#define RULE_NAME "used_backup_codes"

/* Room for any identifier the host quotes, "schema"."table" included. */
#define QUOTED_MAX 520

/* Room for a duration parameter such as "86400000000000 milliseconds". */
#define INTERVAL_MAX 48

/*
 * The longest max_age accepted: one million days.  now() minus more than
 * about 6,700 years leaves PostgreSQL's timestamp range, and the batch would
 * fail at run time; refusing it here turns that into a config error.
 */
#define DURATION_MAX_MS (1000000LL * 86400000LL)

static const struct sweeper_key used_backup_codes_keys[] = {
	{ "max_age", SWEEPER_KEY_DURATION, "90d", NULL,
	  "delete backup codes used longer ago than this" },
	{ NULL, 0, NULL, NULL, NULL }
};

struct used_backup_codes_state {
	/* $1: max_age as an interval literal. */
	char max_age[INTERVAL_MAX];
	/* Unquoted step names, borrowed from the host until fini(). */
	const char *table;
	const char *key_column;
	const char *user_column;
	/* Owned SQL text. */
	char *predicate;
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
 * Read the [schema] key `key` into *value and check that it quotes as a
 * table ("schema.table" allowed) or, with `column`, as a single column.
 * `quoted` (QUOTED_MAX bytes) receives the quoted form.  Unless `required`,
 * an empty value is accepted and leaves `quoted` empty.
 */
static int schema_name(const struct sweeper_host_api *api,
		       struct sweeper_ctx *ctx, const char *key, int column,
		       int required, const char **value, char *quoted,
		       char *err, size_t errlen)
{
	const char *v = api->schema_get(ctx, key);
	char shown[96];

	quoted[0] = '\0';
	if (!v) {
		set_err(err, errlen,
			"[schema] %s is unknown to this sweeper; rule %s needs a sweeper that has it",
			key, RULE_NAME);
		return -1;
	}
	if (!*v && !required) {
		*value = v;
		return 0;
	}
	if (!*v) {
		set_err(err, errlen,
			"[schema] %s is empty; rule %s needs it, set it to a name in your database",
			key, RULE_NAME);
		return -1;
	}
	if (api->quote_ident(ctx, v, quoted, QUOTED_MAX) != SWEEPER_OK) {
		set_err(err, errlen,
			"[schema] %s = '%s' is not a valid sql identifier",
			key, printable(v, shown, sizeof(shown)));
		return -1;
	}
	if (column && !is_one_quoted_part(quoted)) {
		set_err(err, errlen,
			"[schema] %s = '%s' is not a single column name; write the column without a table or schema",
			key, printable(v, shown, sizeof(shown)));
		return -1;
	}
	*value = v;
	return 0;
}

/*
 * max_age as the text of $1.  Milliseconds keep it exact: "1 day" would
 * mean a calendar day in the session's time zone, which is not 24 hours
 * across a daylight saving change.
 */
static int read_max_age(const struct sweeper_host_api *api,
			struct sweeper_ctx *ctx, char *buf, size_t size,
			char *err, size_t errlen)
{
	char shown[96];
	const char *written;
	long long ms;
	int rc;

	rc = api->config_duration_ms(ctx, "max_age", &ms);
	if (rc != SWEEPER_OK) {
		set_err(err, errlen,
			"max_age: the sweeper could not read the value (status %d)",
			rc);
		return -1;
	}
	if (ms < 0 || ms > DURATION_MAX_MS) {
		written = api->config_get(ctx, "max_age");
		set_err(err, errlen,
			"max_age = %s is out of range; write at most 1000000d",
			printable(written ? written : "?", shown,
				  sizeof(shown)));
		return -1;
	}
	snprintf(buf, size, "%lld milliseconds", ms);
	return 0;
}

static void used_backup_codes_free(struct used_backup_codes_state *st)
{
	if (!st)
		return;
	free(st->predicate);
	free(st);
}

static int used_backup_codes_init(const struct sweeper_host_api *api,
				  struct sweeper_ctx *ctx, void **state,
				  char *err, size_t errlen)
{
	struct used_backup_codes_state *st;
	char used[QUOTED_MAX];
	char used_at[QUOTED_MAX];
	char scratch[QUOTED_MAX];
	const char *unquoted;
	int ret = -1;

	st = calloc(1, sizeof(*st));
	if (!st) {
		set_err(err, errlen, "out of memory");
		goto out;
	}
	if (read_max_age(api, ctx, st->max_age, sizeof(st->max_age), err,
			 errlen))
		goto out;

	/* The core quotes the table and key itself; checking them here
	 * reports a bad name by its key before anything runs. */
	if (schema_name(api, ctx, "codes_table", 0, 1, &st->table, scratch,
			err, errlen) ||
	    schema_name(api, ctx, "code_id_column", 1, 1, &st->key_column,
			scratch, err, errlen) ||
	    schema_name(api, ctx, "code_user_column", 1, 1, &st->user_column,
			scratch, err, errlen) ||
	    schema_name(api, ctx, "code_used_column", 1, 0, &unquoted, used,
			err, errlen) ||
	    schema_name(api, ctx, "code_used_at_column", 1, 1, &unquoted,
			used_at, err, errlen))
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
	used_backup_codes_free(st);
	return ret;
}

static int used_backup_codes_plan(const struct sweeper_host_api *api,
				  struct sweeper_ctx *ctx, void *state,
				  char *err, size_t errlen)
{
	const struct used_backup_codes_state *st = state;
	const char *params[1] = { st->max_age };
	struct sweeper_step step = {
		.size = sizeof(struct sweeper_step),
		.table = st->table,
		.key_column = st->key_column,
		.user_column = st->user_column,
		.predicate = st->predicate,
		.nparams = 1,
		.params = params,
		.label = "used backup codes",
	};
	int rc;

	rc = api->add_step(ctx, &step);
	if (rc != SWEEPER_OK) {
		set_err(err, errlen,
			"cannot add the used backup codes step on %s (status %d)",
			st->table, rc);
		return -1;
	}
	return 0;
}

static void used_backup_codes_fini(void *state)
{
	used_backup_codes_free(state);
}

static const struct sweeper_plugin used_backup_codes = {
	SWEEPER_PLUGIN_HEADER,
	RULE_NAME,
	"1.0",
	"delete backup codes used longer ago than max_age",
	used_backup_codes_keys,
	used_backup_codes_init,
	used_backup_codes_plan,
	used_backup_codes_fini
};

SWEEPER_PLUGIN_DEFINE(used_backup_codes)
