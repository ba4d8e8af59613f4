/*
 * cxx_rule: a valid test plugin written in C++, to prove that
 * sweeper/plugin.h builds as C++ (key table, SWEEPER_KEYS_END,
 * SWEEPER_PLUGIN() with designated initialisers) and that the loader finds
 * the entry point it exports.  Built with g++ -std=c++20 -Wall -Wextra
 * -Werror by the Makefile.
 *
 * It deletes the backup codes whose code_hash starts with `prefix`
 * (default "must-go-cxx-"), and with `which = used` (the default) only
 * those used longer ago than `max_age`.  Its state is a C++ object made in
 * init() and destroyed in fini(), and its predicate a std::string, so the
 * C++ runtime is really there.
 */
#include <cstdio>
#include <new>
#include <string>

#include <sweeper/plugin.h>

namespace {

const struct sweeper_key keys[] = {
	{ "prefix", SWEEPER_KEY_STRING, "must-go-cxx-", nullptr,
	  "delete codes whose code_hash starts with this" },
	{ "which", SWEEPER_KEY_ENUM, "used", "used|any",
	  "used: only codes used longer ago than max_age; any: all of them" },
	{ "max_age", SWEEPER_KEY_DURATION, "1d", SWEEPER_RANGE("1h", "3650d"),
	  "how long ago a code must have been used" },
	SWEEPER_KEYS_END
};

class cxx_rule_state {
public:
	std::string like;          // $1: the prefix as a LIKE pattern
	std::string interval;      // $2: max_age
	std::string predicate;
};

int cxx_rule_init(const struct sweeper_host_api *api, struct sweeper_ctx *ctx,
		  void **state, char *err, size_t errlen)
{
	char used_at[SWEEPER_QUOTED_MAX];
	char interval[SWEEPER_INTERVAL_MAX];
	const char *prefix = api->config_get(ctx, "prefix");
	int which = -1;

	if (!prefix || api->config_enum(ctx, "which", &which) != SWEEPER_OK ||
	    api->config_interval(ctx, "max_age", interval,
				 sizeof(interval)) != SWEEPER_OK ||
	    api->quote_column(ctx, "used_at", used_at,
			      sizeof(used_at)) != SWEEPER_OK)
		return -1;
	cxx_rule_state *st = new (std::nothrow) cxx_rule_state;
	if (!st) {
		std::snprintf(err, errlen, "out of memory");
		return -1;
	}
	st->like = std::string(prefix) + "%";
	st->interval = interval;
	st->predicate = "t.\"code_hash\" LIKE $1";
	if (which == 0)
		st->predicate += std::string(" AND t.") + used_at +
				 " < now() - $2::interval";
	else
		st->predicate += " AND $2::interval IS NOT NULL";
	*state = st;
	return 0;
}

int cxx_rule_plan(const struct sweeper_host_api *api, struct sweeper_ctx *ctx,
		  void *state, char *err, size_t errlen)
{
	const cxx_rule_state *st = static_cast<const cxx_rule_state *>(state);
	const char *params[] = { st->like.c_str(), st->interval.c_str() };
	const struct sweeper_time_column times[] = { { nullptr, "used_at" } };
	const struct sweeper_step step = {
		.size = sizeof(step),
		.table = "accounts_backupcode",
		.key_column = "id",
		.user_column = "user_id",
		.predicate = st->predicate.c_str(),
		.nparams = 2,
		.params = params,
		.label = "codes of a C++ rule",
		.ntime_columns = 1,
		.time_columns = times,
		.joined_predicate = nullptr,
	};

	(void)err;
	(void)errlen;
	return api->add_step(ctx, &step);
}

void cxx_rule_fini(void *state)
{
	delete static_cast<cxx_rule_state *>(state);
}

} // namespace

SWEEPER_PLUGIN(.name = "cxx_rule", .version = "1.0",
	       .description = "test plugin written in C++", .keys = keys,
	       .init = cxx_rule_init, .plan = cxx_rule_plan,
	       .fini = cxx_rule_fini);
