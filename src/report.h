/*
 * report.h: how an invocation's summary gets out, whatever stopped it:
 * the ledger's runs row, the table or --json on stdout, the log line,
 * the webhook and the metrics file, each as the mode's row says (mode.h).
 */
#ifndef SWEEPER_REPORT_H
#define SWEEPER_REPORT_H

#include "invocation.h"

/*
 * Finish the summary and deliver it.  A summary whose rules never ran is
 * completed first from inv->outcome and inv->err: status failed (or
 * interrupted, skipped), "error" saying why, each rule "not run".  The
 * ledger is written wherever it can be reached, connecting for it if the
 * invocation had not; the post comes before the metrics, so that nothing
 * at the metrics path can delay or lose it.  May change inv->outcome
 * from OK: a ledger that cannot record the run, or a [webhook] required
 * post that failed, make it 1 (69 when the connection is gone).
 */
void report_finish(struct invocation *inv);

#endif /* SWEEPER_REPORT_H */
