/*
 * outcome.c: outcomes to exit codes (outcome.h).
 */
#include <sysexits.h>

#include "outcome.h"

int outcome_exit_code(enum outcome o)
{
	switch (o) {
	case OUTCOME_OK:
		return EX_OK;
	case OUTCOME_LEFT_BEHIND:
		return EX_DATAERR;
	case OUTCOME_RULE_FAILED:
		return OUTCOME_EX_RULE_FAILED;
	case OUTCOME_USAGE:
		return EX_USAGE;
	case OUTCOME_UNAVAILABLE:
		return EX_UNAVAILABLE;
	case OUTCOME_IOERR:
		return EX_IOERR;
	case OUTCOME_SKIPPED:
	case OUTCOME_INTERRUPTED:
		return EX_TEMPFAIL;
	case OUTCOME_CONFIG:
		return EX_CONFIG;
	}
	return EX_SOFTWARE;
}

enum run_status outcome_run_status(enum outcome o)
{
	switch (o) {
	case OUTCOME_INTERRUPTED:
		return RUN_INTERRUPTED;
	case OUTCOME_SKIPPED:
		return RUN_SKIPPED;
	default:
		return RUN_FAILED;
	}
}
