/*
 * config_keys.h: the keys of the core sections ([database], [sweeper],
 * [schema], [webhook], [ledger]) and the checks of their values, for config.c.
 *
 * The key tables themselves are declared in config.h, which exports them
 * for --list-rules and the tests; this header holds what only the reading
 * of the file needs.  Everything it returns is static data: never freed,
 * valid for the whole run.
 */
#ifndef SWEEPER_CONFIG_KEYS_H
#define SWEEPER_CONFIG_KEYS_H

#include <stddef.h>

#include "sweeper/plugin.h"

/* One core section: its name without the brackets, and its keys. */
struct core_section {
	const char *name;                 /* "database", ... */
	const struct sweeper_key *keys;   /* NULL-name terminated */
};

/*
 * The core sections in the order of the example config, ended by an entry
 * whose name is NULL.  For suggesting a section name to a typo.
 */
extern const struct core_section core_sections[];

/* The core section called `name` (exact case), or NULL. */
const struct core_section *core_section_find(const char *name);

/*
 * The key called `name` (exact case) in `keys`, a NULL-name terminated
 * table that may itself be NULL for none, or NULL.  Borrowed from `keys`:
 * it serves the core tables and the ones rule plugins declare alike.
 */
const struct sweeper_key *key_table_find(const struct sweeper_key *keys,
					 const char *name);

/* The key `key` of the core section `section`, or NULL if either does not
 * exist. */
const struct sweeper_key *core_key_find(const char *section, const char *key);

/*
 * The name of the core section that declares a key called `key` (the first
 * in table order), or NULL.  For telling where a misplaced key belongs.
 */
const char *core_key_locate(const char *key);

/*
 * Check `value` (not NULL), as written in the file for the core key `decl`
 * of `section`: a '#' comment after it, its declared type, and what the key
 * needs beyond its type (ranges, table and column names, URLs, paths, the
 * rules list).  Returns 0 when valid.  Otherwise returns -1 and writes into
 * `why` (at most `whylen` bytes) the problem and the fix, without the
 * section or key name.  dsn and secret may hold passwords: they are taken
 * literally, '#' included, and `why` never repeats them.
 */
int core_value_check(const char *section, const struct sweeper_key *decl,
		     const char *value, char *why, size_t whylen);

#endif /* SWEEPER_CONFIG_KEYS_H */
