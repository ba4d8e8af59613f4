/*
 * config_keys.c: the keys of the core sections and the checks of their
 * values.
 *
 * value_check() knows only a key's declared type.  The core keys need
 * more: a batch_size of 0 is a whole number but no batch size, and a table
 * name goes into SQL.  Each such key has a check here, looked up by section
 * and key, and every message says what is wrong and how to write it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "config_keys.h"
#include "db.h"
#include "ident.h"
#include "values.h"
#include "webhook_sign.h"

#define RULES_DEFAULT "user_disabled, stale_devices, used_backup_codes"

/* PostgreSQL takes lock_timeout and statement_timeout as an int of ms. */
#define PG_TIMEOUT_MAX_MS 2147483647LL

const struct sweeper_key config_database_keys[] = {
	{ "dsn", SWEEPER_KEY_STRING, "", NULL,
	  "libpq connection string or URI; empty uses the PG* environment variables" },
	{ "password_file", SWEEPER_KEY_STRING, "", NULL,
	  "file holding the database password, instead of one in dsn; relative: to $CREDENTIALS_DIRECTORY, else this file's directory" },
	{ "lock_timeout", SWEEPER_KEY_DURATION, "2s", NULL,
	  "how long a batch waits for a row lock before it gives up" },
	{ "statement_timeout", SWEEPER_KEY_DURATION, "60s", NULL,
	  "longest time one batch statement may run" },
	{ "time_zone", SWEEPER_KEY_STRING, "", NULL,
	  "IANA time zone the application writes naive times in (Django: TIME_ZONE); required when a compared column is timestamp without time zone; empty = the server's" },
	{ "pooler", SWEEPER_KEY_ENUM, "none", "none|session|transaction",
	  "what sits between mfa-sweeper and PostgreSQL: none, a session-pooling or a transaction-pooling PgBouncer; transaction keeps the run lock in a lease row" },
	{ "lease_ttl", SWEEPER_KEY_DURATION, "2m", NULL,
	  "pooler = transaction: how long the run lease lasts without a batch renewing it; a run that dies blocks later runs this long" },
	{ NULL, 0, NULL, NULL, NULL }
};

const struct sweeper_key config_sweeper_keys[] = {
	{ "plugin_dir", SWEEPER_KEY_STRING, SWEEPER_PLUGIN_DIR, NULL,
	  "directory of the rule plugins; relative to the config file's directory" },
	{ "rules", SWEEPER_KEY_STRING, RULES_DEFAULT, NULL,
	  "comma-separated rules to run, in this order" },
	{ "batch_size", SWEEPER_KEY_INT, "", NULL,
	  "fixed rows per batch (one transaction each), 1 to 1000000; empty = adaptive, see batch_target" },
	{ "max_runtime", SWEEPER_KEY_DURATION, "0", NULL,
	  "stop starting new batches after this long; 0 = no limit" },
	{ "pause", SWEEPER_KEY_DURATION, "0ms", NULL,
	  "sleep between batches" },
	{ "metrics_file", SWEEPER_KEY_STRING, "", NULL,
	  "Prometheus textfile-collector file written after each run; empty = none" },
	{ "retries", SWEEPER_KEY_INT, "3", NULL,
	  "times a batch is run again after a deadlock, lock timeout, serialization failure or statement timeout, 0 to 20" },
	{ "retry_backoff", SWEEPER_KEY_DURATION, "100ms", NULL,
	  "wait before the first retry; doubled for each further retry, with jitter, at most 30s" },
	{ "stop_timeout", SWEEPER_KEY_DURATION, "10s", NULL,
	  "after SIGTERM or SIGINT, how long the running batch may go on before it is cancelled; 0 = cancel at once" },
	{ "batch_target", SWEEPER_KEY_DURATION, "200ms", NULL,
	  "time one batch should take; the batch size adapts to it unless batch_size is set" },
	{ "batch_min", SWEEPER_KEY_INT, "100", NULL,
	  "smallest adaptive batch size, 1 to 1000000" },
	{ "batch_max", SWEEPER_KEY_INT, "50000", NULL,
	  "largest adaptive batch size, batch_min to 1000000; workers share it (doc/workers.md)" },
	{ "pause_ratio", SWEEPER_KEY_STRING, "0", NULL,
	  "after each batch also sleep this many times its duration, 0 to 100; 0 = off" },
	{ "max_replica_lag", SWEEPER_KEY_DURATION, "0", NULL,
	  "wait before a batch while a standby's replay lags more than this; 0 = off" },
	{ "max_throttle", SWEEPER_KEY_DURATION, "10m", NULL,
	  "longest wait for standbys before the run stops as partial; 0 = no limit" },
	{ "max_rows", SWEEPER_KEY_INT, "0", NULL,
	  "delete at most this many rows per run, then stop as partial; 0 = no limit" },
	{ "workers", SWEEPER_KEY_INT, "1", NULL,
	  "connections that sweep one step at once, each over its own part of the step's walk, 1 to 16; see doc/workers.md" },
	{ "max_rate", SWEEPER_KEY_INT, "0", NULL,
	  "rows deleted per second at most, over the whole run and all its workers, 0 to 1000000000; 0 = no limit" },
	{ "jobs", SWEEPER_KEY_INT, "1", NULL,
	  "with [target.NAME] sections: sweep up to this many targets at once, each on its own connection; at most this many connections per database server" },
	{ NULL, 0, NULL, NULL, NULL }
};

/*
 * The keys of a [target.NAME] section besides the [database] keys and
 * the schema.KEY overrides (doc/fleet.md).
 */
const struct sweeper_key config_target_keys[] = {
	{ "tenants_query", SWEEPER_KEY_STRING, "", NULL,
	  "a query whose rows are tenant schema names, run read-only: the target is then one tenant per row, each with the configured tables inside its schema" },
	{ NULL, 0, NULL, NULL, NULL }
};

const struct sweeper_key config_schema_keys[] = {
	{ "users_table", SWEEPER_KEY_STRING, "accounts_user", NULL,
	  "users table, table or schema.table" },
	{ "user_id_column", SWEEPER_KEY_STRING, "id", NULL,
	  "users: primary key" },
	{ "user_email_column", SWEEPER_KEY_STRING, "email", NULL,
	  "users: email, for --user-email" },
	{ "mfa_enrolled_column", SWEEPER_KEY_STRING, "mfa_enrolled", NULL,
	  "users: boolean, true while MFA is on" },
	{ "mfa_disabled_at_column", SWEEPER_KEY_STRING, "mfa_disabled_at", NULL,
	  "users: timestamptz of the last MFA disable" },
	{ "devices_table", SWEEPER_KEY_STRING, "otp_totp_totpdevice", NULL,
	  "TOTP devices table, table or schema.table" },
	{ "device_id_column", SWEEPER_KEY_STRING, "id", NULL,
	  "devices: unique key that batches walk (the primary key)" },
	{ "device_user_column", SWEEPER_KEY_STRING, "user_id", NULL,
	  "devices: the owning user's id" },
	{ "device_confirmed_column", SWEEPER_KEY_STRING, "confirmed", NULL,
	  "devices: boolean, true once confirmed" },
	{ "device_created_at_column", SWEEPER_KEY_STRING, "created_at", NULL,
	  "devices: timestamptz of creation; empty if the table has none" },
	{ "codes_table", SWEEPER_KEY_STRING, "accounts_backupcode", NULL,
	  "backup codes table, table or schema.table" },
	{ "code_id_column", SWEEPER_KEY_STRING, "id", NULL,
	  "codes: unique key that batches walk (the primary key)" },
	{ "code_user_column", SWEEPER_KEY_STRING, "user_id", NULL,
	  "codes: the owning user's id" },
	{ "code_used_column", SWEEPER_KEY_STRING, "used", NULL,
	  "codes: boolean, true once used; empty means used_at IS NOT NULL" },
	{ "code_used_at_column", SWEEPER_KEY_STRING, "used_at", NULL,
	  "codes: timestamptz of use" },
	{ "code_created_at_column", SWEEPER_KEY_STRING, "created_at", NULL,
	  "codes: timestamptz of creation; empty if the table has none" },
	{ NULL, 0, NULL, NULL, NULL }
};

const struct sweeper_key config_webhook_keys[] = {
	{ "url", SWEEPER_KEY_STRING, "", NULL,
	  "http:// or https:// address to post the run summary to; empty = none" },
	{ "format", SWEEPER_KEY_ENUM, "json", "json|slack",
	  "json: the run summary; slack: a Slack message" },
	{ "secret", SWEEPER_KEY_STRING, "", NULL,
	  "HMAC key to sign requests with; empty = unsigned" },
	{ "secret_file", SWEEPER_KEY_STRING, "", NULL,
	  "file holding the HMAC key, instead of secret" },
	{ "timeout", SWEEPER_KEY_DURATION, "10s", NULL,
	  "time limit of one delivery attempt" },
	{ "retries", SWEEPER_KEY_INT, "3", NULL,
	  "attempts after the first failed one, 0 to 20" },
	{ "max_time", SWEEPER_KEY_DURATION, "60s", NULL,
	  "time limit of all attempts and the waits between them" },
	{ "backoff", SWEEPER_KEY_DURATION, "1s", NULL,
	  "the first retry waits a random time up to this, doubling each retry" },
	{ "required", SWEEPER_KEY_BOOL, "false", NULL,
	  "a failed post makes a run that would exit 0 exit 1" },
	{ NULL, 0, NULL, NULL, NULL }
};

/* The audit ledger (src/ledger.c): a record of every run and deletion. */
const struct sweeper_key config_ledger_keys[] = {
	{ "enabled", SWEEPER_KEY_BOOL, "false", NULL,
	  "record every run and every deleted row in the ledger tables" },
	{ "schema", SWEEPER_KEY_STRING, "mfa_sweeper", NULL,
	  "PostgreSQL schema of the ledger tables (created by --init-ledger)" },
	{ NULL, 0, NULL, NULL, NULL }
};

const struct core_section core_sections[] = {
	{ "database", config_database_keys },
	{ "sweeper", config_sweeper_keys },
	{ "schema", config_schema_keys },
	{ "webhook", config_webhook_keys },
	{ "ledger", config_ledger_keys },
	{ NULL, NULL }
};

const struct core_section *core_section_find(const char *name)
{
	const struct core_section *cs;

	for (cs = core_sections; cs->name; cs++) {
		if (strcmp(cs->name, name) == 0)
			return cs;
	}
	return NULL;
}

const struct sweeper_key *key_table_find(const struct sweeper_key *keys,
					 const char *name)
{
	const struct sweeper_key *k;

	for (k = keys; k && k->name; k++) {
		if (strcmp(k->name, name) == 0)
			return k;
	}
	return NULL;
}

const struct sweeper_key *core_key_find(const char *section, const char *key)
{
	const struct core_section *cs = core_section_find(section);

	return cs ? key_table_find(cs->keys, key) : NULL;
}

const char *core_key_locate(const char *key)
{
	const struct core_section *cs;

	for (cs = core_sections; cs->name; cs++) {
		if (key_table_find(cs->keys, key))
			return cs->name;
	}
	return NULL;
}

/*
 * The keys checked here are strings to value_check(), which takes any
 * text; saying what the quotes would do tells why they are refused.
 */
static int quoted_fix(const char *value, char *why, size_t whylen)
{
	value_explain_quotes(value, " (quotes would be part of the value)",
			     why, whylen);
	return -1;
}

/*
 * The DSN and the secret may hold passwords: their checks never repeat
 * the value, so that a typo does not put a password in the journal.
 */
static int check_secret_text(const struct sweeper_key *decl,
			     const char *value, char *why, size_t whylen)
{
	(void)decl;
	if (!value_is_quoted(value))
		return 0;
	snprintf(why, whylen,
		 "the value is in quotes; remove them (quotes would be part of the value)");
	return -1;
}

/*
 * The dsn must be one libpq can read: found now, a typo is a configuration
 * error, not a database that seems to be down, and libpq's parse errors,
 * which quote the dsn, are never shown (db_dsn_check()).
 */
static int check_dsn(const struct sweeper_key *decl, const char *value,
		     char *why, size_t whylen)
{
	if (check_secret_text(decl, value, why, whylen) != 0)
		return -1;
	return db_dsn_check(value, why, whylen);
}

/*
 * A webhook secret is "whsec_" and the base64 of the key (Standard
 * Webhooks); anything else would sign with a key the receiver does not
 * have.
 */
static int check_webhook_secret(const struct sweeper_key *decl,
				const char *value, char *why, size_t whylen)
{
	if (check_secret_text(decl, value, why, whylen) != 0)
		return -1;
	if (value[0] == '\0')
		return 0;
	return webhook_secret_decode(value, NULL, NULL, why, whylen);
}

static int check_pg_timeout(const struct sweeper_key *decl,
			    const char *value, char *why, size_t whylen)
{
	char shown[VALUE_QUOTE_MAX];
	long long ms;
	int rc = duration_parse(value, &ms);

	/* PostgreSQL's limit is the one to name, even past the general one. */
	if (rc != DURATION_TOO_LARGE && (rc != 0 || ms <= PG_TIMEOUT_MAX_MS))
		return value_check(decl, value, why, whylen);
	value_quote(value, shown, sizeof(shown));
	snprintf(why, whylen,
		 "%s is longer than PostgreSQL allows; write at most 24d (2147483647ms), or 0 for no limit",
		 shown);
	return -1;
}

/*
 * An IANA zone name is letters, digits and / _ - + (America/New_York,
 * Etc/GMT+5); whether the server knows it is checked once connected
 * (time_zone.c).  Anything else here is a typo or a stray quote.
 */
static int check_time_zone(const struct sweeper_key *decl,
			   const char *value, char *why, size_t whylen)
{
	char shown[VALUE_QUOTE_MAX];
	const char *p;

	if (value_is_quoted(value))
		return quoted_fix(value, why, whylen);
	for (p = value; *p; p++) {
		if ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || strchr("/_-+", *p))
			continue;
		value_quote(value, shown, sizeof(shown));
		snprintf(why, whylen,
			 "%s is not a time zone name; write an IANA name such as %s = America/New_York (Django: its TIME_ZONE setting), or leave it empty",
			 shown, decl->name);
		return -1;
	}
	return 0;
}

/*
 * A lease shorter than a second would lapse between two batches of a
 * healthy run and let another run take it over.
 */
static int check_lease_ttl(const struct sweeper_key *decl, const char *value,
			   char *why, size_t whylen)
{
	char shown[VALUE_QUOTE_MAX];
	long long ms;

	if (value_check(decl, value, why, whylen) != 0)
		return -1;
	if (duration_parse(value, &ms) != 0 || ms >= 1000)
		return 0;
	value_quote(value, shown, sizeof(shown));
	snprintf(why, whylen,
		 "%s is shorter than a second, and the lease would lapse between two batches; write a duration of 1s or more, e.g. %s = %s",
		 shown, decl->name, decl->default_value);
	return -1;
}

static int check_int_range(const struct sweeper_key *decl, const char *value,
			   long long min, long long max, const char *example,
			   char *why, size_t whylen)
{
	char shown[VALUE_QUOTE_MAX];
	const char *problem = "is not a whole number";
	const char *p;
	long long n;

	if (value[0] == '\0' || value_is_quoted(value))
		return value_check(decl, value, why, whylen);
	if (uint_parse(value, &n) == 0 && n >= min && n <= max)
		return 0;
	/* All digits but refused: the number is just too big or small. */
	for (p = value; *p >= '0' && *p <= '9'; p++)
		;
	if (*p == '\0')
		problem = "is out of range";
	value_quote(value, shown, sizeof(shown));
	snprintf(why, whylen, "%s %s; write a number from %lld to %lld, e.g. %s = %s",
		 shown, problem, min, max, decl->name, example);
	return -1;
}

/* Empty (or not written) means adaptive sizing. */
static int check_batch_size(const struct sweeper_key *decl,
			    const char *value, char *why, size_t whylen)
{
	if (value[0] == '\0')
		return 0;
	return check_int_range(decl, value, 1, 1000000, "5000", why, whylen);
}

/* batch_min and batch_max; their order is checked once both are known. */
static int check_batch_bound(const struct sweeper_key *decl,
			     const char *value, char *why, size_t whylen)
{
	return check_int_range(decl, value, 1, 1000000, decl->default_value,
			       why, whylen);
}

/* jobs: targets swept at once, each on a connection of its own. */
static int check_jobs(const struct sweeper_key *decl, const char *value,
		      char *why, size_t whylen)
{
	return check_int_range(decl, value, 1, 64, "4", why, whylen);
}

static int check_retries(const struct sweeper_key *decl, const char *value,
			 char *why, size_t whylen)
{
	return check_int_range(decl, value, 0, 20, decl->default_value, why,
			       whylen);
}

/*
 * Each worker is one more server connection and one more backend busy
 * deleting: past the database server's cores, more only contend for the
 * same locks, WAL and disk, and PostgreSQL's default max_connections is
 * 100.  16 is well beyond what helps on the machines this runs against,
 * and low enough that a typo (workers = 200) cannot exhaust a server's
 * connections.
 */
static int check_workers(const struct sweeper_key *decl, const char *value,
			 char *why, size_t whylen)
{
	return check_int_range(decl, value, 1, SWEEPER_WORKERS_MAX, "2", why,
			       whylen);
}

static int check_max_rate(const struct sweeper_key *decl, const char *value,
			  char *why, size_t whylen)
{
	return check_int_range(decl, value, 0, 1000000000LL, "5000", why,
			       whylen);
}

/* A batch that should take no time cannot be sized. */
static int check_batch_target(const struct sweeper_key *decl,
			      const char *value, char *why, size_t whylen)
{
	long long ms;

	if (value_check(decl, value, why, whylen) != 0)
		return -1;
	if (duration_parse(value, &ms) != 0 || ms > 0)
		return 0;
	snprintf(why, whylen,
		 "a batch cannot take no time; write a duration such as %s = %s, or set batch_size for a fixed size",
		 decl->name, decl->default_value);
	return -1;
}

#define PAUSE_RATIO_MAX 100

static int check_pause_ratio(const struct sweeper_key *decl,
			     const char *value, char *why, size_t whylen)
{
	char shown[VALUE_QUOTE_MAX];
	double r;

	if (value_is_quoted(value))
		return quoted_fix(value, why, whylen);
	if (decimal_parse(value, &r) == 0 && r <= PAUSE_RATIO_MAX)
		return 0;
	value_quote(value, shown, sizeof(shown));
	snprintf(why, whylen,
		 "%s is not a ratio from 0 to %d; write a decimal number with a '.', e.g. %s = 0.5 to sleep half as long as each batch took, or 0 for none",
		 shown, PAUSE_RATIO_MAX, decl->name);
	return -1;
}

/* curl takes a timeout of 0 as none: a dead webhook would hang the run. */
static int check_webhook_timeout(const struct sweeper_key *decl,
				 const char *value, char *why, size_t whylen)
{
	long long ms;

	if (value_check(decl, value, why, whylen) != 0)
		return -1;
	if (duration_parse(value, &ms) != 0 || ms > 0)
		return 0;
	snprintf(why, whylen,
		 "a timeout of 0 would let a dead webhook hang the run; write a duration such as %s = %s",
		 decl->name, decl->default_value);
	return -1;
}

/* A path is taken as written: no shell ever expands a '~' in it. */
static int check_path(const struct sweeper_key *decl, const char *value,
		      int may_be_empty, char *why, size_t whylen)
{
	char shown[VALUE_QUOTE_MAX];

	if (value_is_quoted(value))
		return quoted_fix(value, why, whylen);
	if (value[0] == '\0' && !may_be_empty) {
		snprintf(why, whylen,
			 "the value is empty; write a directory, e.g. %s = %s",
			 decl->name, decl->default_value);
		return -1;
	}
	if (value[0] == '~') {
		value_quote(value, shown, sizeof(shown));
		snprintf(why, whylen,
			 "%s starts with '~', which is not expanded here; write the full path",
			 shown);
		return -1;
	}
	return 0;
}

static int check_plugin_dir(const struct sweeper_key *decl,
			    const char *value, char *why, size_t whylen)
{
	return check_path(decl, value, 0, why, whylen);
}

static int check_secret_file(const struct sweeper_key *decl,
			     const char *value, char *why, size_t whylen)
{
	return check_path(decl, value, 1, why, whylen);
}

/*
 * The metrics file is written by a timer's run whose working directory
 * nobody thinks about, so only an absolute path to a file is taken.
 */
static int check_metrics_file(const struct sweeper_key *decl,
			      const char *value, char *why, size_t whylen)
{
	char shown[VALUE_QUOTE_MAX];
	size_t len = strlen(value);

	if (check_path(decl, value, 1, why, whylen) != 0)
		return -1;
	if (len == 0)
		return 0;
	value_quote(value, shown, sizeof(shown));
	if (value[0] != '/') {
		snprintf(why, whylen,
			 "%s is not an absolute path; write the full path of the file, e.g. %s = /var/lib/node_exporter/textfile_collector/mfa_sweeper.prom",
			 shown, decl->name);
		return -1;
	}
	if (value[len - 1] == '/') {
		char example[VALUE_QUOTE_MAX];
		char *file = NULL;

		/* The example repeats the path: shown safely, like the value. */
		if (asprintf(&file, "%smfa_sweeper.prom", value) < 0)
			file = NULL;
		value_quote(file ? file : "", example, sizeof(example));
		free(file);
		snprintf(why, whylen,
			 "%s names a directory; write the path of a file in it, e.g. %s",
			 shown, example);
		return -1;
	}
	return 0;
}

static int rule_name_valid(const char *name)
{
	const char *p;

	if (!*name)
		return 0;
	for (p = name; *p; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		      *p == '_'))
			return 0;
	}
	return 1;
}

static int check_rules(const struct sweeper_key *decl, const char *value,
		       char *why, size_t whylen)
{
	char shown[VALUE_QUOTE_MAX];
	char **names = NULL;
	size_t n = 0;
	size_t i;
	size_t j;
	int ret = -1;

	if (value_is_quoted(value))
		return quoted_fix(value, why, whylen);
	value_quote(value, shown, sizeof(shown));
	if (list_split(value, &names, &n) != 0) {
		snprintf(why, whylen,
			 "%s has an empty name between commas; write the names separated by commas on one line, e.g. %s = %s",
			 shown, decl->name, decl->default_value);
		goto out;
	}
	if (n == 0) {
		snprintf(why, whylen,
			 "no rules listed; list at least one, e.g. %s = %s",
			 decl->name, decl->default_value);
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (!rule_name_valid(names[i])) {
			value_quote(names[i], shown, sizeof(shown));
			snprintf(why, whylen,
				 "%s is not a rule name; rule names use only a-z, 0-9 and _, and commas separate them",
				 shown);
			goto out;
		}
		for (j = 0; j < i; j++) {
			if (strcmp(names[i], names[j]) == 0) {
				value_quote(names[i], shown, sizeof(shown));
				snprintf(why, whylen,
					 "%s is listed twice; list each rule once",
					 shown);
				goto out;
			}
		}
	}
	ret = 0;
out:
	list_free(names, n);
	return ret;
}

/*
 * A webhook URL often carries its own credential (Slack's do), so the
 * messages about it never repeat it either.
 */
static int check_url(const struct sweeper_key *decl, const char *value,
		     char *why, size_t whylen)
{
	const unsigned char *p;
	size_t skip;

	if (value[0] == '\0')
		return 0;
	if (value_is_quoted(value)) {
		snprintf(why, whylen,
			 "the value is in quotes; remove them (quotes would be part of the URL)");
		return -1;
	}
	if (strncasecmp(value, "http://", 7) == 0)
		skip = 7;
	else if (strncasecmp(value, "https://", 8) == 0)
		skip = 8;
	else
		skip = 0;
	if (skip == 0 || value[skip] == '\0' || value[skip] == '/') {
		snprintf(why, whylen,
			 "the value is not an http:// or https:// address; write the full address, e.g. %s = https://hooks.example.com/mfa-sweeper, or leave it empty for no webhook",
			 decl->name);
		return -1;
	}
	for (p = (const unsigned char *)value; *p; p++) {
		if (*p <= 0x20 || *p == 0x7f) {
			snprintf(why, whylen,
				 "the address holds a blank or control character (character %zu); percent-encode it (a blank is %%20), or put a comment on its own line",
				 (size_t)(p - (const unsigned char *)value) + 1);
			return -1;
		}
	}
	return 0;
}

/*
 * PostgreSQL would cut the name to 63 bytes and find another object, or
 * none: both are worse than saying so here.
 */
static int name_too_long(const char *value, const char *what, char *why,
			 size_t whylen)
{
	char shown[VALUE_QUOTE_MAX];

	value_quote(value, shown, sizeof(shown));
	snprintf(why, whylen,
		 "%s holds a %s name longer than %d bytes, which PostgreSQL would silently cut short into another name; shorten it to at most %d bytes (each part of schema.table counts alone)",
		 shown, what, IDENT_NAME_MAX, IDENT_NAME_MAX);
	return -1;
}

/* What a schema key names, for the checks and their messages. */
enum schema_kind {
	SCHEMA_TABLE,
	SCHEMA_COLUMN,
	SCHEMA_OPTIONAL_COLUMN
};

static int check_schema(const struct sweeper_key *decl, const char *value,
			enum schema_kind kind, char *why, size_t whylen)
{
	char shown[VALUE_QUOTE_MAX];
	char quoted[IDENT_MAX];
	const char *what = kind == SCHEMA_TABLE ? "table" : "column";
	int rc;

	if (value[0] == '\0') {
		if (kind == SCHEMA_OPTIONAL_COLUMN)
			return 0;
		snprintf(why, whylen,
			 "the value is empty; write the %s name, e.g. %s = %s",
			 what, decl->name, decl->default_value);
		return -1;
	}
	value_quote(value, shown, sizeof(shown));

	/*
	 * Double quotes are identifier syntax here ("odd.schema".table), but
	 * single quotes never are: 'accounts_user' would name a table whose
	 * name has quotes in it.
	 */
	if (value[0] == '\'' && value_is_quoted(value))
		return quoted_fix(value, why, whylen);
	/* "public . users" would name " users" in "public ". */
	if (kind == SCHEMA_TABLE && !strchr(value, '"') &&
	    (strstr(value, " .") || strstr(value, ". ") ||
	     strstr(value, "\t.") || strstr(value, ".\t"))) {
		snprintf(why, whylen,
			 "%s has blanks around the '.'; write schema.table without them, e.g. %s = public.%s",
			 shown, decl->name, decl->default_value);
		return -1;
	}

	if (kind == SCHEMA_TABLE)
		rc = ident_quote(value, quoted, sizeof(quoted));
	else
		rc = ident_quote_column(value, quoted, sizeof(quoted));
	if (rc == 0)
		return 0;
	if (rc == IDENT_TOO_LONG)
		return name_too_long(value, kind == SCHEMA_TABLE ?
				     "table or schema" : "column", why, whylen);
	if (kind == SCHEMA_TABLE)
		snprintf(why, whylen,
			 "%s is not a table name; write table or schema.table in printable UTF-8, with double quotes around a part that holds a dot, e.g. %s = %s",
			 shown, decl->name, decl->default_value);
	else
		snprintf(why, whylen,
			 "%s is not a column name; write one name in printable UTF-8, in double quotes if it holds a dot, e.g. %s = %s",
			 shown, decl->name, decl->default_value);
	return -1;
}

static int check_table(const struct sweeper_key *decl, const char *value,
		       char *why, size_t whylen)
{
	return check_schema(decl, value, SCHEMA_TABLE, why, whylen);
}

static int check_column(const struct sweeper_key *decl, const char *value,
			char *why, size_t whylen)
{
	return check_schema(decl, value, SCHEMA_COLUMN, why, whylen);
}

/* Columns a table may lack; the rules then change meaning (doc/design.md "Rule semantics"). */
static int check_optional_column(const struct sweeper_key *decl,
				 const char *value, char *why, size_t whylen)
{
	return check_schema(decl, value, SCHEMA_OPTIONAL_COLUMN, why, whylen);
}

/* The ledger's schema is one PostgreSQL name: no "schema.table" here. */
static int check_ledger_schema(const struct sweeper_key *decl,
			       const char *value, char *why, size_t whylen)
{
	char shown[VALUE_QUOTE_MAX];
	char quoted[IDENT_MAX];
	int rc;

	if (value[0] == '\0') {
		snprintf(why, whylen,
			 "the value is empty; write a schema name, e.g. %s = %s",
			 decl->name, decl->default_value);
		return -1;
	}
	if (value[0] == '\'' && value_is_quoted(value))
		return quoted_fix(value, why, whylen);
	rc = ident_quote_column(value, quoted, sizeof(quoted));
	if (rc == 0)
		return 0;
	if (rc == IDENT_TOO_LONG)
		return name_too_long(value, "schema", why, whylen);
	value_quote(value, shown, sizeof(shown));
	snprintf(why, whylen,
		 "%s is not a schema name; write one name in printable UTF-8, in double quotes if it holds a dot, e.g. %s = %s",
		 shown, decl->name, decl->default_value);
	return -1;
}

/*
 * A check of one core key's value beyond its declared type.  Writes the
 * problem and the fix, without the key's name, into `why`.
 */
typedef int (*core_check_fn)(const struct sweeper_key *decl,
			     const char *value, char *why, size_t whylen);

struct core_check {
	const char *section;
	const char *key;
	core_check_fn check;
	int literal;    /* may hold a credential, so its own check alone
			 * judges it, " #" included, and never repeats it */
};

/* Keys not listed here are checked by value_check() alone. */
static const struct core_check core_checks[] = {
	{ "database", "dsn", check_dsn, 1 },
	{ "database", "password_file", check_secret_file, 0 },
	{ "database", "lock_timeout", check_pg_timeout, 0 },
	{ "database", "statement_timeout", check_pg_timeout, 0 },
	{ "database", "time_zone", check_time_zone, 0 },
	{ "database", "lease_ttl", check_lease_ttl, 0 },
	{ "sweeper", "plugin_dir", check_plugin_dir, 0 },
	{ "sweeper", "rules", check_rules, 0 },
	{ "sweeper", "batch_size", check_batch_size, 0 },
	{ "sweeper", "metrics_file", check_metrics_file, 0 },
	{ "sweeper", "retries", check_retries, 0 },
	{ "sweeper", "batch_target", check_batch_target, 0 },
	{ "sweeper", "batch_min", check_batch_bound, 0 },
	{ "sweeper", "batch_max", check_batch_bound, 0 },
	{ "sweeper", "pause_ratio", check_pause_ratio, 0 },
	{ "sweeper", "jobs", check_jobs, 0 },
	{ "sweeper", "workers", check_workers, 0 },
	{ "sweeper", "max_rate", check_max_rate, 0 },
	{ "schema", "users_table", check_table, 0 },
	{ "schema", "user_id_column", check_column, 0 },
	{ "schema", "user_email_column", check_column, 0 },
	{ "schema", "mfa_enrolled_column", check_column, 0 },
	{ "schema", "mfa_disabled_at_column", check_column, 0 },
	{ "schema", "devices_table", check_table, 0 },
	{ "schema", "device_id_column", check_column, 0 },
	{ "schema", "device_user_column", check_column, 0 },
	{ "schema", "device_confirmed_column", check_column, 0 },
	{ "schema", "device_created_at_column", check_optional_column, 0 },
	{ "schema", "codes_table", check_table, 0 },
	{ "schema", "code_id_column", check_column, 0 },
	{ "schema", "code_user_column", check_column, 0 },
	{ "schema", "code_used_column", check_optional_column, 0 },
	{ "schema", "code_used_at_column", check_column, 0 },
	{ "schema", "code_created_at_column", check_optional_column, 0 },
	{ "webhook", "url", check_url, 1 },
	{ "webhook", "secret", check_webhook_secret, 1 },
	{ "webhook", "secret_file", check_secret_file, 0 },
	{ "webhook", "timeout", check_webhook_timeout, 0 },
	{ "webhook", "retries", check_retries, 0 },
	{ "webhook", "max_time", check_webhook_timeout, 0 },
	{ "ledger", "schema", check_ledger_schema, 0 },
};

int core_value_check(const char *section, const struct sweeper_key *decl,
		     const char *value, char *why, size_t whylen)
{
	const struct core_check *c = NULL;
	size_t i;

	for (i = 0; i < sizeof(core_checks) / sizeof(core_checks[0]); i++) {
		if (strcmp(core_checks[i].section, section) == 0 &&
		    strcmp(core_checks[i].key, decl->name) == 0)
			c = &core_checks[i];
	}
	if ((!c || !c->literal) && value_has_hash_comment(value)) {
		value_explain_hash_comment(value, why, whylen);
		return -1;
	}
	if (c)
		return c->check(decl, value, why, whylen);
	return value_check(decl, value, why, whylen);
}
