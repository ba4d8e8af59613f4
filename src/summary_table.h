/*
 * summary_table.h: the run summary (summary.h) as the human table printed
 * on stdout without --json.
 */
#ifndef SWEEPER_SUMMARY_TABLE_H
#define SWEEPER_SUMMARY_TABLE_H

#include <stdio.h>

#include "summary.h"

/* Print the human table: a line per step, totals, throttles, the named
 * users that were unknown or skipped. */
void summary_print_table(FILE *out, const struct run_summary *s);

#endif /* SWEEPER_SUMMARY_TABLE_H */
