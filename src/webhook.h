/*
 * webhook.h: posting the run summary to the [webhook] url with libcurl.
 *
 * webhook_init() resolves the [webhook] section and reads the secret
 * (from `secret` or `secret_file`) before anything is deleted, so a bad
 * secret file stops the run with a configuration error.  webhook_post()
 * then makes at most 1 + retries attempts within max_time, and reports the
 * outcome in a struct webhook_result for the log and the audit ledger.
 *
 * curl_global_init() must have been called (main does it once).
 */
#ifndef SWEEPER_WEBHOOK_H
#define SWEEPER_WEBHOOK_H

#include <stddef.h>

#include "config.h"
#include "summary.h"
#include "webhook_payload.h"

/* Retry-After is obeyed, but within these bounds, in seconds. */
#define WEBHOOK_RETRY_AFTER_MIN 1
#define WEBHOOK_RETRY_AFTER_MAX 60

/* No single backoff sleep is longer than this, in milliseconds. */
#define WEBHOOK_BACKOFF_CAP_MS 30000LL

/* A connection attempt gives up after at most this long, in ms. */
#define WEBHOOK_CONNECT_TIMEOUT_MS 10000LL

struct webhook {
	const char *url;           /* borrowed from the config; NULL = none */
	enum webhook_format format;
	unsigned char *key;        /* owned HMAC key, NULL = unsigned */
	size_t keylen;
	long long timeout_ms;      /* per attempt */
	long long max_time_ms;     /* all attempts and waits together */
	long long backoff_ms;      /* first retry waits up to this */
	long long retries;         /* attempts after the first */
	int required;              /* a failed post fails the run */
};

/* The outcome of webhook_post(). */
struct webhook_result {
	int ok;                    /* 1 when a 2xx answer came */
	int attempts;              /* requests made (0: none could start) */
	long http_status;          /* status of the last answer, 0 = none */
	char error[256];           /* one line when !ok: status or curl
				    * error and an excerpt of the answer */
};

/*
 * Fill *wh from cfg's [webhook] section.  With no url, wh->url is NULL and
 * nothing else is read.  Otherwise the secret is decoded, or read from
 * secret_file: a relative path is taken relative to $CREDENTIALS_DIRECTORY
 * when that is set (systemd LoadCredential=), else to the config file's
 * directory.  Returns 0, or -1 with one line in `err` naming the config
 * file, line, key and the fix (never the secret).  *wh is safe to pass to
 * webhook_free() either way.
 */
int webhook_init(struct webhook *wh, const struct config *cfg, char *err,
		 size_t errlen);

/*
 * Post the summary `s` and fill *res.  Retries on connection errors,
 * timeouts, 408, 429 and 5xx, with exponential backoff and full jitter or
 * the server's Retry-After, never past max_time.  Other answers are final:
 * 2xx is success, anything else a failure.  Logs each retry at info level
 * but not the final failure: the caller logs res->error.  Returns 0 when
 * delivered, -1 otherwise.
 */
int webhook_post(const struct webhook *wh, const struct run_summary *s,
		 struct webhook_result *res);

/*
 * Log the outcome of webhook_post(): one info line on success, one error
 * line with the attempts and res->error otherwise.  Names only the URL's
 * host, since a URL may hold a credential.
 */
void webhook_log_result(const struct webhook *wh,
			const struct webhook_result *res);

/* Free what *wh owns (the key is wiped).  Accepts a zeroed struct. */
void webhook_free(struct webhook *wh);

#endif /* SWEEPER_WEBHOOK_H */
