/*
 * test_safe_file.c: the bounded reads of operator-named files refuse what
 * would hang or exhaust a run (a FIFO with no writer, a device, a file
 * over the cap), and read regular files whole.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "safe_file.h"

struct dir {
	char path[64];
};

static int dir_setup(void **state)
{
	struct dir *d = calloc(1, sizeof(*d));

	if (!d)
		return -1;
	snprintf(d->path, sizeof(d->path), "/tmp/sweeper-safe-file.XXXXXX");
	if (!mkdtemp(d->path)) {
		free(d);
		return -1;
	}
	*state = d;
	return 0;
}

static int dir_teardown(void **state)
{
	struct dir *d = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", d->path);
	if (system(cmd) != 0)
		return -1;
	free(d);
	return 0;
}

static void put(const struct dir *d, const char *name, const char *text,
		char *path, size_t size)
{
	FILE *f;

	snprintf(path, size, "%s/%s", d->path, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static void test_reads_regular_file(void **state)
{
	char path[128], err[256];
	char *data;
	size_t len;

	put(*state, "f", "ab\n", path, sizeof(path));
	assert_int_equal(safe_file_read(path, 0, 100, &data, &len, NULL, err,
					sizeof(err)), 0);
	assert_int_equal(len, 3);
	assert_string_equal(data, "ab\n");
	free(data);
}

static void test_cap_is_enforced_on_bytes_read(void **state)
{
	char path[128], err[256];
	char *data;
	size_t len;

	put(*state, "big", "0123456789", path, sizeof(path));
	assert_int_equal(safe_file_read(path, 0, 10, &data, &len, NULL, err,
					sizeof(err)), 0);
	assert_int_equal(len, 10);
	free(data);
	assert_int_equal(safe_file_read(path, 0, 9, &data, &len, NULL, err,
					sizeof(err)), SAFE_FILE_FAILED);
	assert_null(data);
	assert_non_null(strstr(err, "larger than 9 bytes"));
}

static void test_fifo_refused_without_hanging(void **state)
{
	const struct dir *d = *state;
	char path[128], err[256];
	char *data;
	size_t len;

	snprintf(path, sizeof(path), "%s/fifo", d->path);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(safe_file_read(path, 0, 100, &data, &len, NULL, err,
					sizeof(err)), SAFE_FILE_FAILED);
	assert_non_null(strstr(err, "is a FIFO, not a regular file"));
}

static void test_device_and_directory_refused(void **state)
{
	const struct dir *d = *state;
	char err[256];
	char *data;
	size_t len;

	assert_int_equal(safe_file_read("/dev/zero", 0, 100, &data, &len, NULL,
					err, sizeof(err)), SAFE_FILE_FAILED);
	assert_non_null(strstr(err, "character device"));
	assert_int_equal(safe_file_read(d->path, 0, 100, &data, &len, NULL,
					err, sizeof(err)), SAFE_FILE_FAILED);
	assert_non_null(strstr(err, "is a directory"));
}

static void test_symlink_refused_with_nofollow(void **state)
{
	const struct dir *d = *state;
	char path[128], link[128], err[256];
	char *data;
	size_t len;

	put(*state, "target", "x", path, sizeof(path));
	snprintf(link, sizeof(link), "%s/link", d->path);
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(safe_file_read(link, 0, 100, &data, &len, NULL, err,
					sizeof(err)), 0);
	free(data);
	assert_int_equal(safe_file_read(link, SAFE_FILE_NOFOLLOW, 100, &data,
					&len, NULL, err, sizeof(err)),
			 SAFE_FILE_FAILED);
	assert_non_null(strstr(err, "symbolic link"));
}

static void test_missing_file_told_apart(void **state)
{
	const struct dir *d = *state;
	char path[128], err[256];
	char *data;
	size_t len;

	snprintf(path, sizeof(path), "%s/none", d->path);
	assert_int_equal(safe_file_read(path, 0, 100, &data, &len, NULL, err,
					sizeof(err)), SAFE_FILE_MISSING);
	assert_non_null(strstr(err, "cannot open"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reads_regular_file,
						dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_cap_is_enforced_on_bytes_read,
						dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_fifo_refused_without_hanging,
						dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_device_and_directory_refused,
						dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_symlink_refused_with_nofollow,
						dir_setup, dir_teardown),
		cmocka_unit_test_setup_teardown(test_missing_file_told_apart,
						dir_setup, dir_teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
