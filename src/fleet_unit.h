/*
 * fleet_unit.h: one unit of work of a run over targets (fleet.h): a
 * database target, or one tenant of a tenants_query target, shared by
 * the parent that hands units out and the worker that sweeps them.
 */
#ifndef SWEEPER_FLEET_UNIT_H
#define SWEEPER_FLEET_UNIT_H

#include <stddef.h>
#include <sys/types.h>

#include "config.h"
#include "invocation.h"
#include "rate_limit.h"
#include "row_budget.h"

struct fleet_unit {
	const struct config_target *target;   /* borrowed from the config */
	char *schema;          /* owned: the tenant's schema, or NULL */
	char *name;            /* owned: "NAME" or "NAME/SCHEMA" */
	/*
	 * Set by the parent when the unit cannot be handed to a worker (its
	 * tenants_query failed, or returned a name that is not one): the
	 * exit code and why.  0 and "" otherwise.
	 */
	int failed_exit;
	char failed_why[1024];
};

/* The memory the processes of the run share. */
struct fleet_memory {
	struct row_budget rows;
	struct rate_limit rate;
};

/*
 * What a worker shares with its parent: the parent's invocation (config,
 * command line, rules chosen), the units, the run-wide row count and the
 * run's deadline.
 */
struct fleet_shared {
	struct invocation *inv;           /* the parent's */
	struct fleet_unit *units;
	size_t nunits;
	struct row_budget *run_rows;      /* shared memory, max_rows */
	struct rate_limit *run_rate;      /* shared memory, max_rate */
	/* [sweeper] workers for each target, capped so that the run
	 * never passes `jobs` connections (fleet_target_workers()). */
	long long workers;
	long long deadline_ms;            /* clock_now_ms() of the end of
					   * max_runtime; 0 = none */
	pid_t parent;                     /* the parent's pid */
};

/*
 * The units of this run (fleet_targets.c): every selected target, a
 * tenants_query target as one unit per tenant (one failed unit when its
 * query fails or returns a name that is not one), in config order.
 * *units is owned by the caller (fleet_units_free()).  Returns 0, or -1
 * after invocation_stop(): a --target NAME/SCHEMA whose tenant the query
 * does not return is a usage error (64).
 */
int fleet_units(struct invocation *inv, struct fleet_unit **units,
		size_t *nunits);

/* Free what fleet_units() made. */
void fleet_units_free(struct fleet_unit *units, size_t n);

/*
 * The worker's loop: read unit indexes (one per line) from `cmd_fd`,
 * sweep each and write its result, one JSON line, to `res_fd`, until
 * `cmd_fd` ends.  Returns the process's exit status.
 */
int fleet_worker_main(const struct fleet_shared *sh, int cmd_fd, int res_fd);

#endif /* SWEEPER_FLEET_UNIT_H */
