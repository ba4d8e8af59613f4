/*
 * throttle.c: pauses after batches and waits for lagging standbys.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "db.h"
#include "log.h"
#include "throttle.h"

/*
 * One row per standby that streams or catches up (a pg_basebackup's
 * walsender has no replay position and is no standby).  Positions come as
 * bytes since 0/0, numeric in SQL, so that they compare as numbers here.
 */
#define THROTTLE_LAG_SQL \
	"SELECT (pg_current_wal_flush_lsn() - '0/0'::pg_lsn)::text," \
	" coalesce(nullif(application_name, ''), 'pid ' || pid)," \
	" (replay_lsn - '0/0'::pg_lsn)::text," \
	" (extract(epoch FROM replay_lag) * 1000)::bigint" \
	" FROM pg_stat_replication" \
	" WHERE state IN ('streaming', 'catchup') AND replay_lsn IS NOT NULL"

#define THROTTLE_ROLE_SQL \
	"SELECT current_user, pg_has_role('pg_read_all_stats', 'USAGE')"

static int throttle_stop_requested(volatile sig_atomic_t *stop)
{
	return stop && *stop;
}

long long throttle_sleep(long long ms, volatile sig_atomic_t *stop)
{
	struct timespec ts;
	long long t0 = clock_now_ms(), left;

	if (ms <= 0)
		return 0;
	/*
	 * In slices: a signal wakes only the thread it is delivered to, so
	 * a worker (workers.c, signals blocked) sees a stop within a slice.
	 */
	for (;;) {
		left = ms - (clock_now_ms() - t0);
		if (left <= 0)
			break;
		if (left > THROTTLE_SLICE_MS)
			left = THROTTLE_SLICE_MS;
		ts.tv_sec = (time_t)(left / 1000);
		ts.tv_nsec = (long)(left % 1000) * 1000000L;
		while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
			if (throttle_stop_requested(stop))
				break;
		}
		if (throttle_stop_requested(stop))
			break;
	}
	return clock_now_ms() - t0;
}

static void throttle_count(struct throttle_count *c, long long ms)
{
	c->count++;
	c->ms += ms;
}

void throttle_after_batch(struct throttle *t, long long batch_ms,
			  volatile sig_atomic_t *stop)
{
	long long ms;

	if (t->pause_ms > 0 && !throttle_stop_requested(stop)) {
		ms = throttle_sleep(t->pause_ms, stop);
		if (t->counts)
			throttle_count(&t->counts->pause, ms);
	}
	if (t->pause_ratio > 0 && batch_ms > 0 &&
	    !throttle_stop_requested(stop)) {
		ms = throttle_sleep((long long)(t->pause_ratio *
						(double)batch_ms + 0.5), stop);
		if (t->counts)
			throttle_count(&t->counts->pause_ratio, ms);
	}
}

int throttle_preflight(const struct throttle *t, PGconn *conn, char *err,
		       size_t errlen)
{
	PGresult *res;
	char why[512];
	int ok;

	if (t->max_replica_lag_ms <= 0)
		return 0;
	res = db_query(conn, THROTTLE_ROLE_SQL, 0, NULL, why, sizeof(why));
	if (!res) {
		snprintf(err, errlen,
			 "max_replica_lag: cannot check the role's access to pg_stat_replication: %s",
			 why);
		return -1;
	}
	ok = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
	if (!ok)
		snprintf(err, errlen,
			 "max_replica_lag is set, but role '%s' cannot read the replication lag (pg_stat_replication shows it NULL without pg_read_all_stats); run GRANT pg_monitor TO \"%s\" as a superuser, or set max_replica_lag = 0",
			 PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 0));
	PQclear(res);
	return ok ? 0 : -1;
}

/* Remember the primary's position `lsn` as first seen at `now`. */
static void throttle_remember(struct throttle *t, unsigned long long lsn,
			      long long now)
{
	if (t->nsamples > 0 && t->samples[t->nsamples - 1].lsn >= lsn)
		return;
	if (t->nsamples == THROTTLE_SAMPLES) {
		/*
		 * Keep the oldest, which gives the largest lag; the ones in
		 * between only make the estimate finer as a standby catches up.
		 */
		memmove(&t->samples[1], &t->samples[2],
			(THROTTLE_SAMPLES - 2) * sizeof(t->samples[0]));
		t->nsamples--;
	}
	t->samples[t->nsamples].at_ms = now;
	t->samples[t->nsamples].lsn = lsn;
	t->nsamples++;
}

/* Forget the positions every standby has replayed. */
static void throttle_forget(struct throttle *t, unsigned long long replayed)
{
	size_t n = 0;

	while (n < t->nsamples && t->samples[n].lsn <= replayed)
		n++;
	memmove(&t->samples[0], &t->samples[n],
		(t->nsamples - n) * sizeof(t->samples[0]));
	t->nsamples -= n;
}

/*
 * The largest lag of any standby, in ms, and the name of that standby
 * (into who).  Returns 0, or -1 with one line in err.
 */
static int throttle_lag(struct throttle *t, PGconn *conn, long long *lag,
			char *who, size_t wholen, char *err, size_t errlen)
{
	unsigned long long flushed, replay, least = 0;
	long long now, one;
	PGresult *res;
	size_t k;
	int i;

	*lag = 0;
	who[0] = '\0';
	res = db_query(conn, THROTTLE_LAG_SQL, 0, NULL, err, errlen);
	if (!res)
		return -1;
	now = clock_now_ms();
	for (i = 0; i < PQntuples(res); i++) {
		flushed = strtoull(PQgetvalue(res, i, 0), NULL, 10);
		replay = strtoull(PQgetvalue(res, i, 2), NULL, 10);
		if (i == 0) {
			throttle_remember(t, flushed, now);
			least = replay;
		}
		if (replay < least)
			least = replay;
		if (replay >= flushed)
			continue;
		one = PQgetisnull(res, i, 3) ? 0 :
		      strtoll(PQgetvalue(res, i, 3), NULL, 10);
		for (k = 0; k < t->nsamples; k++) {
			if (t->samples[k].lsn > replay) {
				if (now - t->samples[k].at_ms > one)
					one = now - t->samples[k].at_ms;
				break;
			}
		}
		if (one >= *lag) {
			*lag = one;
			snprintf(who, wholen, "%s", PQgetvalue(res, i, 1));
		}
	}
	if (PQntuples(res) == 0)
		t->nsamples = 0;
	else
		throttle_forget(t, least);
	PQclear(res);
	return 0;
}

int throttle_wait_replicas(struct throttle *t, PGconn *conn,
			   volatile sig_atomic_t *stop,
			   const struct timespec *deadline, char *err,
			   size_t errlen)
{
	long long lag, t0 = 0, waited = 0, left;
	char who[256];
	int ret = THROTTLE_GO;

	if (t->max_replica_lag_ms <= 0)
		return THROTTLE_GO;
	for (;;) {
		if (throttle_lag(t, conn, &lag, who, sizeof(who), err,
				 errlen) != 0) {
			ret = THROTTLE_ERROR;
			break;
		}
		if (lag <= t->max_replica_lag_ms)
			break;
		if (t0 == 0) {
			t0 = clock_now_ms();
			log_msg(SWEEPER_LOG_INFO,
				"standby '%s' lags %lld ms, more than max_replica_lag (%lld ms); waiting",
				who, lag, t->max_replica_lag_ms);
		}
		waited = clock_now_ms() - t0;
		if (t->max_throttle_ms > 0 && waited >= t->max_throttle_ms) {
			ret = THROTTLE_TIMEOUT;
			break;
		}
		if (throttle_stop_requested(stop)) {
			ret = THROTTLE_STOPPED;
			break;
		}
		if (clock_past(deadline)) {
			ret = THROTTLE_DEADLINE;
			break;
		}
		left = THROTTLE_POLL_MS;
		if (t->max_throttle_ms > 0 && t->max_throttle_ms - waited < left)
			left = t->max_throttle_ms - waited;
		throttle_sleep(left, stop);
	}
	if (t0 != 0) {
		waited = clock_now_ms() - t0;
		if (t->counts)
			throttle_count(&t->counts->replica_lag, waited);
		if (ret == THROTTLE_GO)
			log_msg(SWEEPER_LOG_INFO,
				"standbys back within max_replica_lag after %lld ms",
				waited);
	}
	return ret;
}
