/*
 * stop.h: stopping a run on SIGTERM or SIGINT.
 *
 * The first signal asks the engine to stop at the next batch boundary.  A
 * batch still running `stop_timeout` later is cancelled with PQcancel, so
 * its transaction rolls back; a second signal cancels it at once.  The
 * state lives in this module because signal handlers can reach nothing
 * else; the engine sees it through the three flags below.
 *
 * Signal safety: the handlers only store to volatile sig_atomic_t flags
 * and call PQcancel() (documented by libpq as safe in a signal handler)
 * and timer_settime() (async-signal-safe in POSIX), and they keep errno.
 */
#ifndef SWEEPER_STOP_H
#define SWEEPER_STOP_H

#include <signal.h>

#include <libpq-fe.h>

/* Signals received: 0, 1 (stop at the next boundary), 2 (cancel now). */
extern volatile sig_atomic_t stop_requested;

/*
 * Set by the engine while a batch's transaction is open on the
 * connection, so that a cancel is sent only to a batch.
 */
extern volatile sig_atomic_t stop_in_batch;

/* Set by a handler just before it sends PQcancel for the batch. */
extern volatile sig_atomic_t stop_cancelled;

/*
 * Install the SIGINT and SIGTERM handlers (without SA_RESTART, so that a
 * signal wakes the pause between batches) and the SIGALRM timer that
 * enforces `timeout_ms` (0 = cancel at once), and ignore SIGPIPE.  Keeps
 * a PGcancel object for `conn` (borrowed; it must outlive stop_uninstall).
 * Returns 0, or -1 with one line in err when no timer or cancel object
 * can be made (the handlers are installed anyway: stopping at the next
 * boundary still works).
 */
int stop_install(PGconn *conn, long long timeout_ms, char *err,
		 size_t errlen);

/*
 * Stop the timer and free the cancel object, with the signals blocked
 * while it goes.  Stop requests are still recorded afterwards.  Call
 * before closing the connection.  Safe to call when stop_install() was
 * never called.
 */
void stop_uninstall(void);

#endif /* SWEEPER_STOP_H */
