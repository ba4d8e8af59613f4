/*
 * fleet_targets.c: which targets and tenants a run over targets sweeps
 * (fleet.h): the --target names, each tenants_query run read-only, and
 * --list-targets.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "db.h"
#include "fleet.h"
#include "fleet_summary.h"
#include "fleet_unit.h"
#include "log.h"
#include "mode.h"
#include "strbuf.h"
#include "values.h"
#include "xalloc.h"

int fleet_wanted(const struct invocation *inv)
{
	const char *m = inv->mode->name;

	return inv->cfg.ntargets > 0 && !inv->cfg.target_name &&
	       (strcmp(m, "run") == 0 || strcmp(m, "--dry-run") == 0 ||
		strcmp(m, "--check-config") == 0);
}

/* The NAME part of a --target value, into buf. */
static void fleet_name_part(const char *arg, char *buf, size_t size)
{
	const char *slash = strchr(arg, '/');
	size_t len = slash ? (size_t)(slash - arg) : strlen(arg);

	if (len >= size)
		len = size - 1;
	memcpy(buf, arg, len);
	buf[len] = '\0';
}

/* "a, b, c": the targets of the config, for messages. */
static void fleet_target_list(const struct config *cfg, struct strbuf *sb)
{
	size_t i;

	for (i = 0; i < cfg->ntargets; i++)
		strbuf_addf(sb, "%s%s", i ? ", " : "", cfg->targets[i].name);
}

int fleet_check_names(struct invocation *inv)
{
	const struct cli_options *o = inv->o;
	const char *m = inv->mode->name;
	const struct config_target *t;
	struct config derived;
	char name[128], shown[VALUE_QUOTE_MAX], err[2048];
	const char *slash;
	size_t i;

	if (inv->cfg.target_name || o->ntargets == 0)
		return 0;
	if (inv->cfg.ntargets == 0) {
		value_quote(o->targets[0], shown, sizeof(shown));
		return invocation_stop(inv, OUTCOME_USAGE, "--target %s: '%s' "
				       "has no [target.NAME] sections; add "
				       "them, or leave out --target", shown,
				       inv->cfg.path);
	}
	for (i = 0; i < o->ntargets; i++) {
		struct strbuf list = STRBUF_INIT;

		fleet_name_part(o->targets[i], name, sizeof(name));
		t = config_target_find(&inv->cfg, name);
		slash = strchr(o->targets[i], '/');
		value_quote(o->targets[i], shown, sizeof(shown));
		if (!t) {
			fleet_target_list(&inv->cfg, &list);
			invocation_stop(inv, OUTCOME_USAGE, "--target %s is not "
					"a target of '%s'; its targets: %s "
					"(see --list-targets)", shown,
					inv->cfg.path, strbuf_str(&list));
			strbuf_release(&list);
			return -1;
		}
		if (slash && !t->tenants_query)
			return invocation_stop(inv, OUTCOME_USAGE, "--target "
					       "%s: target '%s' has no "
					       "tenants_query, so no tenants; "
					       "write --target %s", shown,
					       t->name, t->name);
		if (slash && !tenant_schema_valid(slash + 1))
			return invocation_stop(inv, OUTCOME_USAGE, "--target "
					       "%s: the part after '/' is not "
					       "a schema name; write "
					       "NAME/SCHEMA with SCHEMA as "
					       "--list-targets shows it",
					       shown);
	}
	if (strcmp(m, "run") == 0 || strcmp(m, "--dry-run") == 0 ||
	    strcmp(m, "--list-targets") == 0 ||
	    strcmp(m, "--check-config") == 0)
		return 0;
	/* A mode of one database: the config becomes the target's. */
	if (o->ntargets > 1)
		return invocation_stop(inv, OUTCOME_USAGE, "%s works on one "
				       "database; give one --target", m);
	fleet_name_part(o->targets[0], name, sizeof(name));
	t = config_target_find(&inv->cfg, name);
	slash = strchr(o->targets[0], '/');
	if (t->tenants_query && !slash)
		return invocation_stop(inv, OUTCOME_USAGE, "%s works on one "
				       "tenant; write --target %s/SCHEMA (see "
				       "--list-targets)", m, t->name);
	if (config_for_target(&inv->cfg, t, slash ? slash + 1 : NULL,
			      &derived, err, sizeof(err)) != 0)
		return invocation_stop(inv, OUTCOME_CONFIG, "%s", err);
	config_free(&inv->cfg);
	inv->cfg = derived;
	if (ledger_setup(&inv->ledger, inv->cfg.ledger_schema,
			 inv->cfg.ledger_enabled, err, sizeof(err)) != 0)
		return invocation_stop(inv, OUTCOME_CONFIG, "%s", err);
	return 0;
}

/* Whether the command line selects `name` ("NAME" or "NAME/SCHEMA"). */
static int fleet_selected(const struct cli_options *o, const char *target,
			  const char *schema)
{
	char name[128];
	size_t i;

	if (o->ntargets == 0)
		return 1;
	for (i = 0; i < o->ntargets; i++) {
		const char *slash = strchr(o->targets[i], '/');

		fleet_name_part(o->targets[i], name, sizeof(name));
		if (strcmp(name, target) != 0)
			continue;
		if (!slash || (schema && strcmp(slash + 1, schema) == 0))
			return 1;
	}
	return 0;
}

static struct fleet_unit *fleet_unit_add(struct fleet_unit **units,
					 size_t *n, size_t *alloc,
					 const struct config_target *t,
					 const char *schema)
{
	struct fleet_unit *u;

	if (*n == *alloc) {
		*alloc = *alloc * 2 + 16;
		*units = xrealloc(*units, *alloc * sizeof(**units));
	}
	u = &(*units)[(*n)++];
	memset(u, 0, sizeof(*u));
	u->target = t;
	u->schema = schema ? xstrdup(schema) : NULL;
	if (schema) {
		struct strbuf sb = STRBUF_INIT;

		strbuf_addf(&sb, "%s/%s", t->name, schema);
		u->name = strbuf_detach(&sb);
	} else {
		u->name = xstrdup(t->name);
	}
	return u;
}

/*
 * Run the tenants_query of `t`, read-only, one statement (the extended
 * protocol takes no second one): the schema names, one per row.  Returns
 * 0 with *rows (owned, a PGresult), or -1 with the exit code and why.
 */
static int fleet_tenants(const struct invocation *inv,
			 const struct config_target *t, PGresult **rows,
			 int *exit_code, char *err, size_t errlen)
{
	struct config cfg;
	struct db_target dt;
	PGconn *conn = NULL;
	PGresult *res = NULL;
	char why[1536];
	int ret = -1, i;

	*rows = NULL;
	*exit_code = EX_CONFIG;
	if (config_for_target(&inv->cfg, t, NULL, &cfg, err, errlen) != 0)
		return -1;
	if (db_target_init(&dt, &cfg, err, errlen) != 0)
		goto out;
	conn = db_connect(&dt, why, sizeof(why));
	db_target_free(&dt);
	if (!conn) {
		*exit_code = EX_UNAVAILABLE;
		snprintf(err, errlen, "target '%s': %.1000s; check its dsn in "
			 "'%s'", t->name, why, inv->cfg.path);
		goto out;
	}
	res = PQexec(conn, "BEGIN READ ONLY");
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		*exit_code = EX_UNAVAILABLE;
		snprintf(err, errlen, "target '%s': cannot run tenants_query: "
			 "%s", t->name, PQerrorMessage(conn));
		goto out;
	}
	PQclear(res);
	/* A query that waits on a lock or runs away is the target's. */
	snprintf(why, sizeof(why), "SET LOCAL lock_timeout = %lld; "
		 "SET LOCAL statement_timeout = %lld", cfg.lock_timeout_ms,
		 cfg.statement_timeout_ms);
	res = PQexec(conn, why);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		*exit_code = EX_UNAVAILABLE;
		snprintf(err, errlen, "target '%s': cannot run tenants_query: "
			 "%s", t->name, PQerrorMessage(conn));
		goto out;
	}
	PQclear(res);
	res = PQexecParams(conn, t->tenants_query, 0, NULL, NULL, NULL, NULL,
			   0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		const char *msg = PQresultErrorMessage(res);
		size_t len = strcspn(msg, "\n");

		*exit_code = db_lost(conn) ? EX_UNAVAILABLE : EX_CONFIG;
		snprintf(err, errlen, "%s:%d: [target.%s] tenants_query: the "
			 "query failed: %.*s; fix the query (it runs "
			 "read-only and returns schema names)", inv->cfg.path,
			 t->line,
			 t->name, (int)len, msg);
		goto out;
	}
	for (i = 0; i < PQntuples(res); i++) {
		const char *name = PQgetisnull(res, i, 0) ? NULL :
				   PQgetvalue(res, i, 0);
		char shown[VALUE_QUOTE_MAX];

		if (PQnfields(res) >= 1 && tenant_schema_valid(name))
			continue;
		value_quote(name ? name : "NULL", shown, sizeof(shown));
		snprintf(err, errlen, "%s:%d: [target.%s] tenants_query: row "
			 "%d is %s, not a schema name; return names of ASCII "
			 "letters, digits, '_' and '$' (at most 63 bytes), one "
			 "per row, in the first column", inv->cfg.path,
			 t->line, t->name, i + 1, shown);
		goto out;
	}
	*rows = res;
	res = NULL;
	ret = 0;
out:
	PQclear(res);
	if (conn) {
		PGresult *end = PQexec(conn, "ROLLBACK");

		PQclear(end);
		PQfinish(conn);
	}
	config_free(&cfg);
	return ret;
}

/*
 * The units of this run: every selected target, a tenants_query target
 * as one unit per tenant (one failed unit when its query fails).
 * Returns 0, or -1 after invocation_stop() (a --target NAME/SCHEMA whose
 * tenant the query does not return: exit 64).
 */
int fleet_units(struct invocation *inv, struct fleet_unit **units,
		size_t *nunits)
{
	const struct cli_options *o = inv->o;
	size_t alloc = 0, i, j;

	*units = NULL;
	*nunits = 0;
	for (i = 0; i < inv->cfg.ntargets; i++) {
		const struct config_target *t = &inv->cfg.targets[i];
		struct fleet_unit *u;
		PGresult *rows;
		char err[1536];
		int code, k;

		if (!fleet_selected(o, t->name, NULL) && !t->tenants_query)
			continue;
		if (!t->tenants_query) {
			fleet_unit_add(units, nunits, &alloc, t, NULL);
			continue;
		}
		/* A tenant target with no --target naming it is not run. */
		for (j = 0, k = 0; j < o->ntargets; j++) {
			char name[128];

			fleet_name_part(o->targets[j], name, sizeof(name));
			k |= strcmp(name, t->name) == 0;
		}
		if (o->ntargets && !k)
			continue;
		if (fleet_tenants(inv, t, &rows, &code, err, sizeof(err)) != 0) {
			log_msg(SWEEPER_LOG_ERROR, "%s", err);
			u = fleet_unit_add(units, nunits, &alloc, t, NULL);
			u->failed_exit = code;
			snprintf(u->failed_why, sizeof(u->failed_why), "%.1000s",
				 err);
			continue;
		}
		for (k = 0; k < PQntuples(rows); k++) {
			if (fleet_selected(o, t->name, PQgetvalue(rows, k, 0)))
				fleet_unit_add(units, nunits, &alloc, t,
					       PQgetvalue(rows, k, 0));
		}
		/* A tenant named on the command line must exist. */
		for (j = 0; j < o->ntargets; j++) {
			const char *slash = strchr(o->targets[j], '/');
			char name[128];
			int found = 0;

			fleet_name_part(o->targets[j], name, sizeof(name));
			if (!slash || strcmp(name, t->name) != 0)
				continue;
			for (k = 0; k < PQntuples(rows) && !found; k++)
				found = strcmp(PQgetvalue(rows, k, 0),
					       slash + 1) == 0;
			if (!found) {
				char shown[VALUE_QUOTE_MAX];

				value_quote(o->targets[j], shown, sizeof(shown));
				PQclear(rows);
				return invocation_stop(inv, OUTCOME_USAGE,
						       "--target %s: target "
						       "'%s' has no such "
						       "tenant; see "
						       "--list-targets", shown,
						       t->name);
			}
		}
		PQclear(rows);
	}
	return 0;
}

void fleet_units_free(struct fleet_unit *units, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(units[i].schema);
		free(units[i].name);
	}
	free(units);
}

enum outcome fleet_list_targets(struct invocation *inv)
{
	struct fleet_unit *units;
	size_t n, i;
	int worst = 0;

	if (fleet_units(inv, &units, &n) != 0)
		return inv->outcome;
	if (inv->cfg.ntargets == 0)
		printf("(no [target.NAME] sections in '%s': a run sweeps "
		       "[database])\n", inv->cfg.path);
	for (i = 0; i < n; i++) {
		const struct fleet_unit *u = &units[i];

		if (u->failed_exit) {
			printf("%s\t(tenants not listed: %s)\n", u->name,
			       u->failed_why);
			worst = fleet_worse_exit(worst, u->failed_exit);
			continue;
		}
		printf("%s\n", u->name);
	}
	fflush(stdout);
	fleet_units_free(units, n);
	switch (worst) {
	case EX_CONFIG:
		return OUTCOME_CONFIG;
	case EX_UNAVAILABLE:
		return OUTCOME_UNAVAILABLE;
	default:
		return OUTCOME_OK;
	}
}
