/*
 * grants.c: the privileges the sweeper's role needs, checked before a run
 * and printed by --print-grants, from one table (grants_rows[]).
 *
 * A role that owns nothing and holds only these privileges runs every
 * mode of the sweeper.  Each row of the table is one privilege on one
 * kind of object (the database, the schema of a table, a table, one
 * column, membership in a predefined role), the feature that needs it and
 * why.  The rows are turned into needs for this config (one per table of
 * the kind, per step table for the rules' rows), and every need is both a
 * has_*_privilege() call and a GRANT statement, so that what is checked
 * and what is printed cannot drift apart.  doc/security.md "Least privilege"
 * is the same table in prose.
 *
 * The preflight EXPLAINs every step's DELETE, and EXPLAIN checks the
 * privileges of the statement it plans, so a dry run, --check-config and
 * --explain need what a run needs; checking them here first is what turns
 * "permission denied" into the GRANT that is missing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "grants.h"
#include "ident.h"
#include "log.h"
#include "strbuf.h"
#include "values.h"
#include "xalloc.h"

/* When a row is needed: bits of grants_row.when. */
#define GRANTS_RUN     0x01  /* every run: dry runs, --check-config, --explain */
#define GRANTS_LOOKUP  0x02  /* scoped runs and --check-config */
#define GRANTS_FILTER  0x04  /* a rule filters users (user_disabled) */
#define GRANTS_LEDGER  0x08  /* [ledger] enabled */
#define GRANTS_LAG     0x10  /* [sweeper] max_replica_lag set */
#define GRANTS_HISTORY 0x20  /* --history: printed, not checked by a run */
#define GRANTS_INIT    0x40  /* --init-ledger: printed commented out */
#define GRANTS_LEASE   0x80  /* the run lease table is read: [ledger] enabled,
			      * pooler = transaction, or the table exists */
#define GRANTS_LEASED  0x100 /* pooler = transaction: the lease is the lock */

/* What a row's privilege is on. */
enum grants_on {
	GRANTS_ON_DATABASE,    /* the dsn's database */
	GRANTS_ON_SCHEMA,      /* the schema the row's table is in */
	GRANTS_ON_TABLE,       /* the whole table */
	GRANTS_ON_ANY_COLUMN,  /* any one column: the step's key is granted */
	GRANTS_ON_COLUMN,      /* one column of the table */
	GRANTS_ON_ROLE         /* membership: `privilege` names the role */
};

/* Which tables a row is about. */
enum grants_kind {
	GRANTS_NO_TABLE,
	GRANTS_STEP,           /* every step's table */
	GRANTS_USERS,          /* [schema] users_table */
	GRANTS_RUNS,           /* the ledger's runs */
	GRANTS_DELETIONS,      /* the ledger's deletions */
	GRANTS_LEASE_TABLE     /* the run lease (run_lock.h), in the ledger's schema */
};

struct grants_row {
	unsigned when;
	const char *feature;      /* the heading --print-grants puts it under */
	enum grants_kind kind;
	enum grants_on on;
	const char *privilege;
	const char *schema_key;   /* GRANTS_ON_COLUMN: its [schema] key, or */
	const char *column;       /* a system column */
	const char *why;
};

/*
 * The privileges, in the order they are checked and printed: a schema
 * before the tables in it, so that the first one missing is the cause.
 */
static const struct grants_row grants_rows[] = {
	{ GRANTS_RUN, "every run", GRANTS_NO_TABLE, GRANTS_ON_DATABASE,
	  "CONNECT", NULL, NULL,
	  "every run connects to it (PUBLIC holds it unless revoked)" },

	{ GRANTS_RUN, "the rules' tables", GRANTS_STEP, GRANTS_ON_SCHEMA,
	  "USAGE", NULL, NULL, "a rule's table is in it" },
	{ GRANTS_RUN, "the rules' tables", GRANTS_STEP, GRANTS_ON_TABLE,
	  "SELECT", NULL, NULL,
	  "batches read the rows they delete, their keys and where they lie" },
	{ GRANTS_RUN, "the rules' tables", GRANTS_STEP, GRANTS_ON_TABLE,
	  "DELETE", NULL, NULL, "batches delete the rows" },
	{ GRANTS_RUN, "the rules' tables", GRANTS_STEP, GRANTS_ON_ANY_COLUMN,
	  "UPDATE", NULL, NULL,
	  "batches lock rows FOR UPDATE, which needs UPDATE on one column; "
	  "no row is ever updated" },

	{ GRANTS_LOOKUP | GRANTS_FILTER, "the users table", GRANTS_USERS,
	  GRANTS_ON_SCHEMA, "USAGE", NULL, NULL, "the users table is in it" },
	{ GRANTS_LOOKUP | GRANTS_FILTER, "the users table", GRANTS_USERS,
	  GRANTS_ON_COLUMN, "SELECT", "user_id_column", NULL,
	  "scoped runs and rules that filter users match users by id" },
	{ GRANTS_LOOKUP, "the users table", GRANTS_USERS, GRANTS_ON_COLUMN,
	  "SELECT", "user_email_column", NULL,
	  "scoped runs look users up by email, and --check-config checks it" },
	{ GRANTS_FILTER, "the users table", GRANTS_USERS, GRANTS_ON_COLUMN,
	  "SELECT", "mfa_enrolled_column", NULL,
	  "rules that filter users (user_disabled) read it" },
	{ GRANTS_FILTER, "the users table", GRANTS_USERS, GRANTS_ON_COLUMN,
	  "SELECT", "mfa_disabled_at_column", NULL,
	  "rules that filter users (user_disabled) read it" },
	{ GRANTS_FILTER, "the users table", GRANTS_USERS, GRANTS_ON_COLUMN,
	  "SELECT", NULL, "ctid",
	  "a walk by users reads the users table in windows of its blocks" },

	{ GRANTS_LEDGER, "the audit ledger", GRANTS_RUNS, GRANTS_ON_SCHEMA,
	  "USAGE", NULL, NULL, "the ledger's tables are in it" },
	{ GRANTS_LEDGER, "the audit ledger", GRANTS_RUNS, GRANTS_ON_TABLE,
	  "SELECT", NULL, NULL,
	  "a run's end finds its row (ON CONFLICT, WHERE run_id)" },
	{ GRANTS_LEDGER, "the audit ledger", GRANTS_RUNS, GRANTS_ON_TABLE,
	  "INSERT", NULL, NULL, "every run records itself" },
	{ GRANTS_LEDGER, "the audit ledger", GRANTS_RUNS, GRANTS_ON_TABLE,
	  "UPDATE", NULL, NULL,
	  "a run's end and its webhook's outcome complete its row" },
	{ GRANTS_LEDGER, "the audit ledger", GRANTS_DELETIONS,
	  GRANTS_ON_TABLE, "INSERT", NULL, NULL,
	  "every batch records what it deleted, in its own statement" },
	{ GRANTS_HISTORY, "--history", GRANTS_DELETIONS, GRANTS_ON_TABLE,
	  "SELECT", NULL, NULL, "--history counts the rows of runs that died" },

	{ GRANTS_LEASE, "the run lock", GRANTS_LEASE_TABLE, GRANTS_ON_SCHEMA,
	  "USAGE", NULL, NULL, "the run lease table is in it" },
	{ GRANTS_LEASE, "the run lock", GRANTS_LEASE_TABLE, GRANTS_ON_TABLE,
	  "SELECT", NULL, NULL,
	  "a run makes sure no run behind a transaction pooler holds the lease" },
	{ GRANTS_LEASED, "the run lock", GRANTS_LEASE_TABLE, GRANTS_ON_TABLE,
	  "INSERT", NULL, NULL, "pooler = transaction: a run takes the lease" },
	{ GRANTS_LEASED, "the run lock", GRANTS_LEASE_TABLE, GRANTS_ON_TABLE,
	  "UPDATE", NULL, NULL,
	  "pooler = transaction: every batch renews the lease" },
	{ GRANTS_LEASED, "the run lock", GRANTS_LEASE_TABLE, GRANTS_ON_TABLE,
	  "DELETE", NULL, NULL, "pooler = transaction: a run releases the lease" },

	{ GRANTS_LAG, "max_replica_lag", GRANTS_NO_TABLE, GRANTS_ON_ROLE,
	  "pg_read_all_stats", NULL, NULL,
	  "pg_stat_replication shows the standbys' lag as NULL without it; "
	  "GRANT pg_monitor TO the role also gives it" },

	{ GRANTS_INIT, "--init-ledger", GRANTS_NO_TABLE, GRANTS_ON_DATABASE,
	  "CREATE", NULL, NULL,
	  "only for --init-ledger, which then owns the ledger; the database "
	  "owner applying --print-ledger-sql needs none of it" },
};

#define GRANTS_NROWS (sizeof(grants_rows) / sizeof(grants_rows[0]))

/*
 * Find a table as the server would: `schema.table` in that schema, a bare
 * name in the first schema of the search path that has it, and, when
 * none the role may use has it, in the first schema of search_path as
 * written that does (the role lacks USAGE there, which is then the need to
 * name).  Returns the schema and table names, and the oids of those that
 * exist, and the table's one-column primary key when it has one (the
 * key a step walks when the config names none).  $1 is the name quoted
 * by ident_quote().
 *
 * The OFFSET 0 keeps the planner from pulling `s` up into the outer query:
 * pulled up, the schema's CASE and its two searches were planned twice
 * (once for the output, once for the join on pg_namespace), and planning
 * took 1.3 ms warm instead of 0.8 ms, in every run's first catalog query.
 */
#define GRANTS_RESOLVE_SQL \
	"SELECT s.nsp, s.rel, ns.oid::text, c.oid::text," \
	" (SELECT a.attname FROM pg_index i" \
	" JOIN pg_attribute a ON a.attrelid = i.indrelid" \
	" AND a.attnum = i.indkey[0]" \
	" WHERE i.indrelid = c.oid AND i.indisprimary" \
	" AND i.indnkeyatts = 1)" \
	" FROM (SELECT CASE WHEN cardinality(p.n) = 2 THEN p.n[1] ELSE" \
	" coalesce((SELECT x.s FROM unnest(current_schemas(true))" \
	" WITH ORDINALITY AS x(s, i)" \
	" JOIN pg_namespace AS xn ON xn.nspname = x.s" \
	" JOIN pg_class AS xc ON xc.relnamespace = xn.oid" \
	" AND xc.relname = p.n[1] ORDER BY x.i LIMIT 1)," \
	" (SELECT x.s FROM (SELECT CASE WHEN (parse_ident(btrim(y.e)))[1]" \
	" = '$user' THEN current_user::text" \
	" ELSE (parse_ident(btrim(y.e)))[1] END, y.i" \
	" FROM unnest(string_to_array(current_setting('search_path'), ','))" \
	" WITH ORDINALITY AS y(e, i)) AS x(s, i)" \
	" JOIN pg_namespace AS xn ON xn.nspname = x.s" \
	" JOIN pg_class AS xc ON xc.relnamespace = xn.oid" \
	" AND xc.relname = p.n[1] ORDER BY x.i LIMIT 1)) END," \
	" p.n[cardinality(p.n)]" \
	" FROM (SELECT parse_ident($1) AS n) AS p OFFSET 0) AS s(nsp, rel)" \
	" LEFT JOIN pg_namespace AS ns ON ns.nspname = s.nsp" \
	" LEFT JOIN pg_class AS c ON c.relnamespace = ns.oid" \
	" AND c.relname = s.rel"

/* One table the config names, and where the server finds it. */
struct grants_table {
	enum grants_kind kind;
	char *shown;              /* for messages: as written in config */
	char quoted[IDENT_MAX];   /* ident_quote() of it */
	char key[IDENT_MAX];      /* a step's key column, quoted; else "" */
	struct strbuf rules;      /* a step table's rules, for the heading */
	char *nsp;                /* its schema; NULL when not found */
	char *nsp_oid;            /* NULL when the schema does not exist */
	char *rel_oid;            /* NULL when the table does not exist */
	char *sql_name;           /* for GRANTs: "schema"."table" */
};

/* Everything the needs are made of: the tables, the role and database. */
struct grants_ctx {
	PGconn *conn;
	const struct grants_scope *g;
	struct grants_table *tables;
	size_t ntables;
	char *role;               /* as PostgreSQL stores it */
	char *role_sql;           /* quoted */
	char *database;
	char *database_sql;       /* quoted */
	unsigned when;            /* the rows that apply */
	char **done;              /* the GRANTs already made, to make each once */
	size_t ndone;
};

/* One row applied to one table: a check and a GRANT. */
struct grants_need {
	const struct grants_row *row;
	const struct grants_table *table;   /* NULL for database and role */
	char column[IDENT_MAX];             /* quoted; "" when none */
	const char *column_shown;
	char *grant;                        /* owned; no ';' */
};

/* PQescapeIdentifier() into a malloc()ed copy the caller frees. */
static char *grants_escape(PGconn *conn, const char *name)
{
	char *q = PQescapeIdentifier(conn, name, strlen(name));
	char *copy;

	if (!q)
		return NULL;
	copy = xstrdup(q);
	PQfreemem(q);
	return copy;
}

static void grants_tables_free(struct grants_ctx *c)
{
	size_t i;

	for (i = 0; i < c->ntables; i++) {
		struct grants_table *t = &c->tables[i];

		free(t->shown);
		strbuf_release(&t->rules);
		free(t->nsp);
		free(t->nsp_oid);
		free(t->rel_oid);
		free(t->sql_name);
	}
	free(c->tables);
	for (i = 0; i < c->ndone; i++)
		free(c->done[i]);
	free(c->done);
	free(c->role);
	free(c->role_sql);
	free(c->database);
	free(c->database_sql);
	memset(c, 0, sizeof(*c));
}

static char *grants_value(const PGresult *res, int col)
{
	return PQgetisnull(res, 0, col) ? NULL : xstrdup(PQgetvalue(res, 0, col));
}

/*
 * Find where the server has table `t` (GRANTS_RESOLVE_SQL); with
 * `key_from_pk`, its one-column primary key, when it has one, quoted into
 * t->key: the key a step walks when the config names none (plan.h), and
 * so the column its UPDATE privilege is printed for.
 */
static int grants_resolve(struct grants_ctx *c, struct grants_table *t,
			  int key_from_pk, char *err, size_t errlen)
{
	const char *params[1] = { t->quoted };
	char *rel = NULL, *nsp_sql = NULL, *rel_sql = NULL;
	char state[DB_SQLSTATE_LEN];
	char why[1024];
	PGresult *res;

	res = db_query_named(c->conn, "mfa_sweeper_grants_resolve_pk",
			     GRANTS_RESOLVE_SQL, 1, params, state, why,
			     sizeof(why));
	if (!res) {
		snprintf(err, errlen, "cannot look up table '%s' to check the "
			 "role's privileges: %s", t->shown, why);
		return -1;
	}
	t->nsp = grants_value(res, 0);
	rel = grants_value(res, 1);
	t->nsp_oid = grants_value(res, 2);
	t->rel_oid = grants_value(res, 3);
	if (key_from_pk && !PQgetisnull(res, 0, 4))
		ident_quote_column(PQgetvalue(res, 0, 4), t->key,
				   sizeof(t->key));
	if (t->nsp && rel) {
		nsp_sql = grants_escape(c->conn, t->nsp);
		rel_sql = grants_escape(c->conn, rel);
	}
	if (nsp_sql && rel_sql) {
		struct strbuf sb = STRBUF_INIT;

		strbuf_addf(&sb, "%s.%s", nsp_sql, rel_sql);
		t->sql_name = strbuf_detach(&sb);
	} else {
		/* Not found: the GRANTs name it as written. */
		t->sql_name = xstrdup(t->quoted);
	}
	free(rel);
	free(nsp_sql);
	free(rel_sql);
	PQclear(res);
	return 0;
}

/*
 * Add the table `name` of `kind` (or find it: one entry per table and
 * kind), with the key and rule of a step; with `key_from_pk`, the key is
 * the table's primary key where it has one (a key the config does not
 * name).  Returns it, or NULL with one line in err.
 */
static struct grants_table *grants_add_table(struct grants_ctx *c,
					     enum grants_kind kind,
					     const char *name,
					     const char *key, int key_from_pk,
					     const char *rule, char *err,
					     size_t errlen)
{
	char quoted[IDENT_MAX];
	struct grants_table *t;
	size_t i;

	if (ident_quote(name, quoted, sizeof(quoted)) != 0) {
		snprintf(err, errlen, "invalid table name '%s'", name);
		return NULL;
	}
	for (i = 0; i < c->ntables; i++) {
		t = &c->tables[i];
		if (t->kind == kind && strcmp(t->quoted, quoted) == 0)
			break;
	}
	if (i == c->ntables) {
		c->tables = xrealloc(c->tables, (c->ntables + 1) *
				     sizeof(*c->tables));
		t = &c->tables[c->ntables++];
		memset(t, 0, sizeof(*t));
		t->kind = kind;
		t->shown = xstrdup(name);
		memcpy(t->quoted, quoted, sizeof(quoted));
		if (key && ident_quote_column(key, t->key, sizeof(t->key)) != 0) {
			snprintf(err, errlen, "invalid key column name '%s' of "
				 "table '%s'", key, name);
			return NULL;
		}
		if (grants_resolve(c, t, key_from_pk, err, errlen) != 0)
			return NULL;
	}
	t = &c->tables[i];
	if (rule) {
		char shown[VALUE_QUOTE_MAX];

		value_quote(rule, shown, sizeof(shown));
		if (!strstr(strbuf_str(&t->rules), shown))
			strbuf_addf(&t->rules, "%s%s", t->rules.len ? ", " : "",
				    shown);
	}
	return t;
}

/* A ledger table, shown as schema.table as --init-ledger says. */
static int grants_add_ledger(struct grants_ctx *c, enum grants_kind kind,
			     const char *table, char *err, size_t errlen)
{
	const char *schema = c->g->cfg->ledger_schema;
	struct strbuf name = STRBUF_INIT;
	struct grants_table *t;
	char quoted[IDENT_MAX];

	/* The schema is one name: quoted, a dot stays in it. */
	if (ident_quote_column(schema, quoted, sizeof(quoted)) != 0) {
		snprintf(err, errlen, "[ledger] schema: invalid schema name "
			 "'%s'", schema);
		return -1;
	}
	strbuf_addf(&name, "%s.%s", quoted, table);
	t = grants_add_table(c, kind, strbuf_str(&name), NULL, 0, NULL, err,
			     errlen);
	strbuf_release(&name);
	if (!t)
		return -1;
	strbuf_addf(&name, "%s.%s", schema, table);
	free(t->shown);
	t->shown = strbuf_detach(&name);
	return 0;
}

/* Whether the run lease table of g->ledger exists (a failed look: no). */
static int grants_lease_exists(struct grants_ctx *c)
{
	const char *params[1];
	char state[DB_SQLSTATE_LEN];
	char why[512];
	PGresult *res;
	int exists;

	if (!c->g->ledger)
		return 0;
	params[0] = c->g->ledger->lease;
	res = db_query_memo(c->conn, "mfa_sweeper_table_exists",
			    "SELECT to_regclass($1) IS NOT NULL", 1, params,
			    state, why, sizeof(why));
	if (!res)
		return 0;
	exists = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	return exists;
}

/*
 * Set up *c for `g`: the role (NULL: current_user), the database, which
 * rows apply (`when`, before the bits that depend on the rules), and
 * every table, found in the database.  Returns 0, or -1 with one line in
 * err; *c is then for grants_tables_free() either way.
 */
static int grants_setup(struct grants_ctx *c, PGconn *conn,
			const struct grants_scope *g, const char *role,
			unsigned when, char *err, size_t errlen)
{
	char state[DB_SQLSTATE_LEN];
	char why[1024];
	PGresult *res;
	size_t i, j;

	memset(c, 0, sizeof(*c));
	c->conn = conn;
	c->g = g;
	res = db_query_memo(conn, "mfa_sweeper_identity",
			    "SELECT current_user, current_database()", 0, NULL,
			    state, why, sizeof(why));
	if (!res) {
		snprintf(err, errlen, "cannot check the role's privileges: %s",
			 why);
		return -1;
	}
	c->role = xstrdup(role ? role : PQgetvalue(res, 0, 0));
	c->database = xstrdup(PQgetvalue(res, 0, 1));
	PQclear(res);
	c->role_sql = grants_escape(conn, c->role);
	c->database_sql = grants_escape(conn, c->database);
	if (!c->role_sql || !c->database_sql) {
		snprintf(err, errlen, "cannot quote the role's name: %s",
			 PQerrorMessage(conn));
		return -1;
	}

	for (i = 0; i < g->nrules; i++) {
		const struct rule *r = &g->rules[i];

		if (r->user_filter)
			when |= GRANTS_FILTER;
		for (j = 0; j < r->nsteps; j++) {
			const struct step *st = &r->steps[j];

			if (!grants_add_table(c, GRANTS_STEP, st->table,
					      st->key_column,
					      st->key_setting && !st->key_written,
					      r->name, err, errlen))
				return -1;
		}
	}
	if (g->lookups)
		when |= GRANTS_LOOKUP;
	if (g->ledger && g->ledger->enabled)
		when |= GRANTS_LEDGER;
	else
		when &= ~(unsigned)(GRANTS_HISTORY | GRANTS_INIT);
	if (g->cfg->max_replica_lag_ms > 0)
		when |= GRANTS_LAG;
	/* The run lock reads the lease table wherever it exists. */
	if (g->cfg->pooler && strcmp(g->cfg->pooler, "transaction") == 0)
		when |= GRANTS_LEASE | GRANTS_LEASED;
	if ((when & GRANTS_LEDGER) || grants_lease_exists(c))
		when |= GRANTS_LEASE;
	c->when = when;
	if ((when & (GRANTS_LOOKUP | GRANTS_FILTER)) &&
	    !grants_add_table(c, GRANTS_USERS,
			      config_schema(g->cfg, "users_table"), NULL, 0,
			      NULL, err, errlen))
		return -1;
	if ((when & GRANTS_LEDGER) &&
	    (grants_add_ledger(c, GRANTS_RUNS, "runs", err, errlen) != 0 ||
	     grants_add_ledger(c, GRANTS_DELETIONS, "deletions", err,
			       errlen) != 0))
		return -1;
	if ((when & GRANTS_LEASE) &&
	    grants_add_ledger(c, GRANTS_LEASE_TABLE, "run_lease", err,
			      errlen) != 0)
		return -1;
	return 0;
}

/*
 * Make the need of `row` on table `t` (NULL for rows on no table) into *n:
 * its column and its GRANT.  Returns 1 when it is made, 0 when there is
 * nothing to grant (a schema of a table not found, a GRANT already made).
 */
static int grants_need_make(struct grants_ctx *c, const struct grants_row *row,
			    const struct grants_table *t,
			    struct grants_need *n)
{
	struct strbuf sb = STRBUF_INIT;
	char *nsp_sql = NULL;
	size_t i;

	memset(n, 0, sizeof(*n));
	n->row = row;
	n->table = t;
	if (row->on == GRANTS_ON_COLUMN) {
		n->column_shown = row->schema_key ?
				  config_schema(c->g->cfg, row->schema_key) :
				  row->column;
		if (!n->column_shown || !*n->column_shown ||
		    ident_quote_column(n->column_shown, n->column,
				       sizeof(n->column)) != 0)
			return 0;
	} else if (row->on == GRANTS_ON_ANY_COLUMN) {
		memcpy(n->column, t->key, sizeof(n->column));
	}
	switch (row->on) {
	case GRANTS_ON_DATABASE:
		strbuf_addf(&sb, "GRANT %s ON DATABASE %s TO %s",
			    row->privilege, c->database_sql, c->role_sql);
		break;
	case GRANTS_ON_SCHEMA:
		if (!t->nsp)
			return 0;
		nsp_sql = grants_escape(c->conn, t->nsp);
		if (!nsp_sql)
			return 0;
		strbuf_addf(&sb, "GRANT USAGE ON SCHEMA %s TO %s", nsp_sql,
			    c->role_sql);
		free(nsp_sql);
		break;
	case GRANTS_ON_TABLE:
		strbuf_addf(&sb, "GRANT %s ON %s TO %s", row->privilege,
			    t->sql_name, c->role_sql);
		break;
	case GRANTS_ON_ANY_COLUMN:
	case GRANTS_ON_COLUMN:
		strbuf_addf(&sb, "GRANT %s (%s) ON %s TO %s", row->privilege,
			    n->column, t->sql_name, c->role_sql);
		break;
	case GRANTS_ON_ROLE:
		nsp_sql = grants_escape(c->conn, row->privilege);
		if (!nsp_sql)
			return 0;
		strbuf_addf(&sb, "GRANT %s TO %s", nsp_sql, c->role_sql);
		free(nsp_sql);
		break;
	}
	for (i = 0; i < c->ndone; i++) {
		if (strcmp(c->done[i], strbuf_str(&sb)) == 0) {
			strbuf_release(&sb);
			return 0;
		}
	}
	n->grant = strbuf_detach(&sb);
	c->done = xrealloc(c->done, (c->ndone + 1) * sizeof(*c->done));
	c->done[c->ndone++] = xstrdup(n->grant);
	return 1;
}

/*
 * Call `fn` for every need of the rows in c->when, in the table's order:
 * per row, each table of its kind.  Stops at the first `fn` that returns
 * nonzero and returns that.
 */
static int grants_each(struct grants_ctx *c,
		       int (*fn)(struct grants_ctx *c,
				 const struct grants_need *n, void *arg),
		       void *arg)
{
	struct grants_need n;
	size_t r, i;
	int rc = 0;

	for (r = 0; r < GRANTS_NROWS && rc == 0; r++) {
		const struct grants_row *row = &grants_rows[r];

		if (!(row->when & c->when))
			continue;
		if (row->kind == GRANTS_NO_TABLE) {
			if (grants_need_make(c, row, NULL, &n)) {
				rc = fn(c, &n, arg);
				free(n.grant);
			}
			continue;
		}
		for (i = 0; i < c->ntables && rc == 0; i++) {
			if (c->tables[i].kind != row->kind ||
			    !grants_need_make(c, row, &c->tables[i], &n))
				continue;
			rc = fn(c, &n, arg);
			free(n.grant);
		}
	}
	return rc;
}

/*
 * The check of need `n`, as one boolean expression of a SELECT list
 * appended to `sql` with its parameters appended to `params`: true when
 * the current role holds it, false when not, NULL when the object is gone.
 * Returns 0, or 2 when the object does not exist (other checks name it)
 * and nothing was appended.
 */
static int grants_held_expr(const struct grants_need *n, struct strbuf *sql,
			    const char **params, int *nparams)
{
	const char *oid = NULL;
	int p = *nparams + 1;

	switch (n->row->on) {
	case GRANTS_ON_DATABASE:
		strbuf_addf(sql, "has_database_privilege(current_database(),"
			    " $%d)", p);
		break;
	case GRANTS_ON_SCHEMA:
		oid = n->table->nsp_oid;
		strbuf_addf(sql, "has_schema_privilege($%d::oid, $%d)", p + 1, p);
		break;
	case GRANTS_ON_TABLE:
		oid = n->table->rel_oid;
		strbuf_addf(sql, "has_table_privilege($%d::oid, $%d)", p + 1, p);
		break;
	case GRANTS_ON_ANY_COLUMN:
		oid = n->table->rel_oid;
		strbuf_addf(sql, "has_any_column_privilege($%d::oid, $%d)",
			    p + 1, p);
		break;
	case GRANTS_ON_COLUMN:
		oid = n->table->rel_oid;
		strbuf_addf(sql, "(SELECT has_column_privilege(a.attrelid,"
			    " a.attnum, $%d) FROM pg_attribute AS a"
			    " WHERE a.attrelid = $%d::oid"
			    " AND a.attname = (parse_ident($%d))[1]"
			    " AND NOT a.attisdropped)", p, p + 1, p + 2);
		break;
	case GRANTS_ON_ROLE:
		strbuf_addf(sql, "pg_has_role($%d, 'USAGE')", p);
		break;
	}
	if (n->row->on != GRANTS_ON_DATABASE && n->row->on != GRANTS_ON_ROLE &&
	    !oid)
		return 2;
	params[(*nparams)++] = n->row->privilege;
	if (oid)
		params[(*nparams)++] = oid;
	if (n->row->on == GRANTS_ON_COLUMN)
		params[(*nparams)++] = n->column;
	return 0;
}

/* What grants_check() collects. */
struct grants_missing {
	size_t count;
	char what[1536];    /* the first need not held, described */
	char grant[1536];   /* and its GRANT */
	char *err;          /* for a failed query */
	size_t errlen;
};

/* "UPDATE on table 'x'", "USAGE on schema 'app'": what is missing. */
static void grants_describe(const struct grants_ctx *c,
			    const struct grants_need *n, char *buf,
			    size_t size)
{
	char object[VALUE_QUOTE_MAX];
	char column[VALUE_QUOTE_MAX];

	switch (n->row->on) {
	case GRANTS_ON_DATABASE:
		value_quote(c->database, object, sizeof(object));
		snprintf(buf, size, "%s on database %s", n->row->privilege,
			 object);
		break;
	case GRANTS_ON_SCHEMA:
		value_quote(n->table->nsp, object, sizeof(object));
		snprintf(buf, size, "USAGE on schema %s", object);
		break;
	case GRANTS_ON_TABLE:
	case GRANTS_ON_ANY_COLUMN:
		value_quote(n->table->shown, object, sizeof(object));
		snprintf(buf, size, "%s on table %s", n->row->privilege,
			 object);
		break;
	case GRANTS_ON_COLUMN:
		value_quote(n->table->shown, object, sizeof(object));
		value_quote(n->column_shown, column, sizeof(column));
		snprintf(buf, size, "%s on column %s of table %s",
			 n->row->privilege, column, object);
		break;
	case GRANTS_ON_ROLE:
		value_quote(n->row->privilege, object, sizeof(object));
		snprintf(buf, size, "the privileges of role %s", object);
		break;
	}
}

/*
 * The needs of a check, copied (grants_each() hands each one over only
 * for the length of its call), and where each one's answer is.
 */
struct grants_list {
	struct grants_need **need; /* owned, with their grant */
	int *column;               /* the answer's column, or -1: object gone */
	size_t n;
	struct strbuf sql;         /* one SELECT of every check */
	const char **params;       /* borrowed from the needs and tables */
	int nparams;
	int ncolumns;
};

static int grants_list_one(struct grants_ctx *c, const struct grants_need *n,
			   void *arg)
{
	struct grants_list *l = arg;
	struct strbuf expr = STRBUF_INIT;
	struct grants_need *copy;

	(void)c;
	l->need = xrealloc(l->need, (l->n + 1) * sizeof(*l->need));
	/* Each its own block: the parameters point into it. */
	l->need[l->n] = xmalloc(sizeof(**l->need));
	l->column = xrealloc(l->column, (l->n + 1) * sizeof(*l->column));
	l->params = xrealloc(l->params, ((size_t)l->nparams + 3) *
			     sizeof(*l->params));
	copy = l->need[l->n];
	*copy = *n;
	copy->grant = xstrdup(n->grant);
	l->column[l->n] = -1;
	if (grants_held_expr(copy, &expr, l->params, &l->nparams) == 0) {
		strbuf_addf(&l->sql, "%s%s", l->ncolumns ? ", " : "SELECT ",
			    strbuf_str(&expr));
		l->column[l->n] = l->ncolumns++;
	}
	strbuf_release(&expr);
	l->n++;
	return 0;
}

static void grants_list_free(struct grants_list *l)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		free(l->need[i]->grant);
		free(l->need[i]);
	}
	free(l->need);
	free(l->column);
	free(l->params);
	strbuf_release(&l->sql);
}

/*
 * A name for the statement `sql` that no other text shares (FNV-1a of
 * it), so that the same needs, target after target, are planned once.
 */
static void grants_statement_name(const char *sql, char *name, size_t size)
{
	unsigned long long h = 14695981039346656037ULL;

	for (; *sql; sql++) {
		h ^= (unsigned char)*sql;
		h *= 1099511628211ULL;
	}
	snprintf(name, size, "mfa_sweeper_grants_%016llx", h);
}

/*
 * Check every need of `l` in one statement, and count in *m those not
 * held, describing the first.  Returns 0, or -1 with m->err when the
 * statement failed.
 */
static int grants_check_list(struct grants_ctx *c, struct grants_list *l,
			     struct grants_missing *m)
{
	char state[DB_SQLSTATE_LEN];
	char name[64];
	char what[1024];
	char why[1024];
	PGresult *res = NULL;
	size_t i;
	int held;

	if (l->ncolumns > 0) {
		grants_statement_name(strbuf_str(&l->sql), name, sizeof(name));
		res = db_query_named(c->conn, name, strbuf_str(&l->sql),
				     l->nparams, l->params, state, why,
				     sizeof(why));
		if (!res) {
			snprintf(m->err, m->errlen, "cannot check the role's "
				 "privileges: %s", why);
			return -1;
		}
	}
	for (i = 0; i < l->n; i++) {
		const struct grants_need *n = l->need[i];
		int col = l->column[i];

		/* NULL: the column or table is gone. */
		if (col < 0 || PQntuples(res) != 1 || PQgetisnull(res, 0, col))
			held = 2;
		else
			held = strcmp(PQgetvalue(res, 0, col), "t") == 0;
		if (held != 0)
			continue;
		if (m->count++ == 0) {
			grants_describe(c, n, what, sizeof(what));
			snprintf(m->what, sizeof(m->what), "%s (%s)", what,
				 n->row->why);
			snprintf(m->grant, sizeof(m->grant), "%s", n->grant);
		}
	}
	PQclear(res);
	return 0;
}

int grants_check(PGconn *conn, const struct grants_scope *g, char *err,
		 size_t errlen)
{
	struct grants_missing m;
	struct grants_list l;
	struct grants_ctx c;
	char role[VALUE_QUOTE_MAX];
	char more[160];
	int ret = -1;

	memset(&m, 0, sizeof(m));
	memset(&l, 0, sizeof(l));
	m.err = err;
	m.errlen = errlen;
	/* Every check in one statement: one round trip, however many. */
	if (grants_setup(&c, conn, g, NULL, GRANTS_RUN, err, errlen) != 0 ||
	    grants_each(&c, grants_list_one, &l) != 0 ||
	    grants_check_list(&c, &l, &m) != 0)
		goto out;
	ret = m.count > 0;
	if (!ret)
		goto out;
	more[0] = '\0';
	if (m.count > 1)
		snprintf(more, sizeof(more), ", and %zu more privilege%s "
			 "(mfa-sweeper --print-grants prints every GRANT)",
			 m.count - 1, m.count == 2 ? "" : "s");
	value_quote(c.role, role, sizeof(role));
	/* The statement ends the line, to be copied whole. */
	snprintf(err, errlen, "role %s lacks %s%s; run: %s", role, m.what,
		 more, m.grant);
out:
	grants_list_free(&l);
	grants_tables_free(&c);
	return ret;
}

/* What grants_print() needs between needs. */
struct grants_out {
	FILE *out;
	const char *feature;   /* the heading printed last */
};

static int grants_print_one(struct grants_ctx *c, const struct grants_need *n,
			    void *arg)
{
	struct grants_out *o = arg;
	char shown[VALUE_QUOTE_MAX];
	size_t i;

	if (!o->feature || strcmp(o->feature, n->row->feature) != 0) {
		o->feature = n->row->feature;
		fprintf(o->out, "\n-- %s%s\n", n->row->feature,
			n->row->kind == GRANTS_STEP ? ":" : "");
		for (i = 0; n->row->kind == GRANTS_STEP && i < c->ntables;
		     i++) {
			if (c->tables[i].kind != GRANTS_STEP)
				continue;
			value_quote(c->tables[i].shown, shown, sizeof(shown));
			fprintf(o->out, "--   %s, of rule%s %s\n", shown,
				strchr(strbuf_str(&c->tables[i].rules), ',') ?
				"s" : "", strbuf_str(&c->tables[i].rules));
		}
	}
	fprintf(o->out, "%s%s;  -- %s\n",
		(n->row->when & GRANTS_INIT) ? "-- " : "", n->grant,
		n->row->why);
	return 0;
}

int grants_print(PGconn *conn, const struct grants_scope *g,
		 const char *role, FILE *out, char *err, size_t errlen)
{
	struct grants_out o = { out, NULL };
	struct grants_ctx c;
	char shown[VALUE_QUOTE_MAX];
	char why[1024];
	const char *params[1] = { role };
	PGresult *res;
	size_t i;
	int ret = -1;

	if (grants_setup(&c, conn, g, role, GRANTS_RUN | GRANTS_HISTORY |
			 GRANTS_INIT, err, errlen) != 0)
		goto out;
	if (role) {
		res = db_query(conn, "SELECT 1 FROM pg_roles WHERE rolname = $1",
			       1, params, why, sizeof(why));
		value_quote(role, shown, sizeof(shown));
		if (res && PQntuples(res) == 0)
			log_msg(SWEEPER_LOG_WARN, "role %s does not exist (yet); "
				"the GRANTs name it as given, and role names are "
				"case-sensitive here", shown);
		PQclear(res);
	}
	value_quote(c.role, shown, sizeof(shown));
	fprintf(out, "-- The privileges mfa-sweeper's role %s needs", shown);
	value_quote(c.database, shown, sizeof(shown));
	fprintf(out, " in database %s\n", shown);
	value_quote(g->cfg->path, shown, sizeof(shown));
	fprintf(out, "-- for runs, dry runs, scoped runs, --explain and "
		"--check-config with\n-- %s.  Run this as the owner of the "
		"tables, or a role that holds\n-- these privileges WITH GRANT "
		"OPTION; mfa-sweeper --check-config checks them.\n", shown);
	for (i = 0; i < c.ntables; i++) {
		if (c.tables[i].rel_oid)
			continue;
		value_quote(c.tables[i].shown, shown, sizeof(shown));
		fprintf(out, "-- Table %s does not exist (yet): its GRANTs name "
			"it as written.\n", shown);
	}
	if (grants_each(&c, grants_print_one, &o) != 0)
		goto out;
	if (fflush(out) != 0) {
		snprintf(err, errlen, "cannot write the GRANTs to stdout");
		goto out;
	}
	ret = 0;
out:
	grants_tables_free(&c);
	return ret;
}
