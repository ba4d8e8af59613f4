/*
 * db_internal.h: what db.c, db_connect.c and db_secret.c share, and
 * nothing outside them includes: the secrets a message may not show, and
 * the state a connection keeps beside libpq's (db.h is the interface).
 */
#ifndef SWEEPER_DB_INTERNAL_H
#define SWEEPER_DB_INTERNAL_H

#include <stddef.h>

#include <libpq-fe.h>

#include "db.h"

/* The texts one message may not show; at most this many. */
#define DB_SECRETS_MAX 6

struct db_secrets {
	const char *text[DB_SECRETS_MAX];
	size_t n;
};

/* Add `text` (borrowed; nothing when NULL or empty) to what `ds` hides. */
void db_secrets_add(struct db_secrets *ds, const char *text);

/* Start `ds` with the password `conn` uses or tried (borrowed from it). */
void db_secrets_conn(struct db_secrets *ds, const PGconn *conn);

/*
 * Copy libpq's message `msg` into err as one line, after `prefix`, without
 * its newlines and with every secret of `ds` replaced; `state`, when not
 * NULL or empty, is appended as " (SQLSTATE state)".
 */
void db_message(const char *prefix, const char *msg, const char *state,
		const struct db_secrets *ds, char *err, size_t errlen);

/* libpq's notice receiver: logs a notice, scrubbed; `arg` is the PGconn. */
void db_notice(void *arg, const PGresult *res);

/* Whether libpq parses `dsn` (a key=value string or a URI), or takes it
 * as a database name. */
int db_dsn_is_conninfo(const char *dsn);

/* The password of `dsn` as libpq reads it, or of a URI's user info as
 * written: newly allocated, freed with db_free_secret(); NULL for none. */
char *db_dsn_password(const char *dsn);
char *db_dsn_uri_password(const char *dsn);

/* Wipe and free a secret the functions above returned; NULL is fine. */
void db_free_secret(char *text);

/* Names of statements prepared on a server session; owned. */
struct db_names {
	char **name;
	size_t n;
	size_t alloc;
};

/*
 * What a connection keeps beside libpq's own state, through libpq's
 * instance data (db_set_local()): the settings every transaction carries,
 * the time zone quoted once as a literal, and the names of the statements
 * prepared on its server session: a run's plans (db_run()), dropped at
 * the run's end, and the catalog queries (db_query_named()), kept for the
 * connection's life.  Owned by the connection, freed with it.
 */
struct db_state {
	struct db_local local;     /* local.time_zone points at zone */
	char *zone;                /* owned copy of the zone, or NULL */
	char *zone_sql;            /* the zone as a quoted literal, or NULL */
	struct db_names plans;     /* db_run()'s */
	struct db_names kept;      /* db_query_named()'s */
	/* db_query_memo()'s answers: keys and results, in step. */
	struct db_names memo_keys;
	PGresult **memo;
	size_t memo_alloc;
	/* db_spare_start()'s connection, and what PQconnectPoll() said last. */
	PGconn *spare;
	PostgresPollingStatusType spare_poll;
};

/* The state db_set_local() gave `conn`, or NULL (none, or conn NULL). */
struct db_state *db_state(PGconn *conn);

#endif
