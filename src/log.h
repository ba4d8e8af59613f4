/*
 * log.h: leveled log lines on stderr.
 */
#ifndef SWEEPER_LOG_H
#define SWEEPER_LOG_H

#include <stdarg.h>

#include "sweeper/plugin.h"

/* Levels are those of the plugin ABI: SWEEPER_LOG_ERROR .. _DEBUG. */

/* Show messages up to and including `level` (default SWEEPER_LOG_INFO). */
void log_set_level(int level);

/* Current threshold. */
int log_level(void);

/*
 * Write one line "mfa-sweeper: <level>: <message>" to stderr if `level` is
 * enabled.  The message carries no trailing newline.
 */
void log_msg(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Like log_msg() with a va_list, for forwarding from plugins. */
void log_vmsg(int level, const char *prefix, const char *fmt, va_list ap);

#endif /* SWEEPER_LOG_H */
