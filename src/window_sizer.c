/*
 * window_sizer.c: see window_sizer.h.
 */
#include "window_sizer.h"

static double sizer_average(double avg, double sample)
{
	if (avg < 0)
		return sample;
	return WINDOW_SIZER_WEIGHT * sample + (1 - WINDOW_SIZER_WEIGHT) * avg;
}

/* The length the averages allow, before the growth bound; 0: unbounded. */
static double sizer_want(const struct window_sizer *ws)
{
	double want = 0, by_time;

	if (ws->density > 0)
		want = WINDOW_SIZER_FILL * (double)ws->cap / ws->density;
	if (ws->ms_per_block > 0) {
		by_time = ws->target_ms / ws->ms_per_block;
		if (want <= 0 || by_time < want)
			want = by_time;
	}
	return want;
}

static void sizer_resize(struct window_sizer *ws)
{
	double want = sizer_want(ws);
	double most = (double)ws->blocks * WINDOW_SIZER_STEP;

	if (want <= 0 || want > most)
		want = most;
	ws->blocks = want < 1 ? 1 : (long long)want;
}

void window_sizer_init(struct window_sizer *ws, long long cap,
		       long long start_rows, double rows_per_block,
		       long long target_ms)
{
	double blocks;

	ws->cap = cap > 0 ? cap : 1;
	ws->target_ms = target_ms > 0 ? (double)target_ms : 1;
	ws->density = -1;
	ws->ms_per_block = -1;
	if (start_rows > ws->cap)
		start_rows = ws->cap;
	blocks = rows_per_block > 0 ? (double)start_rows / rows_per_block : 1;
	ws->blocks = blocks < 1 ? 1 : (long long)blocks;
}

long long window_sizer_next(const struct window_sizer *ws)
{
	return ws->blocks;
}

void window_sizer_observe(struct window_sizer *ws, long long blocks,
			  long long deleted, double ms)
{
	if (blocks <= 0)
		return;
	ws->density = sizer_average(ws->density,
				    (double)deleted / (double)blocks);
	if (ms > 0)
		ws->ms_per_block = sizer_average(ws->ms_per_block,
						 ms / (double)blocks);
	sizer_resize(ws);
}

void window_sizer_overflow(struct window_sizer *ws, long long blocks,
			   long long rows)
{
	double seen;

	if (blocks <= 0)
		return;
	/* The window was too long for its rows whatever the average says. */
	seen = (double)rows / (double)blocks;
	ws->density = ws->density > seen ? ws->density : seen;
	sizer_resize(ws);
}

void window_sizer_cap(struct window_sizer *ws, long long cap)
{
	double blocks;

	if (cap < 1 || cap >= ws->cap)
		return;
	blocks = (double)ws->blocks * (double)cap / (double)ws->cap;
	ws->blocks = blocks < 1 ? 1 : (long long)blocks;
	ws->cap = cap;
}
