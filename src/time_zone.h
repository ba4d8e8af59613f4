/*
 * time_zone.h: [database] time_zone, the zone the application writes its
 * naive times in, checked against the server and the steps' columns.
 *
 * An application that stores naive times (Django with USE_TZ = False,
 * many older schemas) writes "timestamp without time zone" columns in its
 * own local time, and PostgreSQL compares such a value with now() as a
 * time in the session's TimeZone.  With the application in
 * America/New_York and the server in UTC, a user who disabled MFA a
 * minute ago looks five hours gone, and loses the codes the grace period
 * was meant to keep.  With time_zone set, the engine gives every
 * transaction SET LOCAL TimeZone (db.c, db_begin_sql()), and grace
 * periods and ages are exact; without it, a step that compares such a
 * column does not run at all.
 */
#ifndef SWEEPER_TIME_ZONE_H
#define SWEEPER_TIME_ZONE_H

#include <stddef.h>

#include <libpq-fe.h>

#include "config.h"
#include "rule.h"

/*
 * The value of [database] time_zone, or NULL when it is not set (absent
 * or empty).  Borrowed from the config.
 */
const char *time_zone_get(const struct config *cfg);

/*
 * Before anything is deleted, and for --check-config:
 *
 *   - a time_zone that is set must be a name the server knows
 *     (pg_timezone_names), spelt as it spells it;
 *   - without time_zone, no step of the `nrules` rules may compare a
 *     column of type timestamp without time zone, or date (the time
 *     columns its plugin declares, struct sweeper_time_column).
 *
 * A declared column the database does not have is left to the preflight,
 * which names it better.  Steps of plugins built against a plugin.h older
 * than the declaration cannot be checked: a line says so, at info level
 * with `verbose` (--check-config), else at debug level.
 *
 * Returns 0, or -1 with one line in err naming the file, the key and the
 * value, or the rule, table and column, and the fix (the run then exits 78,
 * or 69 when the connection is gone).
 */
int time_zone_check(PGconn *conn, const struct config *cfg,
		    const struct rule *rules, size_t nrules, int verbose,
		    char *err, size_t errlen);

#endif /* SWEEPER_TIME_ZONE_H */
