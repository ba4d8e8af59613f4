/*
 * webhook_payload.h: the body the webhook posts, built with jansson.
 *
 * json:  a Standard Webhooks message, {"type": "sweep.completed",
 *        "timestamp": "<finished_at, ISO-8601 UTC>", "data": <the --json
 *        summary>}.
 * slack: a Slack message, {"text": "<one-line fallback>", "blocks": [...]}
 *        with a line per rule.
 */
#ifndef SWEEPER_WEBHOOK_PAYLOAD_H
#define SWEEPER_WEBHOOK_PAYLOAD_H

#include "summary.h"

enum webhook_format {
	WEBHOOK_FORMAT_JSON = 0,
	WEBHOOK_FORMAT_SLACK
};

#define WEBHOOK_EVENT_TYPE "sweep.completed"

/*
 * The body for `s` in `format`, as compact JSON text.  Returns a newly
 * allocated NUL-terminated string (free()), or NULL when jansson cannot
 * serialise it (out of memory).
 */
char *webhook_payload(enum webhook_format format, const struct run_summary *s);

/*
 * The one-line text of the Slack message (also its notification text):
 * host, status, rows deleted and duration.  Written into `out`.
 */
void webhook_summary_line(const struct run_summary *s, char *out,
			  size_t outlen);

#endif /* SWEEPER_WEBHOOK_PAYLOAD_H */
