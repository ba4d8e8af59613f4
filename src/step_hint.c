/*
 * step_hint.c: what to check when a step does not plan (step_hint.h).
 */
#include <stdio.h>
#include <string.h>

#include "step_hint.h"
#include "strbuf.h"
#include "values.h"

/* Most origins named in one hint; more would not fit one line. */
#define HINT_MAX_ORIGINS 3

/* Bytes of a predicate shown in a hint. */
#define HINT_PREDICATE_SHOWN 300

/* What a missing name is, by its SQLSTATE. */
enum hint_kind {
	HINT_NONE,
	HINT_COLUMN,    /* 42703 undefined_column */
	HINT_TABLE,     /* 42P01 undefined_table */
	HINT_SCHEMA     /* 3F000 invalid_schema_name */
};

static enum hint_kind hint_kind_of(const char *sqlstate)
{
	if (strcmp(sqlstate, "42703") == 0)
		return HINT_COLUMN;
	if (strcmp(sqlstate, "42P01") == 0)
		return HINT_TABLE;
	if (strcmp(sqlstate, "3F000") == 0)
		return HINT_SCHEMA;
	return HINT_NONE;
}

/* Whether the server's error is about the placeholders and their types. */
static int hint_about_params(const char *sqlstate)
{
	return strcmp(sqlstate, "42883") == 0 ||  /* undefined_function */
	       strcmp(sqlstate, "42P18") == 0 ||  /* indeterminate_datatype */
	       strcmp(sqlstate, "42P02") == 0 ||  /* undefined_parameter */
	       strcmp(sqlstate, "08P01") == 0;    /* protocol_violation */
}

/*
 * The name the server says is missing, from its message: `column
 * t.used_at does not exist` (the column after the alias, unquoted, even
 * with blanks in it), `column "rule" of relation "deletions" does not
 * exist`, `relation "public.x" does not exist`, `schema "x" does not
 * exist`.  Returns 0 with the name in buf, or -1 when the message has
 * another shape.
 */
static int hint_missing_name(enum hint_kind kind, const char *why, char *buf,
			     size_t len)
{
	static const char *const prefixes[] = {
		"", "column ", "relation ", "schema "
	};
	const char *p = strstr(why, prefixes[kind]);
	const char *end;
	size_t n;

	if (!p)
		return -1;
	p += strlen(prefixes[kind]);
	if (*p == '"') {
		p++;
		end = strchr(p, '"');
	} else {
		end = strstr(p, " does not exist");
		/* The column after its table's alias: t.Expires At. */
		if (kind == HINT_COLUMN && end) {
			const char *dot = memchr(p, '.', (size_t)(end - p));

			if (dot && !memchr(p, ' ', (size_t)(dot - p)))
				p = dot + 1;
		}
	}
	if (!end || end == p)
		return -1;
	n = (size_t)(end - p);
	if (n >= len)
		return -1;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return 0;
}

/* Whether `name` ends with "." followed by `last`. */
static int hint_ends_with_part(const char *name, const char *last)
{
	size_t n = strlen(name), m = strlen(last);

	return n > m + 1 && name[n - m - 1] == '.' &&
	       strcmp(name + n - m, last) == 0;
}

/*
 * Whether a config value names `name`: the same text, or one of them a
 * table written with its schema ("app.tokens") and the other without.
 */
static int hint_same_name(const char *value, const char *name)
{
	return strcmp(value, name) == 0 || hint_ends_with_part(value, name) ||
	       hint_ends_with_part(name, value);
}

/* The step's own field that holds `name`, or NULL. */
static const char *hint_step_field(const struct step *step, const char *name)
{
	int i;

	if (hint_same_name(step->table, name))
		return "table";
	if (strcmp(step->key_column, name) == 0)
		return "key_column";
	if (step->user_column && strcmp(step->user_column, name) == 0)
		return "user_column";
	for (i = 0; i < step->ntime_columns; i++) {
		if (strcmp(step->time_columns[i].column, name) == 0)
			return "time_columns";
	}
	if (strstr(step->predicate, name))
		return "predicate";
	return NULL;
}

/*
 * Say where `name` came from, and what to check, into sb.  `kind` names
 * what the database lacks; `step` may be NULL (a table checked before any
 * statement is built).
 */
static void hint_origin(const struct rule *r, const struct step *step,
			enum hint_kind kind, const char *name,
			struct strbuf *sb)
{
	const char *what = kind == HINT_COLUMN ? "column" :
			   kind == HINT_TABLE ? "table" : "schema";
	char shown[VALUE_QUOTE_MAX];
	const char *field;
	size_t i, found = 0;
	int schema = 0, own = 0;

	value_quote(name, shown, sizeof(shown));
	for (i = 0; i < r->norigins && found < HINT_MAX_ORIGINS; i++) {
		const struct rule_origin *o = &r->origins[i];
		const struct config_entry *e;

		if (!hint_same_name(o->value, name))
			continue;
		e = config_entry_find(r->cfg, o->section, o->key);
		strbuf_addf(sb, "%s[%s] %s", found ? " or " : "", o->section,
			    o->key);
		if (e)
			strbuf_addf(sb, " ('%s' line %d)", r->cfg->path,
				    e->line);
		else
			strbuf_add(sb, " (its default)");
		if (strcmp(o->section, "schema") == 0)
			schema = 1;
		else
			own = 1;
		found++;
	}
	if (found) {
		strbuf_addf(sb, " names the %s %s, which the database does not "
			    "have; ", what, shown);
		if (schema)
			strbuf_addf(sb, "check the %s names in [schema]%s", what,
				    own ? " and " : "");
		if (own)
			strbuf_addf(sb, "check [rule.%s]", r->name);
		strbuf_add(sb, ", and that the dsn names the right database");
		return;
	}
	field = step ? hint_step_field(step, name) : NULL;
	if (field || !step) {
		strbuf_addf(sb, "the %s %s is written in plugin '%s' itself%s%s%s, "
			    "not read from the config: check that the dsn "
			    "names the right database and the application's "
			    "migrations ran, or fix the plugin", what, shown,
			    r->name, field ? " (its step's " : "",
			    field ? field : "", field ? ")" : "");
		return;
	}
	strbuf_addf(sb, "the %s %s is not one of rule '%s' (neither its "
		    "config nor its step): the sweeper added it; check "
		    "[schema] users_table and user_id_column (scoped runs) "
		    "and the audit ledger's tables (mfa-sweeper "
		    "--print-ledger-sql)", what, shown, r->name);
}

/* Append the predicate on one line, cut after HINT_PREDICATE_SHOWN bytes. */
static void hint_predicate(const char *predicate, struct strbuf *sb)
{
	char shown[HINT_PREDICATE_SHOWN + 4];
	size_t i, n = 0;
	int blank = 0;

	for (i = 0; predicate[i] && n < HINT_PREDICATE_SHOWN; i++) {
		unsigned char c = (unsigned char)predicate[i];

		if (c <= ' ' || c == 0x7f) {
			blank = n > 0;
			continue;
		}
		if (blank)
			shown[n++] = ' ';
		blank = 0;
		if (n < HINT_PREDICATE_SHOWN)
			shown[n++] = (char)c;
	}
	shown[n] = '\0';
	strbuf_addf(sb, "%s%s", shown, predicate[i] ? "..." : "");
}

void step_hint(const struct rule *r, const struct step *step,
	       const char *sqlstate, const char *why, char *buf, size_t len)
{
	struct strbuf sb = STRBUF_INIT;
	enum hint_kind kind = hint_kind_of(sqlstate);
	char name[256];

	if (kind != HINT_NONE &&
	    hint_missing_name(kind, why, name, sizeof(name)) == 0) {
		hint_origin(r, step, kind, name, &sb);
	} else if (hint_about_params(sqlstate)) {
		strbuf_addf(&sb, "check the placeholders of the predicate of "
			    "rule '%s': the step passes nparams = %d "
			    "parameter%s as text, so each $n needs a cast to "
			    "its type ($1::interval), and they are numbered "
			    "from $1 without gaps (the sweeper's own come "
			    "after them); the predicate: ", r->name,
			    step->nparams, step->nparams == 1 ? "" : "s");
		hint_predicate(step->predicate, &sb);
	} else {
		strbuf_addf(&sb, "check the predicate of rule '%s' (mfa-sweeper "
			    "--print-plan -r %s prints it): ", r->name, r->name);
		hint_predicate(step->predicate, &sb);
	}
	snprintf(buf, len, "%s", strbuf_str(&sb));
	strbuf_release(&sb);
}

void step_table_hint(const struct rule *r, const char *table, char *buf,
		     size_t len)
{
	struct strbuf sb = STRBUF_INIT;

	hint_origin(r, NULL, HINT_TABLE, table, &sb);
	snprintf(buf, len, "%s", strbuf_str(&sb));
	strbuf_release(&sb);
}
