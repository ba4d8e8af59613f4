/*
 * ledger_cli.c: --init-ledger, --print-ledger-sql and --history.
 */
#include <stdio.h>
#include <stdlib.h>

#include "db.h"
#include "ledger.h"
#include "ledger_cli.h"
#include "log.h"

enum outcome ledger_cli_print_sql(struct invocation *inv)
{
	char *sql = ledger_sql(&inv->ledger);

	fputs(sql, stdout);
	free(sql);
	return fflush(stdout) == 0 ? OUTCOME_OK : OUTCOME_IOERR;
}

enum outcome ledger_cli_init(struct invocation *inv)
{
	const struct ledger *l = &inv->ledger;
	char err[2048];

	if (ledger_create(inv->conn, l, err, sizeof(err)) != 0) {
		invocation_stop_db(inv, OUTCOME_CONFIG, err);
		return inv->outcome;
	}
	log_msg(SWEEPER_LOG_INFO, "ledger ready: %s, %s and the run lease "
		"table %s", l->runs, l->deletions, l->lease);
	return OUTCOME_OK;
}

enum outcome ledger_cli_history(struct invocation *inv)
{
	char err[2048];

	if (ledger_check(inv->conn, &inv->ledger, err, sizeof(err)) != 0 ||
	    ledger_history(inv->conn, &inv->ledger, inv->o->history, stdout,
			   err, sizeof(err)) != 0) {
		invocation_stop_db(inv, OUTCOME_CONFIG, err);
		return inv->outcome;
	}
	return OUTCOME_OK;
}
