/*
 * refused.h: which failures of a batch belong to particular rows, so that
 * the engine splits the batch to leave those rows behind rather than fail
 * the rule (batch.c, batch_isolate()).
 *
 * A foreign key with no ON DELETE action (Django's, whose ORM cascades in
 * Python) makes a row another table still points at impossible to delete
 * by SQL; a trigger of the application may refuse one row and not the
 * next.  Every batch holding such a row fails, the same way every night,
 * and without this the rows around it would never go either.
 */
#ifndef SWEEPER_REFUSED_H
#define SWEEPER_REFUSED_H

#include <stddef.h>

/*
 * What the failure with SQLSTATE `state` is, when it is one that belongs
 * to particular rows of a batch: the database refused those rows and
 * would accept the others.  The list (doc/operations.md "Failures and retries"):
 *
 *   class 23  integrity constraint violation: 23000, 23001 restrict,
 *             23502 not null, 23503 foreign key, 23505 unique,
 *             23514 check, 23P01 exclusion
 *   class P0  PL/pgSQL errors, which the application's triggers raise:
 *             P0001 RAISE EXCEPTION, P0000, P0002 no data found,
 *             P0003 too many rows, P0004 assert failure
 *   09000     triggered action exception
 *   27000     triggered data change violation
 *
 * Returns a static description ("integrity constraint violation", "raised
 * by a trigger", ...), or NULL for any other state, "" included: those are
 * not any one row's doing (a timeout, a lost connection, a data exception
 * in the rule's own SQL) and keep failing the batch as before.
 */
const char *refused_reason(const char *state);

/*
 * Remove the " (SQLSTATE XXXXX)" that db_message() (src/db_secret.c)
 * appends to a server message, in place, so that a refused row's record
 * holds the message alone next to its own sqlstate field.
 */
void refused_strip_state(char *message);

#endif /* SWEEPER_REFUSED_H */
