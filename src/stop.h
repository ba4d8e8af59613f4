/*
 * stop.h: stopping a run on SIGTERM or SIGINT, at any moment of it.
 *
 * The handlers are installed when the process starts.  Before the first
 * batch (connecting, the preflight) a signal stops the invocation at
 * once: connecting gives up (db_connect()) and a running statement is
 * cancelled (stop_cancel_at_once()).  During the run the first signal
 * asks the engine to stop at the next batch boundary; a batch still
 * running `stop_timeout` later is cancelled with PQcancel, so its
 * transaction rolls back; a second signal cancels it at once.  The state
 * lives in this module because signal handlers can reach nothing else;
 * the engine sees it through the three flags below.
 *
 * Signal safety: the handlers only store to volatile sig_atomic_t flags
 * and call PQcancel() (documented by libpq as safe in a signal handler)
 * and timer_settime() (async-signal-safe in POSIX), and they keep errno.
 */
#ifndef SWEEPER_STOP_H
#define SWEEPER_STOP_H

#include <signal.h>
#include <stddef.h>

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
 * signal wakes a pause or a wait for the server) and the SIGALRM handler
 * with its timer, and ignore SIGPIPE.  Call it first thing in main(), so
 * that a signal at any moment is a stop request, never the end of the
 * process without a word.  Until stop_watch(), a stop request only sets
 * stop_requested.  Returns 0, or -1 with one line in err when no timer
 * can be made (the handlers are installed anyway: stopping at the next
 * boundary still works; only the cancel of a running statement waits).
 */
int stop_install(char *err, size_t errlen);

/*
 * In a worker process of a run over targets (fleet.h), after
 * stop_install(): stop requests come from the parent alone, one SIGUSR1
 * for each, handled as SIGTERM is above; SIGINT and SIGTERM are ignored.
 * systemd signals every process of the service and a terminal's ^C the
 * whole process group, and the parent passes each stop request on:
 * without this a worker would count one request twice, and cancel its
 * batch at once instead of stopping at the next boundary.
 */
void stop_from_parent(void);

/*
 * Cancel what runs on `conn` (borrowed; it must outlive stop_unwatch())
 * when a stop is requested: at once while stop_cancel_at_once() is on,
 * else a batch (stop_in_batch) once it has run `timeout_ms` (0 = at once)
 * after the first signal.  Returns 0, or -1 with one line in err when no
 * cancel object can be made (a stop then waits for the running statement).
 */
int stop_watch(PGconn *conn, long long timeout_ms, char *err, size_t errlen);

/*
 * With `on`, a stop request cancels whatever statement runs on the
 * watched connection at once, and again until this is turned off: for
 * the preflight and the modes that only read, where no batch is worth
 * letting finish.  Turn it off before statements that must run whatever
 * happens (the run lock, the ledger's rows) and before the run's batches,
 * which stop_timeout governs.
 */
void stop_cancel_at_once(int on);

/* Room for the workers' connections (src/config.h's most workers). */
#define STOP_WORKER_SLOTS 16

/*
 * A worker's connection (workers.c), watched like the run's own: while
 * its *in_batch is set, a stop cancels its running statement as
 * stop_watch() says, and sets its *cancelled.  `slot` is the worker's
 * number, below STOP_WORKER_SLOTS; the two flags are the slot's, valid
 * until stop_unwatch_worker().  Returns 0, or -1 with one line in err
 * (a stop then waits for that worker's running statement).
 */
int stop_watch_worker(size_t slot, PGconn *conn,
		      volatile sig_atomic_t **in_batch,
		      volatile sig_atomic_t **cancelled, char *err,
		      size_t errlen);

/* Free slot `slot`'s cancel object, with the signals blocked.  Safe to
 * call for a slot never watched. */
void stop_unwatch_worker(size_t slot);

/*
 * Stop the timer and free the cancel object, with the signals blocked
 * while it goes.  Stop requests are still recorded afterwards.  Call
 * before closing the connection.  Safe to call when stop_watch() was
 * never called.
 */
void stop_unwatch(void);

#endif /* SWEEPER_STOP_H */
