/*
 * stop.c: SIGTERM and SIGINT, stop_timeout and PQcancel.
 *
 * A stop request only raises a flag: the engine checks it between batches
 * and before every statement of a batch.  What needs a handler is the
 * batch that is already running, which may take up to statement_timeout.
 * The first signal arms a one-shot timer for stop_timeout; when it fires
 * (SIGALRM) while a batch is open, or at the second signal, the handler
 * sends PQcancel.  A cancel request that reaches the server between two
 * statements is dropped by the server, so after the first one the timer
 * repeats the cancel every STOP_RECANCEL_MS until the engine has closed
 * the batch.
 */
#include <errno.h>
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
static timer_t stop_timer;
static volatile sig_atomic_t stop_timer_ok;
static long long stop_timeout_ms;

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

/* Cancel the open batch, if any, and repeat until it is closed. */
static void stop_cancel_batch(void)
{
	/* Static: a handler's stack is no place for a buffer PQcancel fills. */
	static char errbuf[256];
	PGcancel *c = stop_cancel_obj;

	if (!stop_in_batch || !c)
		return;
	stop_cancelled = 1;
	/* Its failure cannot be reported from here; the repeat retries it. */
	(void)PQcancel(c, errbuf, (int)sizeof(errbuf));
	stop_arm(STOP_RECANCEL_MS, STOP_RECANCEL_MS);
}

static void stop_on_signal(int sig)
{
	int saved = errno;

	(void)sig;
	if (stop_requested < 2)
		stop_requested++;
	if (stop_requested >= 2 || stop_timeout_ms == 0)
		stop_cancel_batch();
	else
		stop_arm(stop_timeout_ms, 0);
	errno = saved;
}

static void stop_on_alarm(int sig)
{
	int saved = errno;

	(void)sig;
	if (stop_in_batch)
		stop_cancel_batch();
	else
		stop_arm(0, 0);
	errno = saved;
}

int stop_install(PGconn *conn, long long timeout_ms, char *err,
		 size_t errlen)
{
	struct sigaction sa;
	struct sigevent sev;
	int ret = 0;

	stop_timeout_ms = timeout_ms;
	stop_cancel_obj = PQgetCancel(conn);
	if (!stop_cancel_obj) {
		snprintf(err, errlen, "cannot make a cancel request for the "
			 "connection; a stop will wait for the running batch");
		ret = -1;
	}
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIGALRM;
	if (timer_create(CLOCK_MONOTONIC, &sev, &stop_timer) == 0) {
		stop_timer_ok = 1;
	} else if (ret == 0) {
		snprintf(err, errlen, "cannot create the stop_timeout timer: "
			 "%s; a first stop signal will wait for the running "
			 "batch", strerror(errno));
		ret = -1;
	}

	/*
	 * Each handler blocks the others, so that two never send a cancel
	 * or arm the timer at the same time.  Without SA_RESTART, a signal
	 * interrupts the pause between batches, so a stop is seen at once;
	 * libpq resumes its own interrupted waits.
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

void stop_uninstall(void)
{
	sigset_t block, old;
	PGcancel *c;

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGALRM);
	sigprocmask(SIG_BLOCK, &block, &old);
	if (stop_timer_ok) {
		stop_arm(0, 0);
		timer_delete(stop_timer);
		stop_timer_ok = 0;
	}
	c = stop_cancel_obj;
	stop_cancel_obj = NULL;
	stop_in_batch = 0;
	sigprocmask(SIG_SETMASK, &old, NULL);
	PQfreeCancel(c);
}
