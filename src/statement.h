/*
 * statement.h: the SQL the engine runs for a step.
 *
 * The batched DELETE selects its victims and deletes them in one statement
 * (DESIGN.md section 8): victims are the next `limit` rows after the keyset
 * cursor in key order that match the predicate, locked FOR UPDATE SKIP
 * LOCKED so that a row the application holds is passed over, not waited
 * on, then deleted by ctid.  Its one result row holds the number of rows
 * deleted, the number selected, and the last key selected (the next
 * cursor).
 */
#ifndef SWEEPER_STATEMENT_H
#define SWEEPER_STATEMENT_H

#include <stddef.h>

#include "rule.h"

enum stmt_kind {
	STMT_DELETE_FIRST,   /* first batch: no cursor yet */
	STMT_DELETE_NEXT,    /* later batches: resume after the cursor */
	STMT_COUNT,          /* dry run: count every matching row */
	STMT_SKIPPED_USERS   /* named users a rule's user filter excludes */
};

/* Restriction of a scoped run to named users. */
struct stmt_scope {
	const char *users_table;      /* unquoted, from [schema] */
	const char *user_id_column;   /* unquoted, from [schema] */
	const char *ids;              /* text[] literal of the users' ids */
};

struct stmt {
	char *sql;                    /* owned */
	const char *params[2 * RULE_MAX_PARAMS + 2]; /* borrowed values */
	int nparams;
};

/*
 * Build the statement of `kind` for `step` (or, for STMT_SKIPPED_USERS,
 * for the rule's user filter: `step` is then unused and may be NULL).
 * `scope` is NULL for an unscoped run; `cursor` is the last key of the
 * previous batch for STMT_DELETE_NEXT; `by_key` deletes by key instead of
 * ctid, for partitioned and inherited tables where a ctid is not unique.
 * Parameter values are borrowed from the step, scope and cursor, which
 * must outlive the statement.  Returns 0, or -1 with one line in err when
 * an identifier cannot be quoted.
 */
int stmt_build(struct stmt *st, const struct rule *rule,
	       const struct step *step, enum stmt_kind kind, long long limit,
	       const struct stmt_scope *scope, const char *cursor, int by_key,
	       char *err, size_t errlen);

/* Free the SQL text; *st may be rebuilt. */
void stmt_free(struct stmt *st);

#endif /* SWEEPER_STATEMENT_H */
