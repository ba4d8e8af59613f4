/*
 * rate_limit.h: [sweeper] max_rate, rows deleted per second over the
 * whole run however many workers run (doc/workers.md), as CockroachDB's
 * ttl_delete_rate_limit.
 *
 * A token bucket that starts empty and holds no burst: before a batch,
 * its LIMIT's worth of rows is charged, and the batch may start once
 * those rows are paid for at `rate` rows per second; after it, the rows
 * it did not delete are given back.  So by any moment t of the run, at
 * most rate x (t - start) rows have been deleted, and every worker
 * shares the one bucket (a mutex guards it).  The mutex is
 * process-shared and the clock CLOCK_MONOTONIC, the same in every
 * process, so that the target processes of a run over several targets
 * share one bucket in shared memory (fleet.h).
 */
#ifndef SWEEPER_RATE_LIMIT_H
#define SWEEPER_RATE_LIMIT_H

#include <pthread.h>

struct rate_limit {
	pthread_mutex_t mu;
	long long rate;          /* rows per second; 0 = no limit */
	double paid_until_ms;    /* CLOCK_MONOTONIC ms by which the rows
				  * charged so far are paid for */
	int started;
};

/* Set *r up for `rate` rows per second (0 = no limit).  Returns 0, or -1
 * when the mutex cannot be made. */
int rate_limit_init(struct rate_limit *r, long long rate);

void rate_limit_destroy(struct rate_limit *r);

/* Whether the limit is on. */
int rate_limit_on(const struct rate_limit *r);

/*
 * The most rows one batch may be charged: one second's worth, so that
 * no worker waits much longer than a second for its next batch.
 */
long long rate_limit_cap(const struct rate_limit *r, long long limit);

/*
 * Charge `rows` at `now_ms` (CLOCK_MONOTONIC): returns how many ms to
 * wait before the batch may start (0: at once).  Thread-safe.
 */
long long rate_limit_take(struct rate_limit *r, long long rows,
			  long long now_ms);

/* Give back `rows` charged but not deleted.  Thread-safe. */
void rate_limit_refund(struct rate_limit *r, long long rows);

#endif /* SWEEPER_RATE_LIMIT_H */
