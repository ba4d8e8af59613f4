/*
 * fleet_worker.c: a worker process of a run over targets (fleet_unit.h):
 * each unit it is handed is swept as a run of one database is, through
 * the same stages (mode.h), with the config derived for the target, and
 * its result goes back to the parent as one JSON line.
 */
#include <errno.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "clock.h"
#include "db.h"
#include "fleet_unit.h"
#include "log.h"
#include "mode.h"
#include "stop.h"
#include "strbuf.h"
#include "summary_json.h"
#include "xalloc.h"

/* A connection kept for the next unit of the same database. */
struct worker_conn {
	PGconn *conn;
	char *key;            /* what it was made with: see worker_conn_key() */
};

/*
 * What decides whether two targets may share a connection: every
 * [database] setting of their configs (dsn, password_file, time zone,
 * timeouts, pooler).  Owned by the caller.
 */
static char *worker_conn_key(const struct config *cfg)
{
	struct strbuf sb = STRBUF_INIT;
	size_t i;

	for (i = 0; i < cfg->nentries; i++) {
		const struct config_entry *e = &cfg->entries[i];

		if (strcmp(e->section, "database") == 0)
			strbuf_addf(&sb, "%s=%s\n", e->key, e->value);
	}
	return strbuf_detach(&sb);
}

static void worker_conn_drop(struct worker_conn *wc)
{
	if (wc->conn) {
		/* The catalog queries it kept prepared go with it. */
		db_deallocate_all(wc->conn);
		PQfinish(wc->conn);
	}
	free(wc->key);
	wc->conn = NULL;
	wc->key = NULL;
}

/* Keep t's connection for the next unit when it is clean and alive. */
static void worker_conn_keep(struct worker_conn *wc, struct invocation *t)
{
	worker_conn_drop(wc);
	if (!t->conn || db_lost(t->conn) ||
	    PQtransactionStatus(t->conn) != PQTRANS_IDLE)
		return;
	stop_unwatch();
	invocation_release_lock(t);
	db_deallocate(t->conn);
	if (t->lock.held || PQtransactionStatus(t->conn) != PQTRANS_IDLE)
		return;
	wc->conn = t->conn;
	wc->key = worker_conn_key(&t->cfg);
	t->conn = NULL;
}

/* The result line of a unit that never reached its stages. */
static json_t *worker_result_early(const struct fleet_unit *u, int exit_code,
				   const char *status, const char *why)
{
	json_t *o = json_object();

	json_object_set_new(o, "name", summary_json_string(u->name));
	json_object_set_new(o, "exit", json_integer(exit_code));
	json_object_set_new(o, "status", json_string(status));
	json_object_set_new(o, "error", summary_json_string(why));
	return o;
}

/* Sweep unit `u`; returns its result object. */
static json_t *worker_unit(const struct fleet_shared *sh,
			   const struct fleet_unit *u, struct worker_conn *wc)
{
	struct invocation *parent = sh->inv;
	struct cli_options wo = *parent->o;
	struct mode wm = *parent->mode;
	struct invocation t;
	char err[2048];
	json_t *o;
	long long left = 0;
	char *key;

	/* No progress display from several processes at once. */
	wo.quiet = 1;
	wm.needs &= ~(unsigned)(MODE_PRINT | MODE_POST | MODE_METRICS |
				 MODE_SECRETS);
	invocation_init(&t, &wo, &wm);
	if (config_for_target(&parent->cfg, u->target, u->schema, &t.cfg, err,
			      sizeof(err)) != 0) {
		invocation_free(&t);
		return worker_result_early(u, outcome_exit_code(OUTCOME_CONFIG),
					   "failed", err);
	}
	/* max_runtime is the whole run's: this target gets what is left. */
	if (sh->deadline_ms) {
		left = sh->deadline_ms - clock_now_ms();
		if (left <= 0) {
			invocation_free(&t);
			o = worker_result_early(u, 0, "partial",
						"not run: max_runtime reached");
			json_object_set_new(o, "stopped_by",
					    json_string("max_runtime"));
			return o;
		}
		t.cfg.max_runtime_ms = left;
	}
	t.config_loaded = 1;
	t.run_rows = sh->run_rows;
	t.run_rate = sh->run_rate;
	/* The connections of its step workers count against jobs. */
	if (t.cfg.workers > sh->workers)
		t.cfg.workers = sh->workers;
	if (ledger_setup(&t.ledger, t.cfg.ledger_schema, t.cfg.ledger_enabled,
			 err, sizeof(err)) != 0) {
		invocation_free(&t);
		return worker_result_early(u, outcome_exit_code(OUTCOME_CONFIG),
					   "failed", err);
	}
	key = worker_conn_key(&t.cfg);
	if (wc->conn && strcmp(wc->key, key) == 0) {
		t.reuse_conn = wc->conn;
		wc->conn = NULL;
	}
	free(key);
	worker_conn_drop(wc);

	log_set_target(u->name);
	mode_execute(&t);
	log_set_target(NULL);

	o = json_object();
	json_object_set_new(o, "name", summary_json_string(u->name));
	json_object_set_new(o, "exit",
			    json_integer(outcome_exit_code(t.outcome)));
	json_object_set_new(o, "locked",
			    json_boolean(t.outcome == OUTCOME_SKIPPED));
	if (t.summary_started)
		json_object_set_new(o, "summary", summary_json(&t.s));
	else
		json_object_set_new(o, "error", summary_json_string(
				    t.err[0] ? t.err : "the target stopped "
				    "before its summary started"));
	worker_conn_keep(wc, &t);
	invocation_free(&t);
	return o;
}

/* Write all of buf, through EINTR. */
static int worker_write_all(int fd, const char *buf, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, buf, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		buf += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Read one line ("INDEX\n") from fd; -1 at its end. */
static long worker_read_index(int fd)
{
	char line[32];
	size_t len = 0;

	while (len + 1 < sizeof(line)) {
		ssize_t n = read(fd, line + len, 1);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		if (line[len] == '\n') {
			line[len] = '\0';
			return strtol(line, NULL, 10);
		}
		len++;
	}
	return -1;
}

int fleet_worker_main(const struct fleet_shared *sh, int cmd_fd, int res_fd)
{
	struct worker_conn wc = { NULL, NULL };
	char err[256];
	long idx;
	int status = 0;

	/* A timer does not survive fork(): the stop needs its own. */
	if (stop_install(err, sizeof(err)) != 0)
		log_msg(SWEEPER_LOG_WARN, "%s", err);
	stop_from_parent();
	/* A parent that dies (kill -9) stops its workers as a signal would. */
	(void)prctl(PR_SET_PDEATHSIG, SIGUSR1);
	if (getppid() != sh->parent)
		kill(getpid(), SIGUSR1);
	for (;;) {
		json_t *o;
		char *line;
		int rc;

		idx = worker_read_index(cmd_fd);
		if (idx < 0 || (size_t)idx >= sh->nunits)
			break;
		o = worker_unit(sh, &sh->units[idx], &wc);
		json_object_set_new(o, "index", json_integer(idx));
		line = json_dumps(o, JSON_COMPACT);
		json_decref(o);
		if (!line) {
			status = 1;
			break;
		}
		rc = worker_write_all(res_fd, line, strlen(line));
		if (rc == 0)
			rc = worker_write_all(res_fd, "\n", 1);
		free(line);
		if (rc != 0) {
			status = 1;
			break;
		}
	}
	stop_unwatch();
	worker_conn_drop(&wc);
	return status;
}
