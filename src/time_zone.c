/*
 * time_zone.c: checks [database] time_zone against the server, and the
 * time columns the steps compare against time_zone (time_zone.h says
 * why).  Setting the zone on each transaction is db.c's job (db_set_local()).
 */
#include <stdio.h>
#include <string.h>

#include "db.h"
#include "ident.h"
#include "log.h"
#include "time_zone.h"
#include "values.h"

/*
 * The zone exactly as pg_timezone_names spells it, else one that differs
 * only in case (first row, second column false), else no row.
 */
#define TZ_NAME_SQL \
	"SELECT name, name = $1 FROM pg_timezone_names" \
	" WHERE lower(name) = lower($1) ORDER BY 2 DESC, 1 LIMIT 1"

/*
 * Whether the column is naive: its type (or a domain's base type) holds
 * no zone, so the server reads it in the session's TimeZone when it
 * compares it with now().  The column is matched in its quoted form, so
 * that a name written "in quotes" in config finds it.  Also the server's
 * own zone and the type's name, for the message.
 */
#define TZ_COLUMN_SQL \
	"SELECT coalesce(bt.oid, ty.oid) IN ('timestamp'::regtype," \
	" 'date'::regtype), current_setting('TimeZone')," \
	" format_type(a.atttypid, a.atttypmod)" \
	" FROM pg_attribute a JOIN pg_type ty ON ty.oid = a.atttypid" \
	" LEFT JOIN pg_type bt" \
	" ON ty.typtype = 'd' AND bt.oid = ty.typbasetype" \
	" WHERE a.attrelid = to_regclass($1) AND a.attnum > 0" \
	" AND NOT a.attisdropped" \
	" AND '\"' || replace(a.attname, '\"', '\"\"') || '\"' = $2"

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

/*
 * Whether column `c` of step `step` of rule `r` is naive; *naive is 1 or
 * 0, and left 0 for a table or column the database does not have (the
 * preflight names those).  On a naive column, err gets the refusal.
 * Returns 0, or -1 with one line in err when the lookup failed.
 */
static int time_zone_column(PGconn *conn, const struct config *cfg,
			    const struct rule *r,
			    const struct step_time_column *c, int *naive,
			    char *err, size_t errlen)
{
	char table[IDENT_MAX];
	char column[IDENT_MAX];
	const char *params[2] = { table, column };
	char state[DB_SQLSTATE_LEN];
	char why[1024];
	PGresult *res;

	*naive = 0;
	/* A name that does not quote cannot be in the database either. */
	if (ident_quote(c->table, table, sizeof(table)) != 0 ||
	    ident_quote_column(c->column, column, sizeof(column)) != 0)
		return 0;
	res = db_query_named(conn, "mfa_sweeper_time_column", TZ_COLUMN_SQL, 2,
			     params, state, why, sizeof(why));
	if (!res) {
		snprintf(err, errlen, "rule '%s': cannot read the type of "
			 "%s.%s: %s", r->name, c->table, c->column, why);
		return -1;
	}
	if (PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0) {
		*naive = 1;
		snprintf(err, errlen, "rule '%s': %s.%s is %s, and '%s' sets "
			 "no [database] time_zone: that column holds the "
			 "application's local times, which the server would "
			 "compare with now() as times in its own zone (%s), "
			 "off by the difference; set time_zone in [database] "
			 "to the zone the application writes them in (Django: "
			 "copy its TIME_ZONE setting, e.g. time_zone = "
			 "America/New_York); nothing was deleted", r->name,
			 c->table, c->column, PQgetvalue(res, 0, 2), cfg->path,
			 PQgetvalue(res, 0, 1));
	}
	PQclear(res);
	return 0;
}

/* Without time_zone: no step may compare a naive column. */
static int time_zone_check_columns(PGconn *conn, const struct config *cfg,
				   const struct rule *rules, size_t nrules,
				   int verbose, char *err, size_t errlen)
{
	size_t i, j;
	int k, naive;

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
			for (k = 0; k < step->ntime_columns; k++) {
				if (time_zone_column(conn, cfg, r,
						     &step->time_columns[k],
						     &naive, err,
						     errlen) != 0 ||
				    naive)
					return -1;
			}
		}
	}
	return 0;
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
