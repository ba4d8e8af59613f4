/*
 * coredump.h: keep the sweeper's memory out of core dumps and out of other
 * processes of its user.
 */
#ifndef SWEEPER_COREDUMP_H
#define SWEEPER_COREDUMP_H

/*
 * Make the process non-dumpable (prctl PR_SET_DUMPABLE 0: no core file,
 * and no ptrace or /proc/PID/mem access by other processes of the same
 * user) and set RLIMIT_CORE to 0.  Call it first thing in main(), before
 * any secret is read.  Either step may be refused, e.g. setrlimit() by a
 * seccomp filter such as systemd's SystemCallFilter=~@resources, which
 * comes with LimitCORE=0 anyway: the other step still holds.  Returns 0
 * when both took effect, -1 when one did not; nothing to free.
 */
int coredump_disable(void);

#endif /* SWEEPER_COREDUMP_H */
