/*
 * plugin_loader.h: finding, checking and loading rule plugins.
 *
 * A rule NAME is loaded from PLUGIN_DIR/NAME.so only.  Before dlopen() the
 * loader refuses a plugin file, plugin_dir or any ancestor directory that is
 * writable by group or others (a root-owned sticky directory such as /tmp is
 * allowed as an ancestor) or owned by someone other than root or the user
 * running the sweeper, as sudo and OpenSSH do for the files they trust.
 * After dlopen() it checks the descriptor's magic, ABI version and size.
 */
#ifndef SWEEPER_PLUGIN_LOADER_H
#define SWEEPER_PLUGIN_LOADER_H

#include <stddef.h>

#include "sweeper/plugin.h"

struct plugin {
	char *name;                        /* rule name, owned */
	char *path;                        /* PLUGIN_DIR/NAME.so, owned */
	void *handle;                      /* from dlopen() */
	const struct sweeper_plugin *desc; /* inside the plugin: valid only
					      while it is loaded */
};

/*
 * Check that `dir` is a safe plugin directory: an absolute path to a
 * directory which, like each of its ancestors, is owned by root or the
 * running user and not writable by group or others (an ancestor may be a
 * root-owned sticky directory).  Returns 0, or -1 with one line in err.
 */
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
 * Load the plugin of rule `name` from `dir` into *p (provided by the
 * caller).  `name` must be [a-z0-9_]+.  Runs every check above, then
 * dlopen(RTLD_NOW | RTLD_LOCAL), dlsym(SWEEPER_PLUGIN_ENTRY_SYMBOL) and
 * plugin_descriptor_check().  Returns 0, or -1 with one line in err and *p
 * left safe for plugin_unload().
 */
int plugin_load(struct plugin *p, const char *dir, const char *name,
		char *err, size_t errlen);

/* dlclose() and free; *p is zeroed.  Accepts a zeroed struct. */
void plugin_unload(struct plugin *p);

#endif /* SWEEPER_PLUGIN_LOADER_H */
