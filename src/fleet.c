/*
 * fleet.c: the parent of a run over targets (fleet.h): the pool of up to
 * `jobs` worker processes, handing out the units (fleet_targets.c made
 * them) one at a time, passing a stop on, and the summary of what they
 * sent back (fleet_summary.c).
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "clock.h"
#include "fleet.h"
#include "fleet_summary.h"
#include "fleet_unit.h"
#include "log.h"
#include "row_budget.h"
#include "stop.h"
#include "strbuf.h"
#include "xalloc.h"

/* How often the parent looks at the stop flag while workers run. */
#define FLEET_POLL_MS 100

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

/*
 * [sweeper] workers for each target when `running` targets sweep at
 * once under `jobs`: a target's step on N workers holds N + 1
 * connections (its own, which holds its lock, and one per worker), so
 * each target gets jobs / running connections, and workers only when
 * that leaves room for two of them; else its steps run serial on its
 * one connection.  So the run never holds more than `jobs`.
 */
static long long fleet_target_workers(long long jobs, size_t running,
				      long long workers)
{
	long long room;

	if (workers <= 1 || running == 0)
		return 1;
	room = jobs / (long long)running - 1;
	if (room < 2)
		return 1;
	return workers < room ? workers : room;
}

enum outcome fleet_run(struct invocation *inv)
{
	struct run_summary *s = &inv->s;
	struct fleet_run fr;
	struct fleet_unit *units = NULL;
	size_t nunits = 0, i, jobs;
	struct fleet_memory *shared = MAP_FAILED;
	int worst = 0, interrupted = 0;
	enum outcome outcome;

	inv->reached_rules = 1;
	memset(&fr, 0, sizeof(fr));
	stop_cancel_at_once(0);
	if (fleet_units(inv, &units, &nunits) != 0) {
		inv->reached_rules = 0;
		return inv->outcome;
	}
	/* max_rows and max_rate hold for the whole run: a budget and a
	 * bucket every worker sees. */
	shared = mmap(NULL, sizeof(*shared), PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (shared == MAP_FAILED) {
		fleet_units_free(units, nunits);
		invocation_stop(inv, OUTCOME_UNAVAILABLE, "cannot share memory "
				"with the workers: %s", strerror(errno));
		inv->reached_rules = 0;
		return inv->outcome;
	}
	memset(shared, 0, sizeof(*shared));
	if (rate_limit_init(&shared->rate, inv->o->dry_run ? 0 :
			    inv->cfg.max_rate) != 0) {
		munmap(shared, sizeof(*shared));
		fleet_units_free(units, nunits);
		invocation_stop(inv, OUTCOME_UNAVAILABLE, "cannot share the "
				"max_rate bucket with the workers");
		inv->reached_rules = 0;
		return inv->outcome;
	}
	fr.inv = inv;
	fr.sh.inv = inv;
	fr.sh.units = units;
	fr.sh.nunits = nunits;
	fr.sh.run_rows = &shared->rows;
	fr.sh.run_rate = &shared->rate;
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
	fr.sh.workers = fleet_target_workers(inv->cfg.jobs, jobs,
					     inv->cfg.workers);
	log_msg(SWEEPER_LOG_INFO, "%zu target%s, %zu at once", nunits,
		nunits == 1 ? "" : "s", jobs);
	if (fr.sh.workers < inv->cfg.workers)
		log_msg(SWEEPER_LOG_INFO, "workers = %lld: %lld per target, "
			"so that %zu targets at once stay within jobs = %lld "
			"connections (doc/fleet.md)", inv->cfg.workers,
			fr.sh.workers, jobs, inv->cfg.jobs);
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

	fleet_summary_fill(s, units, fr.results, nunits, &worst,
			   &interrupted);
	if (inv->cfg.max_rows > 0 && 
	    row_budget_deleted(&shared->rows) >= inv->cfg.max_rows)
		s->stopped_by = "max_rows";
	outcome = fleet_outcome(worst, interrupted || stop_requested);
	for (i = 0; i < nunits; i++)
		json_decref(fr.results[i]);
	free(fr.results);
	free(fr.w);
	rate_limit_destroy(&shared->rate);
	munmap(shared, sizeof(*shared));
	fleet_units_free(units, nunits);
	return outcome;
}
