/*
 * sql_params.h: renumbering the placeholders of a rule's SQL.
 *
 * A step's predicate and a rule's user filter are written with their own
 * placeholders, $1..$n.  A statement that holds two of them (the dry
 * run's count, which passes over the rows an earlier step of the run
 * deletes; a walk by users, whose window holds the rule's user filter)
 * needs the second one's placeholders moved past the first one's, so that
 * each keeps its own values: $1 of the filter becomes $3 when the
 * statement already has two parameters.  Only the placeholders move; the
 * rest of the text is copied byte for byte.
 */
#ifndef SWEEPER_SQL_PARAMS_H
#define SWEEPER_SQL_PARAMS_H

#include "strbuf.h"

/*
 * Append `sql` to `out` with every placeholder $n written $(n + shift).
 * A placeholder is recognised as PostgreSQL's lexer does: a '$' that
 * starts a token and is followed by digits.  Nothing inside a string
 * constant ('...', E'...' with backslash escapes, U&'...', B'...',
 * X'...', N'...'), a quoted identifier ("..."), a dollar-quoted string
 * ($$...$$, $tag$...$tag$), a comment (-- to the end of the line, and
 * nested slash-star comments) or an identifier (a$1 is one identifier)
 * is touched.  Standard strings are read with standard_conforming_strings
 * on, PostgreSQL's default since 9.1: a backslash is a backslash there.
 *
 * Sets *highest (when not NULL) to the largest n seen, 0 for none.
 * Returns 0, or -1 (with `out` as far as it got) when a placeholder is
 * out of range (0, or more than 65535 after the shift).
 */
int sql_params_shift(struct strbuf *out, const char *sql, int shift,
		     int *highest);

#endif /* SWEEPER_SQL_PARAMS_H */
