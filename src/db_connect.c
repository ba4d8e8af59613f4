/*
 * db_connect.c: connecting to PostgreSQL (db.h): the target and its
 * password, the wait, the second connection opened early, reconnecting.
 *
 * Connecting is done step by step (PQconnectStartParams, PQconnectPoll)
 * rather than with PQconnectdbParams, whose wait for the server resumes
 * after every signal: a stop request (stop.h) must end a connection
 * attempt to a server that does not answer, not wait for connect_timeout.
 * libpq's messages leave this file only through db_message(), which
 * takes the password and the dsn out of them (db_secret.c).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "config.h"
#include "credential.h"
#include "db.h"
#include "db_internal.h"
#include "log.h"
#include "stop.h"
#include "xalloc.h"

int db_target_init(struct db_target *t, const struct config *cfg, char *err,
		   size_t errlen)
{
	const struct config_entry *e;
	char why[1024];
	char *path = NULL;
	int ret = -1;

	memset(t, 0, sizeof(*t));
	t->dsn = cfg->dsn;
	e = config_entry_find(cfg, "database", "password_file");
	if (!e || !e->value[0])
		return 0;
	if (db_dsn_has_password(cfg->dsn)) {
		snprintf(err, errlen,
			 "%s:%d: [database] password_file: the dsn holds a password too; keep only one, and take it out of the dsn",
			 cfg->path, e->line);
		return -1;
	}
	path = credential_path(cfg->path, e->value);
	if (credential_read(path, "password file", "the database password",
			    &t->password, &t->password_len, why,
			    sizeof(why)) != 0) {
		snprintf(err, errlen, "%s:%d: [database] password_file: %s",
			 cfg->path, e->line, why);
		goto out;
	}
	ret = 0;
out:
	free(path);
	return ret;
}

void db_target_free(struct db_target *t)
{
	credential_free(t->password, t->password_len);
	memset(t, 0, sizeof(*t));
}

/*
 * connect_timeout as libpq reads it: whole seconds, at least 2 when set,
 * 0 (wait for ever) when unset, 0 or negative.
 */
static long long db_connect_timeout_ms(PGconn *conn)
{
	PQconninfoOption *opts = PQconninfo(conn), *o;
	long long s = 0;

	for (o = opts; o && o->keyword; o++) {
		if (strcmp(o->keyword, "connect_timeout") == 0 && o->val)
			s = strtoll(o->val, NULL, 10);
	}
	PQconninfoFree(opts);
	if (s <= 0)
		return 0;
	return (s < 2 ? 2 : s) * 1000;
}

/* Which server the attempt is at: host, address and port. */
static void db_connect_target(PGconn *conn, char *buf, size_t size)
{
	const char *host = PQhost(conn), *addr = PQhostaddr(conn);
	const char *port = PQport(conn);

	snprintf(buf, size, "%s|%s|%s", host ? host : "", addr ? addr : "",
		 port ? port : "");
}

/*
 * Drive PQconnectPoll(), from `st` (what it said last), until the
 * connection is made, it fails, a stop is
 * requested or one server has not answered for connect_timeout (each
 * server of a multi-host dsn gets its own, as with libpq's own wait).
 * The signals are blocked but for the wait itself (ppoll()), so a stop
 * request that comes between the check and the wait still ends the wait.
 * Returns 0 when connected; -1 with one line in err; -2 when libpq gave
 * up, with its message (PQerrorMessage()) left for the caller to scrub.
 */
static int db_connect_wait(PGconn *conn, PostgresPollingStatusType st,
			   char *err, size_t errlen)
{
	long long timeout_ms = db_connect_timeout_ms(conn);
	struct timespec deadline = { 0, 0 };
	char target[512] = "", now_at[512];
	sigset_t block, old;
	int ret = -1;

	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigprocmask(SIG_BLOCK, &block, &old);
	for (;;) {
		struct pollfd pfd;
		struct timespec wait;
		long long left;
		int rc;

		if (st == PGRES_POLLING_OK) {
			ret = 0;
			break;
		}
		/* libpq's message may quote a secret: the caller scrubs it. */
		if (st == PGRES_POLLING_FAILED) {
			ret = -2;
			break;
		}
		if (stop_requested) {
			snprintf(err, errlen, "cannot connect to the database: "
				 "stopped by a signal while connecting");
			break;
		}
		db_connect_target(conn, now_at, sizeof(now_at));
		if (strcmp(now_at, target) != 0) {
			memcpy(target, now_at, sizeof(target));
			clock_deadline_in(&deadline, timeout_ms);
		}
		left = clock_left_ms(&deadline);
		if (left == 0) {
			const char *host = PQhost(conn), *port = PQport(conn);

			snprintf(err, errlen, "cannot connect to the database: "
				 "no answer from the server at \"%s\", port %s "
				 "within connect_timeout (%lld s)",
				 host ? host : "?", port ? port : "?",
				 timeout_ms / 1000);
			break;
		}
		pfd.fd = PQsocket(conn);
		pfd.events = st == PGRES_POLLING_READING ? POLLIN : POLLOUT;
		pfd.revents = 0;
		if (left > 0) {
			wait.tv_sec = (time_t)(left / 1000);
			wait.tv_nsec = (long)(left % 1000) * 1000000L;
		}
		rc = ppoll(&pfd, 1, left > 0 ? &wait : NULL, &old);
		if (rc < 0 && errno != EINTR) {
			snprintf(err, errlen, "cannot connect to the database: "
				 "cannot wait for the server: %s",
				 strerror(errno));
			break;
		}
		/* A signal or the deadline: look at both again first. */
		if (rc <= 0)
			continue;
		st = PQconnectPoll(conn);
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	return ret;
}

PGconn *db_connect(const struct db_target *t, char *err, size_t errlen)
{
	/*
	 * With expand_dbname, settings in the dsn override the ones listed
	 * before it, so these are defaults the operator can change; the
	 * password from password_file comes after it (the dsn then holds
	 * none: db_target_init() sees to that).
	 */
	const char *keys[] = {
		"connect_timeout", "fallback_application_name", "dbname",
		NULL, NULL
	};
	const char *values[] = { "10", "mfa-sweeper", t->dsn, NULL, NULL };
	const char *dsn = t->dsn ? t->dsn : "";
	char *dsn_password = NULL, *uri_password = NULL;
	struct db_secrets ds;
	PQconninfoOption *opts;
	PGconn *conn = NULL;
	int rc;

	if (t->password) {
		keys[3] = "password";
		values[3] = t->password;
	}
	/*
	 * config_load() has refused a dsn libpq cannot parse; this is a net
	 * that keeps libpq's parse errors, which quote the dsn, away.
	 */
	if (db_dsn_is_conninfo(dsn)) {
		opts = PQconninfoParse(dsn, NULL);
		if (!opts) {
			snprintf(err, errlen,
				 "cannot connect to the database: libpq cannot read [database] dsn; run --check-config");
			return NULL;
		}
		PQconninfoFree(opts);
	}
	conn = PQconnectStartParams(keys, values, 1);
	if (!conn) {
		snprintf(err, errlen, "cannot connect to the database: out of memory");
		return NULL;
	}
	rc = PQstatus(conn) == CONNECTION_BAD ? -2 :
	     /* libpq: before the first PQconnectPoll(), as if it said WRITING. */
	     db_connect_wait(conn, PGRES_POLLING_WRITING, err, errlen);
	if (rc == -1) {
		PQfinish(conn);
		conn = NULL;
		goto out;
	}
	if (rc != 0) {
		dsn_password = db_dsn_password(dsn);
		uri_password = db_dsn_uri_password(dsn);
		db_secrets_conn(&ds, conn);
		db_secrets_add(&ds, t->password);
		db_secrets_add(&ds, dsn_password);
		db_secrets_add(&ds, uri_password);
		if (db_dsn_is_conninfo(dsn))
			db_secrets_add(&ds, dsn);
		db_message("cannot connect to the database: ",
			   PQerrorMessage(conn), NULL, &ds, err, errlen);
		PQfinish(conn);
		conn = NULL;
		goto out;
	}
	PQsetNoticeReceiver(conn, db_notice, conn);
out:
	db_free_secret(dsn_password);
	db_free_secret(uri_password);
	return conn;
}

/*
 * The settings `old` was opened with, as the keyword and value arrays of
 * PQconnectdbParams(), borrowed from *opts: free the arrays, then
 * PQconninfoFree(*opts).  Returns 0, or -1 when out of memory.
 */
static int db_conninfo_params(PGconn *old, PQconninfoOption **opts,
			      const char ***keys, const char ***values)
{
	PQconninfoOption *o;
	size_t n = 0;

	*opts = PQconninfo(old);
	if (!*opts)
		return -1;
	for (o = *opts; o->keyword; o++)
		n++;
	*keys = xcalloc(n + 1, sizeof(**keys));
	*values = xcalloc(n + 1, sizeof(**values));
	n = 0;
	for (o = *opts; o->keyword; o++) {
		if (!o->val)
			continue;
		(*keys)[n] = o->keyword;
		(*values)[n] = o->val;
		n++;
	}
	return 0;
}

/*
 * Carry a connection that PQconnectStartParams() began through as much of
 * its handshake as needs no waiting, from `st` (what PQconnectPoll() said
 * last).  Returns the status to go on from (db_connect_wait()), or
 * PGRES_POLLING_FAILED.
 */
static PostgresPollingStatusType db_spare_advance(PGconn *conn,
						  PostgresPollingStatusType st)
{
	while (st != PGRES_POLLING_OK && st != PGRES_POLLING_FAILED) {
		struct pollfd pfd = { PQsocket(conn), POLLOUT, 0 };

		if (pfd.fd < 0)
			return PGRES_POLLING_FAILED;
		if (st == PGRES_POLLING_READING)
			pfd.events = POLLIN;
		if (poll(&pfd, 1, 0) != 1)
			break;
		st = PQconnectPoll(conn);
	}
	return st;
}

int db_spare_start(PGconn *conn)
{
	struct db_state *st = db_state(conn);
	const char **keys, **values;
	PQconninfoOption *opts;
	PGconn *spare;

	if (!st || st->spare)
		return st ? 0 : -1;
	if (db_conninfo_params(conn, &opts, &keys, &values) != 0)
		return -1;
	spare = PQconnectStartParams(keys, values, 0);
	free(keys);
	free(values);
	PQconninfoFree(opts);
	if (!spare || PQstatus(spare) == CONNECTION_BAD) {
		PQfinish(spare);
		return -1;
	}
	/* libpq: before the first PQconnectPoll(), as if it said WRITING. */
	st->spare_poll = db_spare_advance(spare, PGRES_POLLING_WRITING);
	if (st->spare_poll == PGRES_POLLING_FAILED) {
		PQfinish(spare);
		return -1;
	}
	st->spare = spare;
	return 0;
}

/* Give `conn` the settings and notice receiver of a connection like `old`;
 * NULL (with err) when its settings cannot be applied. */
static PGconn *db_reconnected(PGconn *old, PGconn *conn, char *err,
			      size_t errlen)
{
	if (db_state(old) &&
	    db_set_local(conn, &db_state(old)->local, err, errlen) != 0) {
		PQfinish(conn);
		return NULL;
	}
	PQsetNoticeReceiver(conn, db_notice, conn);
	return conn;
}

PGconn *db_spare_take(PGconn *old, char *err, size_t errlen)
{
	struct db_state *st = db_state(old);
	PGconn *spare = st ? st->spare : NULL;

	if (!spare)
		return db_reconnect(old, err, errlen);
	st->spare = NULL;
	if (db_connect_wait(spare, st->spare_poll, err, errlen) != 0) {
		PQfinish(spare);
		if (stop_requested) {
			snprintf(err, errlen, "stopped by a signal while "
				 "connecting");
			return NULL;
		}
		/* Left waiting too long (authentication_timeout), say. */
		log_msg(SWEEPER_LOG_DEBUG, "the second connection opened "
			"early did not open; opening another");
		return db_reconnect(old, err, errlen);
	}
	return db_reconnected(old, spare, err, errlen);
}

PGconn *db_reconnect(PGconn *old, char *err, size_t errlen)
{
	PQconninfoOption *opts;
	const char **keys, **values;
	struct db_secrets ds;
	PGconn *conn = NULL;

	if (db_conninfo_params(old, &opts, &keys, &values) != 0) {
		snprintf(err, errlen, "cannot reconnect: out of memory");
		return NULL;
	}
	conn = PQconnectdbParams(keys, values, 0);
	if (!conn) {
		snprintf(err, errlen, "cannot reconnect: out of memory");
	} else if (PQstatus(conn) != CONNECTION_OK) {
		db_secrets_conn(&ds, conn);
		db_secrets_add(&ds, PQpass(old));
		db_message("cannot reconnect: ", PQerrorMessage(conn), NULL,
			   &ds, err, errlen);
		PQfinish(conn);
		conn = NULL;
	} else {
		conn = db_reconnected(old, conn, err, errlen);
	}
	free(keys);
	free(values);
	PQconninfoFree(opts);
	return conn;
}
