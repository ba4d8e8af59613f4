/*
 * inspect.h: the modes that look at the config, the plugins or the
 * database and print what they find, deleting nothing and reporting no
 * summary: --list-rules, --print-grants, --check-config and --explain
 * (handlers of mode.h's table).  Each returns the invocation's outcome,
 * after logging what went wrong.
 */
#ifndef SWEEPER_INSPECT_H
#define SWEEPER_INSPECT_H

#include "invocation.h"

/* --list-rules: load each rule's plugin (no init) and describe it. */
enum outcome inspect_list_rules(struct invocation *inv);

/* --print-grants [ROLE]: the GRANTs the role needs for this config. */
enum outcome inspect_print_grants(struct invocation *inv);

/*
 * --check-config, after the checks and the preflight: the metrics file's
 * place and the webhook's secret, then "configuration ok".  A rule whose
 * check met another session's lock could not be checked: exit 1.
 */
enum outcome inspect_check_config(struct invocation *inv);

/* --explain: each step's first batch statement, parameters and plan. */
enum outcome inspect_explain(struct invocation *inv);

#endif /* SWEEPER_INSPECT_H */
