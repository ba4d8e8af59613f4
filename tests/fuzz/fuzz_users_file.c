/*
 * fuzz_users_file.c: the users-file parser (scope_read_file()) on
 * arbitrary file contents.
 *
 * What must hold: every user read is one non-empty word without blanks,
 * commas or line ends, filed as an email exactly when it holds '@'; blank
 * and '#' lines give none; a refused file gives one line that names it.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "scope.h"

static void check_user(const char *u)
{
	FUZZ_CHECK(u[0] != '\0' && u[0] != '#', "an empty or comment user");
	FUZZ_CHECK(strpbrk(u, " \t,\n") == NULL,
		   "a user with a blank, comma or line break");
	FUZZ_CHECK(u[strlen(u) - 1] != '\r', "a user ending in a CR");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct scope s;
	char err[1024];
	const char *path = fuzz_file(data, size);
	size_t i, lines = 0;

	memset(&s, 0, sizeof(s));
	err[0] = '\0';
	if (scope_read_file(&s, path, err, sizeof(err)) != 0) {
		FUZZ_CHECK(err[0] != '\0', "a refusal without a message");
		FUZZ_CHECK(strchr(err, '\n') == NULL,
			   "a message of more than one line");
		FUZZ_CHECK(strstr(err, path) != NULL,
			   "a message that does not name the file");
		scope_free(&s);
		return 0;
	}
	for (i = 0; i < size; i++)
		lines += data[i] == '\n';
	FUZZ_CHECK(s.nids + s.nemails <= lines + 1, "more users than lines");
	for (i = 0; i < s.nids; i++) {
		check_user(s.ids[i]);
		FUZZ_CHECK(strchr(s.ids[i], '@') == NULL, "an email read as an id");
	}
	for (i = 0; i < s.nemails; i++) {
		check_user(s.emails[i]);
		FUZZ_CHECK(strchr(s.emails[i], '@') != NULL,
			   "an id read as an email");
	}
	scope_free(&s);
	return 0;
}
