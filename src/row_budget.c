/*
 * row_budget.c: max_rows as one reservation for every batch of a run,
 * whether run by a step's worker threads or by the processes of a run
 * over several targets (row_budget.h).
 */
#include "row_budget.h"

int row_budget_take(struct row_budget *b, long long max, long long *limit)
{
	long long cur, take;

	/*
	 * Hold first, then take: whoever sees nothing left and reads
	 * `held` afterwards sees this batch's hold if its take succeeded,
	 * and so waits for what it may give back instead of stopping.
	 */
	__atomic_add_fetch(&b->held, *limit, __ATOMIC_SEQ_CST);
	cur = __atomic_load_n(&b->taken, __ATOMIC_SEQ_CST);
	do {
		take = max - cur;
		if (take <= 0)
			break;
		if (take > *limit)
			take = *limit;
	} while (!__atomic_compare_exchange_n(&b->taken, &cur, cur + take, 0,
					      __ATOMIC_SEQ_CST,
					      __ATOMIC_SEQ_CST));
	if (take > 0) {
		__atomic_sub_fetch(&b->held, *limit - take, __ATOMIC_SEQ_CST);
		*limit = take;
		return ROW_BUDGET_TAKEN;
	}
	if (__atomic_sub_fetch(&b->held, *limit, __ATOMIC_SEQ_CST) > 0)
		return ROW_BUDGET_WAIT;
	return ROW_BUDGET_SPENT;
}

void row_budget_give(struct row_budget *b, long long taken, long long deleted)
{
	if (taken <= 0)
		return;
	if (deleted < 0)
		deleted = 0;
	if (deleted > taken)
		deleted = taken;
	__atomic_sub_fetch(&b->taken, taken - deleted, __ATOMIC_SEQ_CST);
	__atomic_sub_fetch(&b->held, taken, __ATOMIC_SEQ_CST);
}

long long row_budget_deleted(const struct row_budget *b)
{
	/* Exact when no batch runs (the end of a run); while batches run,
	 * a moment's approximation, never more than max_rows. */
	long long held = __atomic_load_n(&b->held, __ATOMIC_SEQ_CST);
	long long taken = __atomic_load_n(&b->taken, __ATOMIC_SEQ_CST);

	return taken > held ? taken - held : 0;
}
