/*
 * fleet.c: the parent of a run over targets (fleet.h): which targets and
 * tenants, the pool of worker processes, and the one summary.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <sysexits.h>
#include <unistd.h>

#include <jansson.h>

#include "clock.h"
#include "db.h"
#include "fleet.h"
#include "fleet_unit.h"
#include "log.h"
#include "mode.h"
#include "run.h"
#include "setup.h"
#include "stop.h"
#include "strbuf.h"
#include "values.h"
#include "xalloc.h"

/* How often the parent looks at the stop flag while workers run. */
#define FLEET_POLL_MS 100

int fleet_wanted(const struct invocation *inv)
{
	const char *m = inv->mode->name;

	return inv->cfg.ntargets > 0 && !inv->cfg.target_name &&
	       (strcmp(m, "run") == 0 || strcmp(m, "--dry-run") == 0 ||
		strcmp(m, "--check-config") == 0);
}

/* The NAME part of a --target value, into buf. */
static void fleet_name_part(const char *arg, char *buf, size_t size)
{
	const char *slash = strchr(arg, '/');
	size_t len = slash ? (size_t)(slash - arg) : strlen(arg);

	if (len >= size)
		len = size - 1;
	memcpy(buf, arg, len);
	buf[len] = '\0';
}

/* "a, b, c": the targets of the config, for messages. */
static void fleet_target_list(const struct config *cfg, struct strbuf *sb)
{
	size_t i;

	for (i = 0; i < cfg->ntargets; i++)
		strbuf_addf(sb, "%s%s", i ? ", " : "", cfg->targets[i].name);
}

int fleet_check_names(struct invocation *inv)
{
	const struct cli_options *o = inv->o;
	const char *m = inv->mode->name;
	const struct config_target *t;
	struct config derived;
	char name[128], shown[VALUE_QUOTE_MAX], err[2048];
	const char *slash;
	size_t i;

	if (inv->cfg.target_name || o->ntargets == 0)
		return 0;
	if (inv->cfg.ntargets == 0) {
		value_quote(o->targets[0], shown, sizeof(shown));
		return invocation_stop(inv, OUTCOME_USAGE, "--target %s: '%s' "
				       "has no [target.NAME] sections; add "
				       "them, or leave out --target", shown,
				       inv->cfg.path);
	}
	for (i = 0; i < o->ntargets; i++) {
		struct strbuf list = STRBUF_INIT;

		fleet_name_part(o->targets[i], name, sizeof(name));
		t = config_target_find(&inv->cfg, name);
		slash = strchr(o->targets[i], '/');
		value_quote(o->targets[i], shown, sizeof(shown));
		if (!t) {
			fleet_target_list(&inv->cfg, &list);
			invocation_stop(inv, OUTCOME_USAGE, "--target %s is not "
					"a target of '%s'; its targets: %s "
					"(see --list-targets)", shown,
					inv->cfg.path, strbuf_str(&list));
			strbuf_release(&list);
			return -1;
		}
		if (slash && !t->tenants_query)
			return invocation_stop(inv, OUTCOME_USAGE, "--target "
					       "%s: target '%s' has no "
					       "tenants_query, so no tenants; "
					       "write --target %s", shown,
					       t->name, t->name);
		if (slash && !tenant_schema_valid(slash + 1))
			return invocation_stop(inv, OUTCOME_USAGE, "--target "
					       "%s: the part after '/' is not "
					       "a schema name; write "
					       "NAME/SCHEMA with SCHEMA as "
					       "--list-targets shows it",
					       shown);
	}
	if (strcmp(m, "run") == 0 || strcmp(m, "--dry-run") == 0 ||
	    strcmp(m, "--list-targets") == 0 ||
	    strcmp(m, "--check-config") == 0)
		return 0;
	/* A mode of one database: the config becomes the target's. */
	if (o->ntargets > 1)
		return invocation_stop(inv, OUTCOME_USAGE, "%s works on one "
				       "database; give one --target", m);
	fleet_name_part(o->targets[0], name, sizeof(name));
	t = config_target_find(&inv->cfg, name);
	slash = strchr(o->targets[0], '/');
	if (t->tenants_query && !slash)
		return invocation_stop(inv, OUTCOME_USAGE, "%s works on one "
				       "tenant; write --target %s/SCHEMA (see "
				       "--list-targets)", m, t->name);
	if (config_for_target(&inv->cfg, t, slash ? slash + 1 : NULL,
			      &derived, err, sizeof(err)) != 0)
		return invocation_stop(inv, OUTCOME_CONFIG, "%s", err);
	config_free(&inv->cfg);
	inv->cfg = derived;
	if (ledger_setup(&inv->ledger, inv->cfg.ledger_schema,
			 inv->cfg.ledger_enabled, err, sizeof(err)) != 0)
		return invocation_stop(inv, OUTCOME_CONFIG, "%s", err);
	return 0;
}

/* Whether the command line selects `name` ("NAME" or "NAME/SCHEMA"). */
static int fleet_selected(const struct cli_options *o, const char *target,
			  const char *schema)
{
	char name[128];
	size_t i;

	if (o->ntargets == 0)
		return 1;
	for (i = 0; i < o->ntargets; i++) {
		const char *slash = strchr(o->targets[i], '/');

		fleet_name_part(o->targets[i], name, sizeof(name));
		if (strcmp(name, target) != 0)
			continue;
		if (!slash || (schema && strcmp(slash + 1, schema) == 0))
			return 1;
	}
	return 0;
}

static struct fleet_unit *fleet_unit_add(struct fleet_unit **units,
					 size_t *n, size_t *alloc,
					 const struct config_target *t,
					 const char *schema)
{
	struct fleet_unit *u;

	if (*n == *alloc) {
		*alloc = *alloc * 2 + 16;
		*units = xrealloc(*units, *alloc * sizeof(**units));
	}
	u = &(*units)[(*n)++];
	memset(u, 0, sizeof(*u));
	u->target = t;
	u->schema = schema ? xstrdup(schema) : NULL;
	if (schema) {
		struct strbuf sb = STRBUF_INIT;

		strbuf_addf(&sb, "%s/%s", t->name, schema);
		u->name = strbuf_detach(&sb);
	} else {
		u->name = xstrdup(t->name);
	}
	return u;
}

/*
 * Run the tenants_query of `t`, read-only, one statement (the extended
 * protocol takes no second one): the schema names, one per row.  Returns
 * 0 with *rows (owned, a PGresult), or -1 with the exit code and why.
 */
static int fleet_tenants(const struct invocation *inv,
			 const struct config_target *t, PGresult **rows,
			 int *exit_code, char *err, size_t errlen)
{
	struct config cfg;
	struct db_target dt;
	PGconn *conn = NULL;
	PGresult *res = NULL;
	char why[1536];
	int ret = -1, i;

	*rows = NULL;
	*exit_code = EX_CONFIG;
	if (config_for_target(&inv->cfg, t, NULL, &cfg, err, errlen) != 0)
		return -1;
	if (db_target_init(&dt, &cfg, err, errlen) != 0)
		goto out;
	conn = db_connect(&dt, why, sizeof(why));
	db_target_free(&dt);
	if (!conn) {
		*exit_code = EX_UNAVAILABLE;
		snprintf(err, errlen, "target '%s': %.1000s; check its dsn in "
			 "'%s'", t->name, why, inv->cfg.path);
		goto out;
	}
	res = PQexec(conn, "BEGIN READ ONLY");
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		*exit_code = EX_UNAVAILABLE;
		snprintf(err, errlen, "target '%s': cannot run tenants_query: "
			 "%s", t->name, PQerrorMessage(conn));
		goto out;
	}
	PQclear(res);
	/* A query that waits on a lock or runs away is the target's. */
	snprintf(why, sizeof(why), "SET LOCAL lock_timeout = %lld; "
		 "SET LOCAL statement_timeout = %lld", cfg.lock_timeout_ms,
		 cfg.statement_timeout_ms);
	res = PQexec(conn, why);
	if (PQresultStatus(res) != PGRES_COMMAND_OK) {
		*exit_code = EX_UNAVAILABLE;
		snprintf(err, errlen, "target '%s': cannot run tenants_query: "
			 "%s", t->name, PQerrorMessage(conn));
		goto out;
	}
	PQclear(res);
	res = PQexecParams(conn, t->tenants_query, 0, NULL, NULL, NULL, NULL,
			   0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		const char *msg = PQresultErrorMessage(res);
		size_t len = strcspn(msg, "\n");

		*exit_code = db_lost(conn) ? EX_UNAVAILABLE : EX_CONFIG;
		snprintf(err, errlen, "%s:%d: [target.%s] tenants_query: the "
			 "query failed: %.*s; fix the query (it runs "
			 "read-only and returns schema names)", inv->cfg.path,
			 t->line,
			 t->name, (int)len, msg);
		goto out;
	}
	for (i = 0; i < PQntuples(res); i++) {
		const char *name = PQgetisnull(res, i, 0) ? NULL :
				   PQgetvalue(res, i, 0);
		char shown[VALUE_QUOTE_MAX];

		if (PQnfields(res) >= 1 && tenant_schema_valid(name))
			continue;
		value_quote(name ? name : "NULL", shown, sizeof(shown));
		snprintf(err, errlen, "%s:%d: [target.%s] tenants_query: row "
			 "%d is %s, not a schema name; return names of ASCII "
			 "letters, digits, '_' and '$' (at most 63 bytes), one "
			 "per row, in the first column", inv->cfg.path,
			 t->line, t->name, i + 1, shown);
		goto out;
	}
	*rows = res;
	res = NULL;
	ret = 0;
out:
	PQclear(res);
	if (conn) {
		PGresult *end = PQexec(conn, "ROLLBACK");

		PQclear(end);
		PQfinish(conn);
	}
	config_free(&cfg);
	return ret;
}

/*
 * The units of this run: every selected target, a tenants_query target
 * as one unit per tenant (one failed unit when its query fails).
 * Returns 0, or -1 after invocation_stop() (a --target NAME/SCHEMA whose
 * tenant the query does not return: exit 64).
 */
static int fleet_units(struct invocation *inv, struct fleet_unit **units,
		       size_t *nunits)
{
	const struct cli_options *o = inv->o;
	size_t alloc = 0, i, j;

	*units = NULL;
	*nunits = 0;
	for (i = 0; i < inv->cfg.ntargets; i++) {
		const struct config_target *t = &inv->cfg.targets[i];
		struct fleet_unit *u;
		PGresult *rows;
		char err[1536];
		int code, k;

		if (!fleet_selected(o, t->name, NULL) && !t->tenants_query)
			continue;
		if (!t->tenants_query) {
			fleet_unit_add(units, nunits, &alloc, t, NULL);
			continue;
		}
		/* A tenant target with no --target naming it is not run. */
		for (j = 0, k = 0; j < o->ntargets; j++) {
			char name[128];

			fleet_name_part(o->targets[j], name, sizeof(name));
			k |= strcmp(name, t->name) == 0;
		}
		if (o->ntargets && !k)
			continue;
		if (fleet_tenants(inv, t, &rows, &code, err, sizeof(err)) != 0) {
			log_msg(SWEEPER_LOG_ERROR, "%s", err);
			u = fleet_unit_add(units, nunits, &alloc, t, NULL);
			u->failed_exit = code;
			snprintf(u->failed_why, sizeof(u->failed_why), "%.1000s",
				 err);
			continue;
		}
		for (k = 0; k < PQntuples(rows); k++) {
			if (fleet_selected(o, t->name, PQgetvalue(rows, k, 0)))
				fleet_unit_add(units, nunits, &alloc, t,
					       PQgetvalue(rows, k, 0));
		}
		/* A tenant named on the command line must exist. */
		for (j = 0; j < o->ntargets; j++) {
			const char *slash = strchr(o->targets[j], '/');
			char name[128];
			int found = 0;

			fleet_name_part(o->targets[j], name, sizeof(name));
			if (!slash || strcmp(name, t->name) != 0)
				continue;
			for (k = 0; k < PQntuples(rows) && !found; k++)
				found = strcmp(PQgetvalue(rows, k, 0),
					       slash + 1) == 0;
			if (!found) {
				char shown[VALUE_QUOTE_MAX];

				value_quote(o->targets[j], shown, sizeof(shown));
				PQclear(rows);
				return invocation_stop(inv, OUTCOME_USAGE,
						       "--target %s: target "
						       "'%s' has no such "
						       "tenant; see "
						       "--list-targets", shown,
						       t->name);
			}
		}
		PQclear(rows);
	}
	return 0;
}

static void fleet_units_free(struct fleet_unit *units, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(units[i].schema);
		free(units[i].name);
	}
	free(units);
}

enum outcome fleet_list_targets(struct invocation *inv)
{
	struct fleet_unit *units;
	size_t n, i;
	int worst = 0;

	if (fleet_units(inv, &units, &n) != 0)
		return inv->outcome;
	if (inv->cfg.ntargets == 0)
		printf("(no [target.NAME] sections in '%s': a run sweeps "
		       "[database])\n", inv->cfg.path);
	for (i = 0; i < n; i++) {
		const struct fleet_unit *u = &units[i];

		if (u->failed_exit) {
			printf("%s\t(tenants not listed: %s)\n", u->name,
			       u->failed_why);
			worst = fleet_worse_exit(worst, u->failed_exit);
			continue;
		}
		printf("%s\n", u->name);
	}
	fflush(stdout);
	fleet_units_free(units, n);
	switch (worst) {
	case EX_CONFIG:
		return OUTCOME_CONFIG;
	case EX_UNAVAILABLE:
		return OUTCOME_UNAVAILABLE;
	default:
		return OUTCOME_OK;
	}
}

/* Rank of an exit code in the order of fleet.h: higher is worse. */
static int fleet_exit_rank(int code)
{
	switch (code) {
	case 0:
		return 0;
	case EX_TEMPFAIL:
		return 1;
	case EX_DATAERR:
		return 2;
	case OUTCOME_EX_RULE_FAILED:
		return 3;
	case EX_UNAVAILABLE:
		return 4;
	case EX_CONFIG:
		return 5;
	default:
		return 3;
	}
}

int fleet_worse_exit(int a, int b)
{
	return fleet_exit_rank(b) > fleet_exit_rank(a) ? b : a;
}

/* One worker process and what the parent knows of it. */
struct fleet_worker {
	pid_t pid;
	int cmd_fd;              /* the parent writes unit indexes */
	int res_fd;              /* the parent reads result lines */
	long unit;               /* the unit it sweeps, or -1 */
	struct strbuf in;        /* a result line not yet whole */
	int done;                /* its result pipe ended */
};

/* The run's state in the parent. */
struct fleet_run {
	struct invocation *inv;
	struct fleet_shared sh;
	struct fleet_worker *w;
	size_t nw;               /* workers started */
	size_t nslots;           /* entries of w, all with their fds set */
	json_t **results;        /* per unit, or NULL while not done */
	size_t next;             /* the next unit to hand out */
	int stopping;            /* a stop was passed on to the workers */
};

static int fleet_spawn(struct fleet_run *fr, size_t k)
{
	struct fleet_worker *w = &fr->w[k];
	int cmd[2], res[2];
	size_t i;

	if (pipe(cmd) != 0)
		return -1;
	if (pipe(res) != 0) {
		close(cmd[0]);
		close(cmd[1]);
		return -1;
	}
	fflush(stdout);
	fflush(stderr);
	w->pid = fork();
	if (w->pid < 0) {
		close(cmd[0]);
		close(cmd[1]);
		close(res[0]);
		close(res[1]);
		return -1;
	}
	if (w->pid == 0) {
		int status;

		close(cmd[1]);
		close(res[0]);
		/* The other workers' pipes are theirs alone. */
		for (i = 0; i < fr->nslots; i++) {
			if (i == k)
				continue;
			if (fr->w[i].cmd_fd >= 0)
				close(fr->w[i].cmd_fd);
			if (fr->w[i].res_fd >= 0)
				close(fr->w[i].res_fd);
		}
		status = fleet_worker_main(&fr->sh, cmd[0], res[1]);
		close(cmd[0]);
		close(res[1]);
		exit(status);
	}
	close(cmd[0]);
	close(res[1]);
	w->cmd_fd = cmd[1];
	w->res_fd = res[0];
	w->unit = -1;
	memset(&w->in, 0, sizeof(w->in));
	return 0;
}

/* Whether a unit is left to hand out. */
static int fleet_pending(struct fleet_run *fr)
{
	size_t i;

	for (i = fr->next; i < fr->sh.nunits; i++) {
		if (!fr->sh.units[i].failed_exit)
			return 1;
	}
	return 0;
}

/* Hand worker `w` the next unit that needs one; close its pipe when
 * none is left. */
static void fleet_dispatch(struct fleet_run *fr, struct fleet_worker *w)
{
	char line[32];
	int len;

	while (fr->next < fr->sh.nunits &&
	       fr->sh.units[fr->next].failed_exit)
		fr->next++;
	if (fr->stopping || fr->next >= fr->sh.nunits) {
		if (w->cmd_fd >= 0) {
			close(w->cmd_fd);
			w->cmd_fd = -1;
		}
		return;
	}
	len = snprintf(line, sizeof(line), "%zu\n", fr->next);
	if (write(w->cmd_fd, line, (size_t)len) != len) {
		close(w->cmd_fd);
		w->cmd_fd = -1;
		return;
	}
	w->unit = (long)fr->next++;
}

/* A whole result line from worker `w`. */
static void fleet_take_line(struct fleet_run *fr, struct fleet_worker *w,
			    const char *line)
{
	json_error_t jerr;
	json_t *o = json_loads(line, 0, &jerr);
	json_int_t idx;

	if (!o || !json_is_integer(json_object_get(o, "index"))) {
		log_msg(SWEEPER_LOG_ERROR, "a worker sent a result that is not "
			"JSON: %s", jerr.text);
		json_decref(o);
		return;
	}
	idx = json_integer_value(json_object_get(o, "index"));
	if (idx < 0 || (size_t)idx >= fr->sh.nunits || fr->results[idx]) {
		json_decref(o);
		return;
	}
	fr->results[idx] = o;
	w->unit = -1;
	fleet_dispatch(fr, w);
}

/* Read what worker `w` sent; at the end of its pipe, reap it. */
static void fleet_read(struct fleet_run *fr, struct fleet_worker *w)
{
	char buf[65536];
	ssize_t n = read(w->res_fd, buf, sizeof(buf) - 1);
	char *nl;

	if (n < 0 && errno == EINTR)
		return;
	if (n > 0) {
		buf[n] = '\0';
		strbuf_add(&w->in, buf);
		while (strchr(strbuf_str(&w->in), '\n')) {
			char *all = strbuf_detach(&w->in);

			nl = strchr(all, '\n');
			*nl = '\0';
			strbuf_add(&w->in, nl + 1);
			fleet_take_line(fr, w, all);
			free(all);
		}
		return;
	}
	/* The worker is gone: what it held is the unit it died in. */
	w->done = 1;
	close(w->res_fd);
	w->res_fd = -1;
	if (w->cmd_fd >= 0) {
		close(w->cmd_fd);
		w->cmd_fd = -1;
	}
	if (w->unit >= 0 && !fr->results[w->unit]) {
		int status = 0;
		char why[256];

		waitpid(w->pid, &status, 0);
		w->pid = -1;
		if (WIFSIGNALED(status))
			snprintf(why, sizeof(why), "the worker sweeping it died "
				 "of signal %d; the batch it ran was rolled back",
				 WTERMSIG(status));
		else
			snprintf(why, sizeof(why), "the worker sweeping it "
				 "ended (status %d) without a result",
				 WEXITSTATUS(status));
		fr->results[w->unit] = json_pack("{s:s, s:i, s:s, s:s}",
						 "name",
						 fr->sh.units[w->unit].name,
						 "exit", OUTCOME_EX_RULE_FAILED,
						 "status", "failed",
						 "error", why);
		w->unit = -1;
	}
	/* The other units still get a worker: one in this one's place. */
	if (w->pid > 0) {
		waitpid(w->pid, NULL, 0);
		w->pid = -1;
	}
	strbuf_release(&w->in);
	if (!fr->stopping && fleet_pending(fr)) {
		if (fleet_spawn(fr, (size_t)(w - fr->w)) == 0) {
			w->done = 0;
			fleet_dispatch(fr, w);
		} else {
			log_msg(SWEEPER_LOG_ERROR, "cannot start a worker: %s",
				strerror(errno));
		}
	}
}

/* Pass a stop request on to the workers, once. */
static void fleet_pass_stop(struct fleet_run *fr)
{
	size_t i;

	if (fr->stopping || !stop_requested)
		return;
	fr->stopping = 1;
	log_msg(SWEEPER_LOG_WARN, "stopped by a signal: every target stops "
		"at its next batch boundary; the targets not started are not "
		"run");
	for (i = 0; i < fr->nw; i++) {
		if (fr->w[i].pid > 0)
			kill(fr->w[i].pid, SIGUSR1);
		if (fr->w[i].cmd_fd >= 0 && fr->w[i].unit < 0) {
			close(fr->w[i].cmd_fd);
			fr->w[i].cmd_fd = -1;
		}
	}
}

/* Run the workers until every one is done. */
static void fleet_loop(struct fleet_run *fr)
{
	struct pollfd *pfd = xcalloc(fr->nw, sizeof(*pfd));
	int seen_second = 0;

	for (;;) {
		size_t i, n = 0;

		fleet_pass_stop(fr);
		/* A second signal cancels running batches at once. */
		if (fr->stopping && stop_requested > 1 && !seen_second) {
			seen_second = 1;
			for (i = 0; i < fr->nw; i++)
				if (fr->w[i].pid > 0)
					kill(fr->w[i].pid, SIGUSR1);
		}
		for (i = 0; i < fr->nw; i++) {
			if (fr->w[i].done)
				continue;
			pfd[n].fd = fr->w[i].res_fd;
			pfd[n].events = POLLIN;
			pfd[n].revents = 0;
			n++;
		}
		if (n == 0)
			break;
		if (poll(pfd, n, FLEET_POLL_MS) <= 0)
			continue;
		for (i = 0; i < fr->nw; i++) {
			size_t j;

			for (j = 0; j < n; j++) {
				if (pfd[j].fd == fr->w[i].res_fd &&
				    pfd[j].revents && !fr->w[i].done)
					fleet_read(fr, &fr->w[i]);
			}
		}
	}
	free(pfd);
}

/* A string member of a result, or NULL. */
static const char *fleet_str(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static long long fleet_int(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

static enum run_status fleet_status(const char *name)
{
	if (!name)
		return RUN_FAILED;
	if (strcmp(name, "ok") == 0)
		return RUN_OK;
	if (strcmp(name, "partial") == 0)
		return RUN_PARTIAL;
	if (strcmp(name, "skipped") == 0 || strcmp(name, "locked") == 0)
		return RUN_SKIPPED;
	if (strcmp(name, "interrupted") == 0)
		return RUN_INTERRUPTED;
	return RUN_FAILED;
}

/* The first rule error of a target's summary, for its own error. */
static const char *fleet_rule_error(const json_t *summary)
{
	const json_t *rules = json_object_get(summary, "rules");
	const json_t *r;
	size_t i;

	json_array_foreach(rules, i, r) {
		const char *e = fleet_str(r, "error");

		if (e && strcmp(fleet_str(r, "status") ? fleet_str(r, "status") :
				"", "failed") == 0)
			return e;
	}
	return NULL;
}

static void fleet_throttle(const json_t *summary, struct run_throttle *t)
{
	const json_t *th = json_object_get(summary, "throttle");

	t->pause.count = fleet_int(json_object_get(th, "pause"), "count");
	t->pause.ms = fleet_int(json_object_get(th, "pause"), "ms");
	t->pause_ratio.count = fleet_int(json_object_get(th, "pause_ratio"),
					 "count");
	t->pause_ratio.ms = fleet_int(json_object_get(th, "pause_ratio"), "ms");
	t->replica_lag.count = fleet_int(json_object_get(th, "replica_lag"),
					 "count");
	t->replica_lag.ms = fleet_int(json_object_get(th, "replica_lag"), "ms");
}

/* Fill target result `t` from unit `u` and its result `o` (or NULL). */
static void fleet_target_from(struct target_result *t,
			      const struct fleet_unit *u, const json_t *o,
			      int dry_run)
{
	const json_t *s = o ? json_object_get(o, "summary") : NULL;
	const char *err;

	t->name = xstrdup(u->name);
	t->schema = u->schema ? xstrdup(u->schema) : NULL;
	if (u->failed_exit) {
		t->status = RUN_FAILED;
		t->exit_code = u->failed_exit;
		t->error = xstrdup(u->failed_why);
		return;
	}
	if (!o && stop_requested) {
		t->status = RUN_INTERRUPTED;
		t->exit_code = EX_TEMPFAIL;
		t->error = xstrdup("not run: stopped by a signal");
		return;
	}
	if (!o) {
		t->status = RUN_FAILED;
		t->exit_code = OUTCOME_EX_RULE_FAILED;
		t->error = xstrdup("not run: no worker could be started for it");
		return;
	}
	t->exit_code = (int)fleet_int(o, "exit");
	t->locked = json_is_true(json_object_get(o, "locked"));
	if (!s) {
		t->status = fleet_status(fleet_str(o, "status"));
		err = fleet_str(o, "error");
		t->error = err ? xstrdup(err) : NULL;
		return;
	}
	t->status = fleet_status(fleet_str(s, "status"));
	if (t->locked)
		t->status = RUN_SKIPPED;
	err = fleet_str(s, "error");
	if (!err)
		err = fleet_rule_error(s);
	if (!err && t->locked)
		err = "another run holds this target's lock";
	t->error = err ? xstrdup(err) : NULL;
	t->run_id = fleet_str(s, "run_id") ? xstrdup(fleet_str(s, "run_id")) :
		    NULL;
	t->deleted = fleet_int(s, dry_run ? "would_delete_total" :
			       "deleted_total");
	t->left_behind = fleet_int(s, "left_behind_total");
	t->duration_ms = fleet_int(s, "duration_ms");
	t->rules = json_incref(json_object_get(s, "rules"));
	fleet_throttle(s, &t->throttle);
}

/*
 * The run's rules: each rule's totals over the targets (its steps are
 * the targets' own, under "targets"), failed if it failed anywhere.
 */
static void fleet_rules_total(struct run_summary *s, int dry_run)
{
	size_t i, j, nfailed;

	for (i = 0; i < s->nrules; i++) {
		struct rule_result *r = &s->rules[i];
		struct strbuf where = STRBUF_INIT;

		nfailed = 0;
		r->status = RUN_OK;
		for (j = 0; j < s->ntargets; j++) {
			const json_t *tr;
			size_t k;

			json_array_foreach(s->targets[j].rules, k, tr) {
				enum run_status st;

				if (strcmp(fleet_str(tr, "name") ?
					   fleet_str(tr, "name") : "",
					   r->name) != 0)
					continue;
				r->deleted = summary_count_add(r->deleted,
					fleet_int(tr, dry_run ? "would_delete" :
						  "deleted"));
				r->batches += fleet_int(tr, "batches");
				r->retries += fleet_int(tr, "retries");
				r->left_behind += fleet_int(tr, "left_behind");
				r->duration_ms += fleet_int(tr, "duration_ms");
				st = fleet_status(fleet_str(tr, "status"));
				if (st == RUN_FAILED) {
					if (nfailed < 5)
						strbuf_addf(&where, "%s%s",
							    nfailed ? ", " : "",
							    s->targets[j].name);
					nfailed++;
				}
				if (st == RUN_FAILED ||
				    (st != RUN_OK && r->status == RUN_OK))
					r->status = st;
			}
		}
		if (nfailed) {
			struct strbuf msg = STRBUF_INIT;

			strbuf_addf(&msg, "failed on %zu target%s: %s%s",
				    nfailed, nfailed == 1 ? "" : "s",
				    strbuf_str(&where),
				    nfailed > 5 ? ", ..." : "");
			free(r->error);
			r->error = strbuf_detach(&msg);
		}
		strbuf_release(&where);
	}
}

/* The run's status over its targets, and the throttles' sums. */
static void fleet_status_total(struct run_summary *s)
{
	size_t i, nlocked = 0;
	int failed = 0, interrupted = 0, partial = 0;

	for (i = 0; i < s->ntargets; i++) {
		const struct target_result *t = &s->targets[i];

		s->throttle.pause.count += t->throttle.pause.count;
		s->throttle.pause.ms += t->throttle.pause.ms;
		s->throttle.pause_ratio.count += t->throttle.pause_ratio.count;
		s->throttle.pause_ratio.ms += t->throttle.pause_ratio.ms;
		s->throttle.replica_lag.count += t->throttle.replica_lag.count;
		s->throttle.replica_lag.ms += t->throttle.replica_lag.ms;
		if (t->locked)
			nlocked++;
		else if (t->status == RUN_FAILED)
			failed = 1;
		else if (t->status == RUN_INTERRUPTED)
			interrupted = 1;
		else if (t->status == RUN_PARTIAL)
			partial = 1;
	}
	if (failed)
		s->status = RUN_FAILED;
	else if (interrupted)
		s->status = RUN_INTERRUPTED;
	else if (s->ntargets && nlocked == s->ntargets)
		s->status = RUN_SKIPPED;
	else if (partial || nlocked)
		s->status = RUN_PARTIAL;
}

static enum outcome fleet_outcome(int code, int interrupted)
{
	switch (code) {
	case 0:
		return OUTCOME_OK;
	case EX_DATAERR:
		return OUTCOME_LEFT_BEHIND;
	case EX_UNAVAILABLE:
		return OUTCOME_UNAVAILABLE;
	case EX_CONFIG:
		return OUTCOME_CONFIG;
	case EX_TEMPFAIL:
		return interrupted ? OUTCOME_INTERRUPTED : OUTCOME_SKIPPED;
	default:
		return OUTCOME_RULE_FAILED;
	}
}

enum outcome fleet_run(struct invocation *inv)
{
	struct run_summary *s = &inv->s;
	struct fleet_run fr;
	struct fleet_unit *units = NULL;
	size_t nunits = 0, i, jobs;
	long long *shared = MAP_FAILED;
	int worst = 0, interrupted = 0;
	enum outcome outcome;

	inv->reached_rules = 1;
	memset(&fr, 0, sizeof(fr));
	stop_cancel_at_once(0);
	if (fleet_units(inv, &units, &nunits) != 0) {
		inv->reached_rules = 0;
		return inv->outcome;
	}
	/* max_rows holds for the whole run: a count every worker sees. */
	shared = mmap(NULL, sizeof(long long), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED) {
		fleet_units_free(units, nunits);
		invocation_stop(inv, OUTCOME_UNAVAILABLE, "cannot share memory "
				"with the workers: %s", strerror(errno));
		inv->reached_rules = 0;
		return inv->outcome;
	}
	*shared = 0;
	fr.inv = inv;
	fr.sh.inv = inv;
	fr.sh.units = units;
	fr.sh.nunits = nunits;
	fr.sh.run_rows = shared;
	fr.sh.parent = getpid();
	if (inv->cfg.max_runtime_ms > 0)
		fr.sh.deadline_ms = clock_now_ms() + inv->cfg.max_runtime_ms;
	fr.results = xcalloc(nunits ? nunits : 1, sizeof(*fr.results));
	jobs = (size_t)inv->cfg.jobs;
	if (jobs > nunits)
		jobs = nunits;
	fr.w = xcalloc(jobs ? jobs : 1, sizeof(*fr.w));
	fr.nslots = jobs;
	for (i = 0; i < jobs; i++) {
		fr.w[i].cmd_fd = -1;
		fr.w[i].res_fd = -1;
		fr.w[i].pid = -1;
	}
	log_msg(SWEEPER_LOG_INFO, "%zu target%s, %zu at once", nunits,
		nunits == 1 ? "" : "s", jobs);
	/* A stop while the tenants were listed: no worker starts. */
	if (stop_requested)
		fr.stopping = 1;
	for (i = 0; i < jobs && !fr.stopping; i++) {
		if (fleet_spawn(&fr, i) != 0) {
			log_msg(SWEEPER_LOG_ERROR, "cannot start a worker: %s",
				strerror(errno));
			fr.w[i].done = 1;
			continue;
		}
		fr.nw = i + 1;
		fleet_dispatch(&fr, &fr.w[i]);
	}
	fr.nw = jobs;
	fleet_loop(&fr);
	for (i = 0; i < fr.nw; i++) {
		if (fr.w[i].cmd_fd >= 0)
			close(fr.w[i].cmd_fd);
		if (fr.w[i].pid > 0)
			waitpid(fr.w[i].pid, NULL, 0);
		strbuf_release(&fr.w[i].in);
	}

	s->targets = xcalloc(nunits ? nunits : 1, sizeof(*s->targets));
	s->ntargets = nunits;
	for (i = 0; i < nunits; i++) {
		struct target_result *t = &s->targets[i];

		fleet_target_from(t, &units[i], fr.results[i], s->dry_run);
		if (!fr.results[i] && !units[i].failed_exit)
			interrupted = 1;
		if (t->status == RUN_INTERRUPTED)
			interrupted = 1;
		if (fr.results[i] && json_object_get(fr.results[i],
						     "stopped_by") &&
		    !s->stopped_by)
			s->stopped_by = "max_runtime";
		worst = fleet_worse_exit(worst, t->exit_code);
		json_decref(fr.results[i]);
		if (t->status != RUN_OK)
			log_msg(t->status == RUN_FAILED ? SWEEPER_LOG_ERROR :
				SWEEPER_LOG_WARN, "target '%s': %s%s%s",
				t->name, target_status_name(t),
				t->error ? ": " : "", t->error ? t->error : "");
	}
	if (*shared >= inv->cfg.max_rows && inv->cfg.max_rows > 0)
		s->stopped_by = "max_rows";
	fleet_rules_total(s, s->dry_run);
	fleet_status_total(s);
	outcome = fleet_outcome(worst, interrupted || stop_requested);
	free(fr.results);
	free(fr.w);
	munmap(shared, sizeof(long long));
	fleet_units_free(units, nunits);
	return outcome;
}
