/*
 * safe_file.c: bounded reads of regular files (see safe_file.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "safe_file.h"
#include "xalloc.h"

/* What a file that is not a regular one is, for the message. */
static const char *safe_file_kind(mode_t mode)
{
	if (S_ISDIR(mode))
		return "a directory";
	if (S_ISFIFO(mode))
		return "a FIFO";
	if (S_ISCHR(mode))
		return "a character device";
	if (S_ISBLK(mode))
		return "a block device";
	if (S_ISSOCK(mode))
		return "a socket";
	return "of an unknown kind";
}

int safe_file_open(const char *path, int flags, struct stat *st, char *err,
		   size_t errlen)
{
	int oflags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
	struct stat sb;
	int fd, saved;

	if (flags & SAFE_FILE_NOFOLLOW)
		oflags |= O_NOFOLLOW;
	fd = open(path, oflags);
	if (fd < 0) {
		saved = errno;
		if (saved == ELOOP && (flags & SAFE_FILE_NOFOLLOW))
			snprintf(err, errlen, "'%s' is a symbolic link, which "
				 "is not followed here", path);
		else
			snprintf(err, errlen, "cannot open '%s': %s", path,
				 strerror(saved));
		return saved == ENOENT ? SAFE_FILE_MISSING : SAFE_FILE_FAILED;
	}
	if (fstat(fd, &sb) != 0) {
		snprintf(err, errlen, "cannot stat '%s': %s", path,
			 strerror(errno));
		goto fail;
	}
	if (!S_ISREG(sb.st_mode)) {
		snprintf(err, errlen, "'%s' is %s, not a regular file", path,
			 safe_file_kind(sb.st_mode));
		goto fail;
	}
	/* A regular file never blocks, but the reads should not see EAGAIN. */
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) != 0) {
		snprintf(err, errlen, "cannot read '%s': %s", path,
			 strerror(errno));
		goto fail;
	}
	if (st)
		*st = sb;
	return fd;
fail:
	close(fd);
	return SAFE_FILE_FAILED;
}

int safe_file_read(const char *path, int flags, size_t max, char **data,
		   size_t *len, struct stat *st, char *err, size_t errlen)
{
	struct stat sb;
	char *buf = NULL;
	size_t have = 0, alloc;
	ssize_t got;
	int fd, ret = SAFE_FILE_FAILED;

	*data = NULL;
	*len = 0;
	fd = safe_file_open(path, flags, &sb, err, errlen);
	if (fd < 0)
		return fd;
	/*
	 * st_size is a hint, not a promise: the file may grow while it is
	 * read, so the cap is enforced on the bytes read, one past `max`.
	 */
	alloc = (size_t)sb.st_size < max ? (size_t)sb.st_size + 1 : max + 1;
	buf = xmalloc(alloc + 1);
	for (;;) {
		if (have == alloc) {
			if (alloc > max)
				break;
			alloc = alloc * 2 > max + 1 ? max + 1 : alloc * 2;
			buf = xrealloc(buf, alloc + 1);
		}
		got = read(fd, buf + have, alloc - have);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			snprintf(err, errlen, "cannot read '%s': %s", path,
				 strerror(errno));
			goto out;
		}
		if (got == 0)
			break;
		have += (size_t)got;
	}
	if (have > max) {
		snprintf(err, errlen, "'%s' is larger than %zu bytes", path,
			 max);
		goto out;
	}
	buf[have] = '\0';
	*data = buf;
	*len = have;
	buf = NULL;
	if (st)
		*st = sb;
	ret = 0;
out:
	free(buf);
	close(fd);
	return ret;
}
