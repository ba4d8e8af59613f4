/*
 * time_zone.c: checks [database] time_zone against the server, and the
 * time columns the steps compare against time_zone (time_zone.h says
 * why).  Setting the zone on each transaction is db.c's job (db_set_local()).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "ident.h"
#include "log.h"
#include "scope.h"
#include "time_zone.h"
#include "values.h"
#include "xalloc.h"

/*
 * The zone exactly as pg_timezone_names spells it, else one that differs
 * only in case (first row, second column false), else no row.
 */
#define TZ_NAME_SQL \
	"SELECT name, name = $1 FROM pg_timezone_names" \
	" WHERE lower(name) = lower($1) ORDER BY 2 DESC, 1 LIMIT 1"

/*
 * For each of the time columns, given as two arrays ($1 the quoted tables,
 * $2 the quoted columns) and numbered from 1 in their order: whether the
 * column is naive, its type (or a domain's base type) holding no zone, so
 * that the server reads it in the session's TimeZone when it compares it
 * with now().  A column is matched in its quoted form, so that a name
 * written "in quotes" in config finds it; one the database lacks has no
 * row (the preflight names those).  Also the server's own zone and the
 * type's name, for the message.  One statement for every column of every
 * rule: a round trip each cost 0.3 to 1 ms, six of them in a run of the
 * three shipped rules.
 */
#define TZ_COLUMNS_SQL \
	"SELECT x.i, coalesce(bt.oid, ty.oid) IN ('timestamp'::regtype," \
	" 'date'::regtype), current_setting('TimeZone')," \
	" format_type(a.atttypid, a.atttypmod)" \
	" FROM unnest($1::text[], $2::text[]) WITH ORDINALITY AS x(t, c, i)" \
	" JOIN pg_attribute a ON a.attrelid = to_regclass(x.t)" \
	" AND a.attnum > 0 AND NOT a.attisdropped" \
	" AND '\"' || replace(a.attname, '\"', '\"\"') || '\"' = x.c" \
	" JOIN pg_type ty ON ty.oid = a.atttypid" \
	" LEFT JOIN pg_type bt" \
	" ON ty.typtype = 'd' AND bt.oid = ty.typbasetype" \
	" ORDER BY x.i"

/* The time columns a run checks, quoted, with the rule each came from. */
struct tz_columns {
	char **tables;
	char **columns;
	const struct rule **rules;
	const struct step_time_column **named;
	size_t n, alloc;
};

const char *time_zone_get(const struct config *cfg)
{
	const char *v = config_written(cfg, "database", "time_zone");

	return v && *v ? v : NULL;
}

/* "FILE:LINE: [database] time_zone" for messages about the key. */
static void time_zone_where(const struct config *cfg, char *buf,
			    size_t size)
{
	const struct config_entry *e = config_entry_find(cfg, "database",
							 "time_zone");

	if (e)
		snprintf(buf, size, "%s:%d: [database] time_zone", cfg->path,
			 e->line);
	else
		snprintf(buf, size, "%s: [database] time_zone", cfg->path);
}

/* The zone must be one the server knows, spelt as the server spells it. */
static int time_zone_check_name(PGconn *conn, const struct config *cfg,
				const char *zone, char *err, size_t errlen)
{
	const char *params[1] = { zone };
	char shown[VALUE_QUOTE_MAX];
	char where[1024];
	char why[1024];
	PGresult *res;
	int ret = -1;

	time_zone_where(cfg, where, sizeof(where));
	value_quote(zone, shown, sizeof(shown));
	res = db_query(conn, TZ_NAME_SQL, 1, params, why, sizeof(why));
	if (!res) {
		snprintf(err, errlen, "%s: cannot check %s against the "
			 "server's time zones: %s", where, shown, why);
		return -1;
	}
	if (PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 1), "t") == 0)
		ret = 0;
	else if (PQntuples(res) == 1)
		snprintf(err, errlen, "%s: %s is not a time zone name the "
			 "server knows; it spells it '%s': write that", where,
			 shown, PQgetvalue(res, 0, 0));
	else
		snprintf(err, errlen, "%s: %s is not a time zone the server "
			 "knows (pg_timezone_names); write the IANA name of "
			 "the zone the application writes its times in, e.g. "
			 "time_zone = America/New_York (Django: its TIME_ZONE "
			 "setting)", where, shown);
	PQclear(res);
	return ret;
}

/* Add column `c` of rule `r`; a name that does not quote cannot be in the
 * database either, and is left to the preflight. */
static void tz_columns_add(struct tz_columns *tc, const struct rule *r,
			   const struct step_time_column *c)
{
	char table[IDENT_MAX];
	char column[IDENT_MAX];

	if (ident_quote(c->table, table, sizeof(table)) != 0 ||
	    ident_quote_column(c->column, column, sizeof(column)) != 0)
		return;
	if (tc->n == tc->alloc) {
		tc->alloc = tc->alloc ? 2 * tc->alloc : 8;
		tc->tables = xrealloc(tc->tables, tc->alloc * sizeof(char *));
		tc->columns = xrealloc(tc->columns, tc->alloc * sizeof(char *));
		tc->rules = xrealloc(tc->rules, tc->alloc * sizeof(*tc->rules));
		tc->named = xrealloc(tc->named, tc->alloc * sizeof(*tc->named));
	}
	tc->tables[tc->n] = xstrdup(table);
	tc->columns[tc->n] = xstrdup(column);
	tc->rules[tc->n] = r;
	tc->named[tc->n] = c;
	tc->n++;
}

static void tz_columns_free(struct tz_columns *tc)
{
	size_t i;

	for (i = 0; i < tc->n; i++) {
		free(tc->tables[i]);
		free(tc->columns[i]);
	}
	free(tc->tables);
	free(tc->columns);
	free(tc->rules);
	free(tc->named);
	memset(tc, 0, sizeof(*tc));
}

/*
 * Look every column of `tc` up in one statement; the first naive one, in
 * the order of the rules and their steps, gets the refusal into err.
 * Returns 0, or -1 with one line in err (a naive column, or a failed
 * lookup).
 */
static int tz_columns_check(PGconn *conn, const struct config *cfg,
			    const struct tz_columns *tc, char *err,
			    size_t errlen)
{
	char *tables = scope_text_array(tc->tables, tc->n);
	char *columns = scope_text_array(tc->columns, tc->n);
	const char *params[2] = { tables, columns };
	const struct step_time_column *c;
	const struct rule *r;
	char state[DB_SQLSTATE_LEN];
	char why[1024];
	PGresult *res;
	int i, k, ret = -1;

	res = db_query_named(conn, "mfa_sweeper_time_columns", TZ_COLUMNS_SQL,
			     2, params, state, why, sizeof(why));
	if (!res) {
		snprintf(err, errlen, "cannot read the types of the rules' "
			 "time columns: %s", why);
		goto out;
	}
	ret = 0;
	for (i = 0; i < PQntuples(res); i++) {
		if (strcmp(PQgetvalue(res, i, 1), "t") != 0)
			continue;
		k = atoi(PQgetvalue(res, i, 0)) - 1;
		if (k < 0 || (size_t)k >= tc->n)
			continue;
		r = tc->rules[k];
		c = tc->named[k];
		snprintf(err, errlen, "rule '%s': %s.%s is %s, and '%s' sets "
			 "no [database] time_zone: that column holds the "
			 "application's local times, which the server would "
			 "compare with now() as times in its own zone (%s), "
			 "off by the difference; set time_zone in [database] "
			 "to the zone the application writes them in (Django: "
			 "copy its TIME_ZONE setting, e.g. time_zone = "
			 "America/New_York); nothing was deleted", r->name,
			 c->table, c->column, PQgetvalue(res, i, 3), cfg->path,
			 PQgetvalue(res, i, 2));
		ret = -1;
		break;
	}
	PQclear(res);
out:
	free(tables);
	free(columns);
	return ret;
}

/* Without time_zone: no step may compare a naive column. */
static int time_zone_check_columns(PGconn *conn, const struct config *cfg,
				   const struct rule *rules, size_t nrules,
				   int verbose, char *err, size_t errlen)
{
	struct tz_columns tc = { 0 };
	size_t i, j;
	int k, ret;

	for (i = 0; i < nrules; i++) {
		const struct rule *r = &rules[i];

		for (j = 0; j < r->nsteps; j++) {
			const struct step *step = &r->steps[j];

			if (!step->time_declared) {
				log_msg(verbose ? SWEEPER_LOG_INFO :
					SWEEPER_LOG_DEBUG, "rule '%s': the "
					"step on '%s' does not say which time "
					"columns it compares (its plugin was "
					"built against an older sweeper/"
					"plugin.h), so it cannot be checked "
					"for timestamp without time zone; "
					"rebuild it, or set [database] "
					"time_zone if it compares one",
					r->name, step->table);
				continue;
			}
			for (k = 0; k < step->ntime_columns; k++)
				tz_columns_add(&tc, r, &step->time_columns[k]);
		}
	}
	ret = tc.n ? tz_columns_check(conn, cfg, &tc, err, errlen) : 0;
	tz_columns_free(&tc);
	return ret;
}

int time_zone_check(PGconn *conn, const struct config *cfg,
		    const struct rule *rules, size_t nrules, int verbose,
		    char *err, size_t errlen)
{
	const char *zone = time_zone_get(cfg);

	if (zone)
		return time_zone_check_name(conn, cfg, zone, err, errlen);
	return time_zone_check_columns(conn, cfg, rules, nrules, verbose, err,
				       errlen);
}
