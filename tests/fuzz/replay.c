/*
 * replay.c: the main() that turns a fuzz target into a regression test.
 *
 *   replay_TARGET FILE|DIR...
 *
 * Feeds every file given, and every file of every directory given (in
 * name order), to the target's LLVMFuzzerTestOneInput() once, as libFuzzer
 * would, and prints how many it replayed.  Linked by `make test-progs`
 * with the compiler and sanitizers of the build, so `make check` replays
 * the committed corpora without clang.  A broken check or a sanitizer
 * report aborts with the file's name printed just before.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

/* Read the whole file into a new buffer; exits on failure. */
static uint8_t *replay_read(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	uint8_t *data = NULL;
	size_t len = 0, cap = 0, n;

	if (!f) {
		fprintf(stderr, "replay: cannot open '%s': %s\n", path,
			strerror(errno));
		exit(2);
	}
	do {
		if (len == cap) {
			cap = cap ? cap * 2 : 4096;
			data = realloc(data, cap);
			if (!data)
				abort();
		}
		n = fread(data + len, 1, cap - len, f);
		len += n;
	} while (n > 0);
	if (ferror(f)) {
		fprintf(stderr, "replay: cannot read '%s'\n", path);
		exit(2);
	}
	fclose(f);
	*size = len;
	return data;
}

static void replay_file(const char *path)
{
	size_t size;
	uint8_t *data = replay_read(path, &size);
	/* A copy of exactly `size` bytes, so that ASan sees a read past the
	 * input as libFuzzer's would. */
	uint8_t *exact = malloc(size ? size : 1);

	if (!exact)
		abort();
	memcpy(exact, data, size);
	free(data);
	fprintf(stderr, "replay: %s\n", path);
	LLVMFuzzerTestOneInput(exact, size);
	free(exact);
}

static int replay_name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Replay every regular file in `dir`; returns how many. */
static size_t replay_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, i;

	if (!d) {
		fprintf(stderr, "replay: cannot open '%s': %s\n", dir,
			strerror(errno));
		exit(2);
	}
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		names = realloc(names, (n + 1) * sizeof(*names));
		if (!names)
			abort();
		if (asprintf(&names[n], "%s/%s", dir, de->d_name) < 0)
			abort();
		n++;
	}
	closedir(d);
	qsort(names, n, sizeof(*names), replay_name_cmp);
	for (i = 0; i < n; i++) {
		replay_file(names[i]);
		free(names[i]);
	}
	free(names);
	return n;
}

int main(int argc, char **argv)
{
	size_t count = 0;
	struct stat st;
	int i;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 64;
	}
	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st) == 0 && S_ISDIR(st.st_mode)) {
			count += replay_dir(argv[i]);
		} else {
			replay_file(argv[i]);
			count++;
		}
	}
	if (count == 0) {
		fprintf(stderr, "replay: no input to replay\n");
		return 1;
	}
	printf("replayed %zu input%s\n", count, count == 1 ? "" : "s");
	return 0;
}
