/*
 * report.c: the summary of every invocation that reports, to the ledger,
 * stdout, the log, the webhook and the metrics file (report.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "log.h"
#include "metrics.h"
#include "mode.h"
#include "report.h"
#include "setup.h"
#include "stop.h"
#include "summary_json.h"
#include "summary_table.h"
#include "xalloc.h"

/*
 * A run that stopped before its rules ran: failed (or interrupted), with
 * why as the summary's "error", so that the webhook, the metrics and the
 * ledger say what happened rather than stay silent.  A rule that failed
 * its preflight keeps its own error.
 */
static void report_stopped_early(struct invocation *inv)
{
	struct run_summary *s = &inv->s;
	enum run_status status = outcome_run_status(inv->outcome);
	size_t i;

	s->status = status;
	free(s->error);
	s->error = xstrdup(inv->err[0] ? inv->err :
			   "the run stopped before its rules ran");
	for (i = 0; i < s->nrules; i++) {
		if (inv->blocked && inv->blocked[i])
			continue;
		s->rules[i].status = status;
		if (status == RUN_FAILED) {
			free(s->rules[i].error);
			s->rules[i].error = xstrdup("not run");
		}
	}
}

/*
 * A connection for the ledger when the invocation stopped before it had
 * one (a plugin error, say): an auditor must see the failed nights too.
 * Not when connecting is what failed, nor after a stop request.
 */
static PGconn *report_ledger_conn(struct invocation *inv)
{
	char err[2048];
	int config_fault;

	if (inv->conn)
		return db_lost(inv->conn) ? NULL : inv->conn;
	if (inv->outcome == OUTCOME_UNAVAILABLE || stop_requested)
		return NULL;
	inv->conn = invocation_connect(inv, &config_fault, err, sizeof(err));
	if (inv->conn && setup_session_timeouts(inv->conn, &inv->cfg, err,
						sizeof(err)) == 0)
		return inv->conn;
	log_msg(SWEEPER_LOG_WARN, "%s; this run is not recorded in the "
		"ledger", err);
	return NULL;
}

/*
 * Audit ledger: the run's end, or its only row for a run that never took
 * the lock (a dry run, a skipped run, one that stopped early).
 */
static void report_ledger(struct invocation *inv)
{
	PGconn *conn;
	char err[1024];
	int rc;

	if (!inv->ledger.enabled)
		return;
	conn = report_ledger_conn(inv);
	if (!conn)
		return;
	if (inv->ledger_tables == INVOCATION_LEDGER_UNCHECKED) {
		rc = ledger_check(conn, &inv->ledger, err, sizeof(err));
		if (rc < 0)
			log_msg(SWEEPER_LOG_ERROR, "%s", err);
		if (rc != 0)
			return;
		inv->ledger_tables = INVOCATION_LEDGER_PRESENT;
	}
	/* The run already stopped on the missing tables: said once. */
	if (inv->ledger_tables == INVOCATION_LEDGER_MISSING)
		return;
	rc = ledger_run_finish(conn, &inv->ledger, &inv->s, err, sizeof(err));
	/* A cancel of the preflight's may still have been on its way. */
	if (rc != 0 && stop_cancelled && !db_lost(conn))
		rc = ledger_run_finish(conn, &inv->ledger, &inv->s, err,
				       sizeof(err));
	if (rc != 0) {
		log_msg(SWEEPER_LOG_ERROR, "%s", err);
		if (inv->outcome == OUTCOME_OK)
			inv->outcome = db_lost(conn) ? OUTCOME_UNAVAILABLE :
				       OUTCOME_RULE_FAILED;
		return;
	}
	inv->ledger_recorded = 1;
}

static void report_print(const struct invocation *inv)
{
	if (inv->o->json) {
		if (summary_print_json(stdout, &inv->s) != 0)
			log_msg(SWEEPER_LOG_ERROR, "cannot write the summary");
	} else if (!inv->o->quiet) {
		summary_print_table(stdout, &inv->s);
	}
}

static void report_log(const struct invocation *inv)
{
	const struct run_summary *s = &inv->s;
	struct log_fields f = LOG_FIELDS_INIT;

	f.deleted = s->deleted_total;
	f.duration_ms = s->duration_ms;
	f.status = run_status_name(s->status);
	f.dry_run = s->dry_run;
	log_event(SWEEPER_LOG_INFO, &f, "run %s: %s, %lld rows %s in "
		  "%lld.%03llds", s->run_id, run_status_name(s->status),
		  s->deleted_total, s->dry_run ? "would be deleted" : "deleted",
		  s->duration_ms / 1000, s->duration_ms % 1000);
}

/*
 * Post the summary and record the outcome in the ledger's row; with
 * [webhook] required, a failed post makes a run that would exit 0 exit 1.
 */
static void report_post(struct invocation *inv)
{
	struct webhook_result res;
	char err[1024];

	webhook_post(&inv->wh, &inv->s, &res);
	webhook_log_result(&inv->wh, &res);
	if (inv->ledger_recorded && inv->conn && !db_lost(inv->conn) &&
	    ledger_record_webhook(inv->conn, &inv->ledger, inv->s.run_id,
				  res.ok ? "delivered" : "failed",
				  res.ok ? NULL : res.error, err,
				  sizeof(err)) != 0)
		log_msg(SWEEPER_LOG_ERROR, "%s", err);
	if (!res.ok && inv->wh.required && inv->outcome == OUTCOME_OK)
		inv->outcome = OUTCOME_RULE_FAILED;
}

/*
 * Observability: the metrics file.  A failure to write is logged and does
 * not change the exit code.
 */
static void report_metrics(const struct invocation *inv)
{
	const char *path = inv->cfg.metrics_file;
	char err[2048];

	if (!path || !*path)
		return;
	if (metrics_write(path, &inv->s, err, sizeof(err)) != 0)
		log_msg(SWEEPER_LOG_ERROR, "%s", err);
}

void report_finish(struct invocation *inv)
{
	unsigned needs = inv->mode->needs;

	/* Nothing of the report may be cancelled by a late stop. */
	stop_cancel_at_once(0);
	if (!inv->reached_rules)
		report_stopped_early(inv);
	summary_finish(&inv->s);
	/* Each target of a run over targets has its own ledger rows. */
	if ((needs & MODE_LEDGER) && !inv->fleet)
		report_ledger(inv);
	if (needs & MODE_PRINT)
		report_print(inv);
	/* A run that stopped early has said why in its error line. */
	if (inv->reached_rules)
		report_log(inv);
	if ((needs & MODE_POST) && inv->wh.url)
		report_post(inv);
	if (needs & MODE_METRICS)
		report_metrics(inv);
}
