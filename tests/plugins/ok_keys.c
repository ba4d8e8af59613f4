/*
 * ok_keys: a valid test plugin that declares one config key of each type
 * and plans no work, for the tests of plugin key validation.
 *
 *     text   string    default "hello world"
 *     flag   bool      default false
 *     count  int       default 3
 *     wait   duration  default 90s
 *     mode   enum      keep|delete, default keep
 *
 * plan() logs the values as the host API returns them, at INFO, as one line
 *
 *     text='hello world' flag=false count=3 wait_ms=90000 mode=keep
 *
 * so a test can write a [rule.ok_keys] section and check both what the core
 * accepts and what the plugin is handed.  init() also checks the parts of
 * the host API contract a key test relies on (typed readers refuse a key of
 * another type or an undeclared key, quote_column() takes one name only,
 * add_step() refuses outside plan()) and
 * fails with a message starting "host api:" when the host breaks them.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <sweeper/plugin.h>

#include "stub.h"

static const struct sweeper_key ok_keys_keys[] = {
	{ "text", SWEEPER_KEY_STRING, "hello world", NULL, "any text" },
	{ "flag", SWEEPER_KEY_BOOL, "false", NULL, "a boolean" },
	{ "count", SWEEPER_KEY_INT, "3", NULL, "a whole number" },
	{ "wait", SWEEPER_KEY_DURATION, "90s", NULL, "a duration" },
	{ "mode", SWEEPER_KEY_ENUM, "keep", "keep|delete", "keep or delete" },
	{ NULL, 0, NULL, NULL, NULL }
};

__attribute__((format(printf, 3, 4)))
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int ok_keys_init(const struct sweeper_host_api *api,
			struct sweeper_ctx *ctx, void **state, char *err,
			size_t errlen)
{
	struct sweeper_step step = STUB_CODES_STEP("false", "must be refused");
	long long n;
	int b;
	int rc;

	(void)state;
	rc = api->config_int(ctx, "text", &n);
	if (rc != SWEEPER_ERR_TYPE) {
		set_err(err, errlen,
			"host api: config_int() on string key text returned %d, not SWEEPER_ERR_TYPE (%d)",
			rc, SWEEPER_ERR_TYPE);
		return -1;
	}
	rc = api->config_bool(ctx, "no_such_key", &b);
	if (rc != SWEEPER_ERR_NOKEY) {
		set_err(err, errlen,
			"host api: config_bool() on undeclared key no_such_key returned %d, not SWEEPER_ERR_NOKEY (%d)",
			rc, SWEEPER_ERR_NOKEY);
		return -1;
	}
	if (api->config_get(ctx, "no_such_key")) {
		set_err(err, errlen,
			"host api: config_get() on undeclared key no_such_key returned a value, not NULL");
		return -1;
	}
	{
		char q[64];

		/* A column is one name: "a.b" must not become "a"."b". */
		if (api->quote_column(ctx, "a.b", q, sizeof(q)) != SWEEPER_ERR_RANGE ||
		    api->quote_column(ctx, "Odd \"Col", q, sizeof(q)) != SWEEPER_OK ||
		    strcmp(q, "\"Odd \"\"Col\"") != 0 ||
		    api->quote_ident(ctx, "s.t", q, sizeof(q)) != SWEEPER_OK ||
		    strcmp(q, "\"s\".\"t\"") != 0) {
			set_err(err, errlen,
				"host api: quote_column()/quote_ident() do not quote as documented");
			return -1;
		}
	}
	rc = api->add_step(ctx, &step);
	if (rc != SWEEPER_ERR_PHASE) {
		set_err(err, errlen,
			"host api: add_step() in init returned %d, not SWEEPER_ERR_PHASE (%d)",
			rc, SWEEPER_ERR_PHASE);
		return -1;
	}
	return 0;
}

static int ok_keys_plan(const struct sweeper_host_api *api,
			struct sweeper_ctx *ctx, void *state, char *err,
			size_t errlen)
{
	const char *text;
	const char *mode;
	long long count;
	long long wait_ms;
	int flag;

	(void)state;
	text = api->config_get(ctx, "text");
	mode = api->config_get(ctx, "mode");
	if (!text || !mode) {
		set_err(err, errlen, "host api: config_get() gave no value for %s",
			text ? "mode" : "text");
		return -1;
	}
	if (api->config_bool(ctx, "flag", &flag) != SWEEPER_OK) {
		set_err(err, errlen, "host api: cannot read bool key flag");
		return -1;
	}
	if (api->config_int(ctx, "count", &count) != SWEEPER_OK) {
		set_err(err, errlen, "host api: cannot read int key count");
		return -1;
	}
	if (api->config_duration_ms(ctx, "wait", &wait_ms) != SWEEPER_OK) {
		set_err(err, errlen, "host api: cannot read duration key wait");
		return -1;
	}
	api->log(ctx, SWEEPER_LOG_INFO,
		 "text='%s' flag=%s count=%lld wait_ms=%lld mode=%s", text,
		 flag ? "true" : "false", count, wait_ms, mode);
	return 0;
}

static const struct sweeper_plugin ok_keys = {
	SWEEPER_PLUGIN_HEADER,
	"ok_keys", "1.0", "test plugin declaring one key of each type",
	ok_keys_keys, ok_keys_init, ok_keys_plan, NULL
};

SWEEPER_PLUGIN_DEFINE(ok_keys)
