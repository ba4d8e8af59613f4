/*
 * plugin_loader.c: safe-path checks, dlopen() and the ABI check of rule
 * plugins.
 *
 * A plugin runs with the sweeper's database credentials, so whoever can
 * replace a plugin file can delete anything.  The checks follow sudo's and
 * OpenSSH's rules for files they trust: the file, its directory and every
 * directory above it must be owned by root or by the user running the
 * sweeper and must not be writable by group or others.  A root-owned
 * sticky ancestor (/tmp) is accepted because its other users cannot rename
 * or remove what lies below it.
 *
 * Checks by path name race against whoever can change a name on the path
 * between the check and the dlopen(), so nothing here is checked or loaded
 * by name twice.  plugin_dir is walked from / one component at a time with
 * O_PATH | O_NOFOLLOW descriptors, each directory checked with fstat()
 * before it is searched and each symbolic link checked and expanded by the
 * walk itself, and the directory reached stays open.  A plugin is opened
 * relative to it with O_NOFOLLOW, checked with fstat() of that descriptor,
 * and handed to the dynamic loader as /proc/self/fd/N, which reopens the
 * very file the descriptor holds whatever its name points to by then.
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plugin_loader.h"
#include "values.h"
#include "xalloc.h"

/* As many symbolic links as the kernel follows in one lookup. */
#define PLUGIN_MAX_LINKS 40

/* "/proc/self/fd/" and the longest int. */
#define PLUGIN_FD_PATH_MAX 32

/* Rule names become file names: keep them to a safe alphabet. */
static int plugin_name_valid(const char *name)
{
	const char *p;

	if (!*name || strlen(name) > 64)
		return 0;
	for (p = name; *p; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		      *p == '_'))
			return 0;
	}
	return 1;
}

/* Check a path's owner: root or the user running the sweeper. */
static int plugin_owner_check(const char *path, const struct stat *st,
			      const char *what, char *err, size_t errlen)
{
	uid_t me = geteuid();

	if (st->st_uid == 0 || st->st_uid == me)
		return 0;
	snprintf(err, errlen,
		 "%s '%s' is owned by uid %u, not by root or the user "
		 "running mfa-sweeper (uid %u); %s",
		 what, path, (unsigned)st->st_uid, (unsigned)me,
		 S_ISLNK(st->st_mode) ? "recreate it as root" :
		 "chown it to root");
	return -1;
}

/*
 * Check one path's owner and mode.  `is_ancestor` allows a root-owned
 * sticky directory; `what` names the path's role in the message.
 */
static int plugin_path_check(const char *path, const struct stat *st,
			     int is_ancestor, const char *what, char *err,
			     size_t errlen)
{
	unsigned mode = (unsigned)(st->st_mode & 07777);

	if (plugin_owner_check(path, st, what, err, errlen) != 0)
		return -1;
	if (!(st->st_mode & (S_IWGRP | S_IWOTH)))
		return 0;
	if (is_ancestor && S_ISDIR(st->st_mode) && (st->st_mode & S_ISVTX) &&
	    st->st_uid == 0)
		return 0;
	snprintf(err, errlen,
		 "%s '%s' is writable by %s (mode %04o), so anyone could "
		 "replace the plugins; run chmod go-w '%s'",
		 what, path,
		 (st->st_mode & S_IWOTH) ? "others" : "its group", mode, path);
	return -1;
}

/* plugin_path_check() of an open directory, `shown` as its name. */
static int plugin_dirfd_check(int fd, const char *shown, int is_ancestor,
			      char *err, size_t errlen)
{
	struct stat st;

	if (fstat(fd, &st) != 0) {
		snprintf(err, errlen, "cannot check '%s': %s", shown,
			 strerror(errno));
		return -1;
	}
	return plugin_path_check(shown, &st, is_ancestor,
				 is_ancestor ? "directory" : "plugin_dir",
				 err, errlen);
}

/* `dir`/`name` into buf, or -1 when it does not fit. */
static int plugin_join(char *buf, size_t size, const char *dir,
		       const char *name)
{
	int n = snprintf(buf, size, "%s%s%s", dir,
			 strcmp(dir, "/") == 0 ? "" : "/", name);

	return n < 0 || (size_t)n >= size ? -1 : 0;
}

/*
 * Step from the open directory *cur, named `real`, to its parent, for a
 * ".." in plugin_dir or in a link's target.  / is its own parent.
 */
static int plugin_walk_up(int *cur, char *real, const char *dir, char *err,
			  size_t errlen)
{
	char *slash;
	int fd;

	if (strcmp(real, "/") == 0)
		return 0;
	fd = openat(*cur, "..", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "cannot use plugin_dir '%s': '%s/..': %s",
			 dir, real, strerror(errno));
		return -1;
	}
	close(*cur);
	*cur = fd;
	slash = strrchr(real, '/');
	if (slash == real)
		real[1] = '\0';
	else
		*slash = '\0';
	return 0;
}

/*
 * A symbolic link met by the walk at `at`, open as `fd`: check its owner,
 * read it, and put its target in front of what is left to walk
 * (rest + *pos), which starts again at *pos = 0.  An absolute target
 * restarts the walk at /.
 */
static int plugin_walk_link(int fd, const struct stat *st, const char *at,
			    int *cur, char *real, char *rest, size_t *pos,
			    const char *dir, char *err, size_t errlen)
{
	char target[PATH_MAX];
	char joined[PATH_MAX];
	ssize_t len;
	int n;

	if (plugin_owner_check(at, st, "symbolic link", err, errlen) != 0)
		return -1;
	len = readlinkat(fd, "", target, sizeof(target));
	if (len < 0 || (size_t)len >= sizeof(target)) {
		snprintf(err, errlen, "cannot use plugin_dir '%s': cannot read "
			 "the link '%s': %s", dir, at,
			 len < 0 ? strerror(errno) : strerror(ENAMETOOLONG));
		return -1;
	}
	target[len] = '\0';
	n = snprintf(joined, sizeof(joined), "%s/%s", target, rest + *pos);
	if (n < 0 || (size_t)n >= sizeof(joined)) {
		snprintf(err, errlen, "cannot use plugin_dir '%s': %s", dir,
			 strerror(ENAMETOOLONG));
		return -1;
	}
	memcpy(rest, joined, (size_t)n + 1);
	*pos = 0;
	if (target[0] == '/') {
		int root = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);

		if (root < 0) {
			snprintf(err, errlen, "cannot open '/': %s",
				 strerror(errno));
			return -1;
		}
		close(*cur);
		*cur = root;
		strcpy(real, "/");
	}
	return 0;
}

/*
 * Walk `dir` from / and leave the directory it names open in *out, with
 * the path it resolved to in `real` (PATH_MAX bytes).  Every directory is
 * checked, as an ancestor, right before a name is looked up in it; every
 * symbolic link before it is followed.  The caller checks the end.
 */
static int plugin_walk(const char *dir, int *out, char *real, char *err,
		       size_t errlen)
{
	char rest[PATH_MAX];
	char comp[NAME_MAX + 1];
	char at[PATH_MAX];
	struct stat st;
	size_t pos = 0, n;
	int cur = -1, next = -1, links = 0, ret = -1;

	if (strlen(dir) >= sizeof(rest)) {
		snprintf(err, errlen, "cannot use plugin_dir '%.64s...': %s",
			 dir, strerror(ENAMETOOLONG));
		goto out;
	}
	strcpy(rest, dir);
	strcpy(real, "/");
	cur = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (cur < 0) {
		snprintf(err, errlen, "cannot open '/': %s", strerror(errno));
		goto out;
	}
	for (;;) {
		pos += strspn(rest + pos, "/");
		if (!rest[pos])
			break;
		n = strcspn(rest + pos, "/");
		if (n > NAME_MAX) {
			snprintf(err, errlen, "cannot use plugin_dir '%s': %s",
				 dir, strerror(ENAMETOOLONG));
			goto out;
		}
		memcpy(comp, rest + pos, n);
		comp[n] = '\0';
		pos += n;
		if (strcmp(comp, ".") == 0)
			continue;
		if (strcmp(comp, "..") == 0) {
			if (plugin_walk_up(&cur, real, dir, err, errlen) != 0)
				goto out;
			continue;
		}
		if (plugin_dirfd_check(cur, real, 1, err, errlen) != 0)
			goto out;
		if (plugin_join(at, sizeof(at), real, comp) != 0) {
			snprintf(err, errlen, "cannot use plugin_dir '%s': %s",
				 dir, strerror(ENAMETOOLONG));
			goto out;
		}
		next = openat(cur, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (next < 0 || fstat(next, &st) != 0) {
			if (strcmp(at, dir) == 0)
				snprintf(err, errlen,
					 "cannot use plugin_dir '%s': %s", dir,
					 strerror(errno));
			else
				snprintf(err, errlen,
					 "cannot use plugin_dir '%s': '%s': %s",
					 dir, at, strerror(errno));
			goto out;
		}
		if (S_ISLNK(st.st_mode)) {
			if (++links > PLUGIN_MAX_LINKS) {
				snprintf(err, errlen,
					 "cannot use plugin_dir '%s': %s", dir,
					 strerror(ELOOP));
				goto out;
			}
			if (plugin_walk_link(next, &st, at, &cur, real, rest,
					     &pos, dir, err, errlen) != 0)
				goto out;
			close(next);
			next = -1;
			continue;
		}
		if (!S_ISDIR(st.st_mode)) {
			if (rest[pos + strspn(rest + pos, "/")] == '\0')
				snprintf(err, errlen,
					 "plugin_dir '%s' is not a directory",
					 dir);
			else
				snprintf(err, errlen,
					 "cannot use plugin_dir '%s': '%s' is "
					 "not a directory", dir, at);
			goto out;
		}
		strcpy(real, at);
		close(cur);
		cur = next;
		next = -1;
	}
	*out = cur;
	cur = -1;
	ret = 0;
out:
	if (next >= 0)
		close(next);
	if (cur >= 0)
		close(cur);
	return ret;
}

int plugin_dir_open(struct plugin_dir *d, const char *dir, char *err,
		    size_t errlen)
{
	char real[PATH_MAX];
	int fd = -1;

	d->fd = -1;
	d->path = NULL;
	d->real = NULL;
	if (dir[0] != '/') {
		snprintf(err, errlen,
			 "plugin_dir '%s' is not an absolute path; write it "
			 "from / on", dir);
		return -1;
	}
	if (plugin_walk(dir, &fd, real, err, errlen) != 0)
		return -1;
	if (plugin_dirfd_check(fd, real, 0, err, errlen) != 0) {
		close(fd);
		return -1;
	}
	d->fd = fd;
	d->path = xstrdup(dir);
	d->real = xstrdup(real);
	return 0;
}

void plugin_dir_close(struct plugin_dir *d)
{
	if (d->fd >= 0)
		close(d->fd);
	free(d->path);
	free(d->real);
	d->fd = -1;
	d->path = NULL;
	d->real = NULL;
}

int plugin_dir_check(const char *dir, char *err, size_t errlen)
{
	struct plugin_dir d;

	if (plugin_dir_open(&d, dir, err, errlen) != 0)
		return -1;
	plugin_dir_close(&d);
	return 0;
}

/* More keys than any rule needs: past this the array surely lacks its
 * SWEEPER_KEYS_END. */
#define PLUGIN_MAX_KEYS 256

/*
 * Check the declaration of every key: a known type, choices for an enum,
 * a range that parses for an int or a duration, a name declared once, and
 * a default its own declaration accepts.  A mistake here is the plugin
 * author's, so the message says "fix the plugin", not "fix the config".
 */
static int plugin_keys_check(const struct sweeper_plugin *desc,
			     const char *name, char *err, size_t errlen)
{
	const struct sweeper_key *k, *other;
	struct value_range range;
	char shown[VALUE_QUOTE_MAX];
	char why[512];
	size_t n;

	for (k = desc->keys, n = 0; k && k->name; k++, n++) {
		if (n == PLUGIN_MAX_KEYS) {
			snprintf(err, errlen,
				 "plugin '%s': more than %d keys, or the key "
				 "array does not end with SWEEPER_KEYS_END; "
				 "fix the plugin", name, PLUGIN_MAX_KEYS);
			return -1;
		}
		value_quote(k->name, shown, sizeof(shown));
		if (!*k->name) {
			snprintf(err, errlen, "plugin '%s': key %zu has an "
				 "empty name; fix the plugin", name, n + 1);
			return -1;
		}
		for (other = desc->keys; other != k; other++) {
			if (strcmp(other->name, k->name) == 0) {
				snprintf(err, errlen,
					 "plugin '%s': key %s is declared "
					 "twice; fix the plugin", name, shown);
				return -1;
			}
		}
		if (k->type < SWEEPER_KEY_STRING || k->type > SWEEPER_KEY_ENUM) {
			snprintf(err, errlen,
				 "plugin '%s': key %s has unknown type %d; "
				 "fix the plugin", name, shown, (int)k->type);
			return -1;
		}
		if (k->type == SWEEPER_KEY_ENUM &&
		    (!k->choices || !*k->choices)) {
			snprintf(err, errlen,
				 "plugin '%s': enum key %s lists no choices; "
				 "declare them as \"a|b\" and fix the plugin",
				 name, shown);
			return -1;
		}
		if (value_range_parse(k, &range) != 0) {
			char text[VALUE_QUOTE_MAX];

			value_quote(k->choices, text, sizeof(text));
			snprintf(err, errlen,
				 "plugin '%s': key %s declares the range %s, "
				 "which is not min..max of %s values with min "
				 "at most max; write SWEEPER_RANGE(\"1h\", "
				 "\"30d\") and fix the plugin", name, shown,
				 text, k->type == SWEEPER_KEY_INT ? "int" :
				 "duration");
			return -1;
		}
		if (k->default_value &&
		    value_check(k, k->default_value, why, sizeof(why)) != 0) {
			snprintf(err, errlen,
				 "plugin '%s': the default of key %s is wrong: "
				 "%s; fix the plugin", name, shown, why);
			return -1;
		}
	}
	return 0;
}

int plugin_descriptor_check(const struct sweeper_plugin *desc,
			    const char *name, char *err, size_t errlen)
{
	size_t v1_size = offsetof(struct sweeper_plugin, fini) +
			 sizeof(desc->fini);

	if (!desc) {
		snprintf(err, errlen,
			 "plugin '%s': %s() returned NULL; it must return its "
			 "descriptor", name, SWEEPER_PLUGIN_ENTRY_SYMBOL);
		return -1;
	}
	if (desc->magic != SWEEPER_PLUGIN_MAGIC) {
		snprintf(err, errlen,
			 "plugin '%s': magic is 0x%08x, expected 0x%08x; it is "
			 "not an mfa-sweeper plugin or is corrupt",
			 name, (unsigned)desc->magic,
			 (unsigned)SWEEPER_PLUGIN_MAGIC);
		return -1;
	}
	if (desc->abi_version != SWEEPER_ABI_VERSION) {
		snprintf(err, errlen,
			 "plugin '%s': abi_version is %u, this sweeper supports "
			 "%u; rebuild it against this sweeper's sweeper/plugin.h",
			 name, (unsigned)desc->abi_version,
			 (unsigned)SWEEPER_ABI_VERSION);
		return -1;
	}
	if (desc->size < v1_size) {
		snprintf(err, errlen,
			 "plugin '%s': size is %u, ABI version %u needs at "
			 "least %zu; rebuild it against sweeper/plugin.h",
			 name, (unsigned)desc->size,
			 (unsigned)SWEEPER_ABI_VERSION, v1_size);
		return -1;
	}
	if (!desc->name || strcmp(desc->name, name) != 0) {
		snprintf(err, errlen,
			 "plugin '%s': name is '%s', expected '%s'; the file "
			 "must be named after the rule it defines",
			 name, desc->name ? desc->name : "(null)", name);
		return -1;
	}
	if (!desc->plan) {
		snprintf(err, errlen,
			 "plugin '%s': plan is NULL; a rule must have a plan "
			 "callback", name);
		return -1;
	}
	return plugin_keys_check(desc, name, err, errlen);
}

/* The message for a rule name that is not [a-z0-9_]+. */
static void plugin_name_error(const char *name, char *err, size_t errlen)
{
	char shown[VALUE_QUOTE_MAX];

	/* The name may hold anything, a newline included. */
	value_quote(name, shown, sizeof(shown));
	snprintf(err, errlen,
		 "invalid rule name %s; names use only a-z, 0-9 and _", shown);
}

/* d->path/NAME.so, as messages and --list-rules show it; caller frees. */
static char *plugin_shown_path(const struct plugin_dir *d, const char *name)
{
	size_t n = strlen(d->path) + strlen(name) + 5;
	char *path = xmalloc(n);

	snprintf(path, n, "%s/%s.so", d->path, name);
	return path;
}

int plugin_file_open(const struct plugin_dir *d, const char *name, char *err,
		     size_t errlen)
{
	char file[80];
	char *shown = NULL;
	int fd = -1;

	if (!plugin_name_valid(name)) {
		plugin_name_error(name, err, errlen);
		goto out;
	}
	/*
	 * plugin_dir was checked when it was opened; its owner may have
	 * changed its mode since, and that costs one fstat() to notice.
	 */
	if (plugin_dirfd_check(d->fd, d->real, 0, err, errlen) != 0)
		goto out;
	shown = plugin_shown_path(d, name);
	snprintf(file, sizeof(file), "%s.so", name);
	/*
	 * O_NONBLOCK: a FIFO named like a plugin must not hang the run
	 * before plugin_load_fd() refuses it as not a regular file.
	 */
	fd = openat(d->fd, file, O_RDONLY | O_NOFOLLOW | O_NONBLOCK |
		    O_NOCTTY | O_CLOEXEC);
	if (fd < 0 && errno == ELOOP)
		snprintf(err, errlen,
			 "plugin file '%s' is a symbolic link; install the "
			 "file itself into plugin_dir", shown);
	else if (fd < 0)
		snprintf(err, errlen, "cannot load rule '%s': '%s': %s", name,
			 shown, strerror(errno));
out:
	free(shown);
	return fd;
}

/* dl_iterate_phdr() callback: is the object named `data` loaded? */
static int plugin_name_taken(struct dl_phdr_info *info, size_t size,
			     void *data)
{
	(void)size;
	return info->dlpi_name && strcmp(info->dlpi_name, data) == 0;
}

/*
 * Name *fd as /proc/self/fd/N in `path` for dlopen(), making sure that the
 * name leads to the file fstat() showed as `st`.
 *
 * The dynamic loader returns an object already loaded under the same name
 * without opening anything, and a plugin loaded earlier keeps the name of
 * its descriptor after that descriptor was closed and its number reused.
 * So while some object carries the name, the descriptor moves to a higher
 * number.
 */
static int plugin_fd_path(int *fd, const struct stat *st, const char *shown,
			  char *path, size_t size, char *err, size_t errlen)
{
	struct stat via;

	for (;;) {
		int moved;

		snprintf(path, size, "/proc/self/fd/%d", *fd);
		if (!dl_iterate_phdr(plugin_name_taken, path))
			break;
		moved = fcntl(*fd, F_DUPFD_CLOEXEC, *fd + 1);
		if (moved < 0) {
			snprintf(err, errlen, "cannot load plugin '%s': cannot "
				 "duplicate its descriptor: %s", shown,
				 strerror(errno));
			return -1;
		}
		close(*fd);
		*fd = moved;
	}
	if (stat(path, &via) != 0) {
		snprintf(err, errlen,
			 "cannot load plugin '%s': '%s': %s; the loader opens "
			 "the file it checked through /proc/self/fd, so /proc "
			 "must be mounted", shown, path, strerror(errno));
		return -1;
	}
	if (via.st_dev != st->st_dev || via.st_ino != st->st_ino) {
		snprintf(err, errlen,
			 "cannot load plugin '%s': '%s' is not the file that "
			 "was opened; the loader needs the real /proc mounted "
			 "on /proc", shown, path);
		return -1;
	}
	return 0;
}

/*
 * dlerror()'s text without the "/proc/self/fd/N: " it starts with when it
 * is about the object itself: the message names the plugin file instead.
 */
static const char *plugin_dlerror(const char *path)
{
	const char *e = dlerror();
	size_t n = strlen(path);

	if (!e)
		return "unknown error";
	if (strncmp(e, path, n) == 0 && e[n] == ':' && e[n + 1] == ' ')
		return e + n + 2;
	return e;
}

/*
 * The entry point's name as g++ and clang++ mangle it when it is defined
 * without C linkage: a C++ plugin built against a plugin.h whose
 * SWEEPER_PLUGIN_DEFINE() did not say extern "C".
 */
#define PLUGIN_ENTRY_MANGLED "_Z20sweeper_plugin_entryv"

/*
 * Explain a plugin that has no sweeper_plugin_entry: built as C++ with
 * the entry point's name mangled, or without SWEEPER_PLUGIN() at all.
 */
static void plugin_no_entry(const struct plugin *p, char *err, size_t errlen)
{
	if (dlsym(p->handle, PLUGIN_ENTRY_MANGLED))
		snprintf(err, errlen,
			 "plugin '%s' exports %s() with C++ linkage (as %s), "
			 "so the loader cannot find it by its name; rebuild "
			 "it against this sweeper's sweeper/plugin.h, whose "
			 "SWEEPER_PLUGIN() gives it C linkage, or wrap the "
			 "macro in extern \"C\" { }", p->path,
			 SWEEPER_PLUGIN_ENTRY_SYMBOL, PLUGIN_ENTRY_MANGLED);
	else
		snprintf(err, errlen,
			 "plugin '%s' does not export %s(); declare the "
			 "plugin with SWEEPER_PLUGIN() (or export its "
			 "descriptor with SWEEPER_PLUGIN_DEFINE())", p->path,
			 SWEEPER_PLUGIN_ENTRY_SYMBOL);
	dlerror();
}

int plugin_load_fd(struct plugin *p, const struct plugin_dir *d,
		   const char *name, int fd, char *err, size_t errlen)
{
	char path[PLUGIN_FD_PATH_MAX];
	struct stat st;
	sweeper_plugin_entry_fn entry;
	void *sym;
	int ret = -1;

	memset(p, 0, sizeof(*p));
	p->name = xstrdup(name);
	p->path = plugin_shown_path(d, name);
	if (fstat(fd, &st) != 0) {
		snprintf(err, errlen, "cannot load rule '%s': '%s': %s", name,
			 p->path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "plugin file '%s' is not a regular file",
			 p->path);
		goto out;
	}
	if (plugin_path_check(p->path, &st, 0, "plugin file", err, errlen) != 0)
		goto out;
	if (plugin_fd_path(&fd, &st, p->path, path, sizeof(path), err,
			   errlen) != 0)
		goto out;

	/*
	 * RTLD_NOW reports missing symbols here rather than in the middle of
	 * a run; RTLD_LOCAL keeps one plugin's symbols from satisfying
	 * another's.  The plugin's constructors run in here, before any
	 * check of its descriptor below.
	 */
	p->handle = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!p->handle) {
		snprintf(err, errlen, "cannot load plugin '%s': %s", p->path,
			 plugin_dlerror(path));
		goto out;
	}
	dlerror();
	sym = dlsym(p->handle, SWEEPER_PLUGIN_ENTRY_SYMBOL);
	if (!sym) {
		plugin_no_entry(p, err, errlen);
		goto out;
	}
	/* POSIX guarantees this conversion for dlsym() results. */
	*(void **)&entry = sym;
	p->desc = entry();
	if (plugin_descriptor_check(p->desc, name, err, errlen) != 0) {
		p->desc = NULL;
		goto out;
	}
	ret = 0;
out:
	close(fd);
	if (ret != 0)
		plugin_unload(p);
	return ret;
}

int plugin_load_at(struct plugin *p, const struct plugin_dir *d,
		   const char *name, char *err, size_t errlen)
{
	int fd;

	memset(p, 0, sizeof(*p));
	fd = plugin_file_open(d, name, err, errlen);
	if (fd < 0)
		return -1;
	return plugin_load_fd(p, d, name, fd, err, errlen);
}

int plugin_load(struct plugin *p, const char *dir, const char *name,
		char *err, size_t errlen)
{
	struct plugin_dir d = PLUGIN_DIR_INIT;
	int ret = -1;

	memset(p, 0, sizeof(*p));
	if (!plugin_name_valid(name)) {
		plugin_name_error(name, err, errlen);
		goto out;
	}
	if (plugin_dir_open(&d, dir, err, errlen) != 0)
		goto out;
	ret = plugin_load_at(p, &d, name, err, errlen);
out:
	plugin_dir_close(&d);
	return ret;
}

void plugin_unload(struct plugin *p)
{
	if (p->handle)
		dlclose(p->handle);
	free(p->name);
	free(p->path);
	memset(p, 0, sizeof(*p));
}
