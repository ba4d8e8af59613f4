/*
 * window_sizer.h: the length, in heap blocks, of the next window of a
 * block walk (walk_blocks.c).
 *
 * A window is deleted whole by one plain DELETE, so its length is what
 * bounds a batch: it must hold at most `cap` matching rows (the batch
 * size) and take about `target_ms`.  The sizer keeps exponentially
 * weighted moving averages of the rows deleted per block and of the time
 * per block of the windows deleted whole, and the next length is the
 * smaller of the two it allows: WINDOW_SIZER_FILL of the cap at the
 * averaged density, and the target at the averaged time.  The length grows
 * at most WINDOW_SIZER_STEP times per window, so one cheap window cannot
 * jump to a costly one; it shrinks at once.  The first window holds the
 * start size's worth of rows at the table's average rows per block, as if
 * every row matched.
 *
 * Pure arithmetic, no I/O: one sizer per step.
 */
#ifndef SWEEPER_WINDOW_SIZER_H
#define SWEEPER_WINDOW_SIZER_H

/* The length grows at most this factor from one window to the next. */
#define WINDOW_SIZER_STEP 4

/*
 * The share of the cap a window is sized to hold: the density of matching
 * rows varies along a table, and a window over the cap is rolled back and
 * deleted again in capped batches.
 */
#define WINDOW_SIZER_FILL 0.75

/* Weight of the newest window in the moving averages. */
#define WINDOW_SIZER_WEIGHT 0.5

struct window_sizer {
	long long cap;          /* most rows a window may hold, >= 1 */
	double target_ms;       /* wanted time of one window, > 0 */
	long long blocks;       /* length of the next window, >= 1 */
	double density;         /* rows deleted per block; < 0: no sample yet */
	double ms_per_block;    /* time per block; < 0: no sample yet */
};

/*
 * Start a sizer.  `start_rows` is the first window's worth of rows,
 * `rows_per_block` the table's average (pg_class reltuples / relpages; <=
 * 0 when unknown), `cap` and `target_ms` as in the struct.
 */
void window_sizer_init(struct window_sizer *ws, long long cap,
		       long long start_rows, double rows_per_block,
		       long long target_ms);

/* The length of the next window, in blocks (>= 1). */
long long window_sizer_next(const struct window_sizer *ws);

/*
 * Learn from a window of `blocks` blocks deleted whole: `deleted` rows in
 * `ms` milliseconds.
 */
void window_sizer_observe(struct window_sizer *ws, long long blocks,
			  long long deleted, double ms);

/*
 * A window of `blocks` blocks held `rows` rows, more than the cap (its
 * DELETE was rolled back): count it in the density and shrink the next
 * window accordingly.
 */
void window_sizer_overflow(struct window_sizer *ws, long long blocks,
			   long long rows);

/*
 * Lower the cap to `cap` (>= 1; a larger cap changes nothing), and the
 * next window's length in proportion, so that it holds no more of the new
 * cap than it held of the old.
 */
void window_sizer_cap(struct window_sizer *ws, long long cap);

#endif /* SWEEPER_WINDOW_SIZER_H */
