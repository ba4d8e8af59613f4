/*
 * builtin.h: helpers shared by the built-in rule plugins.
 *
 * Every built-in rule is a shared object of its own that may not link
 * against the sweeper, nor against another plugin, so the code they have in
 * common is compiled into each of them from this header.  Everything here
 * is static: nothing becomes a symbol of the .so, and a rule that uses only
 * some of the helpers builds without -Wunused-function warnings because
 * each one is marked unused.
 *
 * The header is private to plugins/ and is not installed.  The example in
 * plugins/examples/ does not include it, on purpose: that file is what a
 * team copies to start its own rule, so it must build with nothing but
 * <sweeper/plugin.h>.
 *
 * Messages follow the convention of plugin.h: one lowercase line that names
 * the key at fault, and the rule where the key is shared by several rules.
 * A helper that names the rule takes it as an argument.
 */
#ifndef SWEEPER_PLUGINS_BUILTIN_H
#define SWEEPER_PLUGINS_BUILTIN_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sweeper/plugin.h>

/* Room for any identifier the host quotes, "schema"."table" included. */
#define QUOTED_MAX 520

/* Room for a duration parameter such as "86400000000000 milliseconds". */
#define INTERVAL_MAX 48

/*
 * The longest duration a built-in rule accepts: one million days.  now()
 * minus more than about 6,700 years leaves PostgreSQL's timestamp range,
 * and the batch would fail at run time; refusing it here turns that into a
 * config error.  read_duration_ms() spells the limit out in its message.
 */
#define DURATION_MAX_MS (1000000LL * 86400000LL)

/*
 * What schema_name() expects of a [schema] value: a table, which may be
 * written "schema.table", or a single column; SCHEMA_OPTIONAL may be or'ed
 * in for a value that is allowed to be empty.
 */
#define SCHEMA_TABLE	0
#define SCHEMA_COLUMN	1
#define SCHEMA_OPTIONAL	2

__attribute__((format(printf, 3, 4), unused))
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
__attribute__((unused))
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
 * Read the [schema] key `key`, which rule `rule` needs, and check that it
 * quotes as `flags` asks.  On success *value (unless `value` is NULL) is
 * the unquoted text, borrowed from the host until fini(), and `quoted`
 * (QUOTED_MAX bytes) its quoted form, or "" for an empty optional value.
 *
 * The core quotes a step's table and key column itself, so for those the
 * quoted form is thrown away; they are quoted here anyway so that a bad
 * name is reported now, by its key, rather than by the first batch.
 */
__attribute__((unused))
static int schema_name(const struct sweeper_host_api *api,
		       struct sweeper_ctx *ctx, const char *rule,
		       const char *key, int flags, const char **value,
		       char *quoted, char *err, size_t errlen)
{
	const char *v = api->schema_get(ctx, key);
	char shown[96];

	quoted[0] = '\0';
	if (!v) {
		set_err(err, errlen,
			"[schema] %s is unknown to this sweeper; rule %s needs a sweeper that has it",
			key, rule);
		return -1;
	}
	if (!*v && (flags & SCHEMA_OPTIONAL)) {
		/* Nothing to quote: the rule does without this column. */
		if (value)
			*value = v;
		return 0;
	}
	if (!*v) {
		set_err(err, errlen,
			"[schema] %s is empty; rule %s needs it, set it to a name in your database",
			key, rule);
		return -1;
	}
	if ((flags & SCHEMA_COLUMN) &&
	    api->quote_column(ctx, v, quoted, QUOTED_MAX) != SWEEPER_OK) {
		set_err(err, errlen,
			"[schema] %s = '%s' is not a valid column name; write one column, without a table or schema",
			key, printable(v, shown, sizeof(shown)));
		return -1;
	}
	if (!(flags & SCHEMA_COLUMN) &&
	    api->quote_ident(ctx, v, quoted, QUOTED_MAX) != SWEEPER_OK) {
		set_err(err, errlen,
			"[schema] %s = '%s' is not a valid sql identifier",
			key, printable(v, shown, sizeof(shown)));
		return -1;
	}
	if (value)
		*value = v;
	return 0;
}

/*
 * Read the duration key `key` of the rule's section into *ms.  The core has
 * checked its syntax already; what is refused here is a value too large to
 * subtract from now().
 */
__attribute__((unused))
static int read_duration_ms(const struct sweeper_host_api *api,
			    struct sweeper_ctx *ctx, const char *key,
			    long long *ms, char *err, size_t errlen)
{
	char shown[96];
	const char *written;
	int rc;

	rc = api->config_duration_ms(ctx, key, ms);
	if (rc != SWEEPER_OK) {
		set_err(err, errlen,
			"%s: the sweeper could not read the value (status %d)",
			key, rc);
		return -1;
	}
	if (*ms < 0 || *ms > DURATION_MAX_MS) {
		written = api->config_get(ctx, key);
		set_err(err, errlen,
			"%s = %s is out of range; write at most 1000000d",
			key, printable(written ? written : "?", shown,
				       sizeof(shown)));
		return -1;
	}
	return 0;
}

/*
 * Write a duration as the text of an interval parameter, for a predicate
 * that casts it with $1::interval.  Milliseconds keep it exact: "1 day"
 * would mean a calendar day in the session's time zone, which is not 24
 * hours across a daylight saving change.  `size` is INTERVAL_MAX.
 */
__attribute__((unused))
static void interval_param(char *buf, size_t size, long long ms)
{
	snprintf(buf, size, "%lld milliseconds", ms);
}

/*
 * Hand one step to the host.  `what` names the step in the error, which
 * reads "cannot add the <what> step on <table>".
 */
__attribute__((unused))
static int plan_step(const struct sweeper_host_api *api,
		     struct sweeper_ctx *ctx, const struct sweeper_step *step,
		     const char *what, char *err, size_t errlen)
{
	int rc = api->add_step(ctx, step);

	if (rc != SWEEPER_OK) {
		set_err(err, errlen, "cannot add the %s step on %s (status %d)",
			what, step->table, rc);
		return -1;
	}
	return 0;
}

/*
 * The state of a rule whose whole work is one step with one interval
 * parameter, as with stale_devices and used_backup_codes.  The rule's
 * init() allocates and fills it in; one_step_plan() and one_step_free()
 * then serve as its plan() and fini() as they are.
 */
struct one_step_state {
	/* $1 of the predicate, as interval_param() writes it. */
	char interval[INTERVAL_MAX];
	/* Unquoted step names, borrowed from the host until fini(). */
	const char *table;
	const char *key_column;
	/* Where the config names key_column ("[schema] code_id_column"). */
	const char *key_setting;
	const char *user_column;
	/* The one time column of the table the predicate compares with
	 * now(), unquoted, borrowed like the names above. */
	const char *time_column;
	/* Owned SQL text. */
	char *predicate;
	/* The step's label in logs and the summary, and its name in errors. */
	const char *label;
	const char *what;
};

__attribute__((unused))
static void one_step_free(void *state)
{
	struct one_step_state *st = state;

	if (!st)
		return;
	free(st->predicate);
	free(st);
}

__attribute__((unused))
static int one_step_plan(const struct sweeper_host_api *api,
			 struct sweeper_ctx *ctx, void *state, char *err,
			 size_t errlen)
{
	const struct one_step_state *st = state;
	const char *params[1] = { st->interval };
	/* NULL table: the step's own. */
	const struct sweeper_time_column times[1] = {
		{ NULL, st->time_column }
	};
	struct sweeper_step step = {
		.size = sizeof(struct sweeper_step),
		.table = st->table,
		.key_column = st->key_column,
		.user_column = st->user_column,
		.key_setting = st->key_setting,
		.predicate = st->predicate,
		.nparams = 1,
		.params = params,
		.label = st->label,
		.ntime_columns = 1,
		.time_columns = times,
	};

	return plan_step(api, ctx, &step, st->what, err, errlen);
}

#endif /* SWEEPER_PLUGINS_BUILTIN_H */
