/*
 * util.c: the helpers every fuzz target shares (see fuzz.h): the
 * scratch file for parsers that read a file by name, the failed-check
 * report, a UTF-8 oracle independent of the code under test, and a reader
 * that builds values from the fuzz bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "fuzz.h"

static char fuzz_path[256];
static int fuzz_fd = -1;

void fuzz_fail(const char *file, int line, const char *cond, const char *msg)
{
	fprintf(stderr, "%s:%d: fuzz check failed: %s (%s)\n", file, line, msg,
		cond);
	abort();
}

static void fuzz_file_remove(void)
{
	if (fuzz_fd >= 0) {
		close(fuzz_fd);
		unlink(fuzz_path);
		fuzz_fd = -1;
	}
}

/* The scratch file, created on first use in the first directory that
 * takes it: tmpfs when there is one, so a run does not wear a disk. */
static void fuzz_file_open(void)
{
	const char *dirs[] = { getenv("TMPDIR"), "/dev/shm", "/tmp" };
	size_t i;

	for (i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		if (!dirs[i] || !*dirs[i])
			continue;
		snprintf(fuzz_path, sizeof(fuzz_path),
			 "%s/mfa-sweeper-fuzz.XXXXXX", dirs[i]);
		fuzz_fd = mkostemp(fuzz_path, O_CLOEXEC);
		if (fuzz_fd >= 0) {
			atexit(fuzz_file_remove);
			return;
		}
	}
	fprintf(stderr, "fuzz: cannot create a scratch file: %s\n",
		strerror(errno));
	abort();
}

const char *fuzz_file(const uint8_t *data, size_t size)
{
	size_t done = 0;

	if (fuzz_fd < 0)
		fuzz_file_open();
	if (ftruncate(fuzz_fd, 0) != 0)
		abort();
	while (done < size) {
		ssize_t n = pwrite(fuzz_fd, data + done, size - done,
				   (off_t)done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			abort();
		done += (size_t)n;
	}
	return fuzz_path;
}

char *fuzz_strndup(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	if (size)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

int fuzz_utf8_valid(const char *text, size_t len)
{
	json_t *j;

	/* jansson refuses a string that is not UTF-8, NUL bytes apart. */
	if (memchr(text, '\0', len))
		return 0;
	j = json_stringn(text, len);
	if (!j)
		return 0;
	json_decref(j);
	return 1;
}

int fuzz_has_control(const char *text)
{
	const unsigned char *p;

	for (p = (const unsigned char *)text; *p; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return 1;
	}
	return 0;
}

unsigned fuzz_u8(struct fuzz_bytes *fb)
{
	if (fb->left == 0)
		return 0;
	fb->left--;
	return *fb->p++;
}

uint64_t fuzz_u64(struct fuzz_bytes *fb)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = (v << 8) | fuzz_u8(fb);
	return v;
}

long long fuzz_count(struct fuzz_bytes *fb)
{
	unsigned sel = fuzz_u8(fb);

	switch (sel) {
	case 0xf0:
		return 0;
	case 0xf1:
		return -1;
	case 0xf2:
		return LLONG_MIN;
	case 0xf3:
		return LLONG_MAX;
	case 0xf4:
		return (long long)fuzz_u64(fb);
	default:
		/* A plausible count, up to a few million. */
		return (long long)(sel * 251 + fuzz_u8(fb)) * (sel % 7 + 1);
	}
}

char *fuzz_string(struct fuzz_bytes *fb)
{
	size_t len = fuzz_u8(fb);
	char *s;
	size_t i;

	/* 0xff announces a long string: up to 4 KiB. */
	if (len == 0xff)
		len = ((size_t)fuzz_u8(fb) << 4 | fuzz_u8(fb) >> 4) & 0xfff;
	if (len > fb->left)
		len = fb->left;
	s = malloc(len + 1);
	if (!s)
		abort();
	for (i = 0; i < len; i++) {
		unsigned c = fuzz_u8(fb);

		/* No NUL inside: C strings end there anyway. */
		s[i] = (char)(c ? c : '?');
	}
	s[len] = '\0';
	return s;
}
