/*
 * test_config.c: loading the INI file: defaults, every core key, and the
 * messages for the mistakes a tired operator makes.
 */
#include <errno.h>
#include <limits.h>
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

#include "config.h"

#define ERRLEN 1024

/* Write `len` bytes of `text` to a new temporary file; the caller
 * unlinks `path`. */
static void temp_write(char *path, size_t pathlen, const char *dir,
		       const char *text, size_t len)
{
	int fd;

	snprintf(path, pathlen, "%s/mfa-sweeper-test-XXXXXX", dir);
	fd = mkstemp(path);
	if (fd < 0)
		fail_msg("mkstemp: %s", strerror(errno));
	if (len && write(fd, text, len) != (ssize_t)len)
		fail_msg("write: %s", strerror(errno));
	close(fd);
}

/* Load `text` as a config file into cfg; the file is gone afterwards. */
static int load_bytes(struct config *cfg, const char *text, size_t len,
		      char *path, size_t pathlen, char *err)
{
	int rc;

	temp_write(path, pathlen, "/tmp", text, len);
	rc = config_load(cfg, path, err, ERRLEN);
	unlink(path);
	return rc;
}

static int load_text(struct config *cfg, const char *text, char *path,
		     size_t pathlen, char *err)
{
	return load_bytes(cfg, text, strlen(text), path, pathlen, err);
}

static void assert_contains(const char *text, const char *want)
{
	if (!strstr(text, want))
		fail_msg("\"%s\" does not contain \"%s\"", text, want);
}

static void assert_lacks(const char *text, const char *unwanted)
{
	if (strstr(text, unwanted))
		fail_msg("\"%s\" contains \"%s\"", text, unwanted);
}

/* Every message is one line that starts where the file is named. */
static void assert_one_line(const char *err)
{
	assert_true(err[0] != '\0');
	assert_null(strchr(err, '\n'));
	assert_null(strchr(err, '\r'));
}

/*
 * Load `text` and expect an error naming the file, `line` (0 for none),
 * the section and key when given, and `fragment`.  Returns nothing: the
 * message is left in err for further checks.
 */
static void expect_error_in(const char *text, int line, const char *section,
			    const char *key, const char *fragment, char *err)
{
	struct config cfg;
	char path[64];
	char want[256];

	memset(&cfg, 0x5a, sizeof(cfg));
	if (load_text(&cfg, text, path, sizeof(path), err) == 0)
		fail_msg("loaded without error:\n%s", text);
	assert_one_line(err);
	if (line > 0)
		snprintf(want, sizeof(want), "%s:%d: ", path, line);
	else
		snprintf(want, sizeof(want), "%s: ", path);
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("\"%s\" does not start with \"%s\"", err, want);
	if (section) {
		snprintf(want, sizeof(want), "[%s] ", section);
		assert_contains(err, want);
	}
	if (key) {
		snprintf(want, sizeof(want), "%s: ", key);
		assert_contains(err, want);
	}
	assert_contains(err, fragment);

	/* A failed load leaves nothing to free, and freeing is safe. */
	assert_null(cfg.entries);
	assert_null(cfg.path);
	config_free(&cfg);
}

static void expect_error(const char *text, int line, const char *section,
			 const char *key, const char *fragment)
{
	char err[ERRLEN];

	expect_error_in(text, line, section, key, fragment, err);
}

static void load_ok(struct config *cfg, const char *text)
{
	char path[64];
	char err[ERRLEN] = "";

	if (load_text(cfg, text, path, sizeof(path), err) != 0)
		fail_msg("load failed: %s\nfor:\n%s", err, text);
	assert_string_equal(err, "");
}

static void test_empty_file_defaults(void **state)
{
	static const char *const schema[][2] = {
		{ "users_table", "accounts_user" },
		{ "user_id_column", "id" },
		{ "user_email_column", "email" },
		{ "mfa_enrolled_column", "mfa_enrolled" },
		{ "mfa_disabled_at_column", "mfa_disabled_at" },
		{ "devices_table", "otp_totp_totpdevice" },
		{ "device_id_column", "id" },
		{ "device_user_column", "user_id" },
		{ "device_confirmed_column", "confirmed" },
		{ "device_created_at_column", "created_at" },
		{ "codes_table", "accounts_backupcode" },
		{ "code_id_column", "id" },
		{ "code_user_column", "user_id" },
		{ "code_used_column", "used" },
		{ "code_used_at_column", "used_at" },
		{ "code_created_at_column", "created_at" },
	};
	struct config cfg;
	size_t i;

	(void)state;
	/* One setting, of the default value: the rest are all defaults. */
	load_ok(&cfg, "[database]\ndsn =\n");
	assert_int_equal(cfg.nentries, 1);
	assert_string_equal(cfg.dsn, "");
	assert_int_equal(cfg.lock_timeout_ms, 2000);
	assert_int_equal(cfg.statement_timeout_ms, 60000);
	assert_string_equal(cfg.plugin_dir, SWEEPER_PLUGIN_DIR);
	assert_int_equal(cfg.nrules, 3);
	assert_string_equal(cfg.rules[0], "user_disabled");
	assert_string_equal(cfg.rules[1], "stale_devices");
	assert_string_equal(cfg.rules[2], "used_backup_codes");
	assert_int_equal(cfg.batch_size, 0);
	assert_int_equal(cfg.max_runtime_ms, 0);
	assert_int_equal(cfg.pause_ms, 0);
	assert_string_equal(cfg.metrics_file, "");
	assert_int_equal(cfg.retries, 3);
	assert_int_equal(cfg.retry_backoff_ms, 100);
	assert_int_equal(cfg.stop_timeout_ms, 10000);
	assert_int_equal(cfg.batch_target_ms, 200);
	assert_int_equal(cfg.batch_min, 100);
	assert_int_equal(cfg.batch_max, 50000);
	assert_true(cfg.pause_ratio == 0);
	assert_int_equal(cfg.max_replica_lag_ms, 0);
	assert_int_equal(cfg.max_throttle_ms, 600000);
	assert_int_equal(cfg.max_rows, 0);
	assert_int_equal(cfg.workers, 1);
	assert_int_equal(cfg.max_rate, 0);
	assert_string_equal(cfg.webhook_url, "");
	assert_string_equal(cfg.webhook_format, "json");
	assert_string_equal(cfg.webhook_secret, "");
	assert_string_equal(cfg.webhook_secret_file, "");
	assert_int_equal(cfg.webhook_timeout_ms, 10000);
	assert_int_equal(cfg.webhook_retries, 3);
	assert_int_equal(cfg.webhook_max_time_ms, 60000);
	assert_int_equal(cfg.webhook_backoff_ms, 1000);
	assert_int_equal(cfg.webhook_required, 0);
	assert_int_equal(cfg.ledger_enabled, 0);
	assert_string_equal(cfg.ledger_schema, "mfa_sweeper");
	for (i = 0; i < sizeof(schema) / sizeof(schema[0]); i++)
		assert_string_equal(config_schema(&cfg, schema[i][0]),
				    schema[i][1]);
	assert_null(config_schema(&cfg, "no_such_key"));
	assert_null(config_schema(&cfg, "dsn"));
	assert_null(config_written(&cfg, "sweeper", "batch_size"));
	assert_null(config_entry_find(&cfg, "sweeper", "batch_size"));
	config_free(&cfg);
}

/*
 * A file without a single setting would run every rule on the defaults,
 * against whatever database libpq finds: refused, saying what to write.
 */
static void test_empty_config(void **state)
{
	char err[ERRLEN];

	(void)state;
	expect_error_in("", 0, NULL, NULL, "the file holds no settings", err);
	assert_contains(err, "write at least [database] dsn = ... and [sweeper] rules = ...");
	/* Blank lines and comments only are an empty file too. */
	expect_error("\n; comment\n# comment\n   \n\t\n", 0, NULL, NULL,
		     "the file holds no settings");
	expect_error("\xef\xbb\xbf\r\n", 0, NULL, NULL,
		     "the file holds no settings");
	/* So are headers without a key under them. */
	expect_error("[database]\n[sweeper]\n; rules = used_backup_codes\n", 0,
		     NULL, NULL, "the file holds no settings");
}

static void test_every_key_read_back(void **state)
{
	static const char text[] =
		"[database]\n"
		"dsn = host=db.internal dbname=app password=a;b\n"
		"lock_timeout = 500ms\n"
		"statement_timeout = 5m\n"
		"[sweeper]\n"
		"plugin_dir = /opt/sweeper/plugins\n"
		"rules = stale_devices,used_backup_codes\n"
		"batch_size = 1000000\n"
		"max_runtime = 1h\n"
		"pause = 250ms\n"
		"[schema]\n"
		"users_table = auth.users\n"
		"user_id_column = uid\n"
		"user_email_column = mail\n"
		"mfa_enrolled_column = twofa_on\n"
		"mfa_disabled_at_column = twofa_off_at\n"
		"devices_table = \"odd.schema\".devices\n"
		"device_id_column = dev_id\n"
		"device_user_column = owner\n"
		"device_confirmed_column = ok\n"
		"device_created_at_column =\n"
		"codes_table = codes\n"
		"code_id_column = code_id\n"
		"code_user_column = owner\n"
		"code_used_column =\n"
		"code_used_at_column = spent_at\n"
		"code_created_at_column =   \n"
		"[webhook]\n"
		"url = https://hooks.example.com/x?a=1\n"
		"format = slack\n"
		"secret = whsec_MfKQ9r8GKYqrTYHDtmm/+p9BhwpdU3VzeTTdbMLzb/g=\n"
		"secret_file =\n"
		"timeout = 3s\n"
		"retries = 0\n"
		"[rule.stale_devices]\n"
		"max_age = 12h\n";
	struct config cfg;
	const struct config_entry *e;

	(void)state;
	load_ok(&cfg, text);
	assert_int_equal(cfg.nentries, 31);
	assert_string_equal(cfg.dsn, "host=db.internal dbname=app password=a;b");
	assert_int_equal(cfg.lock_timeout_ms, 500);
	assert_int_equal(cfg.statement_timeout_ms, 300000);
	assert_string_equal(cfg.plugin_dir, "/opt/sweeper/plugins");
	assert_int_equal(cfg.nrules, 2);
	assert_string_equal(cfg.rules[0], "stale_devices");
	assert_string_equal(cfg.rules[1], "used_backup_codes");
	assert_int_equal(cfg.batch_size, 1000000);
	assert_int_equal(cfg.max_runtime_ms, 3600000);
	assert_int_equal(cfg.pause_ms, 250);
	assert_string_equal(config_schema(&cfg, "users_table"), "auth.users");
	assert_string_equal(config_schema(&cfg, "user_id_column"), "uid");
	assert_string_equal(config_schema(&cfg, "user_email_column"), "mail");
	assert_string_equal(config_schema(&cfg, "mfa_enrolled_column"),
			    "twofa_on");
	assert_string_equal(config_schema(&cfg, "mfa_disabled_at_column"),
			    "twofa_off_at");
	assert_string_equal(config_schema(&cfg, "devices_table"),
			    "\"odd.schema\".devices");
	assert_string_equal(config_schema(&cfg, "device_id_column"), "dev_id");
	assert_string_equal(config_schema(&cfg, "device_user_column"), "owner");
	assert_string_equal(config_schema(&cfg, "device_confirmed_column"),
			    "ok");
	assert_string_equal(config_schema(&cfg, "device_created_at_column"),
			    "");
	assert_string_equal(config_schema(&cfg, "codes_table"), "codes");
	assert_string_equal(config_schema(&cfg, "code_id_column"), "code_id");
	assert_string_equal(config_schema(&cfg, "code_user_column"), "owner");
	assert_string_equal(config_schema(&cfg, "code_used_column"), "");
	assert_string_equal(config_schema(&cfg, "code_used_at_column"),
			    "spent_at");
	assert_string_equal(config_schema(&cfg, "code_created_at_column"), "");
	assert_string_equal(cfg.webhook_url, "https://hooks.example.com/x?a=1");
	assert_string_equal(cfg.webhook_format, "slack");
	assert_string_equal(cfg.webhook_secret, "whsec_MfKQ9r8GKYqrTYHDtmm/+p9BhwpdU3VzeTTdbMLzb/g=");
	assert_string_equal(cfg.webhook_secret_file, "");
	assert_int_equal(cfg.webhook_timeout_ms, 3000);
	assert_int_equal(cfg.webhook_retries, 0);

	assert_string_equal(config_written(&cfg, "rule.stale_devices",
					   "max_age"), "12h");
	e = config_entry_find(&cfg, "rule.stale_devices", "max_age");
	assert_non_null(e);
	assert_int_equal(e->line, 36);
	e = config_entry_find(&cfg, "database", "dsn");
	assert_non_null(e);
	assert_int_equal(e->line, 2);
	assert_string_equal(e->section, "database");
	assert_string_equal(e->key, "dsn");
	config_free(&cfg);
	assert_null(cfg.entries);
	assert_null(cfg.plugin_dir);
}

/* Writing every core key with its own default must load: the defaults
 * and the checks agree. */
static void test_defaults_pass_checks(void **state)
{
	static const struct {
		const char *name;
		const struct sweeper_key *keys;
	} sections[] = {
		{ "database", config_database_keys },
		{ "sweeper", config_sweeper_keys },
		{ "schema", config_schema_keys },
		{ "webhook", config_webhook_keys },
		{ "ledger", config_ledger_keys },
	};
	char text[8192];
	size_t len = 0;
	size_t nkeys = 0;
	size_t i;
	const struct sweeper_key *k;
	struct config cfg;

	(void)state;
	for (i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
		len += (size_t)snprintf(text + len, sizeof(text) - len,
					"[%s]\n", sections[i].name);
		for (k = sections[i].keys; k->name; k++) {
			assert_non_null(k->default_value);
			assert_non_null(k->help);
			assert_true(k->help[0] != '\0');
			len += (size_t)snprintf(text + len, sizeof(text) - len,
						"%s = %s\n", k->name,
						k->default_value);
			nkeys++;
		}
	}
	assert_true(len < sizeof(text));
	assert_int_equal(nkeys, 7 + 19 + 16 + 9 + 2);
	load_ok(&cfg, text);
	assert_int_equal(cfg.nentries, nkeys);
	/* batch_size's default is empty: adaptive. */
	assert_int_equal(cfg.batch_size, 0);
	assert_string_equal(cfg.plugin_dir, SWEEPER_PLUGIN_DIR);
	config_free(&cfg);
}

static void test_bad_values(void **state)
{
	struct config cfg;
	char err[ERRLEN];

	(void)state;
	expect_error("[sweeper]\nbatch_size = lots\n", 2, "sweeper",
		     "batch_size",
		     "'lots' is not a whole number; write a number from 1 to 1000000, e.g. batch_size = 5000");
	expect_error("[sweeper]\nbatch_size = 0\n", 2, "sweeper", "batch_size",
		     "'0' is out of range; write a number from 1 to 1000000");
	expect_error("[sweeper]\nbatch_size = 1000001\n", 2, "sweeper",
		     "batch_size", "'1000001' is out of range");
	expect_error("[sweeper]\nbatch_size = 99999999999999999999999\n", 2,
		     "sweeper", "batch_size", "is out of range");
	expect_error("[sweeper]\nbatch_size = -5\n", 2, "sweeper",
		     "batch_size", "'-5' is not a whole number");
	expect_error("[sweeper]\nretries = 21\n", 2, "sweeper", "retries",
		     "'21' is out of range; write a number from 0 to 20, e.g. retries = 3");
	expect_error("[sweeper]\nstop_timeout = soon\n", 2, "sweeper",
		     "stop_timeout", "'soon' is not a duration");
	expect_error("[sweeper]\nretry_backoff = -1s\n", 2, "sweeper",
		     "retry_backoff", "is not a duration");
	expect_error("[webhook]\nretries = 21\n", 2, "webhook", "retries",
		     "'21' is out of range; write a number from 0 to 20, e.g. retries = 3");
	expect_error("\n\n[database]\nlock_timeout = 5x\n", 4, "database",
		     "lock_timeout",
		     "'5x' is not a duration; write a number and a unit: 500ms, 30s, 5m, 24h, 90d");
	expect_error("[database]\nstatement_timeout = 30d\n", 2, "database",
		     "statement_timeout",
		     "is longer than PostgreSQL allows; write at most 24d");
	expect_error("[database]\nlock_timeout = 99999999999999999999999d\n",
		     2, "database", "lock_timeout",
		     "is longer than PostgreSQL allows; write at most 24d");
	/* Durations too long to add to a clock: "too large", and the most. */
	expect_error("[sweeper]\nmax_runtime = 36501d\n", 2, "sweeper",
		     "max_runtime",
		     "'36501d' is too large; the longest duration is 36500d");
	expect_error("[sweeper]\npause = 9223372036854775807ms\n", 2, "sweeper",
		     "pause", "is too large; the longest duration is 36500d");
	expect_error("[sweeper]\nstop_timeout = 99999999999999999999s\n", 2,
		     "sweeper", "stop_timeout", "is too large");
	expect_error("[sweeper]\nbatch_target = 99999999999999999999s\n", 2,
		     "sweeper", "batch_target", "is too large");
	expect_error("[webhook]\ntimeout = 106751991168d\n", 2, "webhook",
		     "timeout", "is too large; the longest duration is 36500d");
	expect_error("[webhook]\nmax_time = 99999999999999999999h\n", 2,
		     "webhook", "max_time", "is too large");
	expect_error("[webhook]\nbackoff = 36501d\n", 2, "webhook", "backoff",
		     "is too large");
	load_ok(&cfg, "[sweeper]\nmax_runtime = 36500d\n[webhook]\n"
		"timeout = 36500d\nmax_time = 36500d\nbackoff = 36500d\n");
	assert_true(cfg.max_runtime_ms == 36500LL * 86400000LL);
	assert_true(cfg.webhook_max_time_ms == 36500LL * 86400000LL);
	config_free(&cfg);
	expect_error("[sweeper]\nmax_runtime = 5\n", 2, "sweeper",
		     "max_runtime", "'5' is not a duration");
	expect_error("[sweeper]\npause = 1.5s\n", 2, "sweeper", "pause",
		     "'1.5s' is not a duration");
	expect_error("[sweeper]\nmetrics_file = m.prom\n", 2, "sweeper",
		     "metrics_file", "'m.prom' is not an absolute path");
	expect_error("[sweeper]\nmetrics_file = /var/lib/x/\n", 2, "sweeper",
		     "metrics_file",
		     "'/var/lib/x/' names a directory; write the path of a file in it, e.g. '/var/lib/x/mfa_sweeper.prom'");
	/* The example repeats the path, escaped like the value itself. */
	expect_error("[sweeper]\nmetrics_file = /var/lib/\033[2J/\n", 2,
		     "sweeper", "metrics_file",
		     "e.g. '/var/lib/\\x1b[2J/mfa_sweeper.prom'");
	expect_error("[sweeper]\npause = 5 minutes\n", 2, "sweeper", "pause",
		     "'5 minutes' is not a duration");
	expect_error("[sweeper]\npause = -5m\n", 2, "sweeper", "pause",
		     "'-5m' is not a duration");
	expect_error("[sweeper]\npause = 5m  # between batches\n", 2,
		     "sweeper", "pause",
		     "'#' starts a comment only at the start of a line");
	expect_error("[sweeper]\nbatch_size = 5000  # default\n", 2,
		     "sweeper", "batch_size",
		     "'5000  # default' has a '#' comment after the value");
	expect_error("[schema]\ncodes_table = codes\t# ours\n", 2, "schema",
		     "codes_table", "has a '#' comment");
	expect_error("[ledger]\nenabled = maybe\n", 2, "ledger", "enabled",
		     "'maybe'");
	expect_error("[ledger]\nschema = a.b\n", 2, "ledger", "schema",
		     "'a.b' is not a schema name");
	expect_error("[ledger]\nschema =\n", 2, "ledger", "schema",
		     "the value is empty");
	expect_error("[webhook]\nformat = xml\n", 2, "webhook", "format",
		     "'xml' is not one of json, slack");
	expect_error("[webhook]\ntimeout = 0\n", 2, "webhook", "timeout",
		     "a timeout of 0 would let a dead webhook hang the run");
	expect_error("[webhook]\nmax_time = 0\n", 2, "webhook", "max_time",
		     "a timeout of 0 would let a dead webhook hang the run; write a duration such as max_time = 60s");
	expect_error("[webhook]\nrequired = maybe\n", 2, "webhook", "required",
		     "'maybe'");
	expect_error("[webhook]\nbackoff = fast\n", 2, "webhook", "backoff",
		     "'fast' is not a duration");
	expect_error("[webhook]\nurl = ftp://example.com/x\n", 2, "webhook",
		     "url", "is not an http:// or https:// address");
	expect_error("[webhook]\nurl = https://\n", 2, "webhook", "url",
		     "is not an http:// or https:// address");
	expect_error("[webhook]\nurl = https://x.example/a b\n", 2, "webhook",
		     "url", "percent-encode it");
	expect_error("[sweeper]\nplugin_dir =\n", 2, "sweeper", "plugin_dir",
		     "the value is empty; write a directory");
	expect_error("[sweeper]\nplugin_dir = ~/plugins\n", 2, "sweeper",
		     "plugin_dir", "starts with '~', which is not expanded here");
	expect_error("[webhook]\nsecret_file = ~/.secret\n", 2, "webhook",
		     "secret_file", "which is not expanded here");

	/* A password in the DSN may hold " #". */
	load_ok(&cfg, "[database]\ndsn = password='a #b' host=x\n");
	assert_string_equal(cfg.dsn, "password='a #b' host=x");
	config_free(&cfg);

	/* Values that may hold a credential are never repeated. */
	expect_error_in("[webhook]\nurl = hooks.slack.com/services/T0/B0/SECRETX\n",
			2, "webhook", "url", "https://", err);
	assert_lacks(err, "SECRETX");
	/* Found by fuzzing (tests/fuzz/corpus/values/core_url_hash): a
	 * '#' after a blank was reported with the whole URL. */
	expect_error_in("[webhook]\nurl = https://hooks.example.com/SECRETX # prod\n",
			2, "webhook", "url", "percent-encode it", err);
	assert_lacks(err, "SECRETX");
	expect_error_in("[database]\ndsn = \"postgresql://u:PASSWORDX@h/db\"\n",
			2, "database", "dsn", "in quotes", err);
	assert_lacks(err, "PASSWORDX");
	expect_error_in("[webhook]\nsecret = 'SECRETX'\n", 2, "webhook",
			"secret", "in quotes", err);
	assert_lacks(err, "SECRETX");
	/* A Standard Webhooks secret: whsec_ and base64 of 16+ bytes. */
	expect_error_in("[webhook]\nsecret = SECRETXSECRETXSECRETXSECRETX\n", 2,
			"webhook", "secret",
			"does not start with \"whsec_\"", err);
	assert_lacks(err, "SECRETX");
	expect_error_in("[webhook]\nsecret = whsec_SECRETX*SECRETXSECRETXSECRETX\n",
			2, "webhook", "secret",
			"not base64 after \"whsec_\" (character 14", err);
	assert_lacks(err, "SECRETX");
	expect_error_in("[webhook]\nsecret = whsec_SECRETXSECRETXSECRETXSECRETXS\n",
			2, "webhook", "secret", "wrong length or padding", err);
	assert_lacks(err, "SECRETX");
	expect_error_in("[webhook]\nsecret = whsec_U0VDUkVUWA==\n", 2, "webhook",
			"secret", "is 7 bytes, too short", err);
}

static void test_quoted_values(void **state)
{
	struct config cfg;

	(void)state;
	expect_error("[sweeper]\nbatch_size = \"5000\"\n", 2, "sweeper",
		     "batch_size",
		     "'\"5000\"' is in quotes; remove them and write just '5000'");
	expect_error("[sweeper]\nbatch_size = '5000'\n", 2, "sweeper",
		     "batch_size", "is in quotes");
	expect_error("[database]\nlock_timeout = \"2s\"\n", 2, "database",
		     "lock_timeout", "is in quotes");
	expect_error("[webhook]\nformat = \"json\"\n", 2, "webhook", "format",
		     "is in quotes");
	expect_error("[sweeper]\nplugin_dir = \"/opt/p\"\n", 2, "sweeper",
		     "plugin_dir", "is in quotes");
	expect_error("[sweeper]\nrules = \"stale_devices\"\n", 2, "sweeper",
		     "rules", "is in quotes");
	/* Single quotes never make an identifier... */
	expect_error("[schema]\nusers_table = 'accounts_user'\n", 2, "schema",
		     "users_table", "is in quotes");
	/* ...double quotes do. */
	load_ok(&cfg, "[schema]\nusers_table = \"Accounts\"\n");
	assert_string_equal(config_schema(&cfg, "users_table"), "\"Accounts\"");
	config_free(&cfg);
}

static void test_rules_list(void **state)
{
	struct config cfg;

	(void)state;
	expect_error("[sweeper]\nrules =\n", 2, "sweeper", "rules",
		     "no rules listed; list at least one, e.g. rules = user_disabled, stale_devices, used_backup_codes");
	expect_error("[sweeper]\nrules = ,\n", 2, "sweeper", "rules",
		     "has an empty name between commas");
	expect_error("[sweeper]\nrules = a,,b\n", 2, "sweeper", "rules",
		     "has an empty name between commas");
	expect_error("[sweeper]\nrules = stale_devices, stale_devices\n", 2,
		     "sweeper", "rules",
		     "'stale_devices' is listed twice; list each rule once");
	expect_error("[sweeper]\nrules = Stale-Devices\n", 2, "sweeper",
		     "rules", "'Stale-Devices' is not a rule name");
	expect_error("[sweeper]\nrules = user_disabled stale_devices\n", 2,
		     "sweeper", "rules", "commas separate them");
	expect_error("[sweeper]\nrules = ../evil\n", 2, "sweeper", "rules",
		     "is not a rule name");

	load_ok(&cfg, "[sweeper]\nrules = my_rule_2\n[rule.my_rule_2]\nx = 1\n");
	assert_int_equal(cfg.nrules, 1);
	assert_string_equal(cfg.rules[0], "my_rule_2");
	assert_null(cfg.rules[1]);
	config_free(&cfg);
}

static void test_schema_names(void **state)
{
	struct config cfg;

	(void)state;
	expect_error("[schema]\nusers_table = a..b\n", 2, "schema",
		     "users_table", "'a..b' is not a table name");
	expect_error("[schema]\nusers_table = a.b.c\n", 2, "schema",
		     "users_table", "is not a table name");
	expect_error("[schema]\ncodes_table = \"open\n", 2, "schema",
		     "codes_table", "is not a table name");
	expect_error("[schema]\nusers_table = public . users\n", 2, "schema",
		     "users_table",
		     "'public . users' has blanks around the '.'; write schema.table without them");
	expect_error("[schema]\nuser_id_column = u.id\n", 2, "schema",
		     "user_id_column",
		     "'u.id' is not a column name; write one name");
	expect_error("[schema]\ndevices_table = dev\x01ices\n", 2, "schema",
		     "devices_table", "'dev\\x01ices' is not a table name");
	expect_error("[schema]\ncodes_table = caf\xe9\n", 2, "schema",
		     "codes_table", "'caf\\xe9' is not a table name");
	expect_error("[schema]\nuser_id_column =\n", 2, "schema",
		     "user_id_column",
		     "the value is empty; write the column name, e.g. user_id_column = id");
	expect_error("[schema]\ncodes_table =\n", 2, "schema", "codes_table",
		     "the value is empty; write the table name");
	expect_error("[schema]\ncode_used_at_column =\n", 2, "schema",
		     "code_used_at_column", "the value is empty");

	load_ok(&cfg, "[schema]\nusers_table = users\"; DROP TABLE x; --\n"
		"user_id_column = \"odd.col\"\ncodes_table = s.\"t.x\"\n");
	assert_string_equal(config_schema(&cfg, "users_table"),
			    "users\"; DROP TABLE x; --");
	assert_string_equal(config_schema(&cfg, "user_id_column"),
			    "\"odd.col\"");
	config_free(&cfg);
}

static void test_duplicate_key(void **state)
{
	(void)state;
	expect_error("[sweeper]\nbatch_size = 10\npause = 0\nbatch_size = 20\n",
		     4, "sweeper", "batch_size",
		     "set twice, on lines 2 and 4; keep only one");
	/* Across two headers of the same section too. */
	expect_error("[database]\ndsn = a\n[sweeper]\n[database]\ndsn = b\n",
		     5, "database", "dsn", "lines 2 and 5");
	/* And in rule sections, which are otherwise checked later. */
	expect_error("[rule.stale_devices]\nmax_age = 1h\nmax_age = 2h\n", 3,
		     "rule.stale_devices", "max_age", "lines 2 and 3");
}

static void test_unknown_section(void **state)
{
	char err[ERRLEN];

	(void)state;
	expect_error("[databse]\ndsn = x\n", 1, NULL, NULL,
		     "unknown section [databse]; did you mean [database]?");
	expect_error("[Sweeper]\n", 1, NULL, NULL,
		     "did you mean [sweeper]?");
	expect_error("\n[rules.stale_devices]\n", 2, NULL, NULL,
		     "unknown section [rules.stale_devices]; did you mean [rule.stale_devices]?");
	expect_error_in("[main]\n", 1, NULL, NULL, "unknown section [main]; the sections are [database], [sweeper], [schema], [webhook], [ledger], [rule.NAME] and [target.NAME]", err);
	assert_lacks(err, "did you mean");
	expect_error("[]\n", 1, NULL, NULL, "empty section name []");
	expect_error("[rule.]\n", 1, NULL, NULL, "section [rule.] names no rule");
}

static void test_unknown_key(void **state)
{
	char err[ERRLEN];

	(void)state;
	expect_error("[sweeper]\nrules = stale_devices\n\nbatchsize = 5\n", 4,
		     "sweeper", NULL,
		     "unknown key 'batchsize'; did you mean 'batch_size'?");
	expect_error("[sweeper]\nbacth_size = 5\n", 2, "sweeper", NULL,
		     "did you mean 'batch_size'?");
	expect_error("[sweeper]\nBATCH_SIZE = 5\n", 2, "sweeper", NULL,
		     "did you mean 'batch_size'?");
	expect_error("[webhook]\nsecretfile = /x\n", 2, "webhook", NULL,
		     "did you mean 'secret_file'?");
	expect_error("[sweeper]\ndsn = x\n", 2, "sweeper", NULL,
		     "unknown key 'dsn'; it belongs in [database]");
	expect_error_in("[database]\nhostname = db\n", 2, "database", NULL,
			"unknown key 'hostname'; the keys of [database] are dsn, password_file, lock_timeout, statement_timeout",
			err);
	assert_lacks(err, "did you mean");
}

static void test_key_outside_section(void **state)
{
	(void)state;
	expect_error("; header comment\nbatch_size = 5\n[sweeper]\n", 2, NULL,
		     NULL,
		     "key 'batch_size' is outside any section; put it under [sweeper]");
	expect_error("foo = 1\n", 1, NULL, NULL,
		     "key 'foo' is outside any section; put it under its [section] header");
}

static void test_syntax_errors(void **state)
{
	(void)state;
	expect_error("[sweeper]\nbatch_size 5000\n", 2, NULL, NULL,
		     "'batch_size 5000' is not a setting; write key = value");
	expect_error("[sweeper\nbatch_size = 5\n", 1, NULL, NULL,
		     "section header '[sweeper' has no closing ']'");
	expect_error("[sweeper ; comment]\n", 1, NULL, NULL,
		     "has no closing ']'");
	expect_error("[sweeper] batch_size = 5\n", 1, NULL, NULL,
		     "unexpected 'batch_size = 5' after the section header");
	expect_error("[sweeper]\n= 5\n", 2, NULL, NULL,
		     "'= 5' has no key before '='");
	/* A value cannot go on over several lines. */
	expect_error("[sweeper]\nrules = user_disabled\n    stale_devices\n", 3,
		     NULL, NULL, "'stale_devices' is not a setting");
}

static void test_nul_byte(void **state)
{
	static const char text[] = "[sweeper]\nbatch_size = 5\0\n";
	struct config cfg;
	char path[64];
	char err[ERRLEN];
	char want[128];

	(void)state;
	assert_int_equal(load_bytes(&cfg, text, sizeof(text) - 1, path,
				    sizeof(path), err), -1);
	snprintf(want, sizeof(want), "%s:2: line holds a NUL byte", path);
	assert_contains(err, want);
}

static void test_rule_section_not_in_rules(void **state)
{
	struct config cfg;

	(void)state;
	expect_error("[sweeper]\nrules = stale_devices\n\n[rule.user_disabled]\ngrace = 1m\n",
		     4, NULL, NULL,
		     "section [rule.user_disabled] is for a rule not listed in 'rules'; add it to rules = ... in [sweeper] or remove the section");
	/* With the default rules, an extra rule needs listing too, even
	 * when its section is empty. */
	expect_error("[rule.my_rule]\n", 1, NULL, NULL,
		     "section [rule.my_rule] is for a rule not listed in 'rules'");
	/* rules may come after the section. */
	load_ok(&cfg, "[rule.my_rule]\nkey = v\n[sweeper]\nrules = my_rule\n");
	assert_string_equal(config_written(&cfg, "rule.my_rule", "key"), "v");
	config_free(&cfg);
	load_ok(&cfg, "[rule.stale_devices]\n[rule.user_disabled]\ngrace = 0\n");
	config_free(&cfg);
}

static void test_secret_and_secret_file(void **state)
{
	struct config cfg;

	(void)state;
	expect_error("[webhook]\nsecret = whsec_MfKQ9r8GKYqrTYHDtmm/+p9BhwpdU3VzeTTdbMLzb/g=\nsecret_file = /etc/x\n", 3,
		     "webhook", "secret_file",
		     "both secret (line 2) and secret_file (line 3) are set; keep only one of them");
	expect_error("[webhook]\nsecret_file = /etc/x\nretries = 1\nsecret = whsec_MfKQ9r8GKYqrTYHDtmm/+p9BhwpdU3VzeTTdbMLzb/g=\n",
		     4, "webhook", "secret", "both secret (line 4)");
	/* An empty secret, as in the example file, is not set. */
	load_ok(&cfg, "[webhook]\nsecret =\nsecret_file = /etc/mfa-sweeper/hmac\n");
	assert_string_equal(cfg.webhook_secret, "");
	assert_string_equal(cfg.webhook_secret_file, "/etc/mfa-sweeper/hmac");
	config_free(&cfg);
}

static void test_missing_file(void **state)
{
	struct config cfg;
	char err[ERRLEN];

	(void)state;
	memset(&cfg, 0x5a, sizeof(cfg));
	assert_int_equal(config_load(&cfg, "/nonexistent/mfa-sweeper.ini", err,
				     sizeof(err)), -1);
	assert_contains(err,
			"cannot open '/nonexistent/mfa-sweeper.ini': No such file or directory");
	assert_one_line(err);
	assert_null(cfg.path);
	config_free(&cfg);

	assert_int_equal(config_load(&cfg, "/tmp", err, sizeof(err)), -1);
	assert_contains(err,
			"'/tmp' is a directory, not a regular file; give the configuration file itself with -c/--config");
	assert_one_line(err);
	config_free(&cfg);
}

/*
 * A FIFO with no writer, a device and a huge file are refused at once:
 * `-c /dev/zero` once read 270 MB and took it for an empty config.  The
 * alarm makes a hang a failure instead of a stuck test.
 */
static void test_not_a_config_file(void **state)
{
	char dir[] = "/tmp/mfa-sweeper-test-dir-XXXXXX";
	char fifo[128];
	char link[128];
	char good[128];
	char err[ERRLEN];
	struct config cfg;
	char *text;
	size_t len;

	(void)state;
	assert_non_null(mkdtemp(dir));
	alarm(10);

	snprintf(fifo, sizeof(fifo), "%s/fifo.ini", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(config_load(&cfg, fifo, err, sizeof(err)), -1);
	assert_contains(err, "is a FIFO, not a regular file; give the configuration file itself with -c/--config");
	assert_contains(err, fifo);
	assert_one_line(err);
	config_free(&cfg);
	unlink(fifo);

	assert_int_equal(config_load(&cfg, "/dev/zero", err, sizeof(err)), -1);
	assert_contains(err, "'/dev/zero' is a character device, not a regular file");
	assert_int_equal(config_load(&cfg, "/dev/null", err, sizeof(err)), -1);
	assert_contains(err, "'/dev/null' is a character device");

	/* A symbolic link is followed: configuration management links configs. */
	temp_write(good, sizeof(good), dir, "[sweeper]\nbatch_size = 3\n", 25);
	snprintf(link, sizeof(link), "%s/link.ini", dir);
	assert_int_equal(symlink(good, link), 0);
	if (config_load(&cfg, link, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(cfg.batch_size, 3);
	config_free(&cfg);
	unlink(link);
	snprintf(link, sizeof(link), "%s/zero.ini", dir);
	assert_int_equal(symlink("/dev/zero", link), 0);
	assert_int_equal(config_load(&cfg, link, err, sizeof(err)), -1);
	assert_contains(err, "is a character device");
	unlink(link);
	unlink(good);

	/* Up to 1 MiB is read; one byte more is not a config. */
	len = CONFIG_FILE_MAX;
	text = malloc(len + 1);
	assert_non_null(text);
	memset(text, ';', len);
	memcpy(text, "[sweeper]\nbatch_size = 4\n", 25);
	for (size_t i = 25 + 8000; i < len; i += 8000)
		text[i] = '\n';
	temp_write(good, sizeof(good), dir, text, len);
	if (config_load(&cfg, good, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(cfg.batch_size, 4);
	config_free(&cfg);
	unlink(good);
	text[len] = '\n';
	temp_write(good, sizeof(good), dir, text, len + 1);
	assert_int_equal(config_load(&cfg, good, err, sizeof(err)), -1);
	assert_contains(err, "is larger than 1048576 bytes");
	assert_contains(err, good);
	assert_one_line(err);
	config_free(&cfg);
	unlink(good);
	free(text);

	alarm(0);
	assert_int_equal(rmdir(dir), 0);
}

static void test_unreadable_file(void **state)
{
	struct config cfg;
	char path[64];
	char err[ERRLEN];
	int rc;

	(void)state;
	temp_write(path, sizeof(path), "/tmp", "", 0);
	assert_int_equal(chmod(path, 0), 0);
	/* root reads anything, so root tries as nobody for a moment. */
	if (geteuid() == 0 && seteuid(65534) != 0)
		skip();
	rc = config_load(&cfg, path, err, sizeof(err));
	if (getuid() == 0)
		assert_int_equal(seteuid(0), 0);
	unlink(path);
	assert_int_equal(rc, -1);
	assert_contains(err, "cannot open '");
	assert_contains(err, "': Permission denied");
	config_free(&cfg);
}

static void test_crlf_bom_tabs(void **state)
{
	static const char text[] =
		"\xef\xbb\xbf; written on Windows\r\n"
		"[database]\r\n"
		"dsn = postgresql:///app   \r\n"
		"\tlock_timeout\t=\t5s\t\r\n"
		"[sweeper]   \r\n"
		"   batch_size = 42 ; inline comment\r\n"
		"    pause = 1 s\r\n"
		"rules = stale_devices\r\n"
		"\r\n"
		"[rule.stale_devices]\r\n"
		"max_age = 1h\r\n";
	struct config cfg;
	const struct config_entry *e;

	(void)state;
	load_ok(&cfg, text);
	assert_string_equal(cfg.dsn, "postgresql:///app");
	assert_int_equal(cfg.lock_timeout_ms, 5000);
	assert_int_equal(cfg.batch_size, 42);
	assert_int_equal(cfg.pause_ms, 1000);
	assert_int_equal(cfg.nrules, 1);
	assert_string_equal(config_written(&cfg, "rule.stale_devices",
					   "max_age"), "1h");
	e = config_entry_find(&cfg, "sweeper", "pause");
	assert_non_null(e);
	assert_int_equal(e->line, 7);
	config_free(&cfg);

	/* An error in a CRLF file names the right line, without a '\r'. */
	expect_error("[sweeper]\r\n\r\nbatch_size = lots\r\n", 3, "sweeper",
		     "batch_size", "'lots' is not a whole number");
	/* Section names may carry blanks inside the brackets. */
	load_ok(&cfg, "[ sweeper ]\nbatch_size = 7\n");
	assert_int_equal(cfg.batch_size, 7);
	config_free(&cfg);
}

/* "[SECTION]\nKEY = " then `n` bytes of `c`, then `tail`; malloc'd. */
static char *long_setting(const char *head, size_t n, char c,
			  const char *tail)
{
	size_t hl = strlen(head);
	size_t tl = strlen(tail);
	char *text = malloc(hl + n + tl + 1);

	assert_non_null(text);
	memcpy(text, head, hl);
	memset(text + hl, c, n);
	memcpy(text + hl + n, tail, tl + 1);
	return text;
}

static void test_long_lines(void **state)
{
	char text[1024];
	char err[ERRLEN];
	struct config cfg;
	char *big;
	size_t len;

	(void)state;
	/* 199 characters fit inih's buffer: "secret = whsec_" + 184. */
	len = (size_t)snprintf(text, sizeof(text), "[webhook]\nsecret = whsec_");
	memset(text + len, 's', 184);
	len += 184;
	strcpy(text + len, "\nretries = 1\n");
	load_ok(&cfg, text);
	assert_int_equal(strlen(cfg.webhook_secret), 190);
	assert_int_equal(cfg.webhook_retries, 1);
	config_free(&cfg);

	/*
	 * Longer ones are read whole, never split into two settings: a DSN
	 * with certificate paths, a webhook URL with its token.  Their
	 * inline comment and blanks go, as on a short line.
	 */
	big = long_setting("[database]\ndsn = host=db sslrootcert=/",
			   4096, 'c', "   ; the CA\n[sweeper]\nbatch_size = 8\n");
	load_ok(&cfg, big);
	assert_int_equal(strlen(cfg.dsn), strlen("host=db sslrootcert=/") + 4096);
	assert_true(strncmp(cfg.dsn, "host=db sslrootcert=/ccc", 24) == 0);
	assert_int_equal(cfg.dsn[strlen(cfg.dsn) - 1], 'c');
	assert_int_equal(cfg.batch_size, 8);
	assert_int_equal(config_entry_find(&cfg, "database", "dsn")->line, 2);
	assert_int_equal(cfg.nentries, 2);
	config_free(&cfg);
	free(big);

	/* CONFIG_LINE_MAX bytes without the "\r\n", and ':' for '='. */
	big = long_setting("[webhook]\nurl:https://hooks.example.com/",
			   CONFIG_LINE_MAX - 30, 't', "\r\nretries = 2\r\n");
	load_ok(&cfg, big);
	assert_int_equal(strlen(cfg.webhook_url), CONFIG_LINE_MAX - 4);
	assert_int_equal(cfg.webhook_retries, 2);
	config_free(&cfg);
	free(big);

	/* A long value is checked like any other, and not repeated whole. */
	big = long_setting("[sweeper]\n\nrules = ", 300, 'r', "-x\n");
	expect_error_in(big, 3, "sweeper", "rules", "is not a rule name", err);
	free(big);
	big = long_setting("[sweeper]\nplugin_dir = ~", 300, 'p', "\n");
	expect_error_in(big, 2, "sweeper", "plugin_dir",
			"starts with '~', which is not expanded here", err);
	assert_true(strlen(err) < 400);
	free(big);
	/* A rule's key may be long too; its section header as well. */
	big = long_setting("[sweeper]\nrules = my_rule\n[rule.my_rule]\nnote = ",
			   5000, 'n', "\n");
	load_ok(&cfg, big);
	assert_int_equal(strlen(config_written(&cfg, "rule.my_rule", "note")),
			 5000);
	config_free(&cfg);
	free(big);
	big = long_setting("[sweeper]\nrules = x\n[rule.", 300, 'l', "]\nk = v\n");
	expect_error_in(big, 3, NULL, NULL,
			"is for a rule not listed in 'rules'", err);
	assert_contains(err, "[rule.llll");
	free(big);
	big = long_setting("[sweeper]\n", 300, 'k', " = v\n");
	expect_error_in(big, 2, NULL, NULL, "the key is too long", err);
	free(big);

	/* CONFIG_LINE_MAX bytes pass; one more is refused, naming the line. */
	big = long_setting("[database]\ndsn = ", CONFIG_LINE_MAX - 6, 'd',
			   "\n");
	load_ok(&cfg, big);
	assert_int_equal(strlen(cfg.dsn), CONFIG_LINE_MAX - 6);
	config_free(&cfg);
	free(big);
	big = long_setting("[database]\n\ndsn = ", CONFIG_LINE_MAX - 5, 'd',
			   "\n");
	expect_error_in(big, 3, NULL, NULL,
			"line too long (over 8192 bytes); shorten it", err);
	assert_lacks(err, "ddd");
	free(big);
	/* Comments too: a line that long is no configuration. */
	big = long_setting("[sweeper]\nbatch_size = 1\n;", CONFIG_LINE_MAX, 'c',
			   "\n");
	expect_error(big, 3, NULL, NULL, "line too long");
	free(big);

	/* Long comments below the limit are fine. */
	text[0] = ';';
	memset(text + 1, 'c', 500);
	strcpy(text + 501, "\n[sweeper]\nbatch_size = 9\n");
	load_ok(&cfg, text);
	assert_int_equal(cfg.batch_size, 9);
	config_free(&cfg);
}

/* Names PostgreSQL would cut to 63 bytes are refused at load. */
static void test_long_names(void **state)
{
	char text[1024];
	char name[128];
	char err[ERRLEN];
	struct config cfg;

	(void)state;
	memset(name, 'n', 63);
	name[63] = '\0';
	snprintf(text, sizeof(text),
		 "[schema]\nusers_table = %s.%s\nuser_id_column = %s\n"
		 "[ledger]\nschema = %s\n", name, name, name, name);
	load_ok(&cfg, text);
	config_free(&cfg);

	name[63] = 'n';
	name[64] = '\0';
	snprintf(text, sizeof(text), "[schema]\ncodes_table = %s\n", name);
	expect_error_in(text, 2, "schema", "codes_table",
			"holds a table or schema name longer than 63 bytes, which PostgreSQL would silently cut short",
			err);
	assert_contains(err, "'nnnn");
	snprintf(text, sizeof(text), "[schema]\nusers_table = public.%s\n",
		 name);
	expect_error(text, 2, "schema", "users_table", "longer than 63 bytes");
	snprintf(text, sizeof(text), "[schema]\nusers_table = %s.users\n",
		 name);
	expect_error(text, 2, "schema", "users_table", "longer than 63 bytes");
	snprintf(text, sizeof(text), "[schema]\n\ncode_user_column = %s\n",
		 name);
	expect_error(text, 3, "schema", "code_user_column",
		     "holds a column name longer than 63 bytes");
	snprintf(text, sizeof(text), "[schema]\ncode_used_column = \"%s\"\n",
		 name);
	expect_error(text, 2, "schema", "code_used_column",
		     "longer than 63 bytes");
	snprintf(text, sizeof(text), "[ledger]\nschema = %s\n", name);
	expect_error(text, 2, "ledger", "schema",
		     "holds a schema name longer than 63 bytes");
}

static void test_relative_plugin_dir(void **state)
{
	char dir[] = "/tmp/mfa-sweeper-test-dir-XXXXXX";
	char path[128];
	char want[256];
	char err[ERRLEN];
	char *cwd;
	struct config cfg;
	static const char text[] = "[sweeper]\nplugin_dir = ./plugins/./x//\n";

	(void)state;
	assert_non_null(mkdtemp(dir));
	temp_write(path, sizeof(path), dir, text, strlen(text));

	/* Relative to the directory of the config file... */
	if (config_load(&cfg, path, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	snprintf(want, sizeof(want), "%s/plugins/x", dir);
	assert_string_equal(cfg.plugin_dir, want);
	assert_string_equal(config_written(&cfg, "sweeper", "plugin_dir"),
			    "./plugins/./x//");
	config_free(&cfg);

	/* ...even when the config path itself is relative. */
	cwd = getcwd(NULL, 0);
	assert_non_null(cwd);
	assert_int_equal(chdir("/tmp"), 0);
	if (config_load(&cfg, path + strlen("/tmp/"), err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_string_equal(cfg.plugin_dir, want);
	config_free(&cfg);
	assert_int_equal(chdir(dir), 0);
	if (config_load(&cfg, strrchr(path, '/') + 1, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_string_equal(cfg.plugin_dir, want);
	config_free(&cfg);
	assert_int_equal(chdir(cwd), 0);
	free(cwd);

	unlink(path);
	rmdir(dir);

	/* An absolute plugin_dir is taken as written. */
	load_ok(&cfg, "[sweeper]\nplugin_dir = /usr/lib/x/../y\n");
	assert_string_equal(cfg.plugin_dir, "/usr/lib/x/../y");
	config_free(&cfg);
}

/* A plugin's declared keys, as a test stands in for one. */
static const struct sweeper_key rule_keys[] = {
	{ "max_age", SWEEPER_KEY_DURATION, "24h", NULL, "age limit" },
	{ "null_created_at", SWEEPER_KEY_ENUM, "keep", "keep|delete",
	  "what to do with NULL created_at" },
	{ "dry", SWEEPER_KEY_BOOL, "false", NULL, "flag" },
	{ "limit", SWEEPER_KEY_INT, "10", NULL, "a number" },
	{ "label", SWEEPER_KEY_STRING, "", NULL, "text" },
	{ NULL, 0, NULL, NULL, NULL }
};

static const struct sweeper_key required_keys[] = {
	{ "max_age", SWEEPER_KEY_DURATION, NULL, NULL, "required" },
	{ NULL, 0, NULL, NULL, NULL }
};

static void check_rule_error(const char *text, const char *rule,
			     const struct sweeper_key *keys, int line,
			     const char *key, const char *fragment)
{
	struct config cfg;
	char path[64];
	char err[ERRLEN] = "";
	char want[256];
	char section[128];

	if (load_text(&cfg, text, path, sizeof(path), err) != 0)
		fail_msg("load failed: %s", err);
	if (config_check_rule(&cfg, rule, keys, err, sizeof(err)) == 0)
		fail_msg("config_check_rule(%s) passed:\n%s", rule, text);
	assert_one_line(err);
	if (line > 0)
		snprintf(want, sizeof(want), "%s:%d: ", path, line);
	else
		snprintf(want, sizeof(want), "%s: ", path);
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("\"%s\" does not start with \"%s\"", err, want);
	snprintf(section, sizeof(section), "[rule.%s] ", rule);
	assert_contains(err, section);
	if (key) {
		snprintf(want, sizeof(want), "%s: ", key);
		assert_contains(err, want);
	}
	assert_contains(err, fragment);
	config_free(&cfg);
}

static void test_check_rule_ok(void **state)
{
	struct config cfg;
	char err[ERRLEN] = "";

	(void)state;
	load_ok(&cfg, "[rule.stale_devices]\nmax_age = 12h\nnull_created_at = delete\n"
		"dry = YES\nlimit = 0\nlabel = \"anything # goes\"\n");
	assert_int_equal(config_check_rule(&cfg, "stale_devices", rule_keys,
					   err, sizeof(err)), 0);
	assert_string_equal(err, "");
	/* Absent keys take their defaults; a rule may take no keys. */
	assert_int_equal(config_check_rule(&cfg, "used_backup_codes",
					   rule_keys, err, sizeof(err)), 0);
	assert_int_equal(config_check_rule(&cfg, "user_disabled", NULL, err,
					   sizeof(err)), 0);
	config_free(&cfg);
}

static void test_check_rule_errors(void **state)
{
	static const struct sweeper_key bad_default[] = {
		{ "max_age", SWEEPER_KEY_DURATION, "24 hours", NULL, "x" },
		{ NULL, 0, NULL, NULL, NULL }
	};

	(void)state;
	check_rule_error("[rule.stale_devices]\nmax_agee = 1h\n",
			 "stale_devices", rule_keys, 2, NULL,
			 "unknown key 'max_agee'; did you mean 'max_age'?");
	check_rule_error("[rule.stale_devices]\nwhatever = 1h\n",
			 "stale_devices", rule_keys, 2, NULL,
			 "unknown key 'whatever'; rule 'stale_devices' takes the keys max_age, null_created_at, dry, limit, label");
	check_rule_error("[rule.stale_devices]\nmax_age = 1h\n",
			 "stale_devices", NULL, 2, NULL,
			 "unknown key 'max_age'; rule 'stale_devices' takes no keys, remove it");
	check_rule_error("[rule.stale_devices]\n\n\n\n\n\n"
			 "null_created_at = remove\n",
			 "stale_devices", rule_keys, 7, "null_created_at",
			 "'remove' is not one of keep, delete");
	check_rule_error("[rule.stale_devices]\nmax_age = 5x\n",
			 "stale_devices", rule_keys, 2, "max_age",
			 "'5x' is not a duration; write a number and a unit: 500ms, 30s, 5m, 24h, 90d");
	check_rule_error("[rule.stale_devices]\ndry = maybe\n",
			 "stale_devices", rule_keys, 2, "dry",
			 "'maybe' is not true or false");
	check_rule_error("[rule.stale_devices]\nlimit = ten\n",
			 "stale_devices", rule_keys, 2, "limit",
			 "'ten' is not a whole number");
	check_rule_error("[rule.stale_devices]\nmax_age = \"24h\"\n",
			 "stale_devices", rule_keys, 2, "max_age",
			 "is in quotes");
	check_rule_error("[rule.stale_devices]\nmax_age = 99999999999999999999d\n",
			 "stale_devices", rule_keys, 2, "max_age",
			 "is too large; the longest duration is 36500d");
	/* Missing required keys name the file and the section, no line. */
	check_rule_error("[database]\ndsn =\n[rule.stale_devices]\n",
			 "stale_devices", required_keys, 0, "max_age",
			 "required key is missing; add max_age = DURATION under [rule.stale_devices]");
	check_rule_error("[database]\ndsn =\n", "stale_devices",
			 required_keys, 0, "max_age",
			 "required key is missing");
	check_rule_error("[database]\ndsn =\n", "stale_devices", bad_default, 0,
			 "max_age",
			 "the plugin's default is wrong: '24 hours' is not a duration");
}

/*
 * The example config documents every core key with its default.  It is
 * found next to this source file, as the compiler was given its path.
 */
/* Adaptive batches and throttling (issue 4): the keys and their checks. */
static void test_adaptive_and_throttle_keys(void **state)
{
	struct config cfg;

	(void)state;
	/* An empty batch_size is the default: adaptive. */
	load_ok(&cfg, "[sweeper]\nbatch_size =\n");
	assert_int_equal(cfg.batch_size, 0);
	config_free(&cfg);
	load_ok(&cfg, "[sweeper]\nbatch_size = 250\nbatch_target = 1s\n"
		"batch_min = 5\nbatch_max = 5\npause_ratio = 0.25\n"
		"max_replica_lag = 2s\nmax_throttle = 0\nmax_rows = 7\n"
		"workers = 3\nmax_rate = 250\n");
	assert_int_equal(cfg.batch_size, 250);
	assert_int_equal(cfg.batch_target_ms, 1000);
	assert_int_equal(cfg.batch_min, 5);
	assert_int_equal(cfg.batch_max, 5);
	assert_true(cfg.pause_ratio > 0.2499 && cfg.pause_ratio < 0.2501);
	assert_int_equal(cfg.max_replica_lag_ms, 2000);
	assert_int_equal(cfg.max_throttle_ms, 0);
	assert_int_equal(cfg.max_rows, 7);
	assert_int_equal(cfg.workers, 3);
	assert_int_equal(cfg.max_rate, 250);
	config_free(&cfg);

	expect_error("[sweeper]\nbatch_min = 600\nbatch_max = 500\n", 3,
		     "sweeper", "batch_max",
		     "batch_min (600) is larger than batch_max (500)");
	expect_error("[sweeper]\nbatch_max = 50\n", 2, "sweeper",
		     "batch_max", "batch_min (100) is larger than batch_max (50)");
	expect_error("[sweeper]\nbatch_min = 60000\n", 2, "sweeper",
		     "batch_min", "is larger than batch_max (50000)");
	expect_error("[sweeper]\nbatch_min = 0\n", 2, "sweeper", "batch_min",
		     "'0' is out of range; write a number from 1 to 1000000");
	expect_error("[sweeper]\nbatch_max = 1000001\n", 2, "sweeper",
		     "batch_max", "'1000001' is out of range");
	expect_error("[sweeper]\nbatch_target = 0\n", 2, "sweeper",
		     "batch_target", "a batch cannot take no time");
	expect_error("[sweeper]\nbatch_target = fast\n", 2, "sweeper",
		     "batch_target", "fast");
	expect_error("[sweeper]\npause_ratio = 101\n", 2, "sweeper",
		     "pause_ratio", "'101' is not a ratio from 0 to 100");
	expect_error("[sweeper]\npause_ratio = 0,5\n", 2, "sweeper",
		     "pause_ratio", "'0,5' is not a ratio");
	expect_error("[sweeper]\npause_ratio = -1\n", 2, "sweeper",
		     "pause_ratio", "'-1' is not a ratio");
	expect_error("[sweeper]\nmax_rows = -1\n", 2, "sweeper", "max_rows",
		     "-1");
	expect_error("[sweeper]\nworkers = 0\n", 2, "sweeper", "workers",
		     "'0' is out of range; write a number from 1 to 16, e.g. workers = 2");
	expect_error("[sweeper]\nworkers = -2\n", 2, "sweeper", "workers",
		     "'-2' is not a whole number; write a number from 1 to 16");
	expect_error("[sweeper]\nworkers = two\n", 2, "sweeper", "workers",
		     "'two' is not a whole number");
	expect_error("[sweeper]\nworkers = 17\n", 2, "sweeper", "workers",
		     "'17' is out of range");
	expect_error("[sweeper]\nworkers = 99999999999999999999\n", 2,
		     "sweeper", "workers", "is out of range");
	expect_error("[sweeper]\nmax_rate = -5\n", 2, "sweeper", "max_rate",
		     "'-5' is not a whole number; write a number from 0 to 1000000000, e.g. max_rate = 5000");
	expect_error("[sweeper]\nmax_rate = 10/s\n", 2, "sweeper", "max_rate",
		     "'10/s'");
	expect_error("[sweeper]\nmax_replica_lag = 5\n", 2, "sweeper",
		     "max_replica_lag", "5");
	/* Whether the server knows the zone is checked once connected. */
	expect_error("[database]\ntime_zone = New York\n", 2, "database",
		     "time_zone", "'New York' is not a time zone name");
	expect_error("[database]\ntime_zone = 'UTC'\n", 2, "database",
		     "time_zone", "quotes would be part of the value");
}

static void test_example_config(void **state)
{
	static const struct sweeper_key *const tables[] = {
		config_database_keys, config_sweeper_keys, config_schema_keys,
		config_webhook_keys, config_ledger_keys,
	};
	static const char *const names[] = {
		"database", "sweeper", "schema", "webhook", "ledger",
	};
	char path[PATH_MAX];
	char err[ERRLEN];
	const char *here = __FILE__;
	const char *unit = strstr(here, "tests/unit/");
	const struct sweeper_key *k;
	struct config cfg;
	size_t i;

	(void)state;
	if (!unit)
		skip();
	snprintf(path, sizeof(path), "%.*sconfig/mfa-sweeper.ini",
		 (int)(unit - here), here);
	if (access(path, R_OK) != 0)
		skip();
	if (config_load(&cfg, path, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	for (i = 0; i < sizeof(tables) / sizeof(tables[0]); i++) {
		for (k = tables[i]; k->name; k++) {
			const char *v = config_written(&cfg, names[i], k->name);

			if (!v)
				fail_msg("the example does not show [%s] %s",
					 names[i], k->name);
			/* plugin_dir depends on PREFIX. */
			if (strcmp(k->name, "plugin_dir") != 0 &&
			    strcmp(v, k->default_value) != 0)
				fail_msg("the example shows [%s] %s = %s, the default is %s",
					 names[i], k->name, v, k->default_value);
		}
	}
	assert_non_null(config_written(&cfg, "rule.user_disabled", "grace"));
	config_free(&cfg);
}

/*
 * A target's config: its [database] keys and schema.KEY overrides in
 * place of the file's; a tenant's unqualified tables in its schema, a
 * qualified one left where it is.
 */
static void test_targets_derive(void **state)
{
	struct config cfg, t;
	char err[ERRLEN] = "";

	(void)state;
	load_ok(&cfg, "[database]\ndsn = dbname=a\nlock_timeout = 3s\n"
		"[schema]\nusers_table = public.accounts_user\n"
		"[sweeper]\njobs = 4\n"
		"[target.one]\ndsn = dbname=b\nschema.codes_table = codes\n"
		"[target.many]\ntenants_query = SELECT 'x'\n");
	assert_int_equal(cfg.ntargets, 2);
	assert_int_equal(cfg.jobs, 4);
	assert_string_equal(cfg.targets[0].name, "one");
	assert_null(cfg.targets[0].tenants_query);
	assert_string_equal(cfg.targets[1].tenants_query, "SELECT 'x'");
	assert_ptr_equal(config_target_find(&cfg, "many"), &cfg.targets[1]);
	assert_null(config_target_find(&cfg, "none"));

	assert_int_equal(config_for_target(&cfg, &cfg.targets[0], NULL, &t,
					   err, sizeof(err)), 0);
	assert_string_equal(t.dsn, "dbname=b");
	assert_int_equal(t.lock_timeout_ms, 3000);
	assert_string_equal(config_schema(&t, "codes_table"), "codes");
	assert_string_equal(t.target_name, "one");
	assert_null(t.tenant_schema);
	assert_int_equal(t.ntargets, 0);
	config_free(&t);

	assert_int_equal(config_for_target(&cfg, &cfg.targets[1], "Acme_1",
					   &t, err, sizeof(err)), 0);
	assert_string_equal(t.dsn, "dbname=a");
	assert_string_equal(config_schema(&t, "codes_table"),
			    "Acme_1.accounts_backupcode");
	assert_string_equal(config_schema(&t, "devices_table"),
			    "Acme_1.otp_totp_totpdevice");
	/* Written with its schema: a table every tenant shares. */
	assert_string_equal(config_schema(&t, "users_table"),
			    "public.accounts_user");
	assert_string_equal(t.target_name, "many/Acme_1");
	assert_string_equal(t.tenant_schema, "Acme_1");
	config_free(&t);
	config_free(&cfg);
}

/* What a tenants_query may return. */
static void test_tenant_schema_valid(void **state)
{
	(void)state;
	assert_true(tenant_schema_valid("t1"));
	assert_true(tenant_schema_valid("_Acme$2"));
	assert_false(tenant_schema_valid(""));
	assert_false(tenant_schema_valid(NULL));
	assert_false(tenant_schema_valid("1abc"));
	assert_false(tenant_schema_valid("a.b"));
	assert_false(tenant_schema_valid("a\"b"));
	assert_false(tenant_schema_valid("a b"));
	assert_false(tenant_schema_valid("caf\xc3\xa9"));
	assert_true(tenant_schema_valid(
		"a23456789012345678901234567890123456789012345678901234567890123"));
	assert_false(tenant_schema_valid(
		"a234567890123456789012345678901234567890123456789012345678901234"));
}

/* Errors of a [target.NAME] section: file, line, section, key, fix. */
static void test_target_errors(void **state)
{
	char err[ERRLEN];

	(void)state;
	expect_error_in("[target.a]\nusers_table = x\n", 2, "target.a", NULL,
			"a [schema] key is written schema.users_table here",
			err);
	expect_error_in("[target.a]\nschema.nope = x\n", 2, "target.a", NULL,
			"unknown key 'schema.nope'", err);
	expect_error_in("[target.a]\nlock_timeout = soon\n", 2, "target.a",
			"lock_timeout", "soon", err);
	expect_error_in("[target.a]\ntenants_query = DROP TABLE x\n", 2,
			"target.a", "tenants_query", "not a query", err);
	expect_error_in("[target.a/b]\n", 1, NULL, NULL,
			"does not name a target", err);
	expect_error_in("[sweeper]\njobs = 65\n", 2, "sweeper", "jobs",
			"out of range", err);
}

static void test_free_zeroed(void **state)
{
	struct config cfg;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	config_free(&cfg);
	config_free(&cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_file_defaults),
		cmocka_unit_test(test_empty_config),
		cmocka_unit_test(test_not_a_config_file),
		cmocka_unit_test(test_every_key_read_back),
		cmocka_unit_test(test_defaults_pass_checks),
		cmocka_unit_test(test_bad_values),
		cmocka_unit_test(test_adaptive_and_throttle_keys),
		cmocka_unit_test(test_quoted_values),
		cmocka_unit_test(test_rules_list),
		cmocka_unit_test(test_schema_names),
		cmocka_unit_test(test_duplicate_key),
		cmocka_unit_test(test_unknown_section),
		cmocka_unit_test(test_unknown_key),
		cmocka_unit_test(test_key_outside_section),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_nul_byte),
		cmocka_unit_test(test_rule_section_not_in_rules),
		cmocka_unit_test(test_secret_and_secret_file),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_unreadable_file),
		cmocka_unit_test(test_crlf_bom_tabs),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_long_names),
		cmocka_unit_test(test_relative_plugin_dir),
		cmocka_unit_test(test_check_rule_ok),
		cmocka_unit_test(test_check_rule_errors),
		cmocka_unit_test(test_example_config),
		cmocka_unit_test(test_free_zeroed),
		cmocka_unit_test(test_targets_derive),
		cmocka_unit_test(test_tenant_schema_valid),
		cmocka_unit_test(test_target_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
