/*
 * plugin_loader.c: safe-path checks, dlopen() and the ABI check of rule
 * plugins.
 *
 * A plugin runs with the sweeper's database credentials, so whoever can
 * replace a plugin file can delete anything.  The checks follow sudo's and
 * OpenSSH's rules for files they trust: the file, its directory and every
 * ancestor must be owned by root or by the user running the sweeper and
 * must not be writable by group or others.  A root-owned sticky ancestor
 * (/tmp) is accepted because its other users cannot rename or remove what
 * lies below it.
 */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plugin_loader.h"
#include "values.h"
#include "xalloc.h"

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

/*
 * Check one path's owner and mode.  `is_ancestor` allows a root-owned
 * sticky directory; `what` names the path's role in the message.
 */
static int plugin_path_check(const char *path, const struct stat *st,
			     int is_ancestor, const char *what, char *err,
			     size_t errlen)
{
	uid_t me = geteuid();
	unsigned mode = (unsigned)(st->st_mode & 07777);

	if (st->st_uid != 0 && st->st_uid != me) {
		snprintf(err, errlen,
			 "%s '%s' is owned by uid %u, not by root or the user "
			 "running mfa-sweeper (uid %u); chown it to root",
			 what, path, (unsigned)st->st_uid, (unsigned)me);
		return -1;
	}
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

int plugin_dir_check(const char *dir, char *err, size_t errlen)
{
	char real[PATH_MAX];
	char prefix[PATH_MAX];
	struct stat st;
	size_t i, len;

	if (dir[0] != '/') {
		snprintf(err, errlen,
			 "plugin_dir '%s' is not an absolute path; write it "
			 "from / on", dir);
		return -1;
	}
	if (!realpath(dir, real)) {
		snprintf(err, errlen, "cannot use plugin_dir '%s': %s", dir,
			 strerror(errno));
		return -1;
	}
	if (stat(real, &st) != 0 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "plugin_dir '%s' is not a directory", dir);
		return -1;
	}

	/*
	 * Walk from / down to the directory itself: "/", "/usr", "/usr/lib",
	 * ...  realpath() removed every symbolic link, so each prefix is a
	 * real directory.
	 */
	len = strlen(real);
	if (len > 1) {
		if (stat("/", &st) != 0) {
			snprintf(err, errlen, "cannot check '/': %s",
				 strerror(errno));
			return -1;
		}
		if (plugin_path_check("/", &st, 1, "directory", err, errlen) != 0)
			return -1;
	}
	for (i = 1; i <= len; i++) {
		int last = (i == len);

		if (!last && real[i] != '/')
			continue;
		memcpy(prefix, real, i);
		prefix[i] = '\0';
		if (stat(prefix, &st) != 0) {
			snprintf(err, errlen, "cannot check '%s': %s", prefix,
				 strerror(errno));
			return -1;
		}
		if (plugin_path_check(prefix, &st, !last,
				      last ? "plugin_dir" : "directory",
				      err, errlen) != 0)
			return -1;
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
	return 0;
}

int plugin_load(struct plugin *p, const char *dir, const char *name,
		char *err, size_t errlen)
{
	struct stat st;
	sweeper_plugin_entry_fn entry;
	void *sym;
	size_t n;
	int ret = -1;

	memset(p, 0, sizeof(*p));
	if (!plugin_name_valid(name)) {
		char shown[VALUE_QUOTE_MAX];

		/* The name may hold anything, a newline included. */
		value_quote(name, shown, sizeof(shown));
		snprintf(err, errlen,
			 "invalid rule name %s; names use only a-z, 0-9 and _",
			 shown);
		goto out;
	}
	if (plugin_dir_check(dir, err, errlen) != 0)
		goto out;

	p->name = xstrdup(name);
	n = strlen(dir) + strlen(name) + 5;
	p->path = xmalloc(n);
	snprintf(p->path, n, "%s/%s.so", dir, name);

	if (lstat(p->path, &st) != 0) {
		snprintf(err, errlen, "cannot load rule '%s': '%s': %s", name,
			 p->path, strerror(errno));
		goto out;
	}
	if (S_ISLNK(st.st_mode)) {
		snprintf(err, errlen,
			 "plugin file '%s' is a symbolic link; install the "
			 "file itself into plugin_dir", p->path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "plugin file '%s' is not a regular file",
			 p->path);
		goto out;
	}
	if (plugin_path_check(p->path, &st, 0, "plugin file", err, errlen) != 0)
		goto out;

	/*
	 * RTLD_NOW reports missing symbols here rather than in the middle of
	 * a run; RTLD_LOCAL keeps one plugin's symbols from satisfying
	 * another's.
	 */
	p->handle = dlopen(p->path, RTLD_NOW | RTLD_LOCAL);
	if (!p->handle) {
		snprintf(err, errlen, "cannot load plugin '%s': %s", p->path,
			 dlerror());
		goto out;
	}
	dlerror();
	sym = dlsym(p->handle, SWEEPER_PLUGIN_ENTRY_SYMBOL);
	if (!sym) {
		snprintf(err, errlen,
			 "plugin '%s' does not export %s(); define it with "
			 "SWEEPER_PLUGIN_DEFINE()", p->path,
			 SWEEPER_PLUGIN_ENTRY_SYMBOL);
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
	if (ret != 0)
		plugin_unload(p);
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
