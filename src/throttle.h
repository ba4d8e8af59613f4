/*
 * throttle.h: how the run yields between batches: the fixed pause and
 * pause_ratio after a batch, and the wait for lagging standbys before
 * one.  Every wait is counted in a struct run_throttle for the summary.
 *
 * Replica lag is measured on the primary, in pg_stat_replication, per
 * standby that is streaming or catching up:
 *   - a standby whose replay_lsn has reached pg_current_wal_flush_lsn()
 *     has replayed everything there is: its lag is 0, whatever replay_lag
 *     still shows (the server keeps showing the last measured value for
 *     a while after a standby has caught up);
 *   - otherwise its lag is the larger of replay_lag and the time since the
 *     sweeper first saw the primary flushed past the standby's replay_lsn.
 *     The second term is needed because the server only updates replay_lag
 *     when the standby reports, which it does when WAL arrives: while the
 *     sweeper waits and writes nothing, a standby whose replay is paused
 *     keeps showing the same replay_lag forever.
 */
#ifndef SWEEPER_THROTTLE_H
#define SWEEPER_THROTTLE_H

#include <signal.h>
#include <stddef.h>
#include <time.h>

#include <libpq-fe.h>

#include "summary.h"

/* How many of the primary's WAL positions are remembered, with the time
 * they were first seen. */
#define THROTTLE_SAMPLES 64

/* The longest single sleep while waiting for a standby; the lag is
 * checked again after each. */
#define THROTTLE_POLL_MS 200

/* The longest a sleep goes without looking at the stop flag. */
#define THROTTLE_SLICE_MS 100

struct throttle_sample {
	long long at_ms;               /* CLOCK_MONOTONIC */
	unsigned long long lsn;        /* primary's flushed WAL position */
};

struct throttle {
	/* Settings, from [sweeper]. */
	long long pause_ms;            /* fixed sleep after a batch */
	double pause_ratio;            /* sleep this times the batch's time */
	long long max_replica_lag_ms;  /* 0 = do not watch standbys */
	long long max_throttle_ms;     /* longest wait; 0 = no limit */

	/* Where the waits are counted; NULL = not counted.  Borrowed. */
	struct run_throttle *counts;

	/* State: the primary's positions, oldest first. */
	struct throttle_sample samples[THROTTLE_SAMPLES];
	size_t nsamples;
};

/* Outcome of throttle_wait_replicas(). */
enum throttle_result {
	THROTTLE_GO = 0,       /* no standby lags too much: run the batch */
	THROTTLE_TIMEOUT,      /* waited longer than max_throttle */
	THROTTLE_DEADLINE,     /* max_runtime passed while waiting */
	THROTTLE_STOPPED,      /* a stop was requested while waiting */
	THROTTLE_ERROR         /* the lag could not be read; see err */
};

/*
 * Sleep `ms` milliseconds, waking early when *stop (may be NULL) is set: a
 * signal interrupts nanosleep() with EINTR, and a thread the signal was
 * not delivered to sees the flag within THROTTLE_SLICE_MS.  Returns the milliseconds
 * slept.
 */
long long throttle_sleep(long long ms, volatile sig_atomic_t *stop);

/*
 * Refuse, before anything is deleted, a max_replica_lag the role cannot
 * honour: without pg_read_all_stats (which pg_monitor grants) the lag
 * columns of pg_stat_replication read as NULL and every standby would
 * look in sync.  Returns 0 (also when max_replica_lag is 0), or -1 with
 * one line in err.
 */
int throttle_preflight(const struct throttle *t, PGconn *conn, char *err,
		       size_t errlen);

/*
 * Before a batch: while some standby lags more than max_replica_lag,
 * sleep in steps of at most THROTTLE_POLL_MS and check again.  `stop` (may
 * be NULL) is a stop request flag; `deadline` (CLOCK_MONOTONIC, tv_sec 0 =
 * none) is max_runtime's.  Returns an enum throttle_result; with
 * THROTTLE_ERROR one line is in err.
 */
int throttle_wait_replicas(struct throttle *t, PGconn *conn,
			   volatile sig_atomic_t *stop,
			   const struct timespec *deadline, char *err,
			   size_t errlen);

/*
 * After a batch that deleted rows and took `batch_ms`: sleep pause_ms,
 * then pause_ratio * batch_ms, waking early for a stop request.
 */
void throttle_after_batch(struct throttle *t, long long batch_ms,
			  volatile sig_atomic_t *stop);

#endif /* SWEEPER_THROTTLE_H */
