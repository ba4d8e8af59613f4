/*
 * explain.h: --explain, printed from the plans the preflight built
 * (plan.h), so that it shows exactly the walk and the statements the run
 * will use: for each step the walk and why, the key, the first batch's
 * statement with its parameters and PostgreSQL's plan for it, and the
 * walk's other statements (a capped batch, a key window's end, the
 * statements that split a refused batch) as their text, and the workers
 * the step will use with the parts its walk splits into.
 */
#ifndef SWEEPER_EXPLAIN_H
#define SWEEPER_EXPLAIN_H

#include <stdio.h>

#include "engine.h"
#include "plan.h"
#include "rule.h"

/*
 * Print rule `r`'s steps by their plans (plans[i] for step i) to `out`,
 * with the workers each will use under `e`'s settings (workers.h); in a
 * dry run (e->dry_run), also the count a dry run runs.  Returns 0, or -1
 * with one line in err when a statement cannot be built or the table's
 * size read.
 */
int explain_rule(const struct rule *r, struct plan *plans, struct engine *e,
		 FILE *out, char *err, size_t errlen);

#endif /* SWEEPER_EXPLAIN_H */
