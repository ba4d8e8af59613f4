/*
 * metrics.h: the run's metrics as a Prometheus textfile-collector file
 * (node_exporter --collector.textfile.directory), written after each run.
 */
#ifndef SWEEPER_METRICS_H
#define SWEEPER_METRICS_H

#include <stddef.h>

#include "strbuf.h"
#include "summary.h"

/*
 * Append the exposition text of the finished run `s` to `out`:
 *   mfa_sweeper_last_run_timestamp_seconds       end of this run
 *   mfa_sweeper_last_success_timestamp_seconds   end of this run if it is
 *       ok, else `last_success` (text of a number; NULL or "" for none,
 *       written as 0: "never")
 *   mfa_sweeper_run_duration_seconds
 *   mfa_sweeper_rows_deleted{rule,table}         rows per step of this
 *       run (summed over steps of one rule on one table)
 *   mfa_sweeper_rows_left_behind{rule,table}     rows the database refused
 *       to delete, which this run left in place (summed the same way);
 *       only for the rules and tables that left any
 *   mfa_sweeper_run_status{status}               1 for this run's status,
 *       0 for the four others
 * each with its # HELP and # TYPE lines.
 */
void metrics_render(struct strbuf *out, const struct run_summary *s,
		    const char *last_success);

/* The most read back from an earlier metrics file; it holds a few KiB. */
#define METRICS_READ_MAX (1024 * 1024)

/*
 * Write the metrics of `s` to `path` atomically: a temporary file in the
 * same directory, fsync, mode 0644, rename over `path`, fsync of the
 * directory.  When the run did not succeed, the last success time is
 * carried over from the file already at `path`, if any; that file is read
 * as safe_file.h reads, without following a symbolic link, so a FIFO, a
 * device, a link or a file over METRICS_READ_MAX bytes there is an error,
 * and is left as it is rather than replaced.  Returns 0, or -1 with one
 * line in err naming the path and the reason; no temporary file is left
 * behind.
 */
int metrics_write(const char *path, const struct run_summary *s, char *err,
		  size_t errlen);

/*
 * Check that the directory of `path` exists, that this process may create
 * files in it, and that whatever is at `path` is a regular file
 * metrics_write() can read back and replace (--check-config).  Returns 0,
 * or -1 with one line in err.
 */
int metrics_check(const char *path, char *err, size_t errlen);

#endif /* SWEEPER_METRICS_H */
