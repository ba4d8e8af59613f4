/*
 * ledger_cli.h: the command-line modes that work on the audit ledger
 * alone: --init-ledger, --print-ledger-sql and --history (handlers of
 * mode.h's table).  Each works whether or not [ledger] enabled is set,
 * logs its errors and returns the invocation's outcome.
 */
#ifndef SWEEPER_LEDGER_CLI_H
#define SWEEPER_LEDGER_CLI_H

#include "invocation.h"

/* --print-ledger-sql: the DDL on stdout; connects to nothing. */
enum outcome ledger_cli_print_sql(struct invocation *inv);

/* --init-ledger: run that DDL; the server refusing it is exit 78. */
enum outcome ledger_cli_init(struct invocation *inv);

/* --history [N]: the last N runs; exit 78 without the ledger's tables. */
enum outcome ledger_cli_history(struct invocation *inv);

#endif /* SWEEPER_LEDGER_CLI_H */
