/*
 * preflight.h: what the config names, checked against the database
 * before anything is deleted (mode.h: MODE_CHECKS, MODE_PREFLIGHT).
 *
 * A fault of the config, a plugin or the schema (a missing column, a
 * predicate that does not plan, a missing privilege, naive time columns
 * without time_zone) stops the whole invocation with exit 78 before
 * anything is deleted.  Another session's work (a table locked by a
 * migration, a statement timeout, a deadlock) is no such fault: it fails
 * the rule it met alone (invocation.blocked), and the other rules run.
 *
 * Both stages return 0, or -1 after invocation_stop().
 */
#ifndef SWEEPER_PREFLIGHT_H
#define SWEEPER_PREFLIGHT_H

#include "invocation.h"

/*
 * The role's privileges (grants.h), the users table and the named users
 * of a scoped run (or every run under --check-config), the ledger's
 * tables, and the time zone of naive time columns (time_zone.h).
 */
int preflight_checks(struct invocation *inv);

/*
 * Every step of every rule gets its plan (plan_build(): the table's
 * facts, the key, the walk, and its first batch planned by EXPLAIN),
 * kept in inv->plans for the run, the dry run and --explain; each plan
 * learns the steps the run runs before it on the same table (the dry
 * run's count passes over their rows).  Then the throttles can read what
 * they need (throttle_preflight(); not for --explain).
 */
int preflight_rules(struct invocation *inv);

#endif /* SWEEPER_PREFLIGHT_H */
