/*
 * test_secrets.c: the checks that keep passwords in the process.  A dsn
 * libpq cannot read is refused with a message that holds no piece of it;
 * a readable one, encoded passwords included, passes; the dsn's password
 * is found; credential file names resolve as mfa-sweeper.ini(5) "[database]" says; and a
 * credential file is read as one line, its mode checked.  The ACL cases
 * need setfacl and another user: tests/integration/test_secrets.sh.
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

#include "credential.h"
#include "db.h"

/* The sentinel; no message may hold any 5 characters of it. */
#define PW "Hunter2SentinelPw"

static void assert_no_piece(const char *text)
{
	char piece[6];
	size_t i;

	for (i = 0; i + 5 <= strlen(PW); i++) {
		memcpy(piece, PW + i, 5);
		piece[5] = '\0';
		if (strstr(text, piece))
			fail_msg("'%s' holds '%s' of the password", text, piece);
	}
}

static void test_dsn_refused_without_a_trace(void **state)
{
	static const char *const bad[] = {
		"postgresql://u:" PW "@[::1/db",
		"postgresql://u:" PW "@[]/db",
		"host=h password=" PW " extra",
		"host=h password='" PW,
		"host=h " PW "=x",
		PW "=x",
		"postgresql://u:" PW "@host/db?sslmode",
		"postgresql://u:" PW "@host/db?a=b=c",
		"postgresql://u:" PW "@host/db?" PW "=1",
		"postgresql://u:" PW "%zz@host/db",
		"postgresql://u:" PW "%00@host/db",
		"postgresql://u:p@" PW "@host/db",
		"postgresql://u:p/" PW "@host/db",
	};
	char why[1024];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		if (db_dsn_check(bad[i], why, sizeof(why)) != -1)
			fail_msg("dsn %zu was taken: %s", i, bad[i]);
		assert_true(why[0] != '\0');
		assert_no_piece(why);
		assert_non_null(strstr(why, "password_file"));
	}
}

static void test_dsn_taken(void **state)
{
	static const char *const good[] = {
		"", "app", "dbname=app", "host=/tmp dbname=app password=" PW,
		"host=h password='a b " PW "'", "postgresql://",
		"postgresql:///app?host=/tmp",
		"postgresql://u:p%40" PW "%2Fx@host:5432/db?sslmode=require",
		"postgres://u@[::1]:5432/db",
	};
	char why[1024];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		if (db_dsn_check(good[i], why, sizeof(why)) != 0)
			fail_msg("dsn '%s' refused: %s", good[i], why);
	}
}

static void test_dsn_password_found(void **state)
{
	(void)state;
	assert_int_equal(db_dsn_has_password("host=h password=" PW), 1);
	assert_int_equal(db_dsn_has_password("postgresql://u:" PW "@h/db"), 1);
	assert_int_equal(db_dsn_has_password("host=h password=''"), 0);
	assert_int_equal(db_dsn_has_password("host=h"), 0);
	assert_int_equal(db_dsn_has_password("postgresql://u@h/db"), 0);
	assert_int_equal(db_dsn_has_password(PW), 0);
	assert_int_equal(db_dsn_has_password(""), 0);
}

static void test_credential_path(void **state)
{
	char *p;

	(void)state;
	unsetenv("CREDENTIALS_DIRECTORY");
	p = credential_path("/etc/mfa-sweeper/sweeper.ini", "db-password");
	assert_string_equal(p, "/etc/mfa-sweeper/db-password");
	free(p);
	p = credential_path("sweeper.ini", "db-password");
	assert_string_equal(p, "./db-password");
	free(p);
	p = credential_path("/etc/x.ini", "/run/keys/pw");
	assert_string_equal(p, "/run/keys/pw");
	free(p);
	setenv("CREDENTIALS_DIRECTORY", "/run/credentials/mfa-sweeper.service", 1);
	p = credential_path("/etc/mfa-sweeper/sweeper.ini", "db-password");
	assert_string_equal(p, "/run/credentials/mfa-sweeper.service/db-password");
	free(p);
	setenv("CREDENTIALS_DIRECTORY", "", 1);
	p = credential_path("/etc/mfa-sweeper/sweeper.ini", "db-password");
	assert_string_equal(p, "/etc/mfa-sweeper/db-password");
	free(p);
	unsetenv("CREDENTIALS_DIRECTORY");
}

/* Write `len` bytes of `text` to a new file of mode `mode`; its path in
 * `path`. */
static void write_file(char *path, size_t size, const char *dir,
		       const char *name, const char *text, size_t len,
		       mode_t mode)
{
	FILE *fp;

	snprintf(path, size, "%s/%s", dir, name);
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fwrite(text, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static void test_credential_read(void **state)
{
	static const char *const names[] = {
		"ok", "blanks", "group", "two", "nul", "empty", "big", "fifo"
	};
	char dir[] = "/tmp/sweeper-secrets.XXXXXX";
	char path[256], err[1024];
	size_t i;
	char *data;
	size_t len;
	char big[CREDENTIAL_MAX + 2];

	(void)state;
	unsetenv("CREDENTIALS_DIRECTORY");
	assert_non_null(mkdtemp(dir));

	write_file(path, sizeof(path), dir, "ok", PW "\r\n", strlen(PW) + 2, 0600);
	assert_int_equal(credential_read(path, "password file", "the password",
					 &data, &len, err, sizeof(err)), 0);
	assert_string_equal(data, PW);
	assert_int_equal(len, strlen(PW));
	credential_free(data, len);

	/* Blanks are part of a password; only the line break is not. */
	write_file(path, sizeof(path), dir, "blanks", " a b \n", 6, 0400);
	assert_int_equal(credential_read(path, "password file", "the password",
					 &data, &len, err, sizeof(err)), 0);
	assert_string_equal(data, " a b ");
	credential_free(data, len);

	write_file(path, sizeof(path), dir, "group", PW "\n", strlen(PW) + 1, 0640);
	assert_int_equal(credential_read(path, "password file", "the password",
					 &data, &len, err, sizeof(err)), -1);
	assert_null(data);
	assert_non_null(strstr(err, "is accessible by group or others (mode 0640); chmod 600"));
	assert_no_piece(err);

	write_file(path, sizeof(path), dir, "two", PW "\nsecond\n", strlen(PW) + 8, 0600);
	assert_int_equal(credential_read(path, "password file", "the password",
					 &data, &len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "has more than one line"));
	assert_no_piece(err);

	write_file(path, sizeof(path), dir, "nul", "ab\0cd\n", 6, 0600);
	assert_int_equal(credential_read(path, "password file", "the password",
					 &data, &len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "holds a NUL byte"));

	write_file(path, sizeof(path), dir, "empty", "\n", 1, 0600);
	assert_int_equal(credential_read(path, "password file", "the password",
					 &data, &len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "is empty"));

	memset(big, 'x', sizeof(big));
	write_file(path, sizeof(path), dir, "big", big, sizeof(big), 0600);
	assert_int_equal(credential_read(path, "password file", "the password",
					 &data, &len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "is larger than 4096 bytes"));

	snprintf(path, sizeof(path), "%s/none", dir);
	assert_int_equal(credential_read(path, "password file", "the password",
					 &data, &len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "cannot open the password file"));
	assert_non_null(strstr(err, "No such file or directory"));

	snprintf(path, sizeof(path), "%s/fifo", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(credential_read(path, "password file", "the password",
					 &data, &len, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "is a FIFO, not a regular file"));

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		(void)unlink(path);
	}
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dsn_refused_without_a_trace),
		cmocka_unit_test(test_dsn_taken),
		cmocka_unit_test(test_dsn_password_found),
		cmocka_unit_test(test_credential_path),
		cmocka_unit_test(test_credential_read),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
