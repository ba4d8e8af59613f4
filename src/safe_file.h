/*
 * safe_file.h: open and read the files an operator names (the config, a
 * secret file, the metrics file, a users file) without letting a FIFO, a
 * device or a huge file hang or exhaust the run.
 *
 * Every file is opened with O_NONBLOCK, so that opening a FIFO with no
 * writer returns at once, and must then be a regular file; O_NONBLOCK is
 * cleared again before reading.  What is read is capped by the caller's
 * limit.  Messages name the path and the problem, never the contents, and
 * leave the fix to the caller, who knows what the file is for.
 */
#ifndef SWEEPER_SAFE_FILE_H
#define SWEEPER_SAFE_FILE_H

#include <stddef.h>
#include <sys/stat.h>

/* Flags of safe_file_open() and safe_file_read(). */
enum safe_file_flags {
	/* Refuse a symbolic link as the last component (O_NOFOLLOW). */
	SAFE_FILE_NOFOLLOW = 1 << 0
};

/* Returns of safe_file_open() and safe_file_read() besides 0 / an fd. */
enum safe_file_error {
	SAFE_FILE_FAILED = -1,   /* err says why */
	SAFE_FILE_MISSING = -2   /* no such file (ENOENT); err says so too */
};

/*
 * Open `path` for reading as a regular file.  Returns the descriptor
 * (O_CLOEXEC, blocking again), which the caller closes, and fills *st when
 * `st` is not NULL; or SAFE_FILE_MISSING or SAFE_FILE_FAILED with one line
 * in err ("cannot open 'PATH': ...", "'PATH' is a FIFO, not a regular
 * file", ...).
 */
int safe_file_open(const char *path, int flags, struct stat *st, char *err,
		   size_t errlen);

/*
 * Read the whole of `path`, opened as safe_file_open() does, into a newly
 * allocated NUL-terminated buffer *data (the caller frees it) of *len
 * bytes; the contents may hold NUL bytes, which *len tells apart.  A file
 * of more than `max` bytes is refused ("'PATH' is larger than N bytes").
 * Returns 0, SAFE_FILE_MISSING or SAFE_FILE_FAILED with one line in err;
 * *data is NULL on failure.  `st` as for safe_file_open().
 */
int safe_file_read(const char *path, int flags, size_t max, char **data,
		   size_t *len, struct stat *st, char *err, size_t errlen);

#endif /* SWEEPER_SAFE_FILE_H */
