/*
 * seccomp_deny: run a program with changes to its resource limits (and,
 * with -d, to its dumpable flag) refused with EPERM, the way systemd runs
 * a unit with SystemCallFilter=~@resources and SystemCallErrorNumber=EPERM,
 * without systemd.
 *
 *   seccomp_deny [-d] PROGRAM [ARG]...
 *
 * Refused: setrlimit(), and prlimit64() when it sets a limit (glibc's
 * setrlimit() is made of that); reading limits still works, as it does
 * under systemd, whose @default set holds prlimit64.  With -d also
 * prctl(PR_SET_DUMPABLE).  The filter is inherited across execve.  On an
 * architecture this file does not name, the filter skips its architecture
 * check, which is good enough for a test.
 *
 * Exit codes: PROGRAM's own; 2 for a usage error; 77 when the filter
 * cannot be installed; 127 when PROGRAM cannot be executed.
 */
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__)
#define NATIVE_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define NATIVE_ARCH AUDIT_ARCH_AARCH64
#elif defined(__i386__)
#define NATIVE_ARCH AUDIT_ARCH_I386
#endif

/* No syscall number and no prctl option: for a check that is off. */
#define NOTHING 0xffffffffu

#ifdef __NR_setrlimit
#define NR_SETRLIMIT __NR_setrlimit
#else
#define NR_SETRLIMIT NOTHING
#endif

/* The low and high 32 bits of syscall argument `i`. */
#define ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (i) + \
		   (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? 0 : 4))
#define ARG_HI(i) (offsetof(struct seccomp_data, args) + 8 * (i) + \
		   (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? 4 : 0))

int main(int argc, char **argv)
{
	/* The prctl option refused: none without -d. */
	uint32_t prctl_option = NOTHING;
	int first = 1;

	if (argc > 1 && strcmp(argv[1], "-d") == 0) {
		prctl_option = PR_SET_DUMPABLE;
		first = 2;
	}
	if (argc <= first) {
		fprintf(stderr, "usage: seccomp_deny [-d] PROGRAM [ARG]...\n");
		return 2;
	}

	/*
	 * Jumps count the instructions they skip: the comments number
	 * them, ALLOW is 12 and DENY is 13.
	 */
	struct sock_filter filter[] = {
		/* 0 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
				 offsetof(struct seccomp_data, arch)),
#ifdef NATIVE_ARCH
		/* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NATIVE_ARCH, 0, 10),
#else
		/* 1 */ BPF_JUMP(BPF_JMP | BPF_JA, 0, 0, 0),
#endif
		/* 2 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
				 offsetof(struct seccomp_data, nr)),
		/* 3 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, NR_SETRLIMIT, 9, 0),
		/* 4 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_prlimit64, 0, 4),
		/* 5-8: prlimit64's new limit, NULL when it only reads */
		/* 5 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(2)),
		/* 6 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 0, 6),
		/* 7 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_HI(2)),
		/* 8 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0, 3, 4),
		/* 9 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, __NR_prctl, 0, 2),
		/* 10 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, ARG_LO(0)),
		/* 11 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, prctl_option, 1, 0),
		/* 12 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
		/* 13 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EPERM),
	};
	struct sock_fprog prog = {
		(unsigned short)(sizeof(filter) / sizeof(filter[0])), filter
	};

	if (prctl(PR_SET_NO_NEW_PRIVS, 1L, 0L, 0L, 0L) != 0 ||
	    prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0L, 0L) != 0) {
		fprintf(stderr, "seccomp_deny: cannot install the filter: %s\n",
			strerror(errno));
		return 77;
	}
	execv(argv[first], argv + first);
	fprintf(stderr, "seccomp_deny: cannot execute '%s': %s\n",
		argv[first], strerror(errno));
	return 127;
}
