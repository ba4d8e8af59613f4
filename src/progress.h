/*
 * progress.h: what a running step has done so far, for the operator.
 *
 * On a terminal, one line on stderr per step, rewritten in place (at most
 * ten times a second), cut to the terminal's width, and cleared when the
 * step ends: from the planner's estimate taken at the start of the step
 * an ETA and "~N left" first, then rule, table, rows deleted, rows/s and
 * elapsed time.  Off a terminal, one info
 * log line every 10 seconds per running step instead.  Progress never
 * writes to stdout.
 *
 * It hooks into the engine through struct engine_observer and knows
 * nothing of the database.
 */
#ifndef SWEEPER_PROGRESS_H
#define SWEEPER_PROGRESS_H

#include <stdio.h>

#include "engine.h"

enum progress_mode {
	PROGRESS_OFF = 0,
	PROGRESS_TTY,     /* a live line on a terminal */
	PROGRESS_LOG      /* periodic info log lines */
};

/*
 * Tests only: the interval of PROGRESS_LOG lines as a duration ("1s"),
 * instead of 10 s.
 */
#define PROGRESS_INTERVAL_ENV "MFA_SWEEPER_PROGRESS_INTERVAL"

struct progress {
	enum progress_mode mode;
	FILE *out;                  /* stderr; borrowed */
	long long interval_ms;      /* of PROGRESS_LOG lines */
	/* The running step; strings borrowed from the rule. */
	const char *rule;
	const char *table;
	long long estimate;         /* rows, or -1 unknown */
	long long started_ms;       /* CLOCK_MONOTONIC */
	long long shown_ms;         /* last line drawn or logged */
	long long deleted;
	int drawn;                  /* a line is on the terminal */
};

/*
 * The mode a run should use: off when `quiet` or `dry_run` (a dry run is
 * one statement per step), a live line when `fd` is a terminal, else log
 * lines.
 */
enum progress_mode progress_choose(int quiet, int dry_run, int fd);

/*
 * Set up *p (provided by the caller) with `mode`, drawing to `out`, and
 * point the observer's callbacks at it.  In PROGRESS_TTY mode log lines
 * erase the progress line before they are written (log_set_clear_hook()).
 * `p` must stay valid until progress_finish().
 */
void progress_start(struct progress *p, enum progress_mode mode, FILE *out,
		    struct engine_observer *ob);

/* Erase a line still drawn and unhook from the log. */
void progress_finish(struct progress *p);

/*
 * Format the progress of `deleted` rows after `elapsed_ms` with `estimate`
 * rows expected at the start (-1: unknown) into buf (always terminated):
 * "N rows deleted, R rows/s, elapsed T[, ~L left[, ETA T]]".  The rows
 * left are never negative; the ETA is left out when unknown.  Exposed for
 * tests.
 */
void progress_format(char *buf, size_t size, long long deleted,
		     long long elapsed_ms, long long estimate);

/*
 * The terminal's line into buf (always terminated), at most `width` - 1
 * characters (UTF-8), cut at the end: "ETA T, ~L left | RULE TABLE: N
 * rows deleted, R rows/s, elapsed T".  Without a rate yet only "~L left
 * | ", without an estimate (-1) neither; once more rows went than the
 * estimate said, "past the ~E estimated | ".  Exposed for tests.
 */
void progress_line(char *buf, size_t size, size_t width, const char *rule,
		   const char *table, long long deleted, long long elapsed_ms,
		   long long estimate);

#endif /* SWEEPER_PROGRESS_H */
