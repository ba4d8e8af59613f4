/*
 * step_hint.h: what to check when a step's statement does not plan, said
 * from where its names and its expression came from.
 *
 * A step mixes what the operator configured (a [schema] column, a key of
 * the rule's own section) with what the plugin wrote itself (its
 * predicate, a name fixed in its code), and the core adds names of its
 * own.  Telling the operator to "check the column names in [schema]" for
 * a name the plugin hard-coded sends them to the wrong file at 02:30, so
 * the hint follows the name back to where the plugin got it: the host API
 * records every config value a plugin reads (struct rule_origin).
 */
#ifndef SWEEPER_STEP_HINT_H
#define SWEEPER_STEP_HINT_H

#include <stddef.h>

#include "rule.h"

/*
 * Write into buf (at most len bytes) what to check about `step` of rule `r`
 * whose statement failed to plan with SQLSTATE `sqlstate` and the server's
 * message `why`, without a leading "; ":
 *
 *   - a missing column, table or schema (42703, 42P01, 3F000): where the
 *     name came from: "[schema] KEY ('FILE' line N)" with "check the
 *     column names in [schema]", a key of [rule.NAME], the plugin's own
 *     code, or the core's own names;
 *   - an operator or function that does not exist for the types given,
 *     a parameter whose type cannot be determined, or a parameter count
 *     the server refuses (42883, 42P18, 42P02, 08P01): the placeholders,
 *     their casts and nparams, and the predicate;
 *   - anything else: the predicate.
 */
void step_hint(const struct rule *r, const struct step *step,
	       const char *sqlstate, const char *why, char *buf, size_t len);

/*
 * Write into buf what to check about `table`, which a step of rule `r`
 * names and the database does not have: where the name came from, and
 * the dsn's database.
 */
void step_table_hint(const struct rule *r, const char *table, char *buf,
		     size_t len);

#endif /* SWEEPER_STEP_HINT_H */
