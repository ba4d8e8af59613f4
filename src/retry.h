/*
 * retry.h: which failures of a batch are worth running it again, and how
 * long to wait before each retry.
 */
#ifndef SWEEPER_RETRY_H
#define SWEEPER_RETRY_H

/* The longest wait before a retry, whatever retry_backoff says. */
#define RETRY_DELAY_MAX_MS 30000LL

/*
 * What the failure with SQLSTATE `state` is, when running the batch again
 * may succeed because the failure came from other sessions' work:
 * "deadlock" (40P01), "lock timeout" (55P03), "serialization failure"
 * (40001) or "statement timeout" (57014).  NULL for any other state,
 * including "" (no SQLSTATE: libpq's own failure).  57014 is also what a
 * cancel request gives: the caller tells its own cancels apart.  Static
 * string.
 */
const char *retry_reason(const char *state);

/*
 * The wait before retry number `attempt` (1 for the first): `base_ms`
 * doubled for each retry after the first, capped at RETRY_DELAY_MAX_MS,
 * then "equal jitter": half of it plus `random` modulo the other half, so
 * that runs that failed together do not retry together.  Returns 0 when
 * base_ms is 0 or less.
 */
long long retry_delay_ms(long long base_ms, long long attempt,
			 unsigned int random);

#endif /* SWEEPER_RETRY_H */
