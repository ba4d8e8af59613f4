/*
 * fleet_summary.h: the summary of a run over targets (fleet.h), built by
 * the parent from the workers' result lines (fleet_summary.c).
 */
#ifndef SWEEPER_FLEET_SUMMARY_H
#define SWEEPER_FLEET_SUMMARY_H

#include <stddef.h>

#include <jansson.h>

#include "fleet_unit.h"
#include "outcome.h"
#include "summary.h"

/*
 * Fill s->targets from the `n` units and their results (results[i] is
 * the line unit i's worker sent, or NULL when it sent none: not started,
 * or its worker died), then the rules' totals over the targets and the
 * run's status.  *worst is the worst exit code over the targets
 * (fleet_worse_exit()), *interrupted 1 when a target was.  The results
 * stay the caller's.
 */
void fleet_summary_fill(struct run_summary *s, const struct fleet_unit *units,
			json_t **results, size_t n, int *worst, int *interrupted);

/* The outcome of a run whose worst exit code over its targets is `code`;
 * 75 is interrupted when `interrupted`, else skipped. */
enum outcome fleet_outcome(int code, int interrupted);

#endif /* SWEEPER_FLEET_SUMMARY_H */
