/*
 * rate_limit.c: the run's shared token bucket for [sweeper] max_rate
 * (rate_limit.h).  The bucket is kept as the moment by which the rows
 * charged so far are paid for: a charge moves it on by rows / rate, and
 * never starts before now, so idle time saves up no burst.
 */
#include "rate_limit.h"

int rate_limit_init(struct rate_limit *r, long long rate)
{
	pthread_mutexattr_t attr;
	int ret = -1;

	r->rate = rate > 0 ? rate : 0;
	r->paid_until_ms = 0;
	r->started = 0;
	/* Process-shared: a run over several targets keeps the one bucket
	 * in memory its target processes share (fleet.h). */
	if (pthread_mutexattr_init(&attr) != 0)
		return -1;
	if (pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED) == 0 &&
	    pthread_mutex_init(&r->mu, &attr) == 0)
		ret = 0;
	pthread_mutexattr_destroy(&attr);
	return ret;
}

void rate_limit_destroy(struct rate_limit *r)
{
	pthread_mutex_destroy(&r->mu);
}

int rate_limit_on(const struct rate_limit *r)
{
	return r && r->rate > 0;
}

long long rate_limit_cap(const struct rate_limit *r, long long limit)
{
	if (!rate_limit_on(r) || limit <= r->rate)
		return limit;
	return r->rate;
}

long long rate_limit_take(struct rate_limit *r, long long rows,
			  long long now_ms)
{
	double now = (double)now_ms, wait;

	if (!rate_limit_on(r) || rows <= 0)
		return 0;
	pthread_mutex_lock(&r->mu);
	if (!r->started || r->paid_until_ms < now) {
		r->paid_until_ms = now;
		r->started = 1;
	}
	r->paid_until_ms += (double)rows * 1000.0 / (double)r->rate;
	wait = r->paid_until_ms - now;
	pthread_mutex_unlock(&r->mu);
	/* Rounded up: a batch never starts before its rows are paid for. */
	return wait > 0 ? (long long)wait + ((double)(long long)wait < wait) :
	       0;
}

void rate_limit_refund(struct rate_limit *r, long long rows)
{
	if (!rate_limit_on(r) || rows <= 0)
		return;
	pthread_mutex_lock(&r->mu);
	r->paid_until_ms -= (double)rows * 1000.0 / (double)r->rate;
	pthread_mutex_unlock(&r->mu);
}
