/*
 * outcome.h: how one invocation of mfa-sweeper ended, and the one place
 * that turns that into its exit code.
 *
 * The stages and modes (mode.h) only say what happened; which number a
 * scheduler sees for it is decided here alone, on <sysexits.h>, so that
 * the exit codes of mfa-sweeper(1) "EXIT STATUS" cannot drift apart between the
 * places that stop a run.
 */
#ifndef SWEEPER_OUTCOME_H
#define SWEEPER_OUTCOME_H

#include "summary.h"

enum outcome {
	OUTCOME_OK = 0,
	OUTCOME_LEFT_BEHIND,   /* the run did its work, but the database
				* refused some rows, which it left */
	OUTCOME_RULE_FAILED,   /* a rule failed (the others ran), or a
				* required webhook post failed */
	OUTCOME_USAGE,         /* the command line is wrong */
	OUTCOME_UNAVAILABLE,   /* cannot connect, or the connection is lost */
	OUTCOME_IOERR,         /* stdout could not be written */
	OUTCOME_SKIPPED,       /* another run holds the run lock */
	OUTCOME_INTERRUPTED,   /* stopped by SIGTERM or SIGINT */
	OUTCOME_CONFIG         /* the configuration, a plugin or the schema
				* it names is wrong; nothing was deleted */
};

/* Exit code 1: a rule failed.  <sysexits.h> has no code for it. */
#define OUTCOME_EX_RULE_FAILED 1

/*
 * The exit code: EX_OK, 1, EX_USAGE, EX_DATAERR (left behind),
 * EX_UNAVAILABLE, EX_IOERR, EX_TEMPFAIL (skipped, interrupted) or
 * EX_CONFIG.
 */
int outcome_exit_code(enum outcome o);

/*
 * The status the summary gives a run that ended with `o` before its rules
 * ran: interrupted, skipped, or failed.
 */
enum run_status outcome_run_status(enum outcome o);

#endif /* SWEEPER_OUTCOME_H */
