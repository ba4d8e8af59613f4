/*
 * invocation.c: the state of one invocation, how a stage stops it, and
 * freeing it (invocation.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "invocation.h"
#include "log.h"
#include "mode.h"
#include "stop.h"

void invocation_init(struct invocation *inv, const struct cli_options *o,
		     const struct mode *mode)
{
	memset(inv, 0, sizeof(*inv));
	inv->o = o;
	inv->mode = mode;
	inv->info.size = sizeof(inv->info);
	inv->pdir.fd = -1;
}

int invocation_stop(struct invocation *inv, enum outcome outcome,
		    const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(inv->err, sizeof(inv->err), fmt, ap);
	va_end(ap);
	inv->outcome = outcome;
	log_msg(outcome == OUTCOME_INTERRUPTED ? SWEEPER_LOG_WARN :
		SWEEPER_LOG_ERROR, "%s", inv->err);
	return -1;
}

int invocation_stop_db(struct invocation *inv, enum outcome otherwise,
		       const char *why)
{
	/* Our own cancel failed the statement: that is the stop. */
	if (stop_requested)
		return invocation_stop(inv, OUTCOME_INTERRUPTED,
				       "stopped by a signal%s",
				       inv->mode->needs & MODE_LOCK ?
				       " before the first batch; nothing was "
				       "deleted" : "");
	if (inv->conn && db_lost(inv->conn))
		return invocation_stop(inv, OUTCOME_UNAVAILABLE, "%s", why);
	return invocation_stop(inv, otherwise, "%s", why);
}

PGconn *invocation_connect(struct invocation *inv, int *config_fault,
			   char *err, size_t errlen)
{
	struct db_target target;
	PGconn *conn;

	*config_fault = 0;
	if (db_target_init(&target, &inv->cfg, err, errlen) != 0) {
		*config_fault = 1;
		return NULL;
	}
	conn = db_connect(&target, err, errlen);
	/* libpq keeps its own copy for a reconnect: ours goes now. */
	db_target_free(&target);
	return conn;
}

void invocation_release_lock(struct invocation *inv)
{
	char err[1024];

	if (run_lock_release(&inv->lock, err, sizeof(err)) != 0)
		log_msg(SWEEPER_LOG_WARN, "%s", err);
}

void invocation_free(struct invocation *inv)
{
	size_t i;

	/* The cancel object refers to the connection: gone before it. */
	stop_unwatch();
	invocation_release_lock(inv);
	if (inv->reuse_conn) {
		db_deallocate_all(inv->reuse_conn);
		PQfinish(inv->reuse_conn);
	}
	if (inv->conn) {
		/* Nothing the run prepared stays on the server session. */
		db_deallocate_all(inv->conn);
		PQfinish(inv->conn);
	}
	/* Plans borrow from the rules: gone first. */
	for (i = 0; inv->plans && i < inv->nnames; i++) {
		size_t j;

		for (j = 0; inv->plans[i] && j < inv->rules[i].nsteps; j++)
			plan_free(&inv->plans[i][j]);
		free(inv->plans[i]);
	}
	free(inv->plans);
	for (i = 0; i < inv->nopen; i++)
		rule_close(&inv->rules[i]);
	plugin_dir_close(&inv->pdir);
	free(inv->rules);
	free(inv->names);
	free(inv->blocked);
	summary_free(&inv->s);
	webhook_free(&inv->wh);
	scope_free(&inv->scope);
	config_free(&inv->cfg);
	memset(inv, 0, sizeof(*inv));
}
