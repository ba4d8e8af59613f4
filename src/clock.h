/*
 * clock.h: the monotonic clock, in the forms the run needs: milliseconds
 * for measuring, and deadlines for max_runtime.  CLOCK_MONOTONIC, because
 * a wall clock stepped by NTP at 02:30 must neither end a run early nor
 * keep it going.
 */
#ifndef SWEEPER_CLOCK_H
#define SWEEPER_CLOCK_H

#include <time.h>

/* Milliseconds on the monotonic clock, from an arbitrary origin. */
long long clock_now_ms(void);

/* Milliseconds since `t0` (taken from CLOCK_MONOTONIC), with fractions. */
double clock_since_ms(const struct timespec *t0);

/*
 * a + b for b >= 0, or LLONG_MAX where the sum would not fit: a deadline
 * that far off is as good as none, and must never wrap into the past.
 */
long long clock_add_ms(long long a, long long b);

/*
 * Set *deadline to `ms` milliseconds from now; with `ms` 0 or less, to
 * "none" (tv_sec 0).  `ms` above DURATION_MAX_MS (values.h), which config
 * never holds, counts as DURATION_MAX_MS.
 */
void clock_deadline_in(struct timespec *deadline, long long ms);

/*
 * Milliseconds left until *deadline (0 once it has passed), or -1 when
 * `deadline` is NULL or "none".
 */
long long clock_left_ms(const struct timespec *deadline);

/* 1 once *deadline has passed; 0 before it, and for NULL or "none". */
int clock_past(const struct timespec *deadline);

#endif /* SWEEPER_CLOCK_H */
