/*
 * batch_sizer.h: the size of the next batch.
 *
 * With a fixed size (batch_size written in the config) every batch has
 * that size.  Otherwise the size adapts so that one batch takes about
 * batch_target: the sizer keeps exponentially weighted moving averages of
 * the rows and the time of recent batches (as pt-online-schema-change's
 * --chunk-time does), and the next size is the averaged rate times the
 * target, moved at most by a factor of BATCH_SIZER_STEP per batch and kept
 * within [batch_min, batch_max].  A batch that selected fewer rows than
 * its limit (few rows matched in its window) says little about the cost of
 * a row, so it only counts when it took longer than the target: it may
 * shrink the size but never grows it.
 *
 * Pure arithmetic, no I/O: one sizer per step, since tables differ.
 */
#ifndef SWEEPER_BATCH_SIZER_H
#define SWEEPER_BATCH_SIZER_H

/* The size moves at most this factor up or down from one batch to the
 * next. */
#define BATCH_SIZER_STEP 2

/* The first size of an adaptive step, before clamping to [min, max]. */
#define BATCH_SIZER_START 1000

/* Weight of the newest batch in the moving averages. */
#define BATCH_SIZER_WEIGHT 0.5

struct batch_sizer {
	long long fixed;        /* > 0: every batch has this size */
	long long min;          /* adaptive bounds, 1 <= min <= max */
	long long max;
	double target_ms;       /* wanted time of one batch, > 0 */
	long long size;         /* size of the next batch */
	double avg_rows;        /* moving averages; avg_ms 0 = no sample yet */
	double avg_ms;
};

/*
 * Start a sizer: fixed size `fixed` when > 0, else adaptive between `min`
 * and `max` (the caller has checked 1 <= min <= max) aiming at
 * `target_ms` per batch.
 */
void batch_sizer_init(struct batch_sizer *s, long long fixed, long long min,
		      long long max, long long target_ms);

/* The size the next batch should have (>= 1). */
long long batch_sizer_next(const struct batch_sizer *s);

/*
 * Learn from a batch that ran with LIMIT `limit`, selected `selected` rows
 * and took `ms` milliseconds from BEGIN to COMMIT, and move the size.
 */
void batch_sizer_observe(struct batch_sizer *s, long long limit,
			 long long selected, double ms);

/*
 * Lower the largest adaptive size to `max` (at least the sizer's min; a
 * larger `max` changes nothing), and the next size with it.  A fixed size
 * is kept.
 */
void batch_sizer_cap(struct batch_sizer *s, long long max);

#endif /* SWEEPER_BATCH_SIZER_H */
