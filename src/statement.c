/*
 * statement.c: builds the batched DELETE, the dry-run COUNT and the
 * skipped-users query of a step.  Identifiers are quoted here; values
 * travel as parameters and are never part of the SQL text.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ident.h"
#include "statement.h"
#include "strbuf.h"

struct stmt_names {
	char table[IDENT_MAX];
	char key[IDENT_MAX];
	char user[IDENT_MAX];
	char users[IDENT_MAX];
	char user_id[IDENT_MAX];
};

static int stmt_quote(const char *what, const char *name, int column,
		      char *buf, char *err, size_t errlen)
{
	int rc = column ? ident_quote_column(name, buf, IDENT_MAX) :
			  ident_quote(name, buf, IDENT_MAX);

	if (rc != 0) {
		snprintf(err, errlen, "invalid %s name '%s'", what, name);
		return -1;
	}
	return 0;
}

static int stmt_add_param(struct stmt *st, const char *value)
{
	st->params[st->nparams++] = value;
	return st->nparams;
}

/*
 * " AND t.user = ANY(ARRAY(SELECT u.id FROM users u WHERE u.id::text =
 * ANY($n::text[])))": the ids arrive as text, and the users table itself
 * gives them their type, so the comparison with the step's user column
 * can use its index whatever the id type is.
 */
static void stmt_add_scope(struct strbuf *sql, struct stmt *st,
			   const struct stmt_names *n, const char *column,
			   const struct stmt_scope *scope)
{
	int p = stmt_add_param(st, scope->ids);

	strbuf_addf(sql,
		    " AND %s.%s = ANY(ARRAY(SELECT %s.%s FROM %s AS %s"
		    " WHERE %s.%s::text = ANY($%d::text[])))",
		    SWEEPER_TARGET_ALIAS, column, SWEEPER_USER_ALIAS,
		    n->user_id, n->users, SWEEPER_USER_ALIAS,
		    SWEEPER_USER_ALIAS, n->user_id, p);
}

static int stmt_names_quote(struct stmt_names *n, const struct step *step,
			    const char *users_table, const char *user_id_column,
			    char *err, size_t errlen)
{
	memset(n, 0, sizeof(*n));
	if (step) {
		if (stmt_quote("table", step->table, 0, n->table, err, errlen) ||
		    stmt_quote("key column", step->key_column, 1, n->key, err,
			       errlen))
			return -1;
		if (step->user_column &&
		    stmt_quote("user column", step->user_column, 1, n->user,
			       err, errlen))
			return -1;
	}
	if (users_table) {
		if (stmt_quote("users table", users_table, 0, n->users, err,
			       errlen) ||
		    stmt_quote("user id column", user_id_column, 1, n->user_id,
			       err, errlen))
			return -1;
	}
	return 0;
}

/*
 * Quote the names a statement uses: the step's, and the users table's of
 * a scoped run or a users walk (which need a user column).
 */
static int stmt_names_for(struct stmt_names *n, const struct step *step,
			  const struct stmt_scope *scope,
			  const struct stmt_bounds *bounds, char *err,
			  size_t errlen)
{
	if (bounds && bounds->walk == STMT_WALK_USERS) {
		if (!step || !step->user_column || !bounds->users) {
			snprintf(err, errlen, "a users walk needs a user column");
			return -1;
		}
		return stmt_names_quote(n, step, bounds->users->table,
					bounds->users->id_column, err, errlen);
	}
	return stmt_names_quote(n, step, scope ? scope->users_table : NULL,
				scope ? scope->user_id_column : NULL, err,
				errlen);
}

/* " AND a.ctid >= $n::tid AND a.ctid < $m::tid" for the bounds that are set. */
static void stmt_add_ctids(struct strbuf *sql, struct stmt *st,
			   const char *alias, const struct stmt_bounds *bounds)
{
	if (bounds->after)
		strbuf_addf(sql, " AND %s.ctid >= $%d::tid", alias,
			    stmt_add_param(st, bounds->after));
	if (bounds->upto)
		strbuf_addf(sql, " AND %s.ctid < $%d::tid", alias,
			    stmt_add_param(st, bounds->upto));
}

/*
 * " AND t.user = ANY(ARRAY(SELECT u.id FROM users AS u WHERE u.ctid >= $a
 * AND u.ctid < $b AND (filter)))": the rows of the users that the rule's
 * filter keeps among those stored in a window of the users table's
 * blocks.  The ARRAY() is computed once per statement, and the user
 * column's index then finds their rows.  The names were quoted into n.
 */
static void stmt_add_users(struct strbuf *sql, struct stmt *st,
			   const struct stmt_names *n,
			   const struct stmt_bounds *bounds)
{
	const char *u = SWEEPER_USER_ALIAS;

	strbuf_addf(sql, " AND %s.%s = ANY(ARRAY(SELECT %s.%s FROM %s AS %s"
		    " WHERE true", SWEEPER_TARGET_ALIAS, n->user, u,
		    n->user_id, n->users, u);
	stmt_add_ctids(sql, st, u, bounds);
	strbuf_addf(sql, " AND (%s)))", bounds->users->filter);
}

/*
 * " AND NOT (t.key = ANY($n))": the rows the database refused to delete
 * earlier in the step stay out of every later batch.  The parameter's
 * type is the key column's array type, inferred by the server, so the
 * comparison is the key's own and a refused row is never mistaken for
 * another whose text merely looks alike.
 */
static void stmt_add_excluded(struct strbuf *sql, struct stmt *st,
			      const struct stmt_names *n,
			      const struct stmt_bounds *bounds)
{
	if (!bounds || !bounds->excluded)
		return;
	strbuf_addf(sql, " AND NOT (%s.%s = ANY($%d))", SWEEPER_TARGET_ALIAS,
		    n->key, stmt_add_param(st, bounds->excluded));
}

/*
 * " AND t.key > $n AND t.key <= $m", or for a block window " AND t.ctid >=
 * $n::tid AND t.ctid < $m::tid", for the bounds that are set; then the
 * excluded keys.
 */
static void stmt_add_bounds(struct strbuf *sql, struct stmt *st,
			    const struct stmt_names *n,
			    const struct stmt_bounds *bounds)
{
	const char *key = n->key;
	const char *t = SWEEPER_TARGET_ALIAS;

	if (!bounds)
		return;
	stmt_add_excluded(sql, st, n, bounds);
	if (bounds->walk == STMT_WALK_KEYS) {
		strbuf_addf(sql, " AND %s.%s = ANY($%d)", t, key,
			    stmt_add_param(st, bounds->keys ? bounds->keys :
					   "{}"));
		return;
	}
	if (bounds->walk == STMT_WALK_USERS) {
		stmt_add_users(sql, st, n, bounds);
		return;
	}
	if (bounds->walk == STMT_WALK_BLOCKS) {
		stmt_add_ctids(sql, st, t, bounds);
		return;
	}
	if (bounds->walk == STMT_WALK_FREE)
		return;
	if (bounds->after)
		strbuf_addf(sql, " AND %s.%s > $%d", t, key,
			    stmt_add_param(st, bounds->after));
	if (bounds->upto)
		strbuf_addf(sql, " AND %s.%s <= $%d", t, key,
			    stmt_add_param(st, bounds->upto));
}

/*
 * " gone AS (DELETE ... RETURNING x)": what the deleted rows return.  With
 * a ledger each returns its user (or NULL) for the deletions insert, and
 * without one just 1, as the count needs nothing more.
 */
static void stmt_add_returning(struct strbuf *sql, const struct step *step,
			       const struct stmt_names *n,
			       const struct stmt_ledger *ledger)
{
	if (!ledger)
		strbuf_add(sql, " RETURNING 1)");
	else if (step->user_column)
		strbuf_addf(sql, " RETURNING %s.%s::text AS row_user)",
			    SWEEPER_TARGET_ALIAS, n->user);
	else
		strbuf_add(sql, " RETURNING NULL::text AS row_user)");
}

/*
 * ", logged AS (INSERT INTO deletions ...)": one row per user of the
 * batch.  A data-modifying CTE runs to completion whether or not the
 * main query reads it, and an empty batch groups into no row at all.
 */
static void stmt_add_ledger(struct strbuf *sql, struct stmt *st,
			    const struct rule *rule, const struct step *step,
			    const struct stmt_ledger *ledger)
{
	int p_run = stmt_add_param(st, ledger->run_id);
	int p_rule = stmt_add_param(st, rule->name);
	int p_table = stmt_add_param(st, step->table);

	strbuf_addf(sql,
		    ", logged AS (INSERT INTO %s"
		    " (run_id, rule, table_name, user_id, rows_deleted)"
		    " SELECT $%d::uuid, $%d::text, $%d::text, g.row_user, count(*)"
		    " FROM gone AS g GROUP BY g.row_user RETURNING 1)",
		    ledger->deletions, p_run, p_rule, p_table);
}

static int stmt_build_any(struct stmt *st, const struct rule *rule,
			  const struct step *step, enum stmt_kind kind,
			  long long limit, const struct stmt_scope *scope,
			  const struct stmt_bounds *bounds, int many_tables,
			  const struct stmt_ledger *ledger, char *err,
			  size_t errlen)
{
	struct strbuf sql = STRBUF_INIT;
	struct stmt_names n;
	const char *t = SWEEPER_TARGET_ALIAS;
	int ordered = !bounds || bounds->walk == STMT_WALK_KEY ||
		      bounds->walk == STMT_WALK_KEYS;
	int i, p;

	memset(st, 0, sizeof(*st));
	if (stmt_names_for(&n, kind == STMT_SKIPPED_USERS ? NULL : step, scope,
			   bounds, err, errlen) != 0)
		return -1;

	if (kind == STMT_SKIPPED_USERS) {
		/* The filter's own parameters are $1..$n, the ids follow. */
		for (i = 0; i < rule->filter_nparams; i++)
			stmt_add_param(st, rule->filter_params[i]);
		p = stmt_add_param(st, scope->ids);
		strbuf_addf(&sql,
			    "SELECT %s.%s::text FROM %s AS %s"
			    " WHERE %s.%s::text = ANY($%d::text[])"
			    " AND NOT coalesce((%s), false) ORDER BY 1",
			    SWEEPER_USER_ALIAS, n.user_id, n.users,
			    SWEEPER_USER_ALIAS, SWEEPER_USER_ALIAS, n.user_id, p,
			    rule->user_filter);
		st->sql = strbuf_detach(&sql);
		return 0;
	}

	if (kind == STMT_WINDOW) {
		/*
		 * Only the key index is read: OFFSET walks it without
		 * touching the predicate's tables.  No row means fewer than
		 * `limit` keys are left, and the last window is unbounded.
		 */
		strbuf_addf(&sql, "SELECT %s.%s::text FROM %s AS %s WHERE true",
			    t, n.key, n.table, t);
		stmt_add_bounds(&sql, st, &n, bounds);
		strbuf_addf(&sql, " ORDER BY %s.%s OFFSET %lld LIMIT 1", t,
			    n.key, limit > 0 ? limit - 1 : 0);
		st->sql = strbuf_detach(&sql);
		return 0;
	}

	for (i = 0; i < step->nparams; i++)
		stmt_add_param(st, step->params[i]);

	if (kind == STMT_COUNT) {
		strbuf_addf(&sql, "SELECT count(*) FROM %s AS %s WHERE (%s)",
			    n.table, t, step->predicate);
		if (scope)
			stmt_add_scope(&sql, st, &n, n.user, scope);
		st->sql = strbuf_detach(&sql);
		return 0;
	}

	if (kind == STMT_VICTIM_KEYS) {
		/*
		 * The rows of the batch, read as its victims CTE reads them
		 * but always in key order, so that the first `limit` of them
		 * are the ones a key walk's batch took.
		 */
		strbuf_addf(&sql, "SELECT %s.%s::text FROM %s AS %s WHERE (%s)",
			    t, n.key, n.table, t, step->predicate);
		if (scope)
			stmt_add_scope(&sql, st, &n, n.user, scope);
		stmt_add_bounds(&sql, st, &n, bounds);
		strbuf_addf(&sql, " ORDER BY %s.%s LIMIT %lld FOR UPDATE OF %s"
			    " SKIP LOCKED", t, n.key, limit, t);
		st->sql = strbuf_detach(&sql);
		return 0;
	}

	/*
	 * The victims CTE walks the key in order from the cursor, so each
	 * batch starts where the last one stopped instead of rescanning the
	 * rows already passed; FOR UPDATE re-checks the predicate against
	 * the newest version of a row that changed since the snapshot.
	 */
	strbuf_addf(&sql,
		    "WITH victims AS (SELECT %s.tableoid AS row_oid,"
		    " %s.ctid AS row_ctid, %s.%s AS row_key"
		    " FROM %s AS %s WHERE (%s)",
		    t, t, t, n.key, n.table, t, step->predicate);
	if (scope)
		stmt_add_scope(&sql, st, &n, n.user, scope);
	stmt_add_bounds(&sql, st, &n, bounds);
	/*
	 * Only a key walk resumes from its last victim; the others resume
	 * from the window's end or need no cursor, and sorting would only
	 * cost.
	 */
	if (ordered)
		strbuf_addf(&sql, " ORDER BY %s.%s", t, n.key);
	strbuf_addf(&sql, " LIMIT %lld FOR UPDATE OF %s SKIP LOCKED),", limit,
		    t);
	/*
	 * Deleting by ctid is a TID scan of exactly the victims.  A ctid is
	 * only unique within one physical table, and a key need not be
	 * unique across the partitions or children of a table, so there
	 * rows are matched on both the table they live in and their ctid.
	 */
	if (many_tables)
		strbuf_addf(&sql,
			    " gone AS (DELETE FROM %s AS %s USING victims AS v"
			    " WHERE %s.tableoid = v.row_oid AND %s.ctid = v.row_ctid",
			    n.table, t, t, t);
	else
		strbuf_addf(&sql,
			    " gone AS (DELETE FROM %s AS %s WHERE %s.ctid ="
			    " ANY(ARRAY(SELECT row_ctid FROM victims))",
			    n.table, t, t);
	stmt_add_returning(&sql, step, &n, ledger);
	if (ledger)
		stmt_add_ledger(&sql, st, rule, step, ledger);
	strbuf_add(&sql,
		   " SELECT (SELECT count(*) FROM gone),"
		   " (SELECT count(*) FROM victims),");
	if (ordered)
		strbuf_add(&sql, " (SELECT v.row_key::text FROM victims AS v"
			   " ORDER BY v.row_key DESC LIMIT 1)");
	else
		strbuf_add(&sql, " NULL::text");
	st->sql = strbuf_detach(&sql);
	return 0;
}

int stmt_build(struct stmt *st, const struct rule *rule,
	       const struct step *step, enum stmt_kind kind, long long limit,
	       const struct stmt_scope *scope,
	       const struct stmt_bounds *bounds, int many_tables, char *err,
	       size_t errlen)
{
	return stmt_build_any(st, rule, step, kind, limit, scope, bounds,
			      many_tables, NULL, err, errlen);
}

int stmt_build_delete(struct stmt *st, const struct rule *rule,
		      const struct step *step, long long limit,
		      const struct stmt_scope *scope,
		      const struct stmt_bounds *bounds, int many_tables,
		      const struct stmt_ledger *ledger, char *err,
		      size_t errlen)
{
	return stmt_build_any(st, rule, step, STMT_DELETE, limit, scope,
			      bounds, many_tables, ledger, err, errlen);
}

int stmt_build_window_delete(struct stmt *st, const struct rule *rule,
			     const struct step *step,
			     const struct stmt_bounds *bounds,
			     const struct stmt_ledger *ledger, char *err,
			     size_t errlen)
{
	struct strbuf sql = STRBUF_INIT;
	struct stmt_names n;
	const char *t = SWEEPER_TARGET_ALIAS;
	int i;

	memset(st, 0, sizeof(*st));
	if (!bounds || (bounds->walk != STMT_WALK_BLOCKS &&
			bounds->walk != STMT_WALK_USERS)) {
		snprintf(err, errlen, "a window DELETE needs block bounds");
		return -1;
	}
	if (stmt_names_for(&n, step, NULL, bounds, err, errlen) != 0)
		return -1;
	for (i = 0; i < step->nparams; i++)
		stmt_add_param(st, step->params[i]);
	strbuf_addf(&sql, "WITH gone AS (DELETE FROM %s AS %s WHERE (%s)",
		    n.table, t, step->predicate);
	stmt_add_bounds(&sql, st, &n, bounds);
	stmt_add_returning(&sql, step, &n, ledger);
	if (ledger)
		stmt_add_ledger(&sql, st, rule, step, ledger);
	strbuf_add(&sql, " SELECT count(*), count(*), NULL::text FROM gone");
	st->sql = strbuf_detach(&sql);
	return 0;
}

void stmt_free(struct stmt *st)
{
	free(st->sql);
	st->sql = NULL;
	st->nparams = 0;
}
