/*
 * ledger_cli.h: the command-line modes that work on the audit ledger
 * alone: --init-ledger, --print-ledger-sql and --history.
 */
#ifndef SWEEPER_LEDGER_CLI_H
#define SWEEPER_LEDGER_CLI_H

#include "cli.h"
#include "config.h"

/* 1 when the command line asks for one of the ledger's modes. */
int ledger_cli_wanted(const struct cli_options *o);

/*
 * Run the ledger mode `o` asks for with the loaded `cfg`, whether or not
 * [ledger] enabled is set, and return the exit code: 0; 69 when the
 * database is unavailable; 78 when the ledger tables do not exist
 * (--history) or the server refuses the DDL (--init-ledger).  Logs its
 * errors.
 */
int ledger_cli_run(const struct cli_options *o, const struct config *cfg);

#endif /* SWEEPER_LEDGER_CLI_H */
