/*
 * summary.h: what a run did, the model the engine fills and every report
 * reads.  Its renderings are apart: summary_json.h (the JSON document)
 * and summary_table.h (the human table).
 */
#ifndef SWEEPER_SUMMARY_H
#define SWEEPER_SUMMARY_H

#include <stdio.h>
#include <time.h>

#include "strbuf.h"

enum run_status {
	RUN_OK = 0,
	RUN_PARTIAL,       /* stopped early by a limit, work left */
	RUN_FAILED,
	RUN_SKIPPED,       /* another run holds the lock */
	RUN_INTERRUPTED    /* stopped by a signal */
};

/* "ok", "partial", "failed", "skipped" or "interrupted". */
const char *run_status_name(enum run_status status);

/* How many refused rows a step's result describes one by one. */
#define SUMMARY_REFUSED_SHOWN 10

/*
 * A row the database refused to delete (refused.h), which the engine left
 * in place and passed over for the rest of its step.  Strings owned.
 */
struct refused_row {
	char *key;                /* the step's key, as text */
	char sqlstate[6];         /* e.g. "23503" */
	char *constraint;         /* the constraint the error names, or NULL */
	char *error;              /* the server's message */
};

struct step_result {
	const char *table;       /* borrowed from the rule's step */
	const char *label;       /* borrowed from the rule's step */
	long long deleted;       /* rows deleted, or would delete (dry run) */
	long long batches;
	long long retries;       /* batches run again after a retryable error */
	long long duration_ms;
	const char *skipped;     /* static reason, or NULL when it ran */
	/* Limits of the batches counted in `batches` (0 when none ran). */
	long long batch_size_min;
	long long batch_size_max;
	long long batch_size_last;
	/* Rows the database refused to delete, left behind; the first
	 * SUMMARY_REFUSED_SHOWN of them in `refused`. */
	long long left_behind;
	struct refused_row refused[SUMMARY_REFUSED_SHOWN];
	size_t nrefused;
};

struct rule_result {
	const char *name;        /* borrowed from the rule */
	enum run_status status;
	char *error;             /* owned, or NULL */
	long long deleted;
	long long batches;
	long long retries;       /* sum of the steps' retries */
	long long left_behind;   /* sum of the steps' left_behind */
	long long duration_ms;
	struct step_result *steps;   /* owned array */
	size_t nsteps;
	char **skipped_users;    /* owned: named users the rule skips */
	size_t nskipped;
};

/* How often, and how long in total, one throttle made the run wait. */
struct throttle_count {
	long long count;
	long long ms;
};

/* Every throttle's count, for the summary's "throttle" object. */
struct run_throttle {
	struct throttle_count pause;         /* the fixed pause after a batch */
	struct throttle_count pause_ratio;   /* pause_ratio x batch time */
	struct throttle_count replica_lag;   /* waits for a lagging standby */
	struct throttle_count max_rate;      /* waits for max_rate (summed
					      * over the workers) */
};

/*
 * One step of one target of a run over several targets: what the
 * metrics label with the target.  Strings owned.
 */
struct target_step_count {
	char *rule;
	char *table;
	long long rows;          /* deleted, or would delete (dry run) */
	long long left_behind;
};

/*
 * One target of a run over several targets (doc/fleet.md), as its
 * worker reported it.  Everything owned.
 */
struct target_result {
	char *name;              /* "NAME" or "NAME/SCHEMA" */
	char *schema;            /* the tenant's schema, or NULL */
	char *run_id;            /* its ledger rows' run id, or NULL */
	enum run_status status;
	int locked;              /* another run holds its lock: "locked" */
	int exit_code;           /* what a run of it alone would exit with */
	char *error;             /* why it failed or stopped, or NULL */
	/* The limit that stopped it ("max_rows", "max_runtime",
	 * "max_throttle"; static), or NULL: with many targets, the run's
	 * own stopped_by cannot say which. */
	const char *stopped_by;
	long long deleted;       /* or would delete (dry run) */
	long long left_behind;
	long long duration_ms;
	/* Its "rules" array as its worker's JSON summary rendered it, text
	 * that summary_json.c embeds as is; NULL for none. */
	char *rules_json;
	struct target_step_count *steps;   /* every step of its rules */
	size_t nsteps;
	struct run_throttle throttle;
};

struct run_summary {
	char run_id[37];         /* random UUID */
	char host[256];
	enum run_status status;
	int dry_run;
	struct timespec started_at;    /* CLOCK_REALTIME */
	struct timespec finished_at;
	long long duration_ms;
	long long deleted_total;       /* or would delete (dry run) */
	long long left_behind_total;   /* rows the database refused to delete */
	struct rule_result *rules;     /* owned array */
	size_t nrules;
	int scoped;
	char **unknown_users;          /* owned */
	size_t nunknown;
	char *error;                   /* owned: why a run failed before its
					* rules ran, or NULL; "error" in JSON */
	struct run_throttle throttle;
	const char *stopped_by;        /* static: the limit that made the run
					* partial ("max_rows", "max_runtime",
					* "max_throttle"), or NULL */
	/* A run over targets: one result each, and their count (the JSON
	 * then has "targets" and "targets_total"); NULL, 0 otherwise. */
	struct target_result *targets; /* owned array */
	size_t ntargets;
	/* The one target this summary is of, inside a run over targets (the
	 * ledger's row records it), or NULL.  Owned. */
	char *target;
};

/* "ok", "partial", "failed", "locked" or "interrupted": a target's status. */
const char *target_status_name(const struct target_result *t);

/*
 * Fill run_id, host and started_at, and allocate `nrules` zeroed rule
 * results.  Returns 0, or -1 when no random run id could be made.
 */
int summary_start(struct run_summary *s, size_t nrules);

/*
 * Replace the (still empty) rule results with `n` zeroed ones named
 * `names` (borrowed: they must outlive the summary), for a summary started
 * before the rules were chosen.  Call it before any result is filled.
 */
void summary_set_rules(struct run_summary *s, char *const *names, size_t n);

/* Set finished_at and duration_ms, add up deleted_total and
 * left_behind_total and derive the run's status from the rules' unless it
 * is already skipped, failed or interrupted. */
void summary_finish(struct run_summary *s);

/*
 * One line on the rows step `st` left behind, for logs and the Slack
 * message: "2 rows left behind, refused by the database: key 17 (23503,
 * constraint \"app_fk\"), key 40 (P0001: device 40 is pinned)", up to
 * the rows it records.  Appended to `out` (a struct strbuf); nothing when
 * it left none.
 */
void summary_refused_text(struct strbuf *out, const struct step_result *st);

/*
 * a + b, held at LLONG_MAX or LLONG_MIN rather than overflowing, for
 * totals of counts: a sum is never undefined and never wraps negative.
 */
long long summary_count_add(long long a, long long b);

/* Free what the summary owns.  Accepts a zeroed struct. */
void summary_free(struct run_summary *s);

#endif /* SWEEPER_SUMMARY_H */
