/*
 * row_budget.h: max_rows over a whole run, one reservation shared by
 * every batch that may run at the same moment: the workers of a step
 * (workers.h, threads) and the targets of a run over several databases
 * or tenants (fleet.h, processes sharing the budget's memory).
 *
 * Before a batch, its LIMIT is taken from what is left (`taken` counts
 * the rows deleted so far plus those held by running batches); after it,
 * what it did not delete is given back.  So the sum of the batches'
 * deletions never passes max_rows, however many run at once, and rows
 * a batch did not use go to the next one.  The fields are only touched
 * through atomic builtins, which work in memory shared between
 * processes as between threads.
 */
#ifndef SWEEPER_ROW_BUDGET_H
#define SWEEPER_ROW_BUDGET_H

struct row_budget {
	long long taken;     /* rows deleted plus rows held, run-wide */
	long long held;      /* rows held by batches running now */
};

enum row_budget_take {
	ROW_BUDGET_TAKEN,    /* *limit lowered to what was taken */
	ROW_BUDGET_WAIT,     /* nothing left, but running batches hold rows
			      * they may give back: ask again later */
	ROW_BUDGET_SPENT     /* max_rows reached */
};

/*
 * Take up to *limit rows (> 0) of `max` (> 0) from budget `b`: lowers
 * *limit to what was taken.  Returns enum row_budget_take.
 */
int row_budget_take(struct row_budget *b, long long max, long long *limit);

/*
 * After a batch that took `taken` rows: `deleted` of them (0 to taken)
 * were deleted, the rest go back to the budget.
 */
void row_budget_give(struct row_budget *b, long long taken,
		     long long deleted);

/* Rows deleted so far, run-wide (held rows aside). */
long long row_budget_deleted(const struct row_budget *b);

#endif /* SWEEPER_ROW_BUDGET_H */
