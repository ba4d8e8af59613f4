/*
 * metrics.c: the Prometheus textfile-collector file.
 *
 * The collector may read the file at any moment, so it is never written in
 * place: a complete temporary file is renamed over it.  Its name does not
 * end in .prom, so that the collector never reads a half-written one.
 *
 * The file there before is read back for the last success time, bounded
 * and without following a link (safe_file.h): anything at the path that
 * is not a regular file is reported and left alone, never replaced.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "metrics.h"
#include "safe_file.h"
#include "values.h"
#include "xalloc.h"

#define METRIC_LAST_RUN "mfa_sweeper_last_run_timestamp_seconds"
#define METRIC_LAST_SUCCESS "mfa_sweeper_last_success_timestamp_seconds"
#define METRIC_DURATION "mfa_sweeper_run_duration_seconds"
#define METRIC_ROWS "mfa_sweeper_rows_deleted"
#define METRIC_STATUS "mfa_sweeper_run_status"
#define METRIC_LEFT "mfa_sweeper_rows_left_behind"
#define METRIC_TARGET_STATUS "mfa_sweeper_target_status"
#define METRIC_RATE_WAITED "mfa_sweeper_rate_waited_seconds"

static const enum run_status metrics_statuses[] = {
	RUN_OK, RUN_PARTIAL, RUN_FAILED, RUN_SKIPPED, RUN_INTERRUPTED
};

static void metrics_head(struct strbuf *out, const char *name,
			 const char *help)
{
	strbuf_addf(out, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
}

/*
 * A label value as the exposition format wants it: \\, \" and \n, in
 * UTF-8.  The collector refuses the whole file for one label that is not
 * UTF-8, so such bytes are replaced by U+FFFD.
 */
static void metrics_label(struct strbuf *out, const char *value)
{
	const unsigned char *p = (const unsigned char *)value;

	while (*p) {
		size_t len = utf8_seq_len(p);

		if (len == 0)
			strbuf_add(out, "\xef\xbf\xbd");
		else if (*p == '\\')
			strbuf_add(out, "\\\\");
		else if (*p == '"')
			strbuf_add(out, "\\\"");
		else if (*p == '\n')
			strbuf_add(out, "\\n");
		else
			strbuf_addf(out, "%.*s", (int)len, (const char *)p);
		p += len ? len : 1;
	}
}

/*
 * Milliseconds as seconds with three decimals.  The duration is measured
 * on the wall clock, so a clock stepped back during the run makes it
 * negative: "-1.500", never "-1.-500", which the collector would refuse.
 */
static void metrics_seconds(struct strbuf *out, long long ms)
{
	unsigned long long abs_ms = ms < 0 ? 0ULL - (unsigned long long)ms :
				    (unsigned long long)ms;

	strbuf_addf(out, "%s%llu.%03llu", ms < 0 ? "-" : "", abs_ms / 1000,
		    abs_ms % 1000);
}

/* Rows of rule `r` on `table` over all its steps: deleted, or with
 * `left` left behind. */
static long long metrics_rows(const struct rule_result *r, const char *table,
			      int left)
{
	long long rows = 0;
	size_t i;

	for (i = 0; i < r->nsteps; i++) {
		if (strcmp(r->steps[i].table, table) == 0)
			rows = summary_count_add(rows, left ?
						 r->steps[i].left_behind :
						 r->steps[i].deleted);
	}
	return rows;
}

/* Whether an earlier step of `r` than `upto` is on the same table. */
static int metrics_seen(const struct rule_result *r, size_t upto)
{
	size_t i;

	for (i = 0; i < upto; i++) {
		if (strcmp(r->steps[i].table, r->steps[upto].table) == 0)
			return 1;
	}
	return 0;
}

/*
 * One sample per rule and table of `name`: rows deleted, or with `left`
 * rows left behind, where there are any (a run that left nothing, the
 * usual case, adds no series).
 */
static void metrics_per_table(struct strbuf *out, const struct run_summary *s,
			      const char *name, int left)
{
	size_t i, j;

	for (i = 0; i < s->nrules; i++) {
		const struct rule_result *r = &s->rules[i];

		for (j = 0; j < r->nsteps; j++) {
			if (metrics_seen(r, j))
				continue;
			if (left && metrics_rows(r, r->steps[j].table, 1) == 0)
				continue;
			strbuf_addf(out, "%s{rule=\"", name);
			metrics_label(out, r->name);
			strbuf_add(out, "\",table=\"");
			metrics_label(out, r->steps[j].table);
			strbuf_addf(out, "\"} %lld\n",
				    metrics_rows(r, r->steps[j].table, left));
		}
	}
}

/*
 * A run over targets: one sample per target, rule and table of `name`,
 * from the targets' rules (rows deleted, or with `left` left behind).
 * Labels rule, table and target (doc/fleet.md).
 */
static void metrics_per_target(struct strbuf *out,
			       const struct run_summary *s, const char *name,
			       int left)
{
	size_t i, j;

	for (i = 0; i < s->ntargets; i++) {
		const struct target_result *t = &s->targets[i];

		for (j = 0; j < t->nsteps; j++) {
			const struct target_step_count *c = &t->steps[j];
			long long n = left ? c->left_behind : c->rows;

			if (left && n == 0)
				continue;
			strbuf_addf(out, "%s{rule=\"", name);
			metrics_label(out, c->rule);
			strbuf_add(out, "\",table=\"");
			metrics_label(out, c->table);
			strbuf_add(out, "\",target=\"");
			metrics_label(out, t->name);
			strbuf_addf(out, "\"} %lld\n", n);
		}
	}
}

/* A run over targets: each target's status, 1 for its own, 0 else. */
static void metrics_target_status(struct strbuf *out,
				  const struct run_summary *s)
{
	static const char *const names[] = {
		"ok", "partial", "failed", "locked", "interrupted"
	};
	size_t i, j;

	metrics_head(out, METRIC_TARGET_STATUS,
		     "1 for the status of each target of the last mfa-sweeper run, 0 for the others.");
	for (i = 0; i < s->ntargets; i++) {
		const char *st = target_status_name(&s->targets[i]);

		for (j = 0; j < sizeof(names) / sizeof(names[0]); j++) {
			strbuf_addf(out, "%s{target=\"", METRIC_TARGET_STATUS);
			metrics_label(out, s->targets[i].name);
			strbuf_addf(out, "\",status=\"%s\"} %d\n", names[j],
				    strcmp(st, names[j]) == 0);
		}
	}
}

void metrics_render(struct strbuf *out, const struct run_summary *s,
		    const char *last_success)
{
	size_t i;

	metrics_head(out, METRIC_LAST_RUN,
		     "Unix time the last mfa-sweeper run ended.");
	strbuf_addf(out, "%s %lld.%03ld\n", METRIC_LAST_RUN,
		    (long long)s->finished_at.tv_sec,
		    s->finished_at.tv_nsec / 1000000L);
	metrics_head(out, METRIC_LAST_SUCCESS,
		     "Unix time the last mfa-sweeper run with status ok ended; 0 = never.");
	if (s->status == RUN_OK)
		strbuf_addf(out, "%s %lld.%03ld\n", METRIC_LAST_SUCCESS,
			    (long long)s->finished_at.tv_sec,
			    s->finished_at.tv_nsec / 1000000L);
	else
		strbuf_addf(out, "%s %s\n", METRIC_LAST_SUCCESS,
			    last_success && *last_success ? last_success : "0");
	metrics_head(out, METRIC_DURATION,
		     "Duration of the last mfa-sweeper run in seconds.");
	strbuf_addf(out, "%s ", METRIC_DURATION);
	metrics_seconds(out, s->duration_ms);
	strbuf_add(out, "\n");
	metrics_head(out, METRIC_ROWS,
		     "Rows the last mfa-sweeper run deleted, per rule and table.");
	metrics_per_table(out, s, METRIC_ROWS, 0);
	metrics_per_target(out, s, METRIC_ROWS, 0);
	metrics_head(out, METRIC_LEFT,
		     "Rows the last mfa-sweeper run left behind because the database refused to delete them, per rule and table.");
	metrics_per_table(out, s, METRIC_LEFT, 1);
	metrics_per_target(out, s, METRIC_LEFT, 1);
	metrics_head(out, METRIC_STATUS,
		     "1 for the status of the last mfa-sweeper run, 0 for the others.");
	for (i = 0; i < sizeof(metrics_statuses) / sizeof(metrics_statuses[0]);
	     i++)
		strbuf_addf(out, "%s{status=\"%s\"} %d\n", METRIC_STATUS,
			    run_status_name(metrics_statuses[i]),
			    s->status == metrics_statuses[i]);
	if (s->ntargets)
		metrics_target_status(out, s);
	metrics_head(out, METRIC_RATE_WAITED,
		     "Seconds the last mfa-sweeper run's workers waited for max_rate, summed over them.");
	strbuf_addf(out, "%s ", METRIC_RATE_WAITED);
	metrics_seconds(out, s->throttle.max_rate.ms);
	strbuf_add(out, "\n");
}

/*
 * The value of the last success metric in the file at `path`, copied into
 * buf, or "" when there is no file or no such sample.  Returns 0, or -1
 * with one line in err when something is at `path` that is not a file
 * this sweeper wrote: a FIFO there must not hang the run before the file
 * is written, nor a link to /dev/zero keep it reading.
 */
static int metrics_read_last_success(const char *path, char *buf,
				     size_t size, char *err, size_t errlen)
{
	const size_t namelen = strlen(METRIC_LAST_SUCCESS);
	char why[512];
	char *data = NULL;
	char *line, *next, *value, *end;
	size_t len;
	int rc;

	buf[0] = '\0';
	rc = safe_file_read(path, SAFE_FILE_NOFOLLOW, METRICS_READ_MAX, &data,
			    &len, NULL, why, sizeof(why));
	if (rc == SAFE_FILE_MISSING)
		return 0;
	if (rc != 0) {
		snprintf(err, errlen, "cannot write the metrics file '%s': %s; "
			 "it is left as it is: remove it, or set metrics_file "
			 "to a file of its own", path, why);
		return -1;
	}
	for (line = data; line < data + len; line = next) {
		end = memchr(line, '\n', (size_t)(data + len - line));
		next = end ? end + 1 : data + len;
		if (end)
			*end = '\0';
		if (strncmp(line, METRIC_LAST_SUCCESS, namelen) != 0 ||
		    line[namelen] != ' ')
			continue;
		value = line + namelen + 1;
		value[strcspn(value, " \t\r")] = '\0';
		/* Only a number goes back into the file. */
		errno = 0;
		strtod(value, &end);
		if (*value && !*end && errno == 0 && strlen(value) < size)
			snprintf(buf, size, "%s", value);
		break;
	}
	free(data);
	return 0;
}

/* The directory of `path`, owned by the caller. */
static char *metrics_dir(const char *path)
{
	char *copy = xstrdup(path);
	char *dir = xstrdup(dirname(copy));

	free(copy);
	return dir;
}

static int metrics_write_all(int fd, const char *data, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, data, len);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

/* The rename is only durable once the directory is on disk too. */
static void metrics_sync_dir(const char *path)
{
	char *dir = metrics_dir(path);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
	free(dir);
}

int metrics_write(const char *path, const struct run_summary *s, char *err,
		  size_t errlen)
{
	struct strbuf text = STRBUF_INIT;
	char last_success[512];
	char *tmp = NULL;
	int fd = -1, ret = -1;

	if (metrics_read_last_success(path, last_success, sizeof(last_success),
				      err, errlen) != 0)
		goto out;
	metrics_render(&text, s, last_success);

	tmp = xmalloc(strlen(path) + sizeof(".tmp.XXXXXX"));
	sprintf(tmp, "%s.tmp.XXXXXX", path);
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot write the metrics file '%s': "
			 "cannot create a temporary file next to it: %s", path,
			 strerror(errno));
		free(tmp);
		tmp = NULL;
		goto out;
	}
	if (fchmod(fd, 0644) != 0 ||
	    metrics_write_all(fd, strbuf_str(&text), text.len) != 0 ||
	    fsync(fd) != 0) {
		snprintf(err, errlen, "cannot write the metrics file '%s': "
			 "writing '%s' failed: %s", path, tmp, strerror(errno));
		goto out;
	}
	if (close(fd) != 0) {
		fd = -1;
		snprintf(err, errlen, "cannot write the metrics file '%s': "
			 "writing '%s' failed: %s", path, tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) != 0) {
		snprintf(err, errlen, "cannot write the metrics file '%s': "
			 "cannot rename '%s' over it: %s", path, tmp,
			 strerror(errno));
		goto out;
	}
	free(tmp);
	tmp = NULL;
	metrics_sync_dir(path);
	ret = 0;
out:
	if (fd >= 0)
		close(fd);
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	strbuf_release(&text);
	return ret;
}

int metrics_check(const char *path, char *err, size_t errlen)
{
	char *dir = metrics_dir(path);
	struct stat st;
	char why[512];
	int fd, ret = -1;

	if (stat(dir, &st) != 0) {
		snprintf(err, errlen, "metrics_file '%s': cannot use the "
			 "directory '%s': %s", path, dir, strerror(errno));
		goto out;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "metrics_file '%s': '%s' is not a "
			 "directory", path, dir);
		goto out;
	}
	if (access(dir, W_OK | X_OK) != 0) {
		snprintf(err, errlen, "metrics_file '%s': cannot create files "
			 "in '%s': %s", path, dir, strerror(errno));
		goto out;
	}
	/* What metrics_write() would refuse to read back and replace. */
	fd = safe_file_open(path, SAFE_FILE_NOFOLLOW, NULL, why, sizeof(why));
	if (fd == SAFE_FILE_FAILED) {
		snprintf(err, errlen, "metrics_file '%s': %s; remove it, or set "
			 "metrics_file to a file of its own", path, why);
		goto out;
	}
	if (fd >= 0)
		close(fd);
	ret = 0;
out:
	free(dir);
	return ret;
}
