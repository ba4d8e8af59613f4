/*
 * fuzz_config.c: the configuration file parser (config_load()) on
 * arbitrary file contents, and config_check_rule() on the [rule.NAME]
 * sections of every file it accepts.
 *
 * What must hold: a refused file gives one printable, non-empty line of
 * UTF-8 (it goes to the terminal, the journal and the JSON summary); an
 * accepted one resolves to settings within their documented ranges; and
 * nothing leaks or reads out of bounds either way.
 */
#include <string.h>

#include "config.h"
#include "config_keys.h"
#include "fuzz.h"

/* A rule plugin's declared keys: one of each type, one of them required. */
static const struct sweeper_key fuzz_rule_keys[] = {
	{ "max_age", SWEEPER_KEY_DURATION, "90d", NULL, "a duration" },
	{ "limit", SWEEPER_KEY_INT, "10", NULL, "a number" },
	{ "enabled", SWEEPER_KEY_BOOL, "true", NULL, "a boolean" },
	{ "mode", SWEEPER_KEY_ENUM, "keep", "keep|delete|Archive", "a choice" },
	{ "note", SWEEPER_KEY_STRING, "", NULL, "any text" },
	{ "table", SWEEPER_KEY_STRING, NULL, NULL, "required" },
	{ NULL, 0, NULL, NULL, NULL }
};

static void fuzz_check_message(const char *err, size_t errlen)
{
	size_t len = strlen(err);

	FUZZ_CHECK(len > 0, "a refusal without a message");
	FUZZ_CHECK(!fuzz_has_control(err),
		   "a message with a control character or line break");
	/* A message cut by the buffer may end inside a character. */
	if (len + 1 < errlen)
		FUZZ_CHECK(fuzz_utf8_valid(err, len),
			   "a message that is not UTF-8");
}

static int fuzz_rule_name_ok(const char *name)
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

static void fuzz_check_config(const struct config *cfg)
{
	char err[4096];
	size_t i, j;

	FUZZ_CHECK(cfg->nrules > 0, "an accepted config without rules");
	for (i = 0; i < cfg->nrules; i++) {
		FUZZ_CHECK(fuzz_rule_name_ok(cfg->rules[i]),
			   "a rule name outside [a-z0-9_]+");
		for (j = 0; j < i; j++)
			FUZZ_CHECK(strcmp(cfg->rules[i], cfg->rules[j]) != 0,
				   "a rule listed twice");
	}
	FUZZ_CHECK(cfg->plugin_dir && cfg->plugin_dir[0] == '/',
		   "plugin_dir not absolute");
	FUZZ_CHECK(cfg->batch_size >= 0 && cfg->batch_size <= 1000000,
		   "batch_size out of range");
	FUZZ_CHECK(cfg->batch_min >= 1 && cfg->batch_min <= cfg->batch_max &&
		   cfg->batch_max <= 1000000, "batch_min/batch_max out of range");
	FUZZ_CHECK(cfg->retries >= 0 && cfg->retries <= 20,
		   "retries out of range");
	FUZZ_CHECK(cfg->batch_target_ms > 0, "batch_target not above 0");
	FUZZ_CHECK(cfg->pause_ratio >= 0 && cfg->pause_ratio <= 100,
		   "pause_ratio out of range");
	FUZZ_CHECK(cfg->lock_timeout_ms >= 0 &&
		   cfg->statement_timeout_ms >= 0 &&
		   cfg->max_runtime_ms >= 0 && cfg->pause_ms >= 0 &&
		   cfg->retry_backoff_ms >= 0 && cfg->stop_timeout_ms >= 0 &&
		   cfg->max_replica_lag_ms >= 0 && cfg->max_throttle_ms >= 0 &&
		   cfg->webhook_timeout_ms >= 0 &&
		   cfg->webhook_max_time_ms >= 0 &&
		   cfg->webhook_backoff_ms >= 0, "a negative duration");
	FUZZ_CHECK(cfg->max_rows >= 0 && cfg->webhook_retries >= 0,
		   "a negative count");
	FUZZ_CHECK(cfg->dsn && cfg->webhook_url && cfg->webhook_format &&
		   cfg->webhook_secret && cfg->webhook_secret_file &&
		   cfg->metrics_file && cfg->ledger_schema,
		   "a string setting left NULL");

	for (i = 0; i < cfg->nentries; i++) {
		const struct config_entry *e = &cfg->entries[i];

		FUZZ_CHECK(config_entry_find(cfg, e->section, e->key) == e,
			   "a key accepted twice");
		if (core_section_find(e->section))
			continue;
		FUZZ_CHECK(strncmp(e->section, "rule.", 5) == 0,
			   "an entry in an unknown section");
		for (j = 0; j < cfg->nrules; j++) {
			if (strcmp(e->section + 5, cfg->rules[j]) == 0)
				break;
		}
		FUZZ_CHECK(j < cfg->nrules, "a section for an unlisted rule");
	}

	for (i = 0; i < cfg->nrules; i++) {
		if (config_check_rule(cfg, cfg->rules[i], fuzz_rule_keys, err,
				      sizeof(err)) != 0)
			fuzz_check_message(err, sizeof(err));
		if (config_check_rule(cfg, cfg->rules[i], NULL, err,
				      sizeof(err)) != 0)
			fuzz_check_message(err, sizeof(err));
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct config cfg;
	char err[4096];
	const char *path = fuzz_file(data, size);

	if (config_load(&cfg, path, err, sizeof(err)) != 0) {
		fuzz_check_message(err, sizeof(err));
		/* A refused config is still safe to free. */
		config_free(&cfg);
		return 0;
	}
	fuzz_check_config(&cfg);
	config_free(&cfg);
	return 0;
}
