/*
 * cli.c: command-line parsing with getopt_long.
 *
 * getopt_long's own errors name the wrong thing (for "-Zn" it reported
 * argv[0]) and it takes "-quiet" for -q -u iet, which scopes the run to a
 * user "iet".  So the errors are made here, from what getopt saw, and the
 * mistakes a tired operator makes at 02:30 are caught before they change
 * what a run does: a long option with one dash, an option whose value is
 * missing, empty or is the next option, a long option without its dashes.
 * Every argument shown in a message is escaped (value_quote()).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "log.h"
#include "ledger.h"
#include "values.h"
#include "xalloc.h"

enum {
	OPT_USERS_FILE = 256,
	OPT_NOW,
	OPT_JSON,
	OPT_LIST_RULES,
	OPT_CHECK_CONFIG,
	OPT_EXPLAIN,
	OPT_LOG_FORMAT,
	OPT_INIT_LEDGER,
	OPT_PRINT_LEDGER_SQL,
	OPT_HISTORY,
	OPT_PRINT_GRANTS,
	OPT_PRINT_PLAN,
	OPT_TARGET,
	OPT_LIST_TARGETS
};

#define CLI_SHORTOPTS ":c:r:nu:e:vqVh"

static const struct option cli_longopts[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "rule", required_argument, NULL, 'r' },
	{ "dry-run", no_argument, NULL, 'n' },
	{ "user-id", required_argument, NULL, 'u' },
	{ "user-email", required_argument, NULL, 'e' },
	{ "users-file", required_argument, NULL, OPT_USERS_FILE },
	{ "now", no_argument, NULL, OPT_NOW },
	{ "json", no_argument, NULL, OPT_JSON },
	{ "list-rules", no_argument, NULL, OPT_LIST_RULES },
	{ "check-config", no_argument, NULL, OPT_CHECK_CONFIG },
	{ "explain", no_argument, NULL, OPT_EXPLAIN },
	{ "init-ledger", no_argument, NULL, OPT_INIT_LEDGER },
	{ "print-ledger-sql", no_argument, NULL, OPT_PRINT_LEDGER_SQL },
	{ "history", optional_argument, NULL, OPT_HISTORY },
	{ "print-grants", optional_argument, NULL, OPT_PRINT_GRANTS },
	{ "print-plan", no_argument, NULL, OPT_PRINT_PLAN },
	{ "target", required_argument, NULL, OPT_TARGET },
	{ "list-targets", no_argument, NULL, OPT_LIST_TARGETS },
	{ "verbose", no_argument, NULL, 'v' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "log-format", required_argument, NULL, OPT_LOG_FORMAT },
	{ "version", no_argument, NULL, 'V' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 }
};

void cli_usage(FILE *out)
{
	fputs("usage: mfa-sweeper [-c FILE] [-r RULE]... [-n] [-u ID]... [-e EMAIL]...\n"
	      "                   [--users-file FILE|-] [--now] [--json] [--list-rules]\n"
	      "                   [--check-config] [--explain] [--init-ledger]\n"
	      "                   [--print-ledger-sql] [--history [N]]\n"
	      "                   [--print-grants [ROLE]] [--print-plan] [-v|-q]\n"
	      "                   [--target NAME[/SCHEMA]]... [--list-targets]\n"
	      "                   [--log-format text|json] [-V] [-h]\n"
	      "\n"
	      "Delete what MFA leaves behind, in short batches, by the rules in FILE.\n"
	      "\n"
	      "  -c, --config FILE     configuration (default $MFA_SWEEPER_CONFIG or\n"
	      "                        " SWEEPER_DEFAULT_CONFIG ")\n"
	      "  -r, --rule NAME       run only this rule (repeatable)\n"
	      "  -n, --dry-run         count what would be deleted; delete nothing\n"
	      "  -u, --user-id ID      only these users (repeatable)\n"
	      "  -e, --user-email ADDR only these users (repeatable)\n"
	      "      --users-file FILE only the users in FILE (- for stdin): one id or\n"
	      "                        email per line, # comments\n"
	      "      --now             ignore the user_disabled grace period\n"
	      "      --json            print the run summary as JSON on stdout\n"
	      "      --list-rules      list the rules and their options, then exit\n"
	      "      --check-config    check config, plugins, tables and columns, then exit\n"
	      "      --explain         show each step's batch statement and plan, then exit\n"
	      "      --init-ledger     create the audit ledger's schema and tables, then exit\n"
	      "      --print-ledger-sql  print the ledger's SQL (DDL) and exit; connects to nothing\n"
	      "      --history [N]     list the last N runs from the ledger (default 20), then exit\n"
	      "      --print-grants [ROLE]  print the GRANTs ROLE (default: the dsn's role)\n"
	      "                        needs for this config, then exit; connects to the dsn\n"
	      "      --print-plan      load the rules' plugins, run init() and plan() and\n"
	      "                        print each step, then exit; connects to nothing\n"
	      "      --target NAME     sweep only this [target.NAME] (repeatable); a tenant\n"
	      "                        of a tenants_query target as NAME/SCHEMA\n"
	      "      --list-targets    list the targets, with every tenant, then exit\n"
	      "  -v, --verbose         log every batch\n"
	      "  -q, --quiet           log errors only; no progress\n"
	      "      --log-format FMT  text (default) or json: one JSON object per line\n"
	      "  -V, --version         print the version and exit\n"
	      "  -h, --help            print this help and exit\n"
	      "\n"
	      "exit codes: 0 ok, 1 a rule failed, 64 usage, 69 database unavailable,\n"
	      "75 another run holds the lock or interrupted, 78 configuration or plugin error\n",
	      out);
}

/*
 * --history takes an optional N, as "--history=N" or "--history N": the
 * next argument is taken as N unless it is an option.  N is 1 to
 * LEDGER_HISTORY_MAX.
 */
static int cli_history(struct cli_options *o, int argc, char **argv,
		       char *err, size_t errlen)
{
	char shown[VALUE_QUOTE_MAX];
	const char *text = optarg;
	long long n;

	if (!text && optind < argc && argv[optind][0] != '-')
		text = argv[optind++];
	if (!text) {
		o->history = LEDGER_HISTORY_DEFAULT;
		return 0;
	}
	if (uint_parse(text, &n) == 0 && n >= 1 && n <= LEDGER_HISTORY_MAX) {
		o->history = n;
		return 0;
	}
	value_quote(text, shown, sizeof(shown));
	snprintf(err, errlen, "--history %s is not a number of runs; write a "
		 "number from 1 to %d, e.g. --history 20", shown,
		 LEDGER_HISTORY_MAX);
	return -1;
}

/* The long option whose val is `val`, or NULL. */
static const struct option *cli_long_by_val(int val)
{
	const struct option *lo;

	for (lo = cli_longopts; lo->name; lo++) {
		if (lo->val == val)
			return lo;
	}
	return NULL;
}

/*
 * The long option spelled `arg` ("name" or "name=value", without dashes)
 * exactly, or NULL.
 */
static const struct option *cli_long_exact(const char *arg)
{
	const struct option *lo;
	size_t len = strcspn(arg, "=");

	for (lo = cli_longopts; lo->name; lo++) {
		if (strlen(lo->name) == len && strncmp(lo->name, arg, len) == 0)
			return lo;
	}
	return NULL;
}

/*
 * "-json", "-quiet", "-rule=x": a long option written with one dash, which
 * getopt would read as a bundle of short options ("-quiet" is -q -u iet).
 * Checked before getopt runs, up to "--".
 */
static int cli_one_dash(int argc, char **argv, char *err, size_t errlen)
{
	char shown[VALUE_QUOTE_MAX];
	const struct option *lo;
	int i;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (argv[i][0] != '-' || argv[i][1] == '-' ||
		    strcspn(argv[i] + 1, "=") < 2)
			continue;
		lo = cli_long_exact(argv[i] + 1);
		if (!lo)
			continue;
		value_quote(argv[i], shown, sizeof(shown));
		snprintf(err, errlen, "unknown option %s; long options take two "
			 "dashes: write --%s", shown, lo->name);
		return -1;
	}
	return 0;
}

/* The name of option `c` as typed: "-c" or "--config". */
static void cli_option_name(int c, const char *arg, char *buf, size_t size)
{
	const struct option *lo = cli_long_by_val(c);

	if (strncmp(arg, "--", 2) == 0 && lo)
		snprintf(buf, size, "--%s", lo->name);
	else if (c > 0 && c < 256)
		snprintf(buf, size, "-%c", c);
	else
		snprintf(buf, size, "--%s", lo ? lo->name : "?");
}

/*
 * The message for getopt's '?': an unknown short option (optopt is its
 * character), a value given to a long option that takes none (optopt is
 * that option's val), or an unknown or ambiguous long option (optopt 0).
 * `arg` is the argument getopt stopped at.
 */
static void cli_unknown(const char *arg, char *err, size_t errlen)
{
	char shown[VALUE_QUOTE_MAX];
	char name[64];
	char list[256];
	const struct option *lo;
	size_t len, n = 0, listlen = 0;

	list[0] = '\0';
	if (optopt > 0 && optopt < 256 &&
	    (optopt == ':' || !strchr(CLI_SHORTOPTS, optopt))) {
		snprintf(name, sizeof(name), "-%c", optopt);
		value_quote(name, shown, sizeof(shown));
		snprintf(err, errlen, "unknown option %s; see mfa-sweeper --help",
			 shown);
		return;
	}
	if (optopt != 0) {
		lo = cli_long_by_val(optopt);
		snprintf(err, errlen, "option '--%s' takes no value; write just "
			 "--%s", lo ? lo->name : "?", lo ? lo->name : "?");
		return;
	}
	/* getopt reports a long option with its argument, "--x=1" whole. */
	if (strncmp(arg, "--", 2) == 0)
		arg += 2;
	len = strcspn(arg, "=");
	for (lo = cli_longopts; lo->name; lo++) {
		if (strncmp(lo->name, arg, len) != 0)
			continue;
		n++;
		if (listlen < sizeof(list))
			listlen += (size_t)snprintf(list + listlen,
						    sizeof(list) - listlen,
						    "%s--%s", n > 1 ? ", " : "",
						    lo->name);
	}
	snprintf(name, sizeof(name), "--%.*s", (int)(len < 40 ? len : 40), arg);
	value_quote(name, shown, sizeof(shown));
	if (len > 0 && n > 1)
		snprintf(err, errlen, "option %s is ambiguous; write one of %s",
			 shown, list);
	else
		snprintf(err, errlen, "unknown option %s; see mfa-sweeper --help",
			 shown);
}

/* Which values starting with '-' an option takes. */
enum cli_dash {
	CLI_DASH_NONE,      /* none: "-c -n" is a forgotten value */
	CLI_DASH_STDIN,     /* "-" alone, for stdin */
	CLI_DASH_NUMBER     /* "-5", an id; never "--now" */
};

/*
 * The value of an option that takes a name, an id or a path: refused when
 * empty, when it is the next option ("-c -n" would read a config named
 * "-n" and run without -n) beyond what `dash` allows, and when it starts
 * with '=' ("-c=FILE" gives "=FILE").  `what` says what to write.
 */
static int cli_value_check(int c, const char *value, const char *what,
			   enum cli_dash dash, char *err, size_t errlen)
{
	char shown[VALUE_QUOTE_MAX];
	const struct option *lo = cli_long_by_val(c);
	char name[64];

	if (c > 0 && c < 256)
		snprintf(name, sizeof(name), "-%c/--%s", c, lo ? lo->name : "?");
	else
		snprintf(name, sizeof(name), "--%s", lo ? lo->name : "?");
	value_quote(value, shown, sizeof(shown));
	if (value[0] == '\0') {
		snprintf(err, errlen, "%s needs %s; the value given is empty",
			 name, what);
		return -1;
	}
	if (value[0] == '-' &&
	    !(dash == CLI_DASH_STDIN && value[1] == '\0') &&
	    !(dash == CLI_DASH_NUMBER && value[1] != '-')) {
		snprintf(err, errlen, "%s needs %s, but the next argument is the "
			 "option %s; write the value right after %s", name,
			 what, shown, name);
		return -1;
	}
	if (value[0] == '=') {
		snprintf(err, errlen, "%s needs %s, not %s; write %.*s VALUE or "
			 "--%s=VALUE", name, what, shown,
			 (int)strcspn(name, "/"), name, lo ? lo->name : "?");
		return -1;
	}
	return 0;
}

/*
 * --print-grants takes an optional ROLE as --history takes its N: the
 * next argument is the role unless it is an option.  The name is taken
 * as PostgreSQL stores it (current_user shows it), not case-folded.
 */
static int cli_print_grants(struct cli_options *o, int argc, char **argv,
			    char *err, size_t errlen)
{
	const char *role = optarg;

	if (!role && optind < argc && argv[optind][0] != '-')
		role = argv[optind++];
	o->print_grants = 1;
	o->grants_role = role;
	if (role && !*role) {
		snprintf(err, errlen, "--print-grants needs a role name, or "
			 "none for the role the dsn logs in as");
		return -1;
	}
	return 0;
}

static void cli_push(char ***items, size_t *n, char *value)
{
	*items = xrealloc(*items, (*n + 1) * sizeof(**items));
	(*items)[(*n)++] = value;
}

int cli_parse(struct cli_options *o, int argc, char **argv, char *err,
	      size_t errlen)
{
	enum log_format format;
	int c;

	memset(o, 0, sizeof(*o));
	o->config_path = getenv("MFA_SWEEPER_CONFIG");
	if (!o->config_path || !*o->config_path)
		o->config_path = SWEEPER_DEFAULT_CONFIG;

	/* Errors are reported by us, in one line with the fix. */
	opterr = 0;
	optind = 1;
	if (cli_one_dash(argc, argv, err, errlen) != 0)
		return -1;
	for (;;) {
		c = getopt_long(argc, argv, CLI_SHORTOPTS, cli_longopts, NULL);
		if (c == -1)
			break;
		switch (c) {
		case 'c':
			if (cli_value_check(c, optarg, "the configuration file",
					    CLI_DASH_NONE, err, errlen) != 0)
				return -1;
			o->config_path = optarg;
			break;
		case 'r':
			if (cli_value_check(c, optarg, "a rule name (see "
					    "--list-rules)", CLI_DASH_NONE, err,
					    errlen) != 0)
				return -1;
			cli_push(&o->rules, &o->nrules, optarg);
			break;
		case 'n':
			o->dry_run = 1;
			break;
		case 'u':
			if (!*optarg) {
				snprintf(err, errlen, "--user-id needs a user id");
				return -1;
			}
			if (cli_value_check(c, optarg, "a user id",
					    CLI_DASH_NUMBER, err, errlen) != 0)
				return -1;
			cli_push(&o->user_ids, &o->nuser_ids, optarg);
			break;
		case 'e':
			if (cli_value_check(c, optarg, "an email address",
					    CLI_DASH_NONE, err, errlen) != 0)
				return -1;
			if (!strchr(optarg, '@')) {
				char shown[VALUE_QUOTE_MAX];

				value_quote(optarg, shown, sizeof(shown));
				snprintf(err, errlen,
					 "--user-email %s is not an email "
					 "address; use --user-id for ids", shown);
				return -1;
			}
			cli_push(&o->user_emails, &o->nuser_emails, optarg);
			break;
		case OPT_USERS_FILE:
			if (cli_value_check(c, optarg, "a file of users, or - "
					    "for stdin", CLI_DASH_STDIN, err,
					    errlen) != 0)
				return -1;
			o->users_file = optarg;
			break;
		case OPT_NOW:
			o->now = 1;
			break;
		case OPT_JSON:
			o->json = 1;
			break;
		case OPT_LIST_RULES:
			o->list_rules = 1;
			break;
		case OPT_CHECK_CONFIG:
			o->check_config = 1;
			break;
		case OPT_EXPLAIN:
			o->explain = 1;
			break;
		case OPT_INIT_LEDGER:
			o->init_ledger = 1;
			break;
		case OPT_PRINT_LEDGER_SQL:
			o->print_ledger_sql = 1;
			break;
		case OPT_HISTORY:
			if (cli_history(o, argc, argv, err, errlen) != 0)
				return -1;
			break;
		case OPT_PRINT_GRANTS:
			if (cli_print_grants(o, argc, argv, err, errlen) != 0)
				return -1;
			break;
		case OPT_PRINT_PLAN:
			o->print_plan = 1;
			break;
		case OPT_TARGET:
			if (cli_value_check(c, optarg, "a target name (see "
					    "--list-targets)", CLI_DASH_NONE,
					    err, errlen) != 0)
				return -1;
			if (!*optarg) {
				snprintf(err, errlen, "--target needs a target "
					 "name; see --list-targets");
				return -1;
			}
			cli_push(&o->targets, &o->ntargets, optarg);
			break;
		case OPT_LIST_TARGETS:
			o->list_targets = 1;
			break;
		case 'v':
			o->verbose = 1;
			break;
		case 'q':
			o->quiet = 1;
			break;
		case OPT_LOG_FORMAT:
			if (log_parse_format(optarg, &format) == 0) {
				o->log_json = format == LOG_FORMAT_JSON;
			} else {
				char shown[VALUE_QUOTE_MAX];

				value_quote(optarg, shown, sizeof(shown));
				snprintf(err, errlen, "--log-format %s is not a "
					 "log format; write text or json", shown);
				return -1;
			}
			break;
		case 'V':
			o->version = 1;
			break;
		case 'h':
			o->help = 1;
			break;
		case ':': {
			char name[64];

			/* A missing value is always at the end of argv. */
			cli_option_name(optopt, argv[argc - 1], name,
					sizeof(name));
			snprintf(err, errlen, "option '%s' needs a value; see "
				 "mfa-sweeper --help", name);
			return -1;
		}
		default:
			cli_unknown(argv[optind - 1], err, errlen);
			return -1;
		}
	}
	if (optind < argc) {
		char shown[VALUE_QUOTE_MAX];
		const struct option *lo = cli_long_exact(argv[optind]);

		value_quote(argv[optind], shown, sizeof(shown));
		if (lo && !strchr(argv[optind], '='))
			snprintf(err, errlen, "unexpected argument %s; options "
				 "start with two dashes: write --%s", shown,
				 lo->name);
		else
			snprintf(err, errlen, "unexpected argument %s; see "
				 "mfa-sweeper --help", shown);
		return -1;
	}
	if (o->verbose && o->quiet) {
		snprintf(err, errlen, "-v and -q cannot be used together");
		return -1;
	}
	if (o->list_rules + o->check_config + o->explain + o->init_ledger +
	    o->print_ledger_sql + (o->history > 0) + o->print_grants +
	    o->print_plan + o->list_targets > 1) {
		snprintf(err, errlen, "use only one of --list-rules, "
			 "--check-config, --explain, --init-ledger, "
			 "--print-ledger-sql, --history, --print-grants, "
			 "--print-plan and --list-targets");
		return -1;
	}
	return 0;
}

int cli_scoped(const struct cli_options *o)
{
	return o->nuser_ids > 0 || o->nuser_emails > 0 || o->users_file;
}

void cli_free(struct cli_options *o)
{
	free(o->rules);
	free(o->user_ids);
	free(o->user_emails);
	free(o->targets);
	memset(o, 0, sizeof(*o));
}
