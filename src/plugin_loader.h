/*
 * plugin_loader.h: finding, checking and loading rule plugins.
 *
 * A rule NAME is loaded from PLUGIN_DIR/NAME.so only.  The loader refuses a
 * plugin file, plugin_dir or any directory the lookup of plugin_dir passes
 * through that is writable by group or others (a root-owned sticky
 * directory such as /tmp is allowed above plugin_dir) or owned by someone
 * other than root or the user running the sweeper, as sudo and OpenSSH do
 * for the files they trust; a symbolic link on the way must be owned by one
 * of them too.
 *
 * The checks and the load cannot be told apart by a race: plugin_dir is
 * resolved and checked once, one directory at a time from /, and kept open
 * (struct plugin_dir); each plugin is opened relative to that descriptor
 * without following a symbolic link, checked with fstat() of its own
 * descriptor, and dlopen()ed as /proc/self/fd/N, i.e. exactly the file that
 * was checked.  Loading therefore needs /proc mounted (ProcSubset=pid is
 * enough); without it the load fails with a message saying so.
 *
 * What the checks cannot do: a plugin's constructors (and those of the
 * libraries it pulls in) run inside dlopen(), before the loader sees the
 * plugin's descriptor (magic, ABI version, size).  Only the owner and mode
 * checks above stand between a file and the sweeper's credentials.
 */
#ifndef SWEEPER_PLUGIN_LOADER_H
#define SWEEPER_PLUGIN_LOADER_H

#include <stddef.h>

#include "sweeper/plugin.h"

struct plugin {
	char *name;                        /* rule name, owned */
	char *path;                        /* PLUGIN_DIR/NAME.so as configured,
					      for messages; owned */
	void *handle;                      /* from dlopen() */
	const struct sweeper_plugin *desc; /* inside the plugin: valid only
					      while it is loaded */
};

/* A checked plugin directory, held open for the loads from it. */
struct plugin_dir {
	int fd;       /* O_PATH descriptor of the checked directory, or -1 */
	char *path;   /* as configured, owned: names plugin files in messages */
	char *real;   /* what it resolved to, owned: names it in messages */
};

#define PLUGIN_DIR_INIT { -1, NULL, NULL }

/*
 * Resolve `dir` and check it once: it must be an absolute path, every
 * directory the lookup passes through must be owned by root or the running
 * user and not writable by group or others (a root-owned sticky directory
 * is allowed above plugin_dir itself), every symbolic link on the way must
 * be owned by root or the running user, and the end must be a directory
 * passing the same checks, sticky or not.  On success *d (provided by the
 * caller) holds the open directory until plugin_dir_close().  Returns 0,
 * or -1 with one line in err and *d closed.
 */
int plugin_dir_open(struct plugin_dir *d, const char *dir, char *err,
		    size_t errlen);

/* Close and free; *d is reset to PLUGIN_DIR_INIT.  Accepts a closed one. */
void plugin_dir_close(struct plugin_dir *d);

/* plugin_dir_open() and plugin_dir_close(): whether `dir` would do. */
int plugin_dir_check(const char *dir, char *err, size_t errlen);

/*
 * Check a descriptor returned by the entry function of the plugin for rule
 * `name`: magic, abi_version, size (at least the ABI v1 size), name equal
 * to `name`, and plan not NULL.  The message names the field and both
 * values, e.g. "plugin 'x': abi_version is 2, this sweeper supports 1;
 * rebuild it against this sweeper's sweeper/plugin.h".  Returns 0 or -1.
 */
int plugin_descriptor_check(const struct sweeper_plugin *desc,
			    const char *name, char *err, size_t errlen);

/*
 * Open the plugin file of rule `name` in `d`: NAME.so, relative to the
 * directory's descriptor, refusing a symbolic link.  `name` must be
 * [a-z0-9_]+.  Returns the descriptor (O_RDONLY, O_CLOEXEC), which the
 * caller hands to plugin_load_fd(), or -1 with one line in err.  Nothing is
 * checked about the file yet: plugin_load_fd() does that on the
 * descriptor.
 */
int plugin_file_open(const struct plugin_dir *d, const char *name, char *err,
		     size_t errlen);

/*
 * Load the plugin of rule `name` from `fd`, a descriptor from
 * plugin_file_open(d, name), into *p (provided by the caller): fstat() of
 * the descriptor must show a regular file owned by root or the running
 * user and not writable by group or others; then dlopen() of that very
 * file through /proc/self/fd (RTLD_NOW | RTLD_LOCAL),
 * dlsym(SWEEPER_PLUGIN_ENTRY_SYMBOL) and plugin_descriptor_check().
 * Whatever the path names by now plays no part.  Takes `fd` over (it is
 * closed before returning).  Returns 0, or -1 with one line in err and *p
 * zeroed.
 */
int plugin_load_fd(struct plugin *p, const struct plugin_dir *d,
		   const char *name, int fd, char *err, size_t errlen);

/* plugin_file_open() then plugin_load_fd(): load rule `name` from `d`. */
int plugin_load_at(struct plugin *p, const struct plugin_dir *d,
		   const char *name, char *err, size_t errlen);

/*
 * plugin_dir_open(dir), plugin_load_at() and plugin_dir_close(): load one
 * plugin from a directory checked for this load alone.  Returns 0, or -1
 * with one line in err and *p left safe for plugin_unload().
 */
int plugin_load(struct plugin *p, const char *dir, const char *name,
		char *err, size_t errlen);

/* dlclose() and free; *p is zeroed.  Accepts a zeroed struct. */
void plugin_unload(struct plugin *p);

#endif /* SWEEPER_PLUGIN_LOADER_H */
