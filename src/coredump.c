/*
 * coredump.c: no core dumps once secrets are loaded.
 *
 * The sweeper holds the database password (in libpq's connection) and the
 * webhook key in memory.  A core file written on a crash lands wherever
 * kernel.core_pattern says, often readable by more people than the
 * credential files, and a process of the same user could read the memory
 * through ptrace or /proc/PID/mem.  Both steps below are cheap and neither
 * changes what the sweeper may do: a non-dumpable process still opens its
 * own /proc/self/fd/N, which the plugin loader relies on.
 */
#include <sys/prctl.h>
#include <sys/resource.h>

#include "coredump.h"

int coredump_disable(void)
{
	struct rlimit none = { 0, 0 };
	int ret = 0;

	if (prctl(PR_SET_DUMPABLE, 0L, 0L, 0L, 0L) != 0)
		ret = -1;
	if (setrlimit(RLIMIT_CORE, &none) != 0)
		ret = -1;
	return ret;
}
