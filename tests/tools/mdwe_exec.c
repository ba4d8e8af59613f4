/*
 * mdwe_exec: run a program the way systemd runs a unit with
 * MemoryDenyWriteExecute=yes, without systemd.
 *
 *   mdwe_exec PROGRAM [ARG]...
 *
 * Turns on the kernel's memory-deny-write-execute for this process
 * (prctl PR_SET_MDWE, Linux 6.3 and later), which the program inherits
 * across execve, then executes PROGRAM.  Under it, as under systemd's
 * seccomp filter of the same name, no mapping may become executable after
 * it was created: a shared object that needs text relocations or an
 * executable stack fails to load.
 *
 * Exit codes: PROGRAM's own; 2 for a usage error; 77 when the kernel
 * does not offer PR_SET_MDWE (the caller decides what that means);
 * 127 when PROGRAM cannot be executed.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#ifndef PR_SET_MDWE
#define PR_SET_MDWE 65
#endif
#ifndef PR_MDWE_REFUSE_EXEC_GAIN
#define PR_MDWE_REFUSE_EXEC_GAIN 1
#endif

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: mdwe_exec PROGRAM [ARG]...\n");
		return 2;
	}
	if (prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0L, 0L, 0L) != 0) {
		fprintf(stderr, "mdwe_exec: cannot turn on PR_SET_MDWE: %s\n",
			strerror(errno));
		return 77;
	}
	execv(argv[1], argv + 1);
	fprintf(stderr, "mdwe_exec: cannot execute '%s': %s\n", argv[1],
		strerror(errno));
	return 127;
}
