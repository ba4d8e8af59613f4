/*
 * log.c: leveled log lines on stderr.
 *
 * Each line is formatted completely before it is written with one call, so
 * that lines from the sweeper and from plugins never interleave mid-line in
 * the journal or a cron mail.
 */
#include <stdarg.h>
#include <stdio.h>

#include "log.h"

static int log_threshold = SWEEPER_LOG_INFO;

static const char *const log_names[] = { "error", "warn", "info", "debug" };

void log_set_level(int level)
{
	if (level < SWEEPER_LOG_ERROR)
		level = SWEEPER_LOG_ERROR;
	if (level > SWEEPER_LOG_DEBUG)
		level = SWEEPER_LOG_DEBUG;
	log_threshold = level;
}

int log_level(void)
{
	return log_threshold;
}

void log_vmsg(int level, const char *prefix, const char *fmt, va_list ap)
{
	char msg[2048];
	char line[2200];
	int n;

	if (level > log_threshold)
		return;
	if (level < SWEEPER_LOG_ERROR)
		level = SWEEPER_LOG_ERROR;
	if (level > SWEEPER_LOG_DEBUG)
		level = SWEEPER_LOG_DEBUG;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = snprintf(line, sizeof(line), "mfa-sweeper: %s: %s%s\n",
		     log_names[level], prefix ? prefix : "", msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	fwrite(line, 1, (size_t)n, stderr);
}

void log_msg(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, NULL, fmt, ap);
	va_end(ap);
}
