/*
 * test_plugin_loader.c: unit tests of the plugin loader.
 *
 * plugin_descriptor_check() is tested on descriptors built here, one bad
 * field at a time.  plugin_load() is tested on real shared objects: the
 * built rule plugins and the deliberately broken ones of tests/plugins,
 * copied into fresh directories made with mkdtemp() so that each test sets
 * the owners and modes it needs.  The built .so files are found under the
 * build tree named by $SWEEPER_BUILD (default "build"), which `make
 * test-progs` fills.
 *
 * The tests check that each error names what is wrong (the field, both
 * values, the path, the rule), not the exact wording, so that messages can
 * be improved without touching them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "plugin_loader.h"
#include "rule.h"
#include "../plugins/stub.h"

#define ERRLEN 512

/* The temporary directory each plugin_load() test works in. */
struct fixture {
	char dir[64];
};

/* Fails the test, showing the whole message, unless it contains `needle`
 * in any case. */
#define assert_err_has(err, needle) \
	do { \
		if (!strcasestr((err), (needle))) \
			fail_msg("error '%s' does not mention '%s'", (err), \
				 (needle)); \
	} while (0)

/*
 * True when `err` shows `value` in one of the ways a message may print a
 * 32-bit field: decimal, or hexadecimal with or without padding.
 */
static int mentions_u32(const char *err, uint32_t value)
{
	static const char *const formats[] = {
		"%u", "0x%x", "0x%08x", "%08x"
	};
	char text[32];
	size_t i;

	for (i = 0; i < sizeof(formats) / sizeof(formats[0]); i++) {
		snprintf(text, sizeof(text), formats[i], (unsigned)value);
		if (strcasestr(err, text))
			return 1;
	}
	return 0;
}

#define assert_err_has_u32(err, value) \
	do { \
		if (!mentions_u32((err), (value))) \
			fail_msg("error '%s' does not show the value %u (0x%x)", \
				 (err), (unsigned)(value), (unsigned)(value)); \
	} while (0)

/* A plugin_load() that fails must leave nothing behind. */
#define assert_plugin_zeroed(p) \
	do { \
		assert_null((p)->handle); \
		assert_null((p)->desc); \
		assert_null((p)->name); \
		assert_null((p)->path); \
	} while (0)

/* ---- plugin_descriptor_check() ---------------------------------------- */

/* A descriptor that passes every check for rule "my_rule". */
static struct sweeper_plugin good_descriptor(void)
{
	struct sweeper_plugin d = {
		SWEEPER_PLUGIN_HEADER, "my_rule", "1.0", "test rule",
		NULL, NULL, stub_plan, NULL
	};

	return d;
}

/* Run the check, expecting failure with a non-empty one-line message. */
static void check_fails(const struct sweeper_plugin *d, char *err)
{
	memset(err, 0, ERRLEN);
	assert_int_equal(plugin_descriptor_check(d, "my_rule", err, ERRLEN),
			 -1);
	assert_true(err[0] != '\0');
	assert_null(strchr(err, '\n'));
}

static void test_descriptor_good(void **state)
{
	struct sweeper_plugin d = good_descriptor();
	char err[ERRLEN] = "";

	(void)state;
	assert_int_equal(plugin_descriptor_check(&d, "my_rule", err,
						 sizeof(err)), 0);
}

static void test_descriptor_null(void **state)
{
	char err[ERRLEN];

	(void)state;
	memset(err, 0, sizeof(err));
	assert_int_equal(plugin_descriptor_check(NULL, "my_rule", err,
						 sizeof(err)), -1);
	assert_err_has(err, "my_rule");
}

static void test_descriptor_magic(void **state)
{
	struct sweeper_plugin d = good_descriptor();
	char err[ERRLEN];

	(void)state;
	d.magic = 0xdeadbeefu;
	check_fails(&d, err);
	assert_err_has(err, "magic");
	assert_err_has(err, "my_rule");
	assert_err_has_u32(err, 0xdeadbeefu);
	assert_err_has_u32(err, SWEEPER_PLUGIN_MAGIC);
}

static void test_descriptor_abi_version(void **state)
{
	struct sweeper_plugin d = good_descriptor();
	char err[ERRLEN];

	(void)state;
	d.abi_version = 99;
	check_fails(&d, err);
	assert_err_has(err, "abi_version");
	assert_err_has(err, "99");
	assert_err_has_u32(err, SWEEPER_ABI_VERSION);

	/* An older ABI is as incompatible as a newer one. */
	d.abi_version = 0;
	check_fails(&d, err);
	assert_err_has(err, "abi_version");
}

static void test_descriptor_size(void **state)
{
	struct sweeper_plugin d = good_descriptor();
	uint32_t small = (uint32_t)offsetof(struct sweeper_plugin, plan);
	char err[ERRLEN];

	(void)state;
	d.size = small;
	check_fails(&d, err);
	assert_err_has(err, "size");
	assert_err_has_u32(err, small);
	assert_err_has_u32(err, (uint32_t)sizeof(struct sweeper_plugin));

	d.size = 0;
	check_fails(&d, err);
	assert_err_has(err, "size");
}

/*
 * Structs grow only at the end: a plugin built against a later header of
 * the same ABI version reports a larger size and must still load.
 */
static void test_descriptor_size_larger_ok(void **state)
{
	struct sweeper_plugin d = good_descriptor();
	char err[ERRLEN] = "";

	(void)state;
	d.size = (uint32_t)sizeof(struct sweeper_plugin) + 16;
	assert_int_equal(plugin_descriptor_check(&d, "my_rule", err,
						 sizeof(err)), 0);
}

static void test_descriptor_name(void **state)
{
	struct sweeper_plugin d = good_descriptor();
	char err[ERRLEN];

	(void)state;
	d.name = "other_name";
	check_fails(&d, err);
	assert_err_has(err, "name");
	assert_err_has(err, "other_name");
	assert_err_has(err, "my_rule");

	/* A prefix is not the name. */
	d.name = "my_rul";
	check_fails(&d, err);
	assert_err_has(err, "my_rul");

	d.name = NULL;
	check_fails(&d, err);
	assert_err_has(err, "name");
}

static void test_descriptor_plan(void **state)
{
	struct sweeper_plugin d = good_descriptor();
	char err[ERRLEN];

	(void)state;
	d.plan = NULL;
	check_fails(&d, err);
	assert_err_has(err, "plan");
	assert_err_has(err, "null");
}

/* init, fini and keys are optional. */
static void test_descriptor_optional_fields(void **state)
{
	struct sweeper_plugin d = good_descriptor();
	char err[ERRLEN] = "";

	(void)state;
	d.init = NULL;
	d.fini = NULL;
	d.keys = NULL;
	d.version = NULL;
	d.description = NULL;
	assert_int_equal(plugin_descriptor_check(&d, "my_rule", err,
						 sizeof(err)), 0);
}

/*
 * The loader checks every key's declaration, so that a plugin's mistake
 * is reported as the plugin's, naming the key, before any config is read.
 */
static void test_descriptor_keys(void **state)
{
	struct sweeper_key keys[4] = {
		{ "max_age", SWEEPER_KEY_DURATION, "7d",
		  SWEEPER_RANGE("1h", "30d"), "help" },
		{ "mode", SWEEPER_KEY_ENUM, "keep", "keep|delete", "help" },
		{ "table", SWEEPER_KEY_STRING, NULL, "ignored for strings",
		  "help" },
		SWEEPER_KEYS_END
	};
	struct sweeper_plugin d = good_descriptor();
	char err[ERRLEN] = "";

	(void)state;
	d.keys = keys;
	assert_int_equal(plugin_descriptor_check(&d, "my_rule", err,
						 sizeof(err)), 0);

	keys[0].default_value = "90d";
	check_fails(&d, err);
	assert_err_has(err, "'max_age'");
	assert_err_has(err, "default");
	assert_err_has(err, "from 1h to 30d");
	assert_err_has(err, "fix the plugin");
	keys[0].default_value = "7d";

	keys[0].choices = "30d..1h";
	check_fails(&d, err);
	assert_err_has(err, "'max_age'");
	assert_err_has(err, "'30d..1h'");
	assert_err_has(err, "SWEEPER_RANGE");
	keys[0].choices = SWEEPER_RANGE("1h", "30d");

	keys[1].choices = NULL;
	check_fails(&d, err);
	assert_err_has(err, "'mode'");
	assert_err_has(err, "no choices");
	keys[1].choices = "keep|delete";

	keys[2].type = (enum sweeper_key_type)9;
	check_fails(&d, err);
	assert_err_has(err, "'table'");
	assert_err_has(err, "unknown type 9");
	keys[2].type = SWEEPER_KEY_STRING;

	keys[2].name = "max_age";
	check_fails(&d, err);
	assert_err_has(err, "'max_age'");
	assert_err_has(err, "twice");
	keys[2].name = "";
	check_fails(&d, err);
	assert_err_has(err, "empty name");
}

/*
 * The layouts of the first release of ABI version 1, declared here as
 * plugins built against it compiled them.  The header may only append:
 * every member they had must keep its offset, and the structs that come
 * in arrays (keys, time columns) must keep their size.
 */
struct v1_key {
	const char *name;
	enum sweeper_key_type type;
	const char *default_value;
	const char *choices;
	const char *help;
};

struct v1_plugin {
	uint32_t magic, abi_version, size;
	const char *name, *version, *description;
	const struct sweeper_key *keys;
	void *init, *plan, *fini;
};

struct v1_host_api {
	uint32_t size, abi_version;
	void *config_get, *config_bool, *config_int, *config_duration_ms;
	void *schema_get, *quote_ident, *log, *add_step, *run_info;
	void *set_user_filter, *quote_column;
};

#define SAME_OFFSET(a, b, m) \
	_Static_assert(offsetof(struct a, m) == offsetof(struct b, m), \
		       #a "." #m " moved")

_Static_assert(sizeof(struct sweeper_key) == sizeof(struct v1_key),
	       "struct sweeper_key comes in arrays: its size is frozen");
SAME_OFFSET(sweeper_key, v1_key, choices);
SAME_OFFSET(sweeper_key, v1_key, help);
_Static_assert(sizeof(struct sweeper_plugin) == sizeof(struct v1_plugin),
	       "struct sweeper_plugin grew: SWEEPER_PLUGIN() must still fill it");
SAME_OFFSET(sweeper_plugin, v1_plugin, keys);
SAME_OFFSET(sweeper_plugin, v1_plugin, fini);
SAME_OFFSET(sweeper_host_api, v1_host_api, add_step);
SAME_OFFSET(sweeper_host_api, v1_host_api, quote_column);
_Static_assert(sizeof(struct sweeper_time_column) == 2 * sizeof(char *),
	       "struct sweeper_time_column is frozen");

/* The functions added since: after every one of the first release. */
static void test_abi_layout(void **state)
{
	const struct sweeper_host_api *api = host_api();

	(void)state;
	assert_true(offsetof(struct sweeper_host_api, config_column) >=
		    sizeof(struct v1_host_api));
	assert_true(SWEEPER_API_HAS(api, quote_column));
	assert_true(SWEEPER_API_HAS(api, config_column));
	assert_true(SWEEPER_API_HAS(api, config_enum));
	assert_non_null(api->config_column);
	assert_non_null(api->schema_column);
	assert_non_null(api->config_interval);
	assert_non_null(api->config_enum);
	assert_int_equal(api->abi_version, SWEEPER_ABI_VERSION);
}

/* A short buffer gets a truncated, terminated message and nothing more. */
static void test_descriptor_short_buffer(void **state)
{
	struct sweeper_plugin d = good_descriptor();
	char err[32];
	size_t i;

	(void)state;
	d.magic = 0;
	memset(err, 'X', sizeof(err));
	assert_int_equal(plugin_descriptor_check(&d, "my_rule", err, 8), -1);
	assert_true(memchr(err, '\0', 8) != NULL);
	for (i = 8; i < sizeof(err); i++)
		assert_int_equal(err[i], 'X');
}

/* ---- plugin_load() ----------------------------------------------------- */

static const char *build_dir(void)
{
	const char *b = getenv("SWEEPER_BUILD");

	return (b && *b) ? b : "build";
}

/*
 * Copy the built object `rel` (relative to the build dir) to dir/name with
 * `mode`.  The mode is set with fchmod() so that the umask cannot change
 * it.
 */
static void install(const char *dir, const char *rel, const char *name,
		    mode_t mode)
{
	char src[4096];
	char dst[4096];
	char buf[65536];
	ssize_t n;
	int in;
	int out;

	snprintf(src, sizeof(src), "%s/%s", build_dir(), rel);
	snprintf(dst, sizeof(dst), "%s/%s", dir, name);
	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		fail_msg("cannot open %s: %s (run `make test-progs`, or set SWEEPER_BUILD)",
			 src, strerror(errno));
	out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0)
		fail_msg("cannot create %s: %s", dst, strerror(errno));
	for (;;) {
		n = read(in, buf, sizeof(buf));
		if (n < 0)
			fail_msg("cannot read %s: %s", src, strerror(errno));
		if (n == 0)
			break;
		if (write(out, buf, (size_t)n) != n)
			fail_msg("cannot write %s: %s", dst, strerror(errno));
	}
	assert_int_equal(fchmod(out, mode), 0);
	close(in);
	assert_int_equal(close(out), 0);
}

/* Install the test plugin NAME.so of tests/plugins as dir/NAME.so. */
static void install_test_plugin(const char *dir, const char *name)
{
	char rel[256];
	char file[256];

	snprintf(rel, sizeof(rel), "tests/plugins/%s.so", name);
	snprintf(file, sizeof(file), "%s.so", name);
	install(dir, rel, file, 0644);
}

/* Make dir/sub with `mode`, set with chmod() against the umask; the
 * path goes to out. */
static void make_subdir(const char *dir, const char *sub, mode_t mode,
			char *out, size_t outlen)
{
	int n = snprintf(out, outlen, "%s/%s", dir, sub);

	if (n < 0 || (size_t)n >= outlen)
		fail_msg("path too long: %s/%s", dir, sub);
	assert_int_equal(mkdir(out, 0700), 0);
	assert_int_equal(chmod(out, mode), 0);
}

static int remove_entry(const char *path, const struct stat *st, int type,
			struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (type == FTW_DP)
		return rmdir(path);
	return unlink(path);
}

static int setup_dir(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/sweeper-loader.XXXXXX");
	if (!mkdtemp(f->dir) || chmod(f->dir, 0755) != 0) {
		free(f);
		return -1;
	}
	*state = f;
	return 0;
}

static int teardown_dir(void **state)
{
	struct fixture *f = *state;
	int rc;

	/* Give the tree back its owner and modes so that it can go. */
	if (chmod(f->dir, 0755) != 0)
		return -1;
	rc = nftw(f->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return rc;
}

/* Load `name` from `dir`, expecting failure; the message goes to err. */
static void load_fails(const char *dir, const char *name, char *err)
{
	struct plugin p;

	memset(&p, 0xa5, sizeof(p));
	memset(err, 0, ERRLEN);
	assert_int_equal(plugin_load(&p, dir, name, err, ERRLEN), -1);
	assert_true(err[0] != '\0');
	assert_null(strchr(err, '\n'));
	assert_plugin_zeroed(&p);
	/* Safe to unload again, as every caller's cleanup does. */
	plugin_unload(&p);
}

/* Load `name` from `dir`, expecting success, and check what was loaded. */
static void load_ok(const char *dir, const char *name)
{
	struct plugin p;
	char err[ERRLEN] = "";
	char path[4096];

	if (plugin_load(&p, dir, name, err, sizeof(err)) != 0)
		fail_msg("loading %s from %s failed: %s", name, dir, err);
	assert_non_null(p.handle);
	assert_non_null(p.desc);
	assert_string_equal(p.name, name);
	assert_string_equal(p.desc->name, name);
	snprintf(path, sizeof(path), "%s/%s.so", dir, name);
	assert_string_equal(p.path, path);
	assert_int_equal(p.desc->magic, SWEEPER_PLUGIN_MAGIC);
	assert_int_equal(p.desc->abi_version, SWEEPER_ABI_VERSION);
	assert_non_null(p.desc->plan);
	plugin_unload(&p);
	assert_plugin_zeroed(&p);
}

static void test_load_real_plugins(void **state)
{
	static const char *const rules[] = {
		"user_disabled", "stale_devices", "used_backup_codes"
	};
	struct fixture *f = *state;
	char rel[256];
	char file[256];
	size_t i;

	for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		snprintf(rel, sizeof(rel), "plugins/%s.so", rules[i]);
		snprintf(file, sizeof(file), "%s.so", rules[i]);
		install(f->dir, rel, file, 0755);
		load_ok(f->dir, rules[i]);
	}
	install(f->dir, "plugins/examples/django_sessions.so",
		"django_sessions.so", 0644);
	load_ok(f->dir, "django_sessions");
}

/* Every declared key of ok_keys comes through, one of each type. */
static void test_load_ok_keys(void **state)
{
	struct fixture *f = *state;
	struct plugin p;
	char err[ERRLEN] = "";
	const struct sweeper_key *k;
	unsigned seen = 0;

	install_test_plugin(f->dir, "ok_keys");
	if (plugin_load(&p, f->dir, "ok_keys", err, sizeof(err)) != 0)
		fail_msg("loading ok_keys failed: %s", err);
	assert_non_null(p.desc->keys);
	for (k = p.desc->keys; k->name; k++)
		seen |= 1u << k->type;
	assert_int_equal(seen, (1u << SWEEPER_KEY_STRING) |
			 (1u << SWEEPER_KEY_BOOL) | (1u << SWEEPER_KEY_INT) |
			 (1u << SWEEPER_KEY_DURATION) |
			 (1u << SWEEPER_KEY_ENUM));
	plugin_unload(&p);
}

/*
 * Plugins that fail in init(), plan() or in the database are the run's
 * business, not the loader's: they load.
 */
static void test_load_runtime_failures_load(void **state)
{
	static const char *const names[] = {
		"init_fail", "plan_fail", "bad_step"
	};
	struct fixture *f = *state;
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		install_test_plugin(f->dir, names[i]);
		load_ok(f->dir, names[i]);
	}
}

static void test_load_bad_magic(void **state)
{
	struct fixture *f = *state;
	char err[ERRLEN];

	install_test_plugin(f->dir, "bad_magic");
	load_fails(f->dir, "bad_magic", err);
	assert_err_has(err, "magic");
	assert_err_has(err, "bad_magic");
	assert_err_has_u32(err, 0xdeadbeefu);
	assert_err_has_u32(err, SWEEPER_PLUGIN_MAGIC);
}

static void test_load_bad_abi(void **state)
{
	struct fixture *f = *state;
	char err[ERRLEN];

	install_test_plugin(f->dir, "bad_abi");
	load_fails(f->dir, "bad_abi", err);
	assert_err_has(err, "abi_version");
	assert_err_has(err, "99");
	assert_err_has_u32(err, SWEEPER_ABI_VERSION);
}

static void test_load_bad_size(void **state)
{
	struct fixture *f = *state;
	char err[ERRLEN];

	install_test_plugin(f->dir, "bad_size");
	load_fails(f->dir, "bad_size", err);
	assert_err_has(err, "size");
	assert_err_has_u32(err,
			   (uint32_t)offsetof(struct sweeper_plugin, plan));
	assert_err_has_u32(err, (uint32_t)sizeof(struct sweeper_plugin));
}

static void test_load_no_entry(void **state)
{
	struct fixture *f = *state;
	char err[ERRLEN];

	install_test_plugin(f->dir, "no_entry");
	load_fails(f->dir, "no_entry", err);
	assert_err_has(err, SWEEPER_PLUGIN_ENTRY_SYMBOL);
	assert_err_has(err, "no_entry");
}

static void test_load_name_mismatch(void **state)
{
	struct fixture *f = *state;
	char err[ERRLEN];

	install_test_plugin(f->dir, "name_mismatch");
	load_fails(f->dir, "name_mismatch", err);
	assert_err_has(err, "other_name");
	assert_err_has(err, "name_mismatch");
}

/* A file that is not a shared object at all: dlopen()'s own error. */
static void test_load_not_elf(void **state)
{
	struct fixture *f = *state;
	char path[256];
	char err[ERRLEN];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/garbage.so", f->dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("this is not an ELF file\n", fp);
	assert_int_equal(fclose(fp), 0);
	assert_int_equal(chmod(path, 0644), 0);
	load_fails(f->dir, "garbage", err);
	assert_err_has(err, "garbage.so");
}

static void test_load_missing_file(void **state)
{
	struct fixture *f = *state;
	char err[ERRLEN];

	load_fails(f->dir, "missing_rule", err);
	assert_err_has(err, "missing_rule");
}

static void test_load_world_writable_file(void **state)
{
	struct fixture *f = *state;
	char err[ERRLEN];

	install(f->dir, "tests/plugins/ok_keys.so", "ok_keys.so", 0666);
	load_fails(f->dir, "ok_keys", err);
	assert_err_has(err, "writable");
	assert_err_has(err, "ok_keys.so");
}

static void test_load_group_writable_file(void **state)
{
	struct fixture *f = *state;
	char err[ERRLEN];

	install(f->dir, "tests/plugins/ok_keys.so", "ok_keys.so", 0664);
	load_fails(f->dir, "ok_keys", err);
	assert_err_has(err, "writable");
	assert_err_has(err, "ok_keys.so");
}

/* 0644 and 0755 are both fine for the file. */
static void test_load_file_modes_ok(void **state)
{
	struct fixture *f = *state;
	char sub[256];

	make_subdir(f->dir, "a", 0755, sub, sizeof(sub));
	install(sub, "tests/plugins/ok_keys.so", "ok_keys.so", 0755);
	load_ok(sub, "ok_keys");
	make_subdir(f->dir, "b", 0755, sub, sizeof(sub));
	install(sub, "tests/plugins/ok_keys.so", "ok_keys.so", 0444);
	load_ok(sub, "ok_keys");
}

static void test_load_group_writable_dir(void **state)
{
	struct fixture *f = *state;
	char sub[256];
	char err[ERRLEN];

	make_subdir(f->dir, "plugins", 0755, sub, sizeof(sub));
	install_test_plugin(sub, "ok_keys");
	assert_int_equal(chmod(sub, 0775), 0);
	load_fails(sub, "ok_keys", err);
	assert_err_has(err, "writable");
	assert_err_has(err, sub);
}

static void test_load_world_writable_dir(void **state)
{
	struct fixture *f = *state;
	char sub[256];
	char err[ERRLEN];

	make_subdir(f->dir, "plugins", 0755, sub, sizeof(sub));
	install_test_plugin(sub, "ok_keys");
	assert_int_equal(chmod(sub, 0777), 0);
	load_fails(sub, "ok_keys", err);
	assert_err_has(err, "writable");

	/* Sticky or not: in plugin_dir itself anyone could add a plugin. */
	assert_int_equal(chmod(sub, 01777), 0);
	load_fails(sub, "ok_keys", err);
	assert_err_has(err, "writable");
}

/* An unsafe ancestor makes everything below it unsafe. */
static void test_load_group_writable_ancestor(void **state)
{
	struct fixture *f = *state;
	char mid[256];
	char sub[256];
	char err[ERRLEN];

	make_subdir(f->dir, "lib", 0755, mid, sizeof(mid));
	make_subdir(mid, "plugins", 0755, sub, sizeof(sub));
	install_test_plugin(sub, "ok_keys");
	load_ok(sub, "ok_keys");
	assert_int_equal(chmod(mid, 0775), 0);
	load_fails(sub, "ok_keys", err);
	assert_err_has(err, "writable");
	assert_err_has(err, mid);
}

/*
 * A root-owned sticky ancestor, like /tmp, is fine: nobody else can rename
 * or remove what lies below it.  Only root can make one, so the test
 * needs root.
 */
static void test_load_sticky_ancestor(void **state)
{
	struct fixture *f = *state;
	char mid[256];
	char sub[256];

	if (geteuid() != 0)
		skip();
	make_subdir(f->dir, "shared", 01777, mid, sizeof(mid));
	make_subdir(mid, "plugins", 0755, sub, sizeof(sub));
	install_test_plugin(sub, "ok_keys");
	load_ok(sub, "ok_keys");
}

/* A file or directory owned by another user is refused; needs root. */
static void test_load_foreign_owner(void **state)
{
	struct fixture *f = *state;
	char sub[256];
	char path[512];
	char err[ERRLEN];

	if (geteuid() != 0)
		skip();
	make_subdir(f->dir, "plugins", 0755, sub, sizeof(sub));
	install_test_plugin(sub, "ok_keys");
	snprintf(path, sizeof(path), "%s/ok_keys.so", sub);

	assert_int_equal(chown(path, 65534, 65534), 0);
	load_fails(sub, "ok_keys", err);
	assert_err_has(err, "owned");
	assert_err_has(err, "ok_keys.so");
	assert_int_equal(chown(path, 0, 0), 0);

	assert_int_equal(chown(sub, 65534, 65534), 0);
	load_fails(sub, "ok_keys", err);
	assert_err_has(err, "owned");
	assert_err_has(err, sub);
	assert_int_equal(chown(sub, 0, 0), 0);
	load_ok(sub, "ok_keys");
}

/*
 * A rule name is a file name in plugin_dir, nothing else: a name with a
 * '/' must not reach a file elsewhere, even one that would load.
 */
static void test_load_name_with_slash(void **state)
{
	struct fixture *f = *state;
	char sub[256];
	char plugins[256];
	char err[ERRLEN];

	make_subdir(f->dir, "plugins", 0755, plugins, sizeof(plugins));
	make_subdir(plugins, "sub", 0755, sub, sizeof(sub));
	install_test_plugin(sub, "ok_keys");
	install_test_plugin(f->dir, "ok_keys");
	load_ok(sub, "ok_keys");

	load_fails(plugins, "sub/ok_keys", err);
	assert_err_has(err, "sub/ok_keys");
	load_fails(plugins, "../ok_keys", err);
	assert_err_has(err, "../ok_keys");
	load_fails(plugins, "/tmp/ok_keys", err);
}

static void test_load_bad_names(void **state)
{
	static const char *const names[] = {
		"", "OK_keys", "ok_keys.so", "ok keys", "ok-keys", ".", ".."
	};
	struct fixture *f = *state;
	char err[ERRLEN];
	size_t i;

	install_test_plugin(f->dir, "ok_keys");
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		load_fails(f->dir, names[i], err);
}

/* A symbolic link would let the file's real place escape every check. */
static void test_load_symlink(void **state)
{
	struct fixture *f = *state;
	char sub[256];
	char link[512];
	char target[512];
	char err[ERRLEN];

	make_subdir(f->dir, "plugins", 0755, sub, sizeof(sub));
	install_test_plugin(f->dir, "ok_keys");
	snprintf(target, sizeof(target), "%s/ok_keys.so", f->dir);
	snprintf(link, sizeof(link), "%s/ok_keys.so", sub);
	assert_int_equal(symlink(target, link), 0);
	load_fails(sub, "ok_keys", err);
	assert_err_has(err, "ok_keys.so");
}

/* A directory named like a plugin is not a plugin. */
static void test_load_directory_as_file(void **state)
{
	struct fixture *f = *state;
	char sub[256];
	char err[ERRLEN];

	make_subdir(f->dir, "ok_keys.so", 0755, sub, sizeof(sub));
	load_fails(f->dir, "ok_keys", err);
	assert_err_has(err, "ok_keys.so");
}

static void test_load_bad_dirs(void **state)
{
	struct fixture *f = *state;
	char missing[256];
	char file[256];
	char err[ERRLEN];

	/* plugin_dir must be absolute: a relative one depends on the cwd. */
	load_fails("build/plugins", "ok_keys", err);
	assert_err_has(err, "build/plugins");

	snprintf(missing, sizeof(missing), "%s/no_such_dir", f->dir);
	load_fails(missing, "ok_keys", err);
	assert_err_has(err, "no_such_dir");

	install_test_plugin(f->dir, "ok_keys");
	snprintf(file, sizeof(file), "%s/ok_keys.so", f->dir);
	load_fails(file, "ok_keys", err);
}

static void test_dir_check(void **state)
{
	struct fixture *f = *state;
	char err[ERRLEN] = "";
	char sub[256];

	assert_int_equal(plugin_dir_check(f->dir, err, sizeof(err)), 0);
	assert_int_equal(plugin_dir_check("relative", err, sizeof(err)), -1);
	assert_err_has(err, "relative");
	make_subdir(f->dir, "open", 0757, sub, sizeof(sub));
	assert_int_equal(plugin_dir_check(sub, err, sizeof(err)), -1);
	assert_err_has(err, "writable");
}

/* ---- race-free loading -------------------------------------------------- */

/* Open `dir` as a plugin_dir, failing the test with the message if not. */
static void dir_open_ok(struct plugin_dir *d, const char *dir)
{
	char err[ERRLEN] = "";

	if (plugin_dir_open(d, dir, err, sizeof(err)) != 0)
		fail_msg("plugin_dir_open(%s) failed: %s", dir, err);
	assert_true(d->fd >= 0);
}

/*
 * Another user's directory on the way to plugin_dir is refused even when
 * the symbolic link in it points at a safe directory: that user could
 * point it elsewhere between any check and any load.  Needs root.
 */
static void test_dir_through_other_users_dir(void **state)
{
	struct fixture *f = *state;
	char safe[256];
	char alice[256];
	char link[512];
	char err[ERRLEN];

	if (geteuid() != 0)
		skip();
	make_subdir(f->dir, "safe", 0755, safe, sizeof(safe));
	install_test_plugin(safe, "ok_keys");
	load_ok(safe, "ok_keys");
	make_subdir(f->dir, "alice", 0755, alice, sizeof(alice));
	snprintf(link, sizeof(link), "%s/plugins", alice);
	assert_int_equal(symlink(safe, link), 0);
	load_ok(link, "ok_keys");
	assert_int_equal(chown(alice, 65534, 65534), 0);
	assert_int_equal(lchown(link, 0, 0), 0);
	load_fails(link, "ok_keys", err);
	assert_err_has(err, "owned");
	assert_err_has(err, alice);
	assert_err_has(err, "65534");
	assert_int_equal(chown(alice, 0, 0), 0);
}

/* A symbolic link owned by another user is refused, wherever it lies. */
static void test_dir_through_other_users_link(void **state)
{
	struct fixture *f = *state;
	char safe[256];
	char link[256];
	char err[ERRLEN];

	if (geteuid() != 0)
		skip();
	make_subdir(f->dir, "safe", 0755, safe, sizeof(safe));
	install_test_plugin(safe, "ok_keys");
	snprintf(link, sizeof(link), "%s/current", f->dir);
	assert_int_equal(symlink("safe", link), 0);
	load_ok(link, "ok_keys");
	assert_int_equal(lchown(link, 65534, 65534), 0);
	load_fails(link, "ok_keys", err);
	assert_err_has(err, "symbolic link");
	assert_err_has(err, link);
	assert_err_has(err, "65534");
}

/*
 * plugin_dir is resolved once: repointing a link on its path after
 * plugin_dir_open() changes nothing about what is loaded from it.  The
 * new target holds a plugin that would fail, so loading from it would
 * show.
 */
static void test_dir_resolved_once(void **state)
{
	struct fixture *f = *state;
	struct plugin_dir d = PLUGIN_DIR_INIT;
	struct plugin p;
	char v1[256];
	char v2[256];
	char link[256];
	char tmp[512];
	char err[ERRLEN] = "";

	make_subdir(f->dir, "v1", 0755, v1, sizeof(v1));
	make_subdir(f->dir, "v2", 0755, v2, sizeof(v2));
	install_test_plugin(v1, "ok_keys");
	install(v2, "tests/plugins/bad_magic.so", "ok_keys.so", 0644);
	snprintf(link, sizeof(link), "%s/current", f->dir);
	assert_int_equal(symlink("v1", link), 0);

	dir_open_ok(&d, link);
	assert_string_equal(d.path, link);
	assert_string_equal(d.real, v1);
	/* Swap the link atomically, as a deploy tool would. */
	snprintf(tmp, sizeof(tmp), "%s/current.new", f->dir);
	assert_int_equal(symlink("v2", tmp), 0);
	assert_int_equal(rename(tmp, link), 0);
	if (plugin_load_at(&p, &d, "ok_keys", err, sizeof(err)) != 0)
		fail_msg("loading through the opened directory failed: %s", err);
	assert_string_equal(p.desc->name, "ok_keys");
	/* Messages still name the plugin as configured. */
	snprintf(tmp, sizeof(tmp), "%s/ok_keys.so", link);
	assert_string_equal(p.path, tmp);
	plugin_unload(&p);
	plugin_dir_close(&d);
	assert_int_equal(d.fd, -1);
	assert_null(d.path);
	assert_null(d.real);
	plugin_dir_close(&d);

	/* A fresh lookup follows the link to where it points now. */
	load_fails(link, "ok_keys", err);
	assert_err_has(err, "magic");
}

/* Links are followed as the kernel would: relative, absolute, "..". */
static void test_dir_links_and_dots(void **state)
{
	struct fixture *f = *state;
	struct plugin_dir d = PLUGIN_DIR_INIT;
	char lib[256];
	char plugins[256];
	char path[512];
	char err[ERRLEN];

	make_subdir(f->dir, "lib", 0755, lib, sizeof(lib));
	make_subdir(lib, "plugins", 0755, plugins, sizeof(plugins));
	install_test_plugin(plugins, "ok_keys");
	snprintf(path, sizeof(path), "%s/rel", f->dir);
	assert_int_equal(symlink("lib/./plugins/", path), 0);
	snprintf(path, sizeof(path), "%s/abs", f->dir);
	assert_int_equal(symlink(plugins, path), 0);
	snprintf(path, sizeof(path), "%s/up", lib);
	assert_int_equal(symlink("../lib/plugins", path), 0);
	snprintf(path, sizeof(path), "%s/chain", f->dir);
	assert_int_equal(symlink("lib/up", path), 0);

	snprintf(path, sizeof(path), "%s/rel", f->dir);
	load_ok(path, "ok_keys");
	snprintf(path, sizeof(path), "%s/abs", f->dir);
	load_ok(path, "ok_keys");
	snprintf(path, sizeof(path), "%s/chain", f->dir);
	load_ok(path, "ok_keys");
	snprintf(path, sizeof(path), "%s//lib/../lib/plugins/.", f->dir);
	load_ok(path, "ok_keys");
	dir_open_ok(&d, path);
	assert_string_equal(d.real, plugins);
	plugin_dir_close(&d);

	/* A loop ends in an error, not in a hang. */
	snprintf(path, sizeof(path), "%s/loop", f->dir);
	assert_int_equal(symlink("loop", path), 0);
	load_fails(path, "ok_keys", err);
	assert_err_has(err, "loop");
	/* A dangling link names what is missing. */
	snprintf(path, sizeof(path), "%s/dangling", f->dir);
	assert_int_equal(symlink("nowhere", path), 0);
	load_fails(path, "ok_keys", err);
	assert_err_has(err, "nowhere");
}

/*
 * The checks run on the descriptor that is loaded: replacing the file's
 * name between plugin_file_open() and plugin_load_fd() changes nothing,
 * in both directions.
 */
static void test_checked_file_is_loaded(void **state)
{
	struct fixture *f = *state;
	struct plugin_dir d = PLUGIN_DIR_INIT;
	struct plugin p;
	char err[ERRLEN] = "";
	char tmp[256];
	char path[256];
	int fd;

	install_test_plugin(f->dir, "ok_keys");
	snprintf(path, sizeof(path), "%s/ok_keys.so", f->dir);
	snprintf(tmp, sizeof(tmp), "%s/swap.so", f->dir);
	dir_open_ok(&d, f->dir);

	/* A good file checked, then its name given to a bad one. */
	fd = plugin_file_open(&d, "ok_keys", err, sizeof(err));
	if (fd < 0)
		fail_msg("plugin_file_open failed: %s", err);
	install(f->dir, "tests/plugins/bad_magic.so", "swap.so", 0644);
	assert_int_equal(rename(tmp, path), 0);
	if (plugin_load_fd(&p, &d, "ok_keys", fd, err, sizeof(err)) != 0)
		fail_msg("the file that was opened did not load: %s", err);
	assert_string_equal(p.desc->name, "ok_keys");
	plugin_unload(&p);
	/* The name now leads to the bad file, and a new load sees it. */
	assert_int_equal(plugin_load_at(&p, &d, "ok_keys", err, sizeof(err)),
			 -1);
	assert_err_has(err, "magic");

	/* A world-writable file opened, then its name given to a good one. */
	assert_int_equal(unlink(path), 0);
	install(f->dir, "tests/plugins/ok_keys.so", "ok_keys.so", 0666);
	fd = plugin_file_open(&d, "ok_keys", err, sizeof(err));
	if (fd < 0)
		fail_msg("plugin_file_open failed: %s", err);
	install(f->dir, "tests/plugins/ok_keys.so", "swap.so", 0644);
	assert_int_equal(rename(tmp, path), 0);
	memset(err, 0, sizeof(err));
	assert_int_equal(plugin_load_fd(&p, &d, "ok_keys", fd, err,
					sizeof(err)), -1);
	assert_err_has(err, "writable");
	assert_err_has(err, "ok_keys.so");
	assert_plugin_zeroed(&p);
	plugin_dir_close(&d);
}

/*
 * Plugins loaded at the same time are each the one asked for, although
 * each was opened under a descriptor number an earlier one was loaded
 * from (the dynamic loader matches objects by name).
 */
static void test_load_several_at_once(void **state)
{
	static const char *const names[] = {
		"ok_keys", "init_fail", "plan_fail", "bad_step"
	};
	struct fixture *f = *state;
	struct plugin_dir d = PLUGIN_DIR_INIT;
	struct plugin p[4];
	char err[ERRLEN] = "";
	size_t i;

	for (i = 0; i < 4; i++)
		install_test_plugin(f->dir, names[i]);
	dir_open_ok(&d, f->dir);
	for (i = 0; i < 4; i++) {
		if (plugin_load_at(&p[i], &d, names[i], err, sizeof(err)) != 0)
			fail_msg("loading %s failed: %s", names[i], err);
		assert_string_equal(p[i].desc->name, names[i]);
	}
	/* Unloaded in another order, then loaded again. */
	plugin_unload(&p[1]);
	plugin_unload(&p[0]);
	for (i = 0; i < 2; i++) {
		if (plugin_load_at(&p[i], &d, names[i], err, sizeof(err)) != 0)
			fail_msg("reloading %s failed: %s", names[i], err);
		assert_string_equal(p[i].desc->name, names[i]);
	}
	for (i = 0; i < 4; i++)
		plugin_unload(&p[i]);
	plugin_dir_close(&d);
}

/* A FIFO named like a plugin is refused at once, not waited on. */
static void test_load_fifo(void **state)
{
	struct fixture *f = *state;
	char path[256];
	char err[ERRLEN];

	snprintf(path, sizeof(path), "%s/ok_keys.so", f->dir);
	assert_int_equal(mkfifo(path, 0644), 0);
	load_fails(f->dir, "ok_keys", err);
	assert_err_has(err, "not a regular file");
	assert_err_has(err, "ok_keys.so");
}

/*
 * Run `fn` in a child process with its own mount namespace, where it may
 * hide /proc; the test fails unless the child exits 0.  Needs root.
 */
static void in_mount_namespace(void (*fn)(const char *dir), const char *dir)
{
	pid_t pid;
	int status;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (unshare(CLONE_NEWNS) != 0 ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
			fprintf(stderr, "cannot make a mount namespace: %s\n",
				strerror(errno));
			_exit(2);
		}
		fn(dir);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("the child in its mount namespace failed (status %d)",
			 status);
}

/* Exit the child with 1, saying why, unless `err` holds `needle`. */
static void child_expect(int rc, const char *err, const char *needle)
{
	if (rc != -1 || !strcasestr(err, needle)) {
		fprintf(stderr, "expected a failure naming '%s', got %d: '%s'\n",
			needle, rc, err);
		_exit(1);
	}
}

static void load_without_proc(const char *dir)
{
	struct plugin p;
	char err[ERRLEN] = "";
	int rc;

	if (mount("none", "/proc", "tmpfs", 0, NULL) != 0) {
		fprintf(stderr, "cannot hide /proc: %s\n", strerror(errno));
		_exit(2);
	}
	rc = plugin_load(&p, dir, "ok_keys", err, sizeof(err));
	child_expect(rc, err, "/proc must be mounted");
	child_expect(rc, err, "ok_keys.so");
}

/*
 * A /proc that is not procfs, whose /proc/self/fd/N are ordinary files:
 * the loader notices that they are not the file it opened.
 */
static void load_with_fake_proc(const char *dir)
{
	struct plugin p;
	char err[ERRLEN] = "";
	char path[64];
	int rc, i, fd;

	if (mount("none", "/proc", "tmpfs", 0, NULL) != 0 ||
	    mkdir("/proc/self", 0755) != 0 || mkdir("/proc/self/fd", 0755) != 0) {
		fprintf(stderr, "cannot fake /proc: %s\n", strerror(errno));
		_exit(2);
	}
	for (i = 0; i < 64; i++) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", i);
		fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0)
			_exit(2);
		close(fd);
	}
	rc = plugin_load(&p, dir, "ok_keys", err, sizeof(err));
	child_expect(rc, err, "not the file that was opened");
}

/* Without a real /proc, no plugin loads, and the message says why. */
static void test_load_without_proc(void **state)
{
	struct fixture *f = *state;

	if (geteuid() != 0)
		skip();
	install_test_plugin(f->dir, "ok_keys");
	in_mount_namespace(load_without_proc, f->dir);
	in_mount_namespace(load_with_fake_proc, f->dir);
	/* This process's /proc was not touched. */
	load_ok(f->dir, "ok_keys");
}

/* plugin_unload() accepts a zeroed struct, twice. */
static void test_unload_zeroed(void **state)
{
	struct plugin p;

	(void)state;
	memset(&p, 0, sizeof(p));
	plugin_unload(&p);
	plugin_unload(&p);
	assert_plugin_zeroed(&p);
}

#define WITH_DIR(fn) cmocka_unit_test_setup_teardown(fn, setup_dir, teardown_dir)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_descriptor_good),
		cmocka_unit_test(test_descriptor_null),
		cmocka_unit_test(test_descriptor_magic),
		cmocka_unit_test(test_descriptor_abi_version),
		cmocka_unit_test(test_descriptor_size),
		cmocka_unit_test(test_descriptor_size_larger_ok),
		cmocka_unit_test(test_descriptor_name),
		cmocka_unit_test(test_descriptor_plan),
		cmocka_unit_test(test_descriptor_optional_fields),
		cmocka_unit_test(test_descriptor_keys),
		cmocka_unit_test(test_abi_layout),
		cmocka_unit_test(test_descriptor_short_buffer),
		WITH_DIR(test_load_real_plugins),
		WITH_DIR(test_load_ok_keys),
		WITH_DIR(test_load_runtime_failures_load),
		WITH_DIR(test_load_bad_magic),
		WITH_DIR(test_load_bad_abi),
		WITH_DIR(test_load_bad_size),
		WITH_DIR(test_load_no_entry),
		WITH_DIR(test_load_name_mismatch),
		WITH_DIR(test_load_not_elf),
		WITH_DIR(test_load_missing_file),
		WITH_DIR(test_load_world_writable_file),
		WITH_DIR(test_load_group_writable_file),
		WITH_DIR(test_load_file_modes_ok),
		WITH_DIR(test_load_group_writable_dir),
		WITH_DIR(test_load_world_writable_dir),
		WITH_DIR(test_load_group_writable_ancestor),
		WITH_DIR(test_load_sticky_ancestor),
		WITH_DIR(test_load_foreign_owner),
		WITH_DIR(test_load_name_with_slash),
		WITH_DIR(test_load_bad_names),
		WITH_DIR(test_load_symlink),
		WITH_DIR(test_load_directory_as_file),
		WITH_DIR(test_load_bad_dirs),
		WITH_DIR(test_dir_check),
		WITH_DIR(test_dir_through_other_users_dir),
		WITH_DIR(test_dir_through_other_users_link),
		WITH_DIR(test_dir_resolved_once),
		WITH_DIR(test_dir_links_and_dots),
		WITH_DIR(test_checked_file_is_loaded),
		WITH_DIR(test_load_several_at_once),
		WITH_DIR(test_load_fifo),
		WITH_DIR(test_load_without_proc),
		cmocka_unit_test(test_unload_zeroed),
	};

	return cmocka_run_group_tests_name("plugin_loader", tests, NULL, NULL);
}
