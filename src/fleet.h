/*
 * fleet.h: a run over several targets (doc/fleet.md): [target.NAME]
 * sections, each a database or, with tenants_query, one tenant schema
 * per row of a query.
 *
 * The parent process resolves the targets (running each tenants_query
 * read-only), then hands them one at a time to up to [sweeper] jobs
 * worker processes.  A worker sweeps a target exactly as a run of one
 * database does (plugins, connection, checks, preflight, the target's
 * own run lock, the rules, its ledger rows), on one connection it keeps
 * for the next target of the same database, and sends its result back
 * as one JSON line.  Separate processes keep one target's failure (a
 * crash in a plugin included) from the others, and keep the stop
 * handling, the plugins and libpq single-threaded as they were written.
 * The parent builds the one summary, prints and posts it once.
 */
#ifndef SWEEPER_FLEET_H
#define SWEEPER_FLEET_H

#include "invocation.h"

/*
 * Whether this invocation runs over targets: the config has [target.NAME]
 * sections and the mode is a run, a dry run or --check-config.
 */
int fleet_wanted(const struct invocation *inv);

/*
 * Check the --target names against the config: exit 64 for a name the
 * config does not have, or --target without any [target.NAME].  Returns
 * 0, or -1 after invocation_stop().
 */
int fleet_check_names(struct invocation *inv);

/*
 * The stage for the modes that work on one database (--check-config,
 * --explain, --print-grants, --init-ledger, --history): with one --target
 * NAME (or NAME/SCHEMA of a tenant target), the config becomes that
 * target's.  Returns 0, or -1 after invocation_stop().
 */
int fleet_select_one(struct invocation *inv);

/* The run (or dry run) over the targets; the summary is the parent's. */
enum outcome fleet_run(struct invocation *inv);

/* --list-targets: every target, every tenant of a tenants_query. */
enum outcome fleet_list_targets(struct invocation *inv);

/*
 * The exit code of a run over targets: the worst over the targets, in
 * the order 78 (config), 69 (unavailable), 1 (a rule failed), 65 (rows
 * left behind), 75 (locked, interrupted), 0.  `a` and `b` are exit
 * codes; returns the worse.
 */
int fleet_worse_exit(int a, int b);

#endif /* SWEEPER_FLEET_H */
