/*
 * statement.c: builds the text of each statement of a step (statement.h)
 * from its quoted names and the rule's SQL, with a slot per parameter.
 * The step's own parameters are always $1..$n, so its predicate is used
 * as written; the SQL of a second rule or step in the same statement (the
 * user filter of a walk by users, the earlier steps of a dry run's count)
 * has its placeholders moved past the ones before it (sql_params.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sql_params.h"
#include "statement.h"
#include "strbuf.h"
#include "sweeper/plugin.h"
#include "xalloc.h"

/* The aliases the rules' SQL is written against (sweeper/plugin.h). */
#define T SWEEPER_TARGET_ALIAS
#define U SWEEPER_USER_ALIAS

struct stmt_builder {
	const struct stmt_source *src;
	struct strbuf sql;
	struct stmt_slot *slots;
	size_t alloc;
	int n;
	int failed;          /* a placeholder could not be renumbered */
};

/* A new parameter filled from `kind`; returns its number. */
static int stmt_param(struct stmt_builder *b, enum stmt_slot_kind kind,
		      int step, int index)
{
	xgrow((void **)&b->slots, &b->alloc, (size_t)b->n + 1,
	      sizeof(*b->slots));
	b->slots[b->n].kind = kind;
	b->slots[b->n].step = step;
	b->slots[b->n].index = index;
	return ++b->n;
}

/*
 * Append SQL written with its own $1..$nparams, moved past the
 * parameters so far, and a slot of `kind` (and `step`) for each.
 */
static void stmt_add_foreign_sql(struct stmt_builder *b, const char *sql,
				 int nparams, enum stmt_slot_kind kind,
				 int step)
{
	int i, highest;

	if (sql_params_shift(&b->sql, sql, b->n, &highest) != 0 ||
	    highest > nparams)
		b->failed = 1;
	for (i = 0; i < nparams; i++)
		stmt_param(b, kind, step, i);
}

/* The step's own parameters, $1..$n, which its predicate is written with. */
static void stmt_add_step_params(struct stmt_builder *b)
{
	int i;

	for (i = 0; i < b->src->npredicate; i++)
		stmt_param(b, SLOT_STEP, 0, i);
}

/* " AND t.user = ANY($n)": the parameter's type is the column's. */
static void stmt_add_user_in(struct stmt_builder *b, const char *user,
			     enum stmt_slot_kind kind)
{
	strbuf_addf(&b->sql, " AND %s.%s = ANY($%d)", T, user,
		    stmt_param(b, kind, 0, 0));
}

/* " AND (filter)": the rule's user filter, on the users table's alias. */
static void stmt_add_user_filter(struct stmt_builder *b)
{
	const struct stmt_source *s = b->src;

	strbuf_add(&b->sql, " AND (");
	stmt_add_foreign_sql(b, s->filter, s->nfilter, SLOT_FILTER, 0);
	strbuf_add(&b->sql, ")");
}

/* " AND a.ctid >= $n::tid AND a.ctid < $m::tid", the bounds of `shape`. */
static void stmt_add_ctids(struct stmt_builder *b, const char *alias,
			   unsigned shape)
{
	if (shape & STMT_AFTER)
		strbuf_addf(&b->sql, " AND %s.ctid >= $%d::tid", alias,
			    stmt_param(b, SLOT_AFTER, 0, 0));
	if (shape & STMT_UPTO)
		strbuf_addf(&b->sql, " AND %s.ctid < $%d::tid", alias,
			    stmt_param(b, SLOT_UPTO, 0, 0));
}

/*
 * " AND NOT (t.key = ANY($n))": the rows the database refused to delete
 * earlier in the step stay out of every later batch.  The parameter's
 * type is the key column's array type, inferred by the server, so a
 * refused row is never mistaken for another whose text merely looks
 * alike.
 */
static void stmt_add_excluded(struct stmt_builder *b, unsigned shape)
{
	if (shape & STMT_EXCLUDED)
		strbuf_addf(&b->sql, " AND NOT (%s.%s = ANY($%d))", T,
			    b->src->key, stmt_param(b, SLOT_EXCLUDED, 0, 0));
}

/* A key window's bounds: after the last key, up to the window's end. */
static void stmt_add_key_bounds(struct stmt_builder *b, unsigned shape)
{
	const struct stmt_source *s = b->src;

	if (shape & STMT_AFTER)
		strbuf_addf(&b->sql, " AND %s.%s > $%d", T, s->key,
			    stmt_param(b, SLOT_AFTER, 0, 0));
	if (shape & STMT_UPTO)
		strbuf_addf(&b->sql, " AND %s.%s <= $%d", T, s->key,
			    stmt_param(b, SLOT_UPTO, 0, 0));
}

/*
 * The walk's bounds of `shape`:
 *   key:    " AND t.key > $a AND t.key <= $b"
 *   blocks: " AND t.ctid >= $a::tid AND t.ctid < $b::tid"
 *   users:  " AND t.user = ANY(ARRAY(SELECT u.id FROM users AS u WHERE
 *           true AND u.ctid >= $a::tid AND u.ctid < $b::tid AND
 *           (filter)))": the rows of the users the rule's filter keeps
 *           among those stored in a window of the users table's blocks;
 *           the ARRAY() is computed once per statement, and one scan of
 *           the user column's index then finds their rows.  A predicate
 *           that looks the user up again (user_disabled's EXISTS) then
 *           does so once per row found: cheapest where few rows are left.
 *           With STMT_JOINED, " AND t.user IN (SELECT ... (filter))": the
 *           users joined, so that the planner carries t.user = u.id to
 *           that lookup and reads each user once, through the users
 *           table's primary key, before the index finds the user's rows:
 *           cheapest where each user has rows to delete (half a window's
 *           time on the bulk disable of tests/bench, twice it on a table
 *           already swept).  walk.c chooses by the rows its windows find.
 *           A window's DELETE whose step has a joined predicate goes
 *           further and joins the users itself (stmt_add_joined_window()).
 *   named:  " AND t.user = ANY($u)": the rows of a window of the named
 *           users, through the user column's index.  With a user filter,
 *           " AND t.user IN (SELECT u.id FROM users AS u WHERE u.id =
 *           ANY($u) AND (filter))": the named users joined through the
 *           users table's primary key, as the joined walk by users does.
 *           Listed only, the planner hashed every user the filter keeps
 *           for each window, a scan of the whole users table: 170 ms a
 *           window of 3,750 users at 200,000 users, against 90 to 120 ms
 *           joined, whatever the table's size.  A window's DELETE with
 *           a joined predicate joins them itself, as the walk by users.
 *   index:  nothing
 */
static void stmt_add_bounds(struct stmt_builder *b, unsigned shape)
{
	const struct stmt_source *s = b->src;

	switch (s->walk) {
	case STMT_WALK_KEY:
		stmt_add_key_bounds(b, shape);
		break;
	case STMT_WALK_BLOCKS:
		stmt_add_ctids(b, T, shape);
		break;
	case STMT_WALK_USERS:
		if (shape & STMT_JOINED)
			strbuf_addf(&b->sql, " AND %s.%s IN (SELECT %s.%s FROM "
				    "%s AS %s WHERE true", T, s->user, U,
				    s->user_id, s->users, U);
		else
			strbuf_addf(&b->sql, " AND %s.%s = ANY(ARRAY(SELECT "
				    "%s.%s FROM %s AS %s WHERE true", T,
				    s->user, U, s->user_id, s->users, U);
		stmt_add_ctids(b, U, shape);
		stmt_add_user_filter(b);
		strbuf_add(&b->sql, (shape & STMT_JOINED) ? ")" : "))");
		break;
	case STMT_WALK_NAMED:
		if (!s->filter || !s->users || !s->user_id) {
			stmt_add_user_in(b, s->user, SLOT_USERS);
			break;
		}
		strbuf_addf(&b->sql, " AND %s.%s IN (SELECT %s.%s FROM %s AS %s"
			    " WHERE %s.%s = ANY($%d)", T, s->user, U,
			    s->user_id, s->users, U, U, s->user_id,
			    stmt_param(b, SLOT_USERS, 0, 0));
		stmt_add_user_filter(b);
		strbuf_add(&b->sql, ")");
		break;
	case STMT_WALK_INDEX:
		break;
	}
}

/*
 * Whether a window's DELETE joins the row's user once, with the step's
 * joined predicate, where its bounds would join the window's users (the
 * walk by users, STMT_JOINED; named users with a user filter) and the
 * predicate would look each row's user up again.
 */
static int stmt_joins_user(const struct stmt_source *s, unsigned shape)
{
	if (!s->joined || !s->user || !s->users || !s->user_id || !s->filter)
		return 0;
	return (s->walk == STMT_WALK_USERS && (shape & STMT_JOINED)) ||
	       s->walk == STMT_WALK_NAMED;
}

/*
 * "DELETE FROM table AS t USING users AS u WHERE u.id = t.user AND
 * (joined) [AND NOT (t.key = ANY($n))] AND <the window's users> AND
 * (filter)": the window's users as its IN (...) would find them, each
 * read once, and the predicate tested on the pair.  Should the id column
 * not be unique, a row that joins two users is still deleted, and
 * counted, once: what the predicate's own EXISTS would have found.
 */
static void stmt_add_joined_window(struct stmt_builder *b, unsigned shape)
{
	const struct stmt_source *s = b->src;

	strbuf_addf(&b->sql, "DELETE FROM %s AS %s USING %s AS %s WHERE "
		    "%s.%s = %s.%s AND (%s)", s->table, T, s->users, U, U,
		    s->user_id, T, s->user, s->joined);
	stmt_add_excluded(b, shape);
	if (s->walk == STMT_WALK_NAMED)
		strbuf_addf(&b->sql, " AND %s.%s = ANY($%d)", U, s->user_id,
			    stmt_param(b, SLOT_USERS, 0, 0));
	else
		stmt_add_ctids(b, U, shape);
	stmt_add_user_filter(b);
}

/*
 * " gone AS (DELETE ... RETURNING x)": what the deleted rows return.  With
 * a ledger each returns its user (or NULL) for the deletions insert, and
 * without one just 1, as the count needs nothing more.
 */
static void stmt_add_returning(struct stmt_builder *b)
{
	const struct stmt_source *s = b->src;

	if (!s->ledger)
		strbuf_add(&b->sql, " RETURNING 1)");
	else if (s->user)
		strbuf_addf(&b->sql, " RETURNING %s.%s::text AS row_user)", T,
			    s->user);
	else
		strbuf_add(&b->sql, " RETURNING NULL::text AS row_user)");
}

/*
 * ", logged AS (INSERT INTO deletions ...)": one row per user of the
 * batch.  A data-modifying CTE runs to completion whether or not the
 * main query reads it, and an empty batch groups into no row at all.
 */
static void stmt_add_ledger(struct stmt_builder *b)
{
	int p_run, p_rule, p_table;

	if (!b->src->ledger)
		return;
	p_run = stmt_param(b, SLOT_LEDGER_RUN, 0, 0);
	p_rule = stmt_param(b, SLOT_LEDGER_RULE, 0, 0);
	p_table = stmt_param(b, SLOT_LEDGER_TABLE, 0, 0);
	strbuf_addf(&b->sql,
		    ", logged AS (INSERT INTO %s"
		    " (run_id, rule, table_name, user_id, rows_deleted)"
		    " SELECT $%d::uuid, $%d::text, $%d::text, g.row_user, count(*)"
		    " FROM gone AS g GROUP BY g.row_user RETURNING 1)",
		    b->src->ledger, p_run, p_rule, p_table);
}

/*
 * A window's plain DELETE: every matching row between the bounds.
 * Without a ledger it is a bare DELETE, whose count is its command tag: a
 * DELETE wrapped in a CTE hands every deleted row to a tuplestore only to
 * be counted, which cost 25 to 35% more per row than the bare statement
 * (doc/benchmarks.md "Where the time goes").  With a ledger the deleted
 * rows' users feed the deletions insert, so the CTE stays.
 */
static void stmt_window_delete(struct stmt_builder *b, unsigned shape)
{
	const struct stmt_source *s = b->src;

	stmt_add_step_params(b);
	if (s->ledger)
		strbuf_add(&b->sql, "WITH gone AS (");
	if (stmt_joins_user(s, shape)) {
		stmt_add_joined_window(b, shape);
	} else {
		strbuf_addf(&b->sql, "DELETE FROM %s AS %s WHERE (%s)",
			    s->table, T, s->predicate);
		stmt_add_excluded(b, shape);
		stmt_add_bounds(b, shape);
	}
	if (!s->ledger)
		return;
	stmt_add_returning(b);
	stmt_add_ledger(b);
	strbuf_add(&b->sql, " SELECT count(*), count(*), NULL::text FROM gone");
}

/*
 * A capped batch: the victims CTE takes the first `limit` matching rows
 * between the bounds (in key order for a key walk, so that each batch
 * starts where the last one stopped instead of rescanning the rows
 * already passed), locked FOR UPDATE SKIP LOCKED, which also re-checks the
 * predicate against the newest version of a row that changed since the
 * snapshot; then deletes exactly those.  `keys` takes the listed keys
 * instead of the walk's bounds.
 *
 * STMT_UNLOCKED (the walk by index, until a batch meets a row lock): the
 * victims are not locked first, which wrote every victim's heap tuple
 * once more, with its WAL, only to delete it next (30% more time than
 * the DELETE alone on the bench's nightly run with an index); the DELETE
 * itself checks the predicate again, on the newest version of a row that
 * changed since the snapshot, as a plain DELETE does.  It waits for a row
 * another session holds, which batch.c bounds with a short lock_timeout
 * before it goes on with locked batches.
 */
static void stmt_capped_delete(struct stmt_builder *b, unsigned shape,
			       int keys)
{
	const struct stmt_source *s = b->src;
	int ordered = keys || s->walk == STMT_WALK_KEY;
	int unlocked = (shape & STMT_UNLOCKED) && !keys;

	stmt_add_step_params(b);
	strbuf_addf(&b->sql, "WITH victims AS (SELECT %s.tableoid AS row_oid,"
		    " %s.ctid AS row_ctid, ", T, T);
	if (s->key)
		strbuf_addf(&b->sql, "%s.%s AS row_key", T, s->key);
	else
		strbuf_add(&b->sql, "NULL::text AS row_key");
	strbuf_addf(&b->sql, " FROM %s AS %s WHERE (%s)", s->table, T,
		    s->predicate);
	stmt_add_excluded(b, shape);
	if (keys)
		strbuf_addf(&b->sql, " AND %s.%s = ANY($%d)", T, s->key,
			    stmt_param(b, SLOT_KEYS, 0, 0));
	else
		stmt_add_bounds(b, shape);
	/*
	 * Only a key walk resumes from its last victim; the others resume
	 * from the window's end or need no cursor, and sorting would only
	 * cost.
	 */
	if (ordered)
		strbuf_addf(&b->sql, " ORDER BY %s.%s", T, s->key);
	strbuf_addf(&b->sql, " LIMIT $%d", stmt_param(b, SLOT_LIMIT, 0, 0));
	if (!unlocked)
		strbuf_addf(&b->sql, " FOR UPDATE OF %s SKIP LOCKED", T);
	strbuf_add(&b->sql, "),");
	/*
	 * Deleting by ctid is a TID scan of exactly the victims.  A ctid is
	 * only unique within one physical table, and a key need not be
	 * unique across the partitions or children of a table, so there
	 * rows are matched on both the table they live in and their ctid.
	 */
	if (s->many_tables)
		strbuf_addf(&b->sql,
			    " gone AS (DELETE FROM %s AS %s USING victims AS v"
			    " WHERE %s.tableoid = v.row_oid AND %s.ctid = v.row_ctid",
			    s->table, T, T, T);
	else
		strbuf_addf(&b->sql,
			    " gone AS (DELETE FROM %s AS %s WHERE %s.ctid ="
			    " ANY(ARRAY(SELECT row_ctid FROM victims))",
			    s->table, T, T);
	if (unlocked)
		strbuf_addf(&b->sql, " AND (%s)", s->predicate);
	stmt_add_returning(b);
	stmt_add_ledger(b);
	strbuf_add(&b->sql, " SELECT (SELECT count(*) FROM gone),"
		   " (SELECT count(*) FROM victims),");
	if (ordered)
		strbuf_add(&b->sql, " (SELECT v.row_key::text FROM victims AS v"
			   " ORDER BY v.row_key DESC LIMIT 1)");
	else
		strbuf_add(&b->sql, " NULL::text");
}

/*
 * The end of a key window: only the key's index is read, OFFSET walking
 * it without touching the predicate's tables.  No row means fewer keys
 * are left (before the part's last key, the upper bound), and the last
 * window is unbounded.
 */
static void stmt_key_window(struct stmt_builder *b, unsigned shape)
{
	const struct stmt_source *s = b->src;

	strbuf_addf(&b->sql, "SELECT %s.%s::text FROM %s AS %s WHERE true", T,
		    s->key, s->table, T);
	stmt_add_key_bounds(b, shape);
	strbuf_addf(&b->sql, " ORDER BY %s.%s OFFSET $%d LIMIT 1", T, s->key,
		    stmt_param(b, SLOT_OFFSET, 0, 0));
}

/*
 * The rows of a capped batch, read as its victims CTE reads them but
 * always in key order, so that the first `limit` of them are the ones a
 * key walk's batch took.
 */
static void stmt_victim_keys(struct stmt_builder *b, unsigned shape)
{
	const struct stmt_source *s = b->src;

	stmt_add_step_params(b);
	strbuf_addf(&b->sql, "SELECT %s.%s::text FROM %s AS %s WHERE (%s)", T,
		    s->key, s->table, T, s->predicate);
	stmt_add_excluded(b, shape);
	stmt_add_bounds(b, shape);
	strbuf_addf(&b->sql, " ORDER BY %s.%s LIMIT $%d FOR UPDATE OF %s"
		    " SKIP LOCKED", T, s->key, stmt_param(b, SLOT_LIMIT, 0, 0),
		    T);
}

/*
 * Every matching row (of the named users, in a scoped run); for a dry
 * run's count, less those an earlier step of the run on the same table
 * deletes first: a row two rules match is counted once, by the first.
 */
static void stmt_count(struct stmt_builder *b, int with_earlier)
{
	const struct stmt_source *s = b->src;
	size_t i;

	stmt_add_step_params(b);
	strbuf_addf(&b->sql, "SELECT count(*) FROM %s AS %s WHERE (%s)",
		    s->table, T, s->predicate);
	if (s->scoped && s->user)
		stmt_add_user_in(b, s->user, SLOT_SCOPE);
	for (i = 0; with_earlier && i < s->nearlier; i++) {
		const struct stmt_earlier *e = &s->earlier[i];

		strbuf_add(&b->sql, " AND NOT coalesce((");
		stmt_add_foreign_sql(b, e->predicate, e->nparams, SLOT_EARLIER,
				     (int)i);
		strbuf_add(&b->sql, ")");
		if (e->user)
			stmt_add_user_in(b, e->user, SLOT_SCOPE);
		strbuf_add(&b->sql, ", false)");
	}
}

/*
 * The users the rule's user filter keeps, counted no further than the
 * LIMIT: the count stops there, however many the users table holds.
 */
static void stmt_few_users(struct stmt_builder *b)
{
	const struct stmt_source *s = b->src;
	int i;

	/* The filter's own parameters are $1..$n, the limit follows. */
	for (i = 0; i < s->nfilter; i++)
		stmt_param(b, SLOT_FILTER, 0, i);
	strbuf_addf(&b->sql, "SELECT count(*) FROM (SELECT 1 FROM %s AS %s "
		    "WHERE (%s) LIMIT $%d) AS few", s->users, U, s->filter,
		    stmt_param(b, SLOT_LIMIT, 0, 0));
}

/* What the kind needs of the source that it lacks, or NULL. */
static const char *stmt_missing(const struct stmt_source *s,
				enum stmt_kind kind, unsigned shape)
{
	int keyed = kind == STMT_KEYS_DELETE || kind == STMT_KEY_WINDOW ||
		    kind == STMT_VICTIM_KEYS || (shape & STMT_EXCLUDED) ||
		    (s->walk == STMT_WALK_KEY && (kind == STMT_CAPPED_DELETE ||
						  kind == STMT_WINDOW_DELETE));

	if (kind == STMT_FEW_USERS)
		return s->users && s->filter ? NULL :
		       "counting the filter's users needs the users table and a user filter";
	if (keyed && !s->key)
		return "the step's table has no key this statement could use";
	if ((s->walk == STMT_WALK_USERS || s->walk == STMT_WALK_NAMED) &&
	    !s->user)
		return "a walk by users needs the step's user column";
	if (s->walk == STMT_WALK_USERS && (!s->users || !s->user_id ||
					   !s->filter))
		return "a walk by users needs the users table and a user filter";
	if (kind == STMT_WINDOW_DELETE && (s->walk == STMT_WALK_KEY ||
					   s->walk == STMT_WALK_INDEX))
		return "only a windowed walk deletes a window whole";
	return NULL;
}

int stmt_build(struct stmt_text *out, const struct stmt_source *src,
	       enum stmt_kind kind, unsigned shape, char *err, size_t errlen)
{
	struct stmt_builder b;
	const char *missing = stmt_missing(src, kind, shape);

	memset(out, 0, sizeof(*out));
	if (missing) {
		snprintf(err, errlen, "cannot build the %s statement: %s",
			 stmt_kind_name(kind), missing);
		return -1;
	}
	memset(&b, 0, sizeof(b));
	b.src = src;
	strbuf_add(&b.sql, "");
	switch (kind) {
	case STMT_WINDOW_DELETE:
		stmt_window_delete(&b, shape);
		break;
	case STMT_CAPPED_DELETE:
		stmt_capped_delete(&b, shape, 0);
		break;
	case STMT_KEYS_DELETE:
		stmt_capped_delete(&b, shape & STMT_EXCLUDED, 1);
		break;
	case STMT_KEY_WINDOW:
		stmt_key_window(&b, shape);
		break;
	case STMT_VICTIM_KEYS:
		stmt_victim_keys(&b, shape);
		break;
	case STMT_COUNT:
		stmt_count(&b, 1);
		break;
	case STMT_ESTIMATE:
		stmt_count(&b, 0);
		break;
	case STMT_FEW_USERS:
	case STMT_KINDS:
		stmt_few_users(&b);
		break;
	}
	if (b.failed) {
		snprintf(err, errlen, "cannot build the %s statement: the "
			 "rule's SQL holds a placeholder beyond its parameters",
			 stmt_kind_name(kind));
		strbuf_release(&b.sql);
		free(b.slots);
		return -1;
	}
	out->sql = strbuf_detach(&b.sql);
	out->slots = b.slots;
	out->nparams = b.n;
	return 0;
}

void stmt_text_free(struct stmt_text *t)
{
	free(t->sql);
	free(t->slots);
	memset(t, 0, sizeof(*t));
}

const char *stmt_kind_name(enum stmt_kind kind)
{
	static const char *const names[STMT_KINDS] = {
		"window_delete", "capped_delete", "keys_delete", "key_window",
		"victim_keys", "count", "estimate", "few_users"
	};

	return (unsigned)kind < STMT_KINDS ? names[kind] : "?";
}
