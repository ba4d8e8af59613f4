/*
 * clock.c: the monotonic clock (see clock.h).
 */
#include <limits.h>

#include "clock.h"
#include "values.h"

long long clock_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

double clock_since_ms(const struct timespec *t0)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - t0->tv_sec) * 1000.0 +
	       (double)(now.tv_nsec - t0->tv_nsec) / 1e6;
}

long long clock_add_ms(long long a, long long b)
{
	if (b > 0 && a > LLONG_MAX - b)
		return LLONG_MAX;
	return a + b;
}

void clock_deadline_in(struct timespec *deadline, long long ms)
{
	deadline->tv_sec = 0;
	deadline->tv_nsec = 0;
	if (ms <= 0)
		return;
	/* clock_left_ms() multiplies the seconds back into ms. */
	if (ms > DURATION_MAX_MS)
		ms = DURATION_MAX_MS;
	clock_gettime(CLOCK_MONOTONIC, deadline);
	deadline->tv_sec += (time_t)(ms / 1000);
	deadline->tv_nsec += (long)(ms % 1000) * 1000000L;
	if (deadline->tv_nsec >= 1000000000L) {
		deadline->tv_sec++;
		deadline->tv_nsec -= 1000000000L;
	}
}

long long clock_left_ms(const struct timespec *deadline)
{
	struct timespec now;
	long long left;

	if (!deadline || deadline->tv_sec == 0)
		return -1;
	clock_gettime(CLOCK_MONOTONIC, &now);
	left = (long long)(deadline->tv_sec - now.tv_sec) * 1000 +
	       (deadline->tv_nsec - now.tv_nsec) / 1000000;
	return left > 0 ? left : 0;
}

int clock_past(const struct timespec *deadline)
{
	struct timespec now;

	if (!deadline || deadline->tv_sec == 0)
		return 0;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return now.tv_sec > deadline->tv_sec ||
	       (now.tv_sec == deadline->tv_sec &&
		now.tv_nsec >= deadline->tv_nsec);
}
