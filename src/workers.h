/*
 * workers.h: [sweeper] workers, one step swept by several connections at
 * once (doc/workers.md).
 *
 * The step's walk is split (walk.h, split()) into disjoint parts, ranges
 * of heap blocks, of users or of keys, each walked by a thread of its own
 * on a connection of its own, batch after batch, each batch one
 * transaction (batch.h) as in a serial run.  What applies to the run
 * applies across the workers: the run lock (checked from each worker's
 * batches, renewed by the run's own connection, run_lock.h), max_rows
 * (each batch reserves its LIMIT before it runs, so the sum never goes
 * past it), max_runtime, the replica-lag wait and max_throttle, a stop
 * request (every worker stops at its next batch boundary; a batch still
 * running after stop_timeout is cancelled and rolled back), and
 * max_rate (one bucket, rate_limit.h).  pause and pause_ratio apply to
 * each worker after its own batches.  A worker whose batch fails ends the
 * step as a serial failure would, the others at their next boundary.
 *
 * Stay serial: a scoped run, a fixed batch_size, a step walked by its
 * index, and a step too small to split.  The reason is logged once per
 * run.
 */
#ifndef SWEEPER_WORKERS_H
#define SWEEPER_WORKERS_H

#include "engine.h"
#include "summary.h"
#include "walk.h"

/*
 * Why a step of plan `p` runs serial under `e`'s settings, a static
 * string; NULL when it may run on workers (e->workers > 1).
 */
const char *workers_serial_why(const struct engine *e, const struct plan *p);

/*
 * Sweep the step whose walk `w` has started (w->ops->start()) on
 * e->workers connections opened like e->conn (db_reconnect()), counting
 * into `sr` and `res` as the serial loop does.  Sets *ran to 0, having
 * done nothing, when the step stays serial (workers_serial_why(), or its
 * walk gave one part); the caller then walks `w` itself.  Otherwise *ran
 * is 1 and it returns the step's enum engine_result, the gravest of the
 * workers'.
 */
int workers_run_step(struct engine *e, struct walk *w, struct step_result *sr,
		     struct rule_result *res, int *ran);

/*
 * For --explain: how many workers the step of plan `p` will use and how
 * its walk splits, as the run would split it now (the table's size read
 * on e->conn), into buf: "1 (serial...)" with the reason, or "N, ... the
 * blocks walk split at 0-, 72-, 144-end".  Returns 0, or -1 with one line
 * in err when the table cannot be read.
 */
int workers_explain(struct engine *e, struct plan *p, char *buf,
		    size_t size, char *err, size_t errlen);

#endif /* SWEEPER_WORKERS_H */
