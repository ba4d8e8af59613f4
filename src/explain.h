/*
 * explain.h: --explain, printed from the plans the preflight built
 * (plan.h), so that it shows exactly the walk and the statements the run
 * will use: for each step the walk and why, the key, the first batch's
 * statement with its parameters and PostgreSQL's plan for it, and the
 * walk's other statements (a capped batch, a key window's end, the
 * statements that split a refused batch) as their text.
 */
#ifndef SWEEPER_EXPLAIN_H
#define SWEEPER_EXPLAIN_H

#include <stdio.h>

#include "plan.h"
#include "rule.h"

/*
 * Print rule `r`'s steps by their plans (plans[i] for step i) to `out`;
 * with `dry_run`, also the count a dry run runs.  Returns 0, or -1 with
 * one line in err when a statement cannot be built.
 */
int explain_rule(const struct rule *r, struct plan *plans, int dry_run,
		 FILE *out, char *err, size_t errlen);

#endif /* SWEEPER_EXPLAIN_H */
