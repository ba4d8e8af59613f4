/*
 * retry.c: the retry policy for failed batches.
 */
#include <string.h>

#include "retry.h"

const char *retry_reason(const char *state)
{
	static const struct {
		const char *state;
		const char *reason;
	} retryable[] = {
		{ "40P01", "deadlock" },
		{ "55P03", "lock timeout" },
		{ "40001", "serialization failure" },
		{ "57014", "statement timeout" },
	};
	size_t i;

	for (i = 0; i < sizeof(retryable) / sizeof(retryable[0]); i++) {
		if (strcmp(state, retryable[i].state) == 0)
			return retryable[i].reason;
	}
	return NULL;
}

long long retry_delay_ms(long long base_ms, long long attempt,
			 unsigned int random)
{
	long long delay = base_ms, half;

	if (base_ms <= 0)
		return 0;
	while (--attempt > 0 && delay < RETRY_DELAY_MAX_MS)
		delay *= 2;
	if (delay > RETRY_DELAY_MAX_MS)
		delay = RETRY_DELAY_MAX_MS;
	half = delay / 2;
	return delay - half + (long long)(random % (unsigned long long)(half + 1));
}
