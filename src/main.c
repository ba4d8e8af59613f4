/*
 * main.c: one run of mfa-sweeper, from the command line to the exit code.
 *
 * Everything that can be wrong with the configuration, the plugins or the
 * schema is found before the first row is deleted: config, plugin loading,
 * init() and plan() of every rule, then an EXPLAIN of every step.  Only
 * then is the run lock taken and the first batch run.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>

#include "cli.h"
#include "clock.h"
#include "config.h"
#include "db.h"
#include "engine.h"
#include "ledger.h"
#include "ledger_cli.h"
#include "log.h"
#include "metrics.h"
#include "progress.h"
#include "rule.h"
#include "run_lock.h"
#include "scope.h"
#include "stop.h"
#include "strbuf.h"
#include "summary.h"
#include "values.h"
#include "webhook.h"
#include "xalloc.h"

/* Exit codes of DESIGN.md section 4 (sysexits.h values). */
enum {
	EXIT_OK = 0,
	EXIT_RULE_FAILED = 1,
	EXIT_USAGE = 64,
	EXIT_UNAVAILABLE = 69,
	EXIT_TEMPFAIL = 75,
	EXIT_CONFIG = 78
};

/*
 * SIGTERM and SIGINT stop the run at the next batch boundary; a batch
 * still running after stop_timeout, or at a second signal, is cancelled
 * (src/stop.c).  Stopping still works when the cancel cannot be set up.
 */
static void main_install_signals(PGconn *conn, const struct config *cfg)
{
	char err[256];

	if (stop_install(conn, cfg->stop_timeout_ms, err, sizeof(err)) != 0)
		log_msg(SWEEPER_LOG_WARN, "%s", err);
}

/* Whether `name` is among the `n` strings of `list`. */
static int main_listed(char *const *list, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (strcmp(list[i], name) == 0)
			return 1;
	}
	return 0;
}

/*
 * The rules this run uses, in the order of `rules` in the config: all of
 * them, or those named with -r, each of which must be enabled.
 */
static int main_select_rules(const struct cli_options *o,
			     const struct config *cfg, char ***names,
			     size_t *count, char *err, size_t errlen)
{
	size_t i;

	*names = NULL;
	*count = 0;
	for (i = 0; i < o->nrules; i++) {
		struct strbuf list = STRBUF_INIT;
		char shown[VALUE_QUOTE_MAX];
		size_t j;

		if (main_listed(cfg->rules, cfg->nrules, o->rules[i]))
			continue;
		for (j = 0; j < cfg->nrules; j++)
			strbuf_addf(&list, "%s%s", j ? ", " : "", cfg->rules[j]);
		value_quote(o->rules[i], shown, sizeof(shown));
		snprintf(err, errlen,
			 "--rule %s is not enabled in '%s'; enabled rules: %s",
			 shown, cfg->path, strbuf_str(&list));
		strbuf_release(&list);
		return -1;
	}
	*names = xcalloc(cfg->nrules, sizeof(char *));
	for (i = 0; i < cfg->nrules; i++) {
		if (o->nrules == 0 ||
		    main_listed(o->rules, o->nrules, cfg->rules[i]))
			(*names)[(*count)++] = cfg->rules[i];
	}
	return 0;
}

static const char *main_key_type(enum sweeper_key_type type)
{
	switch (type) {
	case SWEEPER_KEY_STRING:
		return "string";
	case SWEEPER_KEY_BOOL:
		return "bool";
	case SWEEPER_KEY_INT:
		return "int";
	case SWEEPER_KEY_DURATION:
		return "duration";
	case SWEEPER_KEY_ENUM:
		return "enum";
	}
	return "?";
}

/* --list-rules: load each plugin (no init) and describe it. */
static int main_list_rules(const struct config *cfg, char **names, size_t n)
{
	char err[1024];
	size_t i;
	int ret = EXIT_OK;

	for (i = 0; i < n; i++) {
		struct plugin p;
		const struct sweeper_key *k;

		if (plugin_load(&p, cfg->plugin_dir, names[i], err,
				sizeof(err)) != 0) {
			log_msg(SWEEPER_LOG_ERROR, "%s", err);
			ret = EXIT_CONFIG;
			continue;
		}
		printf("%s %s: %s\n", p.desc->name,
		       p.desc->version ? p.desc->version : "",
		       p.desc->description ? p.desc->description : "");
		printf("  plugin: %s\n", p.path);
		for (k = p.desc->keys; k && k->name; k++) {
			printf("  [rule.%s] %s (%s%s%s, default %s): %s\n",
			       p.desc->name, k->name, main_key_type(k->type),
			       k->choices ? ": " : "",
			       k->choices ? k->choices : "",
			       k->default_value ? k->default_value :
			       "none, required",
			       k->help ? k->help : "");
		}
		plugin_unload(&p);
	}
	return ret;
}

static void main_log_rule(const struct rule_result *r, int dry_run)
{
	int level = r->status == RUN_FAILED ? SWEEPER_LOG_ERROR :
		    SWEEPER_LOG_INFO;
	struct log_fields f = LOG_FIELDS_INIT;

	f.rule = r->name;
	f.deleted = r->deleted;
	f.batches = r->batches;
	f.duration_ms = r->duration_ms;
	f.status = run_status_name(r->status);
	f.dry_run = dry_run;
	log_event(level, &f, "rule '%s': %s, %lld rows %s in %lld batch%s "
		"(%lld.%03llds)%s%s", r->name, run_status_name(r->status),
		r->deleted, dry_run ? "would be deleted" : "deleted",
		r->batches, r->batches == 1 ? "" : "es",
		r->duration_ms / 1000, r->duration_ms % 1000,
		r->error ? ": " : "", r->error ? r->error : "");
}

/* Mark the rules after `from` as not run, with `status`. */
static void main_mark_rest(struct run_summary *s, struct rule *rules,
			   size_t from, enum run_status status,
			   const char *why)
{
	size_t i;

	for (i = from; i < s->nrules; i++) {
		s->rules[i].name = rules[i].name;
		s->rules[i].status = status;
		if (why)
			s->rules[i].error = xstrdup(why);
	}
}

/*
 * Batch sizing, max_rows and the throttles, from [sweeper] (issue 4:
 * adaptive batches and throttling).
 */
static void main_engine_limits(struct engine *e, const struct config *cfg)
{
	e->batch_size = cfg->batch_size;
	e->batch_min = cfg->batch_min;
	e->batch_max = cfg->batch_max;
	e->batch_target_ms = cfg->batch_target_ms;
	e->max_rows = cfg->max_rows;
	e->users_table = config_schema(cfg, "users_table");
	e->user_id_column = config_schema(cfg, "user_id_column");
	e->throttle.pause_ms = cfg->pause_ms;
	e->throttle.pause_ratio = cfg->pause_ratio;
	e->throttle.max_replica_lag_ms = cfg->max_replica_lag_ms;
	e->throttle.max_throttle_ms = cfg->max_throttle_ms;
}

/* Refuse a max_replica_lag the role cannot read (throttle_preflight()). */
static int main_throttle_preflight(const struct config *cfg, PGconn *conn,
				   char *err, size_t errlen)
{
	struct engine e;

	memset(&e, 0, sizeof(e));
	main_engine_limits(&e, cfg);
	return throttle_preflight(&e.throttle, conn, err, errlen);
}

/*
 * Observability: the metrics file of every run that got as far as a
 * loaded config, failed ones too.  A dry run deletes nothing and would only blur what the real
 * runs did, so it leaves the file alone.  A failure to write is logged
 * and does not change the exit code.
 */
static void main_write_metrics(const struct cli_options *o,
			       const struct config *cfg,
			       const struct run_summary *s)
{
	char err[2048];

	if (!cfg->metrics_file || !*cfg->metrics_file)
		return;
	if (o->dry_run) {
		log_msg(SWEEPER_LOG_DEBUG, "dry run: metrics file '%s' left "
			"as it is", cfg->metrics_file);
		return;
	}
	if (metrics_write(cfg->metrics_file, s, err, sizeof(err)) != 0)
		log_msg(SWEEPER_LOG_ERROR, "%s", err);
}

/* [database] pooler, checked when the config was loaded. */
static enum run_lock_pooler main_pooler(const struct config *cfg)
{
	enum run_lock_pooler p = RUN_LOCK_NO_POOLER;

	run_lock_pooler_parse(cfg->pooler, &p);
	return p;
}

/*
 * A batch found the run lock no longer this run's (ENGINE_UNLOCKED, rule
 * `i`) and was rolled back.  A lease another run took over means that run
 * goes on with the work: this one was interrupted (75).  A transaction
 * pooler's symptoms are the config's fault: 78 while nothing was deleted,
 * else the run failed (1).
 */
static void main_lock_lost(struct run_summary *s, struct rule *rules,
			   size_t i, const struct run_lock *lock,
			   int *exit_code)
{
	size_t j;
	long long deleted = 0;

	log_msg(SWEEPER_LOG_ERROR, "%s; stopping", lock->why);
	for (j = 0; j <= i; j++)
		deleted += s->rules[j].deleted;
	if (lock->result == RUN_LOCK_LOST) {
		s->rules[i].status = RUN_INTERRUPTED;
		main_mark_rest(s, rules, i + 1, RUN_INTERRUPTED, NULL);
		s->status = RUN_INTERRUPTED;
		*exit_code = EXIT_TEMPFAIL;
		return;
	}
	main_mark_rest(s, rules, i + 1, RUN_FAILED,
		       "not run: the run lock was lost");
	s->status = RUN_FAILED;
	*exit_code = deleted > 0 ? EXIT_RULE_FAILED : EXIT_CONFIG;
}

/*
 * Run the rules and report: fills the summary `s` that main() started
 * (with one result per rule) and finishes it.
 */
static int main_run(const struct cli_options *o, const struct config *cfg,
		    struct rule *rules, size_t nrules, struct scope *scope,
		    PGconn *conn, const struct ledger *ledger,
		    struct run_summary *s)
{
	struct stmt_ledger sledger;
	struct stmt_scope sscope;
	struct run_lock lock;
	struct engine e;
	struct progress progress;
	struct log_fields f = LOG_FIELDS_INIT;
	char err[1024];
	int exit_code = EXIT_OK, rc = ENGINE_DONE;
	size_t i;

	memset(&e, 0, sizeof(e));
	e.conn = conn;
	main_engine_limits(&e, cfg);
	e.throttle.counts = &s->throttle;
	e.lock_timeout_ms = cfg->lock_timeout_ms;
	e.statement_timeout_ms = cfg->statement_timeout_ms;
	e.dry_run = o->dry_run;
	e.stop = &stop_requested;
	/* Observability: progress watches the engine's steps. */
	progress_start(&progress, progress_choose(o->quiet, o->dry_run,
						  STDERR_FILENO),
		       stderr, &e.observer);
	/* Audit ledger: the batches record their deletions under this run. */
	if (ledger->enabled && !o->dry_run) {
		sledger.deletions = ledger->deletions;
		sledger.run_id = s->run_id;
		e.ledger = &sledger;
	}
	e.retries = cfg->retries;
	e.retry_backoff_ms = cfg->retry_backoff_ms;
	e.in_batch = &stop_in_batch;
	e.cancelled = &stop_cancelled;
	clock_deadline_in(&e.deadline, cfg->max_runtime_ms);
	if (cli_scoped(o)) {
		sscope.users_table = config_schema(cfg, "users_table");
		sscope.user_id_column = config_schema(cfg, "user_id_column");
		sscope.ids = scope->ids_literal;
		e.scope = &sscope;
		s->scoped = 1;
		s->unknown_users = scope->unknown;
		s->nunknown = scope->nunknown;
		/* The summary now owns the list. */
		scope->unknown = NULL;
		scope->nunknown = 0;
	}

	/*
	 * A dry run changes nothing, so it neither needs the lock nor is
	 * turned away by a run that holds it.
	 */
	run_lock_init(&lock, conn, main_pooler(cfg), cfg->lease_ttl_ms,
		      ledger->lease, s->run_id, s->host);
	switch (o->dry_run ? RUN_LOCK_HELD : run_lock_take(&lock, err,
							  sizeof(err))) {
	case RUN_LOCK_HELD:
		break;
	case RUN_LOCK_BUSY:
		log_msg(SWEEPER_LOG_WARN,
			"another mfa-sweeper run holds the lock on this "
			"database%s%s; nothing done", err[0] ? ": " : "", err);
		main_mark_rest(s, rules, 0, RUN_SKIPPED, NULL);
		s->status = RUN_SKIPPED;
		exit_code = EXIT_TEMPFAIL;
		goto report;
	case RUN_LOCK_POOLER:
		/* The config does not say what sits in front of the server. */
		log_msg(SWEEPER_LOG_ERROR, "%s", err);
		main_mark_rest(s, rules, 0, RUN_FAILED, err);
		s->status = RUN_FAILED;
		exit_code = EXIT_CONFIG;
		goto report;
	default:
		log_msg(SWEEPER_LOG_ERROR, "cannot take the run lock: %s", err);
		main_mark_rest(s, rules, 0, RUN_FAILED, err);
		s->status = RUN_FAILED;
		exit_code = db_lost(conn) ? EXIT_UNAVAILABLE : EXIT_RULE_FAILED;
		goto report;
	}
	if (!o->dry_run)
		e.lock = &lock;
	/*
	 * Audit ledger: the run's row is committed before the first batch, so
	 * every deletions row has its run, even if this process dies.
	 */
	if (e.ledger && ledger_run_begin(conn, ledger, s, err,
					 sizeof(err)) != 0) {
		log_msg(SWEEPER_LOG_ERROR, "%s; nothing deleted", err);
		main_mark_rest(s, rules, 0, RUN_FAILED, err);
		s->status = RUN_FAILED;
		exit_code = db_lost(conn) ? EXIT_UNAVAILABLE : EXIT_CONFIG;
		goto report;
	}

	for (i = 0; i < nrules; i++) {
		rc = engine_run_rule(&e, &rules[i], &s->rules[i]);
		main_log_rule(&s->rules[i], o->dry_run);
		if (rc == ENGINE_LIMIT) {
			log_msg(SWEEPER_LOG_WARN,
				"%s reached; stopping between batches",
				e.stopped_by ? e.stopped_by : "a limit");
			s->stopped_by = e.stopped_by;
			main_mark_rest(s, rules, i + 1, RUN_PARTIAL, NULL);
			break;
		}
		if (rc == ENGINE_STOPPED) {
			log_msg(SWEEPER_LOG_WARN,
				"stopped by a signal; every batch was applied "
				"whole or rolled back");
			main_mark_rest(s, rules, i + 1, RUN_INTERRUPTED, NULL);
			s->status = RUN_INTERRUPTED;
			exit_code = EXIT_TEMPFAIL;
			break;
		}
		if (rc == ENGINE_UNLOCKED) {
			main_lock_lost(s, rules, i, &lock, &exit_code);
			break;
		}
		if (rc == ENGINE_LOST) {
			log_msg(SWEEPER_LOG_ERROR,
				"lost the database connection; stopping");
			main_mark_rest(s, rules, i + 1, RUN_FAILED,
				       "not run: database connection lost");
			s->status = RUN_FAILED;
			exit_code = EXIT_UNAVAILABLE;
			break;
		}
		if (rc == ENGINE_FAILED)
			exit_code = EXIT_RULE_FAILED;
	}

report:
	progress_finish(&progress);
	summary_finish(s);
	/* Audit ledger: the run's end (or its only row, for a dry or skipped
	 * run). */
	if (ledger->enabled && !db_lost(conn) &&
	    ledger_run_finish(conn, ledger, s, err, sizeof(err)) != 0) {
		log_msg(SWEEPER_LOG_ERROR, "%s", err);
		if (exit_code == EXIT_OK)
			exit_code = db_lost(conn) ? EXIT_UNAVAILABLE :
				    EXIT_RULE_FAILED;
	}
	/* Nothing of the run stays held on a pooled server connection. */
	if (run_lock_release(&lock, err, sizeof(err)) != 0)
		log_msg(SWEEPER_LOG_WARN, "%s", err);
	if (o->json) {
		if (summary_print_json(stdout, s) != 0)
			log_msg(SWEEPER_LOG_ERROR, "cannot write the summary");
	} else if (!o->quiet) {
		summary_print_table(stdout, s);
	}
	f.deleted = s->deleted_total;
	f.duration_ms = s->duration_ms;
	f.status = run_status_name(s->status);
	f.dry_run = o->dry_run;
	log_event(SWEEPER_LOG_INFO, &f, "run %s: %s, %lld rows %s in %lld.%03llds",
		s->run_id, run_status_name(s->status), s->deleted_total,
		o->dry_run ? "would be deleted" : "deleted",
		s->duration_ms / 1000, s->duration_ms % 1000);
	return exit_code;
}

/*
 * Whatever runs outside a batch (the preflight's EXPLAINs, the users
 * check, the ledger's run row, the run lock) waits for a lock no longer
 * than a batch would, so a migration holding a table makes the run give
 * up rather than hang until systemd kills it.  The timeouts go with each
 * statement's own transaction as SET LOCAL, never with the session: a
 * pooler hands the server connection to the application's next client,
 * which must not inherit them (README "Connection poolers").  Each batch
 * sets its own the same way.
 */
static int main_session_timeouts(PGconn *conn, const struct config *cfg,
				 char *err, size_t errlen)
{
	struct db_local local;

	local.lock_timeout_ms = cfg->lock_timeout_ms;
	local.statement_timeout_ms = cfg->statement_timeout_ms;
	return db_set_local(conn, &local, err, errlen);
}

/*
 * A run that ended before its rules ran is reported as failed, with `why`
 * (the error it stopped on) as the summary's "error", so that the webhook
 * and the metrics say what happened rather than stay silent.
 */
static void main_fail_summary(struct run_summary *s, const char *why)
{
	size_t i;

	s->status = RUN_FAILED;
	s->error = xstrdup(why[0] ? why : "the run stopped before its rules ran");
	for (i = 0; i < s->nrules; i++) {
		s->rules[i].status = RUN_FAILED;
		s->rules[i].error = xstrdup("not run");
	}
	summary_finish(s);
}

/*
 * Post the run's summary, record the outcome in the audit ledger, and
 * return the run's exit code: `exit_code`, or 1 instead of 0 when the post
 * failed and [webhook] required is set.
 */
static int main_webhook(const struct webhook *wh, const struct run_summary *s,
			PGconn *conn, const struct ledger *ledger,
			int exit_code)
{
	struct webhook_result res;
	char err[1024];

	webhook_post(wh, s, &res);
	webhook_log_result(wh, &res);
	/*
	 * Audit ledger: the run's row says whether its summary got out.  Only
	 * a run that reached the engine has a row (`conn` is NULL otherwise).
	 */
	if (conn && !db_lost(conn) &&
	    ledger_record_webhook(conn, ledger, s->run_id,
				  res.ok ? "delivered" : "failed",
				  res.ok ? NULL : res.error, err,
				  sizeof(err)) != 0)
		log_msg(SWEEPER_LOG_ERROR, "%s", err);
	if (!res.ok && wh->required && exit_code == EXIT_OK)
		return EXIT_RULE_FAILED;
	return exit_code;
}

int main(int argc, char **argv)
{
	struct sweeper_run_info info;
	struct stmt_ledger plan_ledger;
	struct ledger ledger;
	struct cli_options o;
	struct config cfg;
	struct scope scope;
	struct rule *rules = NULL;
	struct run_summary s;
	struct webhook wh;
	char **names = NULL;
	size_t nnames = 0, nopen = 0, i, nsteps = 0;
	PGconn *conn = NULL;
	char err[2048];
	int ret = EXIT_CONFIG, bad_input = 0, have_summary = 0, ran = 0;

	memset(&cfg, 0, sizeof(cfg));
	memset(&scope, 0, sizeof(scope));
	memset(&s, 0, sizeof(s));
	memset(&wh, 0, sizeof(wh));
	memset(&ledger, 0, sizeof(ledger));
	err[0] = '\0';
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_msg(SWEEPER_LOG_ERROR, "cannot initialise libcurl");
		return EXIT_UNAVAILABLE;
	}
	if (cli_parse(&o, argc, argv, err, sizeof(err)) != 0) {
		log_set_format(o.log_json ? LOG_FORMAT_JSON : LOG_FORMAT_TEXT);
		log_msg(SWEEPER_LOG_ERROR, "%s", err);
		ret = EXIT_USAGE;
		goto out;
	}
	if (o.help) {
		cli_usage(stdout);
		ret = EXIT_OK;
		goto out;
	}
	if (o.version) {
		printf("mfa-sweeper %s (plugin ABI %u)\n", SWEEPER_VERSION,
		       (unsigned)SWEEPER_ABI_VERSION);
		ret = EXIT_OK;
		goto out;
	}
	log_set_format(o.log_json ? LOG_FORMAT_JSON : LOG_FORMAT_TEXT);
	if (o.verbose)
		log_set_level(SWEEPER_LOG_DEBUG);
	if (o.quiet)
		log_set_level(SWEEPER_LOG_ERROR);

	if (config_load(&cfg, o.config_path, err, sizeof(err)) != 0) {
		log_msg(SWEEPER_LOG_ERROR, "%s", err);
		ret = EXIT_CONFIG;
		goto out;
	}
	/* Audit ledger: --init-ledger, --print-ledger-sql, --history. */
	if (ledger_cli_wanted(&o)) {
		ret = ledger_cli_run(&o, &cfg);
		goto out;
	}
	if (ledger_setup(&ledger, cfg.ledger_schema, cfg.ledger_enabled, err,
			 sizeof(err)) != 0) {
		log_msg(SWEEPER_LOG_ERROR, "%s", err);
		ret = EXIT_CONFIG;
		goto out;
	}
	/*
	 * webhook: from here on every run that deletes or counts posts its
	 * summary, failed ones too (see main_fail_summary()).  The secret is read
	 * first, so that a bad secret file stops the run before anything is
	 * deleted; such a run cannot sign and posts nothing.
	 */
	if (!o.list_rules && !o.explain &&
	    webhook_init(&wh, &cfg, err, sizeof(err)) != 0) {
		log_msg(SWEEPER_LOG_ERROR, "%s", err);
		ret = EXIT_CONFIG;
		goto out;
	}
	if (summary_start(&s, 0) != 0) {
		log_msg(SWEEPER_LOG_ERROR, "cannot make a run id: no randomness");
		ret = EXIT_UNAVAILABLE;
		goto out;
	}
	log_set_run_id(s.run_id);
	have_summary = !o.list_rules && !o.check_config && !o.explain;
	s.dry_run = o.dry_run;
	if (main_select_rules(&o, &cfg, &names, &nnames, err, sizeof(err)) != 0) {
		log_msg(SWEEPER_LOG_ERROR, "%s", err);
		ret = EXIT_USAGE;
		goto out;
	}
	summary_set_rules(&s, names, nnames);
	if (rule_check_plugin_dir(&cfg, err, sizeof(err)) != 0) {
		log_msg(SWEEPER_LOG_ERROR, "%s", err);
		ret = EXIT_CONFIG;
		goto out;
	}
	if (o.list_rules) {
		ret = main_list_rules(&cfg, names, nnames);
		goto out;
	}

	/* The users are read before anything else can fail half-way. */
	for (i = 0; i < o.nuser_ids; i++)
		scope_add(&scope, o.user_ids[i], 0);
	for (i = 0; i < o.nuser_emails; i++)
		scope_add(&scope, o.user_emails[i], 1);
	if (o.users_file &&
	    scope_read_file(&scope, o.users_file, err, sizeof(err)) != 0) {
		log_msg(SWEEPER_LOG_ERROR, "%s", err);
		ret = EXIT_USAGE;
		goto out;
	}

	memset(&info, 0, sizeof(info));
	info.size = sizeof(info);
	info.dry_run = o.dry_run || o.check_config || o.explain;
	info.now = o.now;
	info.scoped = cli_scoped(&o);

	rules = xcalloc(nnames, sizeof(*rules));
	for (i = 0; i < nnames; i++) {
		if (rule_open(&rules[i], &cfg, names[i], &info, err,
			      sizeof(err)) != 0) {
			rule_close(&rules[i]);
			log_msg(SWEEPER_LOG_ERROR, "%s", err);
			ret = EXIT_CONFIG;
			goto out;
		}
		nopen++;
		if (rule_plan(&rules[i], err, sizeof(err)) != 0) {
			log_msg(SWEEPER_LOG_ERROR, "%s", err);
			ret = EXIT_CONFIG;
			goto out;
		}
		nsteps += rules[i].nsteps;
	}

	conn = db_connect(cfg.dsn, err, sizeof(err));
	if (!conn) {
		log_msg(SWEEPER_LOG_ERROR, "%s; check [database] dsn in '%s'",
			err, cfg.path);
		ret = EXIT_UNAVAILABLE;
		goto out;
	}
	if (main_session_timeouts(conn, &cfg, err, sizeof(err)) != 0) {
		log_msg(SWEEPER_LOG_ERROR, "%s", err);
		ret = EXIT_UNAVAILABLE;
		goto out;
	}

	/* Preflight: every step must plan before anything is deleted. */
	if ((info.scoped || o.check_config) &&
	    scope_check_users_table(conn, &cfg, err, sizeof(err)) != 0) {
		log_msg(SWEEPER_LOG_ERROR, "%s", err);
		ret = db_lost(conn) ? EXIT_UNAVAILABLE : EXIT_CONFIG;
		goto out;
	}
	if (info.scoped && scope_resolve(&scope, conn, &cfg, &bad_input, err,
					 sizeof(err)) != 0) {
		log_msg(SWEEPER_LOG_ERROR, "%s", err);
		if (bad_input)
			ret = EXIT_USAGE;
		else
			ret = db_lost(conn) ? EXIT_UNAVAILABLE : EXIT_CONFIG;
		goto out;
	}
	/* Audit ledger: without its tables, nothing may be deleted. */
	if (ledger.enabled) {
		int rc = ledger_check(conn, &ledger, err, sizeof(err));

		if (rc != 0) {
			log_msg(SWEEPER_LOG_ERROR, "%s", err);
			ret = rc < 0 && db_lost(conn) ? EXIT_UNAVAILABLE :
			      EXIT_CONFIG;
			goto out;
		}
	}
	/* pooler = transaction: without the lease table, no run lock. */
	if (!o.dry_run && !o.explain) {
		int rc = run_lock_check(conn, main_pooler(&cfg), ledger.lease,
					err, sizeof(err));

		if (rc != 0) {
			log_msg(SWEEPER_LOG_ERROR, "%s", err);
			ret = rc < 0 && db_lost(conn) ? EXIT_UNAVAILABLE :
			      EXIT_CONFIG;
			goto out;
		}
	}
	plan_ledger.deletions = ledger.deletions;
	plan_ledger.run_id = LEDGER_NIL_RUN_ID;
	for (i = 0; i < nnames; i++) {
		struct stmt_scope sscope = {
			config_schema(&cfg, "users_table"),
			config_schema(&cfg, "user_id_column"),
			scope.ids_literal
		};
		struct engine e;

		memset(&e, 0, sizeof(e));
		e.conn = conn;
		main_engine_limits(&e, &cfg);
		e.scope = info.scoped ? &sscope : NULL;
		e.ledger = ledger.enabled && !o.dry_run ? &plan_ledger : NULL;
		if (o.explain)
			ret = engine_explain(&e, &rules[i], stdout, err,
					     sizeof(err));
		else
			ret = engine_preflight(&e, &rules[i], err, sizeof(err));
		if (ret != 0) {
			log_msg(SWEEPER_LOG_ERROR, "%s", err);
			if (db_lost(conn))
				ret = EXIT_UNAVAILABLE;
			else
				ret = ret == -2 ? EXIT_RULE_FAILED : EXIT_CONFIG;
			goto out;
		}
	}
	if (!o.explain && main_throttle_preflight(&cfg, conn, err,
						  sizeof(err)) != 0) {
		log_msg(SWEEPER_LOG_ERROR, "%s", err);
		ret = db_lost(conn) ? EXIT_UNAVAILABLE : EXIT_CONFIG;
		goto out;
	}
	if (o.check_config && cfg.metrics_file && *cfg.metrics_file &&
	    metrics_check(cfg.metrics_file, err, sizeof(err)) != 0) {
		log_msg(SWEEPER_LOG_ERROR, "%s", err);
		ret = EXIT_CONFIG;
		goto out;
	}
	if (o.check_config) {
		printf("configuration ok: '%s', %zu rule%s, %zu step%s checked "
		       "against the database\n", cfg.path, nnames,
		       nnames == 1 ? "" : "s", nsteps, nsteps == 1 ? "" : "s");
		ret = EXIT_OK;
		goto out;
	}
	if (o.explain) {
		ret = EXIT_OK;
		goto out;
	}
	if (info.scoped && scope.nunknown)
		log_msg(SWEEPER_LOG_WARN, "%zu named user%s not found",
			scope.nunknown, scope.nunknown == 1 ? "" : "s");

	main_install_signals(conn, &cfg);
	ret = main_run(&o, &cfg, rules, nnames, &scope, conn, &ledger, &s);
	ran = 1;
out:
	if (have_summary) {
		if (!ran)
			main_fail_summary(&s, err);
		main_write_metrics(&o, &cfg, &s);
		if (wh.url)
			ret = main_webhook(&wh, &s, ran ? conn : NULL, &ledger,
					   ret);
	}
	/* The cancel object refers to the connection: gone before it. */
	stop_uninstall();
	summary_free(&s);
	webhook_free(&wh);
	if (conn)
		PQfinish(conn);
	for (i = 0; i < nopen; i++)
		rule_close(&rules[i]);
	free(rules);
	free(names);
	scope_free(&scope);
	config_free(&cfg);
	cli_free(&o);
	curl_global_cleanup();
	return ret;
}
