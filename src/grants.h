/*
 * grants.h: the privileges the sweeper's role needs, per feature.
 *
 * One table in grants.c lists them (the rules' tables, the users table,
 * the audit ledger, max_replica_lag, --history and --init-ledger), and
 * drives both the check every run makes before anything is deleted and
 * the GRANT statements --print-grants prints; doc/security.md "Least
 * privilege" documents the same table.  A run needs no superuser, no
 * ownership of any table and nothing for the run lock.
 */
#ifndef SWEEPER_GRANTS_H
#define SWEEPER_GRANTS_H

#include <stddef.h>
#include <stdio.h>

#include <libpq-fe.h>

#include "config.h"
#include "ledger.h"
#include "rule.h"

/* What a run (or the config, for --print-grants) uses.  All borrowed. */
struct grants_scope {
	const struct config *cfg;
	const struct rule *rules;       /* the rules this run uses, planned */
	size_t nrules;
	const struct ledger *ledger;    /* enabled 0: no ledger */
	int lookups;                    /* users looked up by id and email:
					 * a scoped run or --check-config */
};

/*
 * Check, as the connection's current role, every privilege the run
 * described by *g needs, in the order of the table (a schema before its
 * tables).  Objects that do not exist are passed over: the checks that
 * follow name them.  Returns 0 when every privilege is held; 1 when one is
 * missing, with one line in err naming it, why it is needed and the GRANT
 * to run (the run must exit 78); -1 when the check itself failed, with the
 * server's message in err.
 */
int grants_check(PGconn *conn, const struct grants_scope *g, char *err,
		 size_t errlen);

/*
 * Print on `out` the GRANT statements that give `role` (NULL: the
 * connection's current_user) what *g needs, as SQL a database owner can
 * run: identifiers quoted, tables qualified with the schema the
 * connection's search_path finds them in, one privilege per statement,
 * each with a comment saying why.  Only the features the config enables
 * are printed; --init-ledger's is printed commented out.  Returns 0, or
 * -1 with one line in err.
 */
int grants_print(PGconn *conn, const struct grants_scope *g,
		 const char *role, FILE *out, char *err, size_t errlen);

#endif /* SWEEPER_GRANTS_H */
