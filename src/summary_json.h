/*
 * summary_json.h: the run summary (summary.h) as the JSON document of
 * doc/monitoring.md "JSON summary", built with jansson: what --json prints, the
 * webhook's json body carries and the ledger keeps.
 */
#ifndef SWEEPER_SUMMARY_JSON_H
#define SWEEPER_SUMMARY_JSON_H

#include <stdio.h>

#include <jansson.h>

#include "summary.h"

/*
 * A JSON string of `text` (not NULL): the text itself when it is UTF-8,
 * else a copy with U+FFFD in place of each byte that is not part of a
 * UTF-8 character, so that no member of a document goes missing.  The
 * caller owns the reference.  For every string that is not a literal.
 */
json_t *summary_json_string(const char *text);

/* The JSON document; the caller owns the reference (json_decref()). */
json_t *summary_json(const struct run_summary *s);

/* Print the JSON document and a newline.  Returns 0, or -1 on a write
 * error. */
int summary_print_json(FILE *out, const struct run_summary *s);

#endif /* SWEEPER_SUMMARY_JSON_H */
