/*
 * log.c: leveled log lines on stderr, as text, as text for the systemd
 * journal, or as JSON.
 *
 * Each line is formatted completely before it is written with one call, so
 * that lines from the sweeper and from plugins never interleave mid-line in
 * the journal or a cron mail.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "log.h"

static int log_threshold = SWEEPER_LOG_INFO;
static enum log_format log_fmt = LOG_FORMAT_TEXT;
static char log_run_id[64];
static char log_target[160];
static int log_journal = -1;    /* -1: not checked yet */
static void (*log_clear)(void *arg);
static void *log_clear_arg;

static const char *const log_names[] = { "error", "warn", "info", "debug" };

/* Syslog priorities: LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG. */
static const int log_priorities[] = { 3, 4, 6, 7 };

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

int log_parse_format(const char *value, enum log_format *format)
{
	if (value && strcmp(value, "text") == 0) {
		*format = LOG_FORMAT_TEXT;
		return 0;
	}
	if (value && strcmp(value, "json") == 0) {
		*format = LOG_FORMAT_JSON;
		return 0;
	}
	return -1;
}

void log_set_format(enum log_format format)
{
	log_fmt = format;
}

void log_set_run_id(const char *run_id)
{
	snprintf(log_run_id, sizeof(log_run_id), "%s", run_id ? run_id : "");
}

void log_set_target(const char *target)
{
	snprintf(log_target, sizeof(log_target), "%s", target ? target : "");
}

void log_set_clear_hook(void (*clear)(void *arg), void *arg)
{
	log_clear = clear;
	log_clear_arg = arg;
}

int log_to_journal(void)
{
	const char *env;
	unsigned long long dev, ino;
	struct stat st;
	int end = 0;

	if (log_journal >= 0)
		return log_journal;
	log_journal = 0;
	env = getenv("JOURNAL_STREAM");
	if (!env || !*env)
		return 0;
	if (sscanf(env, "%llu:%llu%n", &dev, &ino, &end) != 2 ||
	    env[end] != '\0')
		return 0;
	if (fstat(STDERR_FILENO, &st) != 0)
		return 0;
	log_journal = (unsigned long long)st.st_dev == dev &&
		      (unsigned long long)st.st_ino == ino;
	return log_journal;
}

/* "2026-11-24T02:30:00.123Z" */
static void log_timestamp(char out[32])
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(out, 24, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 32 - n, ".%03dZ", (int)(ts.tv_nsec / 1000000L % 1000));
}

/*
 * A JSON string of `text`.  A plugin's message or a table name may hold
 * bytes that are not UTF-8, which JSON cannot carry: those become '?'.
 */
static json_t *log_json_text(const char *text)
{
	json_t *s = json_string(text);
	char *copy;
	char *p;

	if (s)
		return s;
	copy = strdup(text);
	if (!copy)
		return json_string("?");
	for (p = copy; *p; p++) {
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	}
	s = json_string(copy);
	free(copy);
	return s ? s : json_string("?");
}

/* The JSON line, newline included; the caller frees it. */
static char *log_json_line(int level, const struct log_fields *f,
			   const char *msg)
{
	json_t *o = json_object();
	char ts[32];
	char *text, *line = NULL;
	size_t n;

	log_timestamp(ts);
	json_object_set_new(o, "ts", json_string(ts));
	json_object_set_new(o, "level", json_string(log_names[level]));
	json_object_set_new(o, "msg", log_json_text(msg));
	if (log_run_id[0])
		json_object_set_new(o, "run_id", json_string(log_run_id));
	if (log_target[0])
		json_object_set_new(o, "target", log_json_text(log_target));
	if (f) {
		if (f->rule)
			json_object_set_new(o, "rule", log_json_text(f->rule));
		if (f->table)
			json_object_set_new(o, "table",
					    log_json_text(f->table));
		if (f->deleted >= 0)
			json_object_set_new(o, f->dry_run ? "would_delete" :
					    "deleted", json_integer(f->deleted));
		if (f->batches >= 0)
			json_object_set_new(o, "batches",
					    json_integer(f->batches));
		if (f->duration_ms >= 0)
			json_object_set_new(o, "duration_ms",
					    json_integer(f->duration_ms));
		if (f->status)
			json_object_set_new(o, "status", json_string(f->status));
	}
	text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!text)
		return NULL;
	n = strlen(text);
	line = malloc(n + 2);
	if (line) {
		memcpy(line, text, n);
		line[n] = '\n';
		line[n + 1] = '\0';
	}
	free(text);
	return line;
}

void log_vevent(int level, const struct log_fields *f, const char *prefix,
		const char *fmt, va_list ap)
{
	char msg[2048];
	char body[2300];
	char line[2400];
	char *json;
	int n;

	if (level > log_threshold)
		return;
	if (level < SWEEPER_LOG_ERROR)
		level = SWEEPER_LOG_ERROR;
	if (level > SWEEPER_LOG_DEBUG)
		level = SWEEPER_LOG_DEBUG;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	/* A JSON line names the target in a field of its own. */
	if (log_target[0] && log_fmt != LOG_FORMAT_JSON)
		snprintf(body, sizeof(body), "target '%s': %s%s", log_target,
			 prefix ? prefix : "", msg);
	else
		snprintf(body, sizeof(body), "%s%s", prefix ? prefix : "", msg);
	if (log_clear)
		log_clear(log_clear_arg);

	if (log_fmt == LOG_FORMAT_JSON) {
		json = log_json_line(level, f, body);
		if (json) {
			fwrite(json, 1, strlen(json), stderr);
			free(json);
			return;
		}
		/* Out of memory: fall back to a text line. */
	}
	if (log_fmt == LOG_FORMAT_TEXT && log_to_journal())
		n = snprintf(line, sizeof(line), "<%d>%s\n",
			     log_priorities[level], body);
	else
		n = snprintf(line, sizeof(line), "mfa-sweeper: %s: %s\n",
			     log_names[level], body);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	fwrite(line, 1, (size_t)n, stderr);
}

void log_vmsg(int level, const char *prefix, const char *fmt, va_list ap)
{
	log_vevent(level, NULL, prefix, fmt, ap);
}

void log_msg(int level, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vevent(level, NULL, NULL, fmt, ap);
	va_end(ap);
}

void log_event(int level, const struct log_fields *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vevent(level, f, NULL, fmt, ap);
	va_end(ap);
}
