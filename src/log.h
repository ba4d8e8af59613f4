/*
 * log.h: leveled log lines on stderr.
 *
 * Three shapes of line, one per call, never interleaved:
 *   text (default):      "mfa-sweeper: <level>: <message>"
 *   text to the journal: "<N>message", N the syslog priority of the level
 *                        (sd-daemon.h's SD_ERR, SD_WARNING, SD_INFO,
 *                        SD_DEBUG), when stderr is the systemd journal's
 *                        stream ($JOURNAL_STREAM names stderr's device and
 *                        inode)
 *   json:                one JSON object per line (jansson): ts, level,
 *                        msg, and run_id, rule, table, deleted (or
 *                        would_delete), batches, duration_ms, status where
 *                        they apply; no priority prefix, even to the
 *                        journal
 */
#ifndef SWEEPER_LOG_H
#define SWEEPER_LOG_H

#include <stdarg.h>

#include "sweeper/plugin.h"

/* Levels are those of the plugin ABI: SWEEPER_LOG_ERROR .. _DEBUG. */

enum log_format {
	LOG_FORMAT_TEXT = 0,
	LOG_FORMAT_JSON
};

/*
 * Structured fields of a line.  A NULL string or a negative count is
 * absent.  Start from LOG_FIELDS_INIT and set what applies.
 */
struct log_fields {
	const char *rule;
	const char *table;
	long long deleted;       /* rows deleted (would be, in a dry run) */
	long long batches;
	long long duration_ms;
	const char *status;      /* run_status_name() of a rule or run */
	int dry_run;             /* name `deleted` "would_delete" in json */
};

#define LOG_FIELDS_INIT { NULL, NULL, -1, -1, -1, NULL, 0 }

/* Show messages up to and including `level` (default SWEEPER_LOG_INFO). */
void log_set_level(int level);

/* Current threshold. */
int log_level(void);

/*
 * Parse "text" or "json" into *format.  Returns 0, or -1 for any other
 * value (NULL included).
 */
int log_parse_format(const char *value, enum log_format *format);

/* Select the line format (default LOG_FORMAT_TEXT). */
void log_set_format(enum log_format format);

/*
 * Give json lines a run_id field from now on; the id is copied.  NULL or
 * "" removes it.
 */
void log_set_run_id(const char *run_id);

/*
 * Name the target (doc/fleet.md) every line is
 * about from now on: "target 'NAME': " before a text line's message, a
 * "target" field in a JSON line.  NULL or "" for none.  A worker of a run
 * over targets sets it per target.
 */
void log_set_target(const char *target);

/*
 * Call `clear(arg)` before every line is written, so that a live progress
 * line on a terminal can erase itself first.  NULL removes the hook.
 * `arg` is borrowed and must stay valid until the hook is removed.
 */
void log_set_clear_hook(void (*clear)(void *arg), void *arg);

/*
 * 1 if stderr is the systemd journal's stream: $JOURNAL_STREAM is
 * "DEV:INODE" (decimal, as systemd writes it) and equals fstat(2)'s
 * st_dev and st_ino.  Evaluated at the first call and remembered.
 */
int log_to_journal(void);

/*
 * Write one line with `level` if it is enabled.  The message carries no
 * trailing newline.
 */
void log_msg(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/*
 * Like log_msg() with structured fields (`f` may be NULL): json lines
 * carry them as fields; text lines show only the message, which should
 * say the same in words.
 */
void log_event(int level, const struct log_fields *f, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/*
 * The general form: `prefix` (may be NULL) goes before the message in
 * text and in json's msg, e.g. "rule 'NAME': " for a plugin's lines.
 */
void log_vevent(int level, const struct log_fields *f, const char *prefix,
		const char *fmt, va_list ap);

/* Like log_msg() with a va_list and a prefix (NULL for none). */
void log_vmsg(int level, const char *prefix, const char *fmt, va_list ap);

#endif /* SWEEPER_LOG_H */
