/*
 * cli.c: command-line parsing with getopt_long.
 */
#include <getopt.h>
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
	OPT_PRINT_GRANTS
};

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
	      "                   [--print-grants [ROLE]] [-v|-q]\n"
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
	for (;;) {
		c = getopt_long(argc, argv, ":c:r:nu:e:vqVh", cli_longopts, NULL);
		if (c == -1)
			break;
		switch (c) {
		case 'c':
			o->config_path = optarg;
			break;
		case 'r':
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
			cli_push(&o->user_ids, &o->nuser_ids, optarg);
			break;
		case 'e':
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
		case ':':
			snprintf(err, errlen, "option '%s' needs a value; see "
				 "mfa-sweeper --help", argv[optind - 1]);
			return -1;
		default:
			snprintf(err, errlen, "unknown option '%s'; see "
				 "mfa-sweeper --help", argv[optind - 1]);
			return -1;
		}
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument '%s'; see "
			 "mfa-sweeper --help", argv[optind]);
		return -1;
	}
	if (o->verbose && o->quiet) {
		snprintf(err, errlen, "-v and -q cannot be used together");
		return -1;
	}
	if (o->list_rules + o->check_config + o->explain + o->init_ledger +
	    o->print_ledger_sql + (o->history > 0) + o->print_grants > 1) {
		snprintf(err, errlen, "use only one of --list-rules, "
			 "--check-config, --explain, --init-ledger, "
			 "--print-ledger-sql, --history and --print-grants");
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
	memset(o, 0, sizeof(*o));
}
