/*
 * batch.h: one batch of a walk (walk.h), in a transaction of its own.
 *
 * BEGIN with the run's SET LOCAL settings (db.h), the run lock checked or
 * renewed (run_lock.h), the walk's bounds where they need the database
 * (a key window's end), one statement that selects and deletes the
 * victims, COMMIT.  A failure anywhere rolls the whole batch back, and a
 * process killed mid-batch leaves a transaction the server rolls back, so
 * no batch is ever half applied.  A batch lost during COMMIT asks a new
 * connection whether it was applied.  A batch that failed because of
 * other sessions (deadlock, lock or statement timeout, serialization
 * failure) is run again after a backoff (retry.h).  A batch the database
 * refuses because of some of its rows (refused.h) is split until those
 * rows stand alone; they are left behind, and the walk passes over them.
 */
#ifndef SWEEPER_BATCH_H
#define SWEEPER_BATCH_H

#include "engine.h"
#include "summary.h"
#include "walk.h"

/*
 * Run the walk's next batch, as w->ops->next() sized it: a window's plain
 * DELETE first (unless the window already went capped), then its capped
 * batches when that one is rolled back; retried as retry.h says.  Fills
 * w->deleted, w->selected, w->last_victim and w->ms (its last try), and
 * counts in `sr` what the parts of a split batch deleted (w->deleted is
 * then 0 and w->isolated 1).  Rows left behind go into `sr` and the walk.
 * Returns an enum engine_result, with res->error set on failure.
 */
int batch_run(struct engine *e, struct walk *w, struct step_result *sr,
	      struct rule_result *res);

/*
 * For the loop over a step's batches and its workers: count a batch that
 * deleted rows (w->deleted) in `sr` and e->rows_done, with its size (its
 * LIMIT, or for a window the rows it deleted), and log it.
 */
void batch_count_done(struct engine *e, const struct walk *w,
		      struct step_result *sr);

#endif /* SWEEPER_BATCH_H */
