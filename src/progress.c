/*
 * progress.c: a live progress line on a terminal, or periodic log lines.
 *
 * The terminal line puts the ETA and the rows left first and is cut to
 * the terminal's width: what the operator waits for survives an
 * 80-column terminal.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "progress.h"
#include "values.h"

/* Redraw a terminal line at most this often. */
#define PROGRESS_REDRAW_MS 100
#define PROGRESS_LOG_INTERVAL_MS 10000

enum progress_mode progress_choose(int quiet, int dry_run, int fd)
{
	if (quiet || dry_run)
		return PROGRESS_OFF;
	return isatty(fd) ? PROGRESS_TTY : PROGRESS_LOG;
}

/* "42s", "3m07s", "2h05m" */
static void progress_duration(char *buf, size_t size, long long secs)
{
	if (secs < 60)
		snprintf(buf, size, "%llds", secs);
	else if (secs < 3600)
		snprintf(buf, size, "%lldm%02llds", secs / 60, secs % 60);
	else
		snprintf(buf, size, "%lldh%02lldm", secs / 3600,
			 (secs % 3600) / 60);
}

void progress_format(char *buf, size_t size, long long deleted,
		     long long elapsed_ms, long long estimate)
{
	char elapsed[32], eta[32];
	long long rate = 0, left;
	size_t n;

	if (elapsed_ms > 0)
		rate = deleted * 1000 / elapsed_ms;
	snprintf(elapsed, sizeof(elapsed), "%lld.%llds", elapsed_ms / 1000,
		 (elapsed_ms % 1000) / 100);
	snprintf(buf, size, "%lld rows deleted, %lld rows/s, elapsed %s",
		 deleted, rate, elapsed);
	if (estimate < 0)
		return;
	/* The estimate was taken at the start of the step. */
	left = estimate > deleted ? estimate - deleted : 0;
	n = strlen(buf);
	if (rate > 0 && left > 0) {
		progress_duration(eta, sizeof(eta), (left + rate - 1) / rate);
		snprintf(buf + n, size - n, ", ~%lld left, ETA %s", left, eta);
	} else {
		snprintf(buf + n, size - n, ", ~%lld left", left);
	}
}

/* The byte length of at most `cols` characters of `s` (UTF-8). */
static size_t progress_fit(const char *s, size_t cols)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = 0;

	while (p[n] && cols > 0) {
		n++;
		/* Continuation bytes belong to the character before. */
		while ((p[n] & 0xc0) == 0x80)
			n++;
		cols--;
	}
	return n;
}

void progress_line(char *buf, size_t size, size_t width, const char *rule,
		   const char *table, long long deleted, long long elapsed_ms,
		   long long estimate)
{
	char elapsed[32], eta[32], ahead[96] = "";
	long long rate = 0, left;
	size_t n;

	if (size == 0)
		return;
	if (elapsed_ms > 0)
		rate = deleted * 1000 / elapsed_ms;
	snprintf(elapsed, sizeof(elapsed), "%lld.%llds", elapsed_ms / 1000,
		 (elapsed_ms % 1000) / 100);
	/* What the operator waits for first, so that a narrow terminal
	 * cuts the least of it. */
	if (estimate >= 0 && deleted > estimate) {
		snprintf(ahead, sizeof(ahead), "past the ~%lld estimated | ",
			 estimate);
	} else if (estimate >= 0) {
		left = estimate - deleted;
		if (rate > 0 && left > 0) {
			progress_duration(eta, sizeof(eta),
					  (left + rate - 1) / rate);
			snprintf(ahead, sizeof(ahead), "ETA %s, ~%lld left | ",
				 eta, left);
		} else {
			snprintf(ahead, sizeof(ahead), "~%lld left | ", left);
		}
	}
	snprintf(buf, size, "%s%s %s: %lld rows deleted, %lld rows/s, "
		 "elapsed %s", ahead, rule, table, deleted, rate, elapsed);
	/* One column is left free: a line as wide as the terminal wraps
	 * on some, and "\r" returns only to the start of the last row. */
	if (width < 2)
		width = 2;
	n = progress_fit(buf, width - 1);
	buf[n] = '\0';
}

static void progress_clear(void *arg)
{
	struct progress *p = arg;

	if (!p->drawn)
		return;
	fputs("\r\033[K", p->out);
	fflush(p->out);
	p->drawn = 0;
}

/* Columns of the terminal, so that a long line never wraps: "\r" only
 * returns to the start of the last row.  80 when the terminal does not
 * say. */
static size_t progress_width(const struct progress *p)
{
	struct winsize ws;

	if (ioctl(fileno(p->out), TIOCGWINSZ, &ws) == 0 && ws.ws_col > 1)
		return ws.ws_col;
	return 80;
}

static void progress_draw(struct progress *p, long long now)
{
	char line[1024];

	progress_line(line, sizeof(line), progress_width(p), p->rule,
		      p->table, p->deleted, now - p->started_ms, p->estimate);
	fprintf(p->out, "\r%s\033[K", line);
	fflush(p->out);
	p->drawn = 1;
	p->shown_ms = now;
}

static void progress_log(struct progress *p, long long now)
{
	struct log_fields f = LOG_FIELDS_INIT;
	char stats[256];

	progress_format(stats, sizeof(stats), p->deleted, now - p->started_ms,
			p->estimate);
	f.rule = p->rule;
	f.table = p->table;
	f.deleted = p->deleted;
	f.duration_ms = now - p->started_ms;
	log_event(SWEEPER_LOG_INFO, &f, "rule '%s': %s: %s", p->rule,
		  p->table, stats);
	p->shown_ms = now;
}

static void progress_on_step_start(void *arg, const struct rule *r,
				   const struct step *step,
				   long long estimate)
{
	struct progress *p = arg;
	long long now = clock_now_ms();

	p->rule = r->name;
	p->table = step->table;
	p->estimate = estimate;
	p->started_ms = now;
	p->shown_ms = now;
	p->deleted = 0;
	if (p->mode == PROGRESS_TTY)
		progress_draw(p, now);
}

static void progress_on_batch(void *arg, const struct rule *r,
			      const struct step *step,
			      const struct step_result *sr)
{
	struct progress *p = arg;
	long long now = clock_now_ms();

	(void)r;
	(void)step;
	p->deleted = sr->deleted;
	if (p->mode == PROGRESS_TTY && now - p->shown_ms >= PROGRESS_REDRAW_MS)
		progress_draw(p, now);
	else if (p->mode == PROGRESS_LOG &&
		 now - p->shown_ms >= p->interval_ms)
		progress_log(p, now);
}

static void progress_on_step_end(void *arg, const struct rule *r,
				 const struct step *step,
				 const struct step_result *sr)
{
	struct progress *p = arg;

	(void)r;
	(void)step;
	(void)sr;
	progress_clear(p);
	p->rule = NULL;
	p->table = NULL;
}

void progress_start(struct progress *p, enum progress_mode mode, FILE *out,
		    struct engine_observer *ob)
{
	const char *env = getenv(PROGRESS_INTERVAL_ENV);
	long long ms;

	memset(p, 0, sizeof(*p));
	p->mode = mode;
	p->out = out;
	p->interval_ms = PROGRESS_LOG_INTERVAL_MS;
	if (env && duration_parse(env, &ms) == 0 && ms > 0)
		p->interval_ms = ms;
	if (mode == PROGRESS_OFF)
		return;
	ob->on_step_start = progress_on_step_start;
	ob->on_batch = progress_on_batch;
	ob->on_step_end = progress_on_step_end;
	ob->arg = p;
	if (mode == PROGRESS_TTY)
		log_set_clear_hook(progress_clear, p);
}

void progress_finish(struct progress *p)
{
	if (p->mode == PROGRESS_TTY) {
		progress_clear(p);
		log_set_clear_hook(NULL, NULL);
	}
}
