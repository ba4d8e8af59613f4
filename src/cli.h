/*
 * cli.h: the command line (mfa-sweeper(1); doc/design.md "Command line and exit codes").
 */
#ifndef SWEEPER_CLI_H
#define SWEEPER_CLI_H

#include <stddef.h>
#include <stdio.h>

#define SWEEPER_VERSION "1.0.0"
#define SWEEPER_DEFAULT_CONFIG "/etc/mfa-sweeper/mfa-sweeper.ini"

struct cli_options {
	const char *config_path;   /* -c, else $MFA_SWEEPER_CONFIG, else default */
	char **rules;              /* -r, repeatable; borrowed from argv */
	size_t nrules;
	char **user_ids;           /* -u; borrowed from argv */
	size_t nuser_ids;
	char **user_emails;        /* -e; borrowed from argv */
	size_t nuser_emails;
	const char *users_file;    /* --users-file, "-" for stdin */
	int dry_run;
	int now;
	int json;
	int list_rules;
	int check_config;
	int explain;
	int init_ledger;           /* --init-ledger */
	int print_ledger_sql;      /* --print-ledger-sql */
	long long history;         /* --history [N]: N runs; 0 = not given */
	int print_grants;          /* --print-grants [ROLE] */
	const char *grants_role;   /* its ROLE, borrowed from argv; NULL: the dsn's */
	int print_plan;            /* --print-plan */
	char **targets;            /* --target NAME or NAME/SCHEMA, repeatable;
				    * borrowed from argv */
	size_t ntargets;
	int list_targets;          /* --list-targets */
	int verbose;
	int quiet;
	int log_json;              /* --log-format json */
	int version;
	int help;
};

/*
 * Parse argv into *o (provided by the caller).  Returns 0, or -1 with one
 * line in err (a usage error: exit 64).  The arrays are allocated; strings
 * in them are borrowed from argv.
 */
int cli_parse(struct cli_options *o, int argc, char **argv, char *err,
	      size_t errlen);

/* 1 when the run is restricted to named users. */
int cli_scoped(const struct cli_options *o);

/* Print the usage text. */
void cli_usage(FILE *out);

/* Free the arrays cli_parse() allocated. */
void cli_free(struct cli_options *o);

#endif /* SWEEPER_CLI_H */
