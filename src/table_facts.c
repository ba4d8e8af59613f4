/*
 * table_facts.c: a step's table, and the users table, as the catalog
 * describes them (table_facts.h), in one query.
 *
 * Columns are matched in their quoted form, as the config names them
 * (ident.h quotes every name as written, case included), so a name
 * written "in quotes" finds its column and a name that merely folds to
 * one does not.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "table_facts.h"

/* A column's name as ident_quote_column() writes it. */
#define FACTS_QUOTED(a) "'\"' || replace(" a ".attname, '\"', '\"\"') || '\"'"

/*
 * $1 the table, $2 its key column, $3 its user column, $4 the users
 * table (quoted; NULL for none).  One row when the table exists.
 */
#define FACTS_SQL \
	"SELECT c.oid::bigint, c.relkind = 'p' OR c.relhassubclass," \
	" CASE WHEN c.relpages > 0 AND c.reltuples > 0" \
	" THEN c.reltuples / c.relpages ELSE 0 END," \
	" greatest(c.reltuples, 0)::float8," \
	" pg_relation_size(c.oid) / current_setting('block_size')::bigint," \
	" (SELECT a.attname FROM pg_index i JOIN pg_attribute a" \
	"  ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]" \
	"  WHERE i.indrelid = c.oid AND i.indisprimary AND i.indnkeyatts = 1)," \
	" EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid" \
	"  AND a.attnum > 0 AND NOT a.attisdropped AND " FACTS_QUOTED("a") " = $2)," \
	" EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid" \
	"  AND a.attnum > 0 AND NOT a.attisdropped AND " FACTS_QUOTED("a") " = $3)," \
	" (SELECT ic.relname FROM pg_index i" \
	"  JOIN pg_class ic ON ic.oid = i.indexrelid" \
	"  JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]" \
	"  WHERE i.indrelid = c.oid AND i.indisvalid AND i.indpred IS NULL" \
	"  AND " FACTS_QUOTED("a") " = $3 ORDER BY ic.relname LIMIT 1)," \
	" coalesce(u.oid::bigint, 0), coalesce(u.relkind = 'p' OR u.relhassubclass, false)," \
	" CASE WHEN u.relpages > 0 AND u.reltuples > 0" \
	" THEN u.reltuples / u.relpages ELSE 0 END," \
	" greatest(coalesce(u.reltuples, 0), 0)::float8," \
	" CASE WHEN u.oid IS NULL THEN 0" \
	" ELSE pg_relation_size(u.oid) / current_setting('block_size')::bigint END" \
	" FROM pg_class c LEFT JOIN pg_class u ON u.oid = to_regclass($4)" \
	" WHERE c.oid = to_regclass($1)"

static int facts_bool(const PGresult *res, int col)
{
	return strcmp(PQgetvalue(res, 0, col), "t") == 0;
}

int table_facts_read(PGconn *conn, const char *table, const char *key,
		     const char *user, const char *users,
		     struct table_facts *f, char state[DB_SQLSTATE_LEN],
		     char *err, size_t errlen)
{
	const char *params[4] = { table, key, user, users };
	PGresult *res;

	memset(f, 0, sizeof(*f));
	res = db_query_named(conn, "mfa_sweeper_table_facts", FACTS_SQL, 4,
			     params, state, err, errlen);
	if (!res)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		return 1;
	}
	f->oid = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	f->many_tables = facts_bool(res, 1);
	f->rows_per_block = strtod(PQgetvalue(res, 0, 2), NULL);
	f->rows = strtod(PQgetvalue(res, 0, 3), NULL);
	f->nblocks = strtoll(PQgetvalue(res, 0, 4), NULL, 10);
	snprintf(f->primary_key, sizeof(f->primary_key), "%s",
		 PQgetvalue(res, 0, 5));
	f->key_exists = facts_bool(res, 6);
	f->user_exists = facts_bool(res, 7);
	snprintf(f->user_index, sizeof(f->user_index), "%s",
		 PQgetvalue(res, 0, 8));
	f->users_oid = strtoll(PQgetvalue(res, 0, 9), NULL, 10);
	f->users_many_tables = facts_bool(res, 10);
	f->users_rows_per_block = strtod(PQgetvalue(res, 0, 11), NULL);
	f->users_rows = strtod(PQgetvalue(res, 0, 12), NULL);
	f->users_nblocks = strtoll(PQgetvalue(res, 0, 13), NULL, 10);
	f->read_ms = clock_now_ms();
	PQclear(res);
	return 0;
}

int table_facts_fresh(const struct table_facts *f)
{
	long long age = clock_now_ms() - f->read_ms;

	return f->read_ms > 0 && age >= 0 && age < TABLE_FACTS_FRESH_MS;
}

double table_facts_rows_per_user(const struct table_facts *f)
{
	return f->rows > 0 && f->users_rows > 0 ? f->rows / f->users_rows : 0;
}

int table_facts_size(PGconn *conn, long long oid, long long *nblocks,
		     char state[DB_SQLSTATE_LEN], char *err, size_t errlen)
{
	char oid_text[32];
	const char *params[1] = { oid_text };
	PGresult *res;

	snprintf(oid_text, sizeof(oid_text), "%lld", oid);
	res = db_query_state(conn, "SELECT pg_relation_size($1::oid::regclass)"
			     " / current_setting('block_size')::bigint", 1,
			     params, state, err, errlen);
	if (!res)
		return -1;
	*nblocks = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return 0;
}
