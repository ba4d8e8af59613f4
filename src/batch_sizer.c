/*
 * batch_sizer.c: adaptive batch size from the observed rows per second.
 */
#include "batch_sizer.h"

/* Times below this are clock noise; they would make any rate look huge. */
#define BATCH_SIZER_MIN_MS 1.0

static long long sizer_clamp(long long v, long long lo, long long hi)
{
	if (v < lo)
		return lo;
	if (v > hi)
		return hi;
	return v;
}

void batch_sizer_init(struct batch_sizer *s, long long fixed, long long min,
		      long long max, long long target_ms)
{
	s->fixed = fixed;
	s->min = min;
	s->max = max;
	s->target_ms = (double)target_ms;
	s->avg_rows = 0;
	s->avg_ms = 0;
	s->size = fixed > 0 ? fixed :
		  sizer_clamp(BATCH_SIZER_START, min, max);
}

long long batch_sizer_next(const struct batch_sizer *s)
{
	return s->size;
}

void batch_sizer_cap(struct batch_sizer *s, long long max)
{
	if (s->fixed > 0 || max >= s->max)
		return;
	s->max = max > s->min ? max : s->min;
	s->size = sizer_clamp(s->size, s->min, s->max);
}

void batch_sizer_observe(struct batch_sizer *s, long long limit,
			 long long selected, double ms)
{
	double want;
	long long lo, hi, next;

	if (s->fixed > 0 || limit <= 0)
		return;
	if (ms < BATCH_SIZER_MIN_MS)
		ms = BATCH_SIZER_MIN_MS;
	/*
	 * A batch that found fewer rows than it could take was cut short by
	 * its key window, not by the cost of its rows: it is only evidence
	 * when it was slow anyway.
	 */
	if (selected < limit && ms <= s->target_ms)
		return;
	if (s->avg_ms <= 0) {
		s->avg_rows = (double)selected;
		s->avg_ms = ms;
	} else {
		s->avg_rows = BATCH_SIZER_WEIGHT * (double)selected +
			      (1 - BATCH_SIZER_WEIGHT) * s->avg_rows;
		s->avg_ms = BATCH_SIZER_WEIGHT * ms +
			    (1 - BATCH_SIZER_WEIGHT) * s->avg_ms;
	}
	want = s->avg_rows / s->avg_ms * s->target_ms;
	/*
	 * The size moves by a bounded step, so that one fast batch cannot
	 * jump to batch_max and one slow batch cannot drop to batch_min.  The
	 * step is from the sizer's size, not the batch's limit, which
	 * max_rows may have cut.
	 */
	lo = s->size / BATCH_SIZER_STEP;
	hi = s->size * BATCH_SIZER_STEP;
	if (want < (double)lo)
		next = lo;
	else if (want > (double)hi)
		next = hi;
	else
		next = (long long)(want + 0.5);
	s->size = sizer_clamp(next, s->min, s->max);
}
