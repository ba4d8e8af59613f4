/*
 * main.c: mfa-sweeper's entry point: signals, libcurl, the command line,
 * then the mode it asks for (mode.h), whose outcome is the exit code.
 */
#include <stdio.h>

#include <curl/curl.h>

#include "cli.h"
#include "coredump.h"
#include "log.h"
#include "mode.h"
#include "outcome.h"
#include "stop.h"

int main(int argc, char **argv)
{
	struct cli_options o;
	char err[2048], stop_err[256];
	int code, stop_rc;

	/*
	 * First thing: from here a SIGTERM or SIGINT is a stop request that
	 * every stage honours and reports, never a silent death.
	 */
	stop_rc = stop_install(stop_err, sizeof(stop_err));
	/*
	 * Before any secret is read.  A step the system refuses (a seccomp
	 * filter may refuse setrlimit()) leaves the other in force and does
	 * not stop the run.
	 */
	(void)coredump_disable();
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_msg(SWEEPER_LOG_ERROR, "cannot initialise libcurl");
		return outcome_exit_code(OUTCOME_UNAVAILABLE);
	}
	if (cli_parse(&o, argc, argv, err, sizeof(err)) != 0) {
		log_set_format(o.log_json ? LOG_FORMAT_JSON : LOG_FORMAT_TEXT);
		log_msg(SWEEPER_LOG_ERROR, "%s", err);
		code = outcome_exit_code(OUTCOME_USAGE);
		goto out;
	}
	log_set_format(o.log_json ? LOG_FORMAT_JSON : LOG_FORMAT_TEXT);
	if (o.verbose)
		log_set_level(SWEEPER_LOG_DEBUG);
	if (o.quiet)
		log_set_level(SWEEPER_LOG_ERROR);
	if (stop_rc != 0)
		log_msg(SWEEPER_LOG_WARN, "%s", stop_err);
	code = mode_dispatch(&o);
out:
	cli_free(&o);
	curl_global_cleanup();
	return code;
}
