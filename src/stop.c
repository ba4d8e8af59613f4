/*
 * stop.c: SIGTERM and SIGINT, stop_timeout and PQcancel.
 *
 * A stop request only raises a flag: connecting checks it while it waits
 * for the server, the stages of a mode between them, and the engine
 * between batches and before every statement of a batch.  Before the
 * run, a statement on the connection (the preflight's) is cancelled at
 * once (stop_cancel_at_once()).  What needs a handler is the
 * batch that is already running, which may take up to statement_timeout.
 * The first signal arms a one-shot timer for stop_timeout; when it fires
 * (SIGALRM) while a batch is open, or at the second signal, the handler
 * sends PQcancel.  A cancel request that reaches the server between two
 * statements is dropped by the server, so after the first one the timer
 * repeats the cancel every STOP_RECANCEL_MS until the engine has closed
 * the batch.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "stop.h"

/* How often a cancel is sent again while the batch is still open. */
#define STOP_RECANCEL_MS 200

volatile sig_atomic_t stop_requested;
volatile sig_atomic_t stop_in_batch;
volatile sig_atomic_t stop_cancelled;

/*
 * Set before the handlers are installed and cleared, with the signals
 * blocked, before the object is freed: a handler sees it whole or NULL.
 */
static PGcancel *volatile stop_cancel_obj;

/*
 * The workers' connections (workers.c): each with its own cancel object
 * and flags, set up and torn down with the signals blocked, like the
 * run's own.
 */
struct stop_slot {
	PGcancel *volatile cancel;
	volatile sig_atomic_t in_batch;
	volatile sig_atomic_t cancelled;
};
static struct stop_slot stop_slots[STOP_WORKER_SLOTS];
static timer_t stop_timer;
static volatile sig_atomic_t stop_timer_ok;
static long long stop_timeout_ms;
/* stop_cancel_at_once(): any statement is cancelled at the first signal. */
static volatile sig_atomic_t stop_at_once;

/* Whether a worker's batch is open. */
static int stop_worker_in_batch(void)
{
	size_t i;

	for (i = 0; i < STOP_WORKER_SLOTS; i++) {
		if (stop_slots[i].in_batch && stop_slots[i].cancel)
			return 1;
	}
	return 0;
}

/* Whether a statement now running is one a stop cancels. */
static int stop_cancellable(void)
{
	return stop_in_batch || stop_at_once || stop_worker_in_batch();
}

/* Arm the timer to fire after `ms` (0 disarms it); async-signal-safe. */
static void stop_arm(long long ms, long long every_ms)
{
	struct itimerspec its;

	if (!stop_timer_ok)
		return;
	memset(&its, 0, sizeof(its));
	its.it_value.tv_sec = (time_t)(ms / 1000);
	its.it_value.tv_nsec = (long)(ms % 1000) * 1000000L;
	its.it_interval.tv_sec = (time_t)(every_ms / 1000);
	its.it_interval.tv_nsec = (long)(every_ms % 1000) * 1000000L;
	timer_settime(stop_timer, 0, &its, NULL);
}

/*
 * Cancel the open batch, or the running statement of the preflight, if
 * any, and repeat until it is closed.
 */
static void stop_cancel_batch(void)
{
	/* Static: a handler's stack is no place for a buffer PQcancel fills. */
	static char errbuf[256];
	PGcancel *c = stop_cancel_obj;
	int sent = 0;
	size_t i;

	/* Each worker's open batch, on its own connection. */
	for (i = 0; i < STOP_WORKER_SLOTS; i++) {
		PGcancel *wc = stop_slots[i].cancel;

		if (!stop_slots[i].in_batch || !wc)
			continue;
		stop_slots[i].cancelled = 1;
		(void)PQcancel(wc, errbuf, (int)sizeof(errbuf));
		sent = 1;
	}
	if ((stop_in_batch || stop_at_once) && c) {
		stop_cancelled = 1;
		/* Its failure cannot be reported from here; the repeat
		 * retries it. */
		(void)PQcancel(c, errbuf, (int)sizeof(errbuf));
		sent = 1;
	}
	if (sent)
		stop_arm(STOP_RECANCEL_MS, STOP_RECANCEL_MS);
}

static void stop_on_signal(int sig)
{
	int saved = errno;

	(void)sig;
	if (stop_requested < 2)
		stop_requested++;
	if (stop_requested >= 2 || stop_timeout_ms == 0 || stop_at_once)
		stop_cancel_batch();
	else
		stop_arm(stop_timeout_ms, 0);
	errno = saved;
}

static void stop_on_alarm(int sig)
{
	int saved = errno;

	(void)sig;
	if (stop_cancellable())
		stop_cancel_batch();
	else
		stop_arm(0, 0);
	errno = saved;
}

void stop_from_parent(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR1);
	sigaddset(&sa.sa_mask, SIGALRM);
	sa.sa_handler = stop_on_signal;
	sigaction(SIGUSR1, &sa, NULL);
	/* The parent sees these and passes each on once, as SIGUSR1. */
	sa.sa_handler = SIG_IGN;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

int stop_install(char *err, size_t errlen)
{
	struct sigaction sa;
	struct sigevent sev;
	int ret = 0;

	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIGALRM;
	if (timer_create(CLOCK_MONOTONIC, &sev, &stop_timer) == 0) {
		stop_timer_ok = 1;
	} else {
		snprintf(err, errlen, "cannot create the stop_timeout timer: "
			 "%s; a first stop signal will wait for the running "
			 "batch", strerror(errno));
		ret = -1;
	}

	/*
	 * Each handler blocks the others, so that two never send a cancel
	 * or arm the timer at the same time.  Without SA_RESTART, a signal
	 * interrupts the pause between batches and the wait for the server
	 * while connecting, so a stop is seen at once; libpq resumes its own
	 * interrupted waits.
	 */
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGINT);
	sigaddset(&sa.sa_mask, SIGTERM);
	sigaddset(&sa.sa_mask, SIGALRM);
	sa.sa_handler = stop_on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sa.sa_handler = stop_on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	/*
	 * A reader of stdout that went away (mfa-sweeper | head) must not
	 * kill the run before it logs its result; the write fails instead.
	 */
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	return ret;
}

int stop_watch(PGconn *conn, long long timeout_ms, char *err, size_t errlen)
{
	PGcancel *c = PQgetCancel(conn);
	sigset_t block, old;

	if (!c) {
		snprintf(err, errlen, "cannot make a cancel request for the "
			 "connection; a stop will wait for the running "
			 "statement");
		return -1;
	}
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGALRM);
	sigprocmask(SIG_BLOCK, &block, &old);
	stop_timeout_ms = timeout_ms;
	stop_cancel_obj = c;
	sigprocmask(SIG_SETMASK, &old, NULL);
	return 0;
}

/* Block the three signals this module handles, keeping the old mask. */
static void stop_block(sigset_t *old)
{
	sigset_t block;

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &block, old);
}

int stop_watch_worker(size_t slot, PGconn *conn,
		      volatile sig_atomic_t **in_batch,
		      volatile sig_atomic_t **cancelled, char *err,
		      size_t errlen)
{
	PGcancel *c;
	sigset_t old;

	if (slot >= STOP_WORKER_SLOTS) {
		snprintf(err, errlen, "no stop slot %zu for a worker", slot);
		return -1;
	}
	c = PQgetCancel(conn);
	if (!c) {
		snprintf(err, errlen, "cannot make a cancel request for a "
			 "worker's connection; a stop will wait for its running "
			 "statement");
		return -1;
	}
	stop_block(&old);
	stop_slots[slot].in_batch = 0;
	stop_slots[slot].cancelled = 0;
	stop_slots[slot].cancel = c;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	*in_batch = &stop_slots[slot].in_batch;
	*cancelled = &stop_slots[slot].cancelled;
	return 0;
}

void stop_unwatch_worker(size_t slot)
{
	PGcancel *c;
	sigset_t old;

	if (slot >= STOP_WORKER_SLOTS)
		return;
	stop_block(&old);
	c = stop_slots[slot].cancel;
	stop_slots[slot].cancel = NULL;
	stop_slots[slot].in_batch = 0;
	stop_slots[slot].cancelled = 0;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	PQfreeCancel(c);
}

void stop_cancel_at_once(int on)
{
	stop_at_once = on ? 1 : 0;
}

void stop_unwatch(void)
{
	sigset_t block, old;
	PGcancel *c;

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGALRM);
	sigprocmask(SIG_BLOCK, &block, &old);
	stop_arm(0, 0);
	c = stop_cancel_obj;
	stop_cancel_obj = NULL;
	stop_in_batch = 0;
	stop_at_once = 0;
	sigprocmask(SIG_SETMASK, &old, NULL);
	PQfreeCancel(c);
}
