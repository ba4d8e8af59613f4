/*
 * print_plan.h: --print-plan, the plan of every rule as its plugin made
 * it, printed without connecting to anything (a handler of mode.h's
 * table).
 *
 * A plugin author's plan() is ordinary code that reads config and builds
 * SQL text; this mode lets a CI job load the plugin, run its init() and
 * plan() against a config file, and compare the steps with what it
 * expects, with no database anywhere: the dsn is never used.
 */
#ifndef SWEEPER_PRINT_PLAN_H
#define SWEEPER_PRINT_PLAN_H

#include "invocation.h"

/*
 * Print each rule's steps (label, table, key column, user column,
 * predicate, parameters, declared time columns) and user filter: as text,
 * or with --json as one JSON document on stdout,
 *
 *     {"rules": [{"name", "plugin", "steps": [{"label", "table",
 *       "key_column", "user_column", "predicate", "params",
 *       "time_columns"}], "user_filter": {"predicate", "params"}}]}
 *
 * where a NULL user column, parameter or user filter is null, and
 * time_columns is null for a plugin built before steps declared them.
 * The rules were loaded, initialised and planned by the mode's stages; a
 * plugin error has stopped the invocation (exit 78) before this runs.
 */
enum outcome print_plan(struct invocation *inv);

#endif /* SWEEPER_PRINT_PLAN_H */
