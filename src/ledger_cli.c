/*
 * ledger_cli.c: --init-ledger, --print-ledger-sql and --history.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sysexits.h>

#include "db.h"
#include "ledger.h"
#include "ledger_cli.h"
#include "log.h"

int ledger_cli_wanted(const struct cli_options *o)
{
	return o->init_ledger || o->print_ledger_sql || o->history > 0;
}

/* The exit code for a failure on `conn`: lost, or refused by the server. */
static int ledger_cli_failed(PGconn *conn, const char *err)
{
	log_msg(SWEEPER_LOG_ERROR, "%s", err);
	return db_lost(conn) ? EX_UNAVAILABLE : EX_CONFIG;
}

int ledger_cli_run(const struct cli_options *o, const struct config *cfg)
{
	struct ledger l;
	PGconn *conn = NULL;
	char err[2048];
	int ret = EX_OK, rc;

	if (ledger_setup(&l, cfg->ledger_schema, cfg->ledger_enabled, err,
			 sizeof(err)) != 0) {
		log_msg(SWEEPER_LOG_ERROR, "%s", err);
		return EX_CONFIG;
	}
	if (o->print_ledger_sql) {
		char *sql = ledger_sql(&l);

		fputs(sql, stdout);
		free(sql);
		return fflush(stdout) == 0 ? EX_OK : EX_IOERR;
	}

	conn = db_connect(cfg->dsn, err, sizeof(err));
	if (!conn) {
		log_msg(SWEEPER_LOG_ERROR, "%s; check [database] dsn in '%s'",
			err, cfg->path);
		return EX_UNAVAILABLE;
	}
	if (o->init_ledger) {
		if (ledger_create(conn, &l, err, sizeof(err)) != 0) {
			ret = ledger_cli_failed(conn, err);
			goto out;
		}
		log_msg(SWEEPER_LOG_INFO, "ledger ready: %s, %s and the run "
			"lease table %s", l.runs, l.deletions, l.lease);
		goto out;
	}
	rc = ledger_check(conn, &l, err, sizeof(err));
	if (rc != 0) {
		ret = ledger_cli_failed(conn, err);
		goto out;
	}
	if (ledger_history(conn, &l, o->history, stdout, err,
			   sizeof(err)) != 0)
		ret = ledger_cli_failed(conn, err);
out:
	PQfinish(conn);
	return ret;
}
