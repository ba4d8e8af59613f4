/*
 * webhook.c: delivering the run summary with libcurl.
 *
 * The delivery is bounded twice: each attempt by `timeout`, all attempts
 * and the waits between them by `max_time`, so a dead receiver delays the
 * end of a nightly run by at most max_time.  Only failures that another
 * attempt can fix are retried (connection errors, timeouts, 408, 429 and
 * 5xx); waits grow exponentially with full jitter, so that many hosts
 * whose receiver came back do not all retry in step, unless the receiver
 * says how long to wait with Retry-After.
 *
 * Every attempt carries the same webhook-id (the run id), so a receiver
 * can drop duplicates, and a fresh webhook-timestamp and signature, so a
 * receiver's replay window applies to each attempt.
 *
 * The URL is never logged: Slack's and others' carry their own
 * credential.  Only its host is.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <curl/curl.h>

#include "cli.h"
#include "clock.h"
#include "credential.h"
#include "log.h"
#include "webhook.h"
#include "webhook_sign.h"
#include "xalloc.h"

/* How much of an answer is kept, and how much of it is shown. */
#define ANSWER_KEEP 1024
#define ANSWER_SHOW 200

/* What one attempt brought back. */
struct attempt {
	char answer[ANSWER_KEEP + 1];   /* start of the response body */
	size_t answer_len;
	char curl_error[CURL_ERROR_SIZE];
};

static void webhook_sleep_ms(long long ms)
{
	struct timespec ts;

	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	/* A signal (the stop request) must not cut the wait short. */
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* A uniformly random whole number of ms from 0 to max. */
static long long webhook_jitter(long long max)
{
	unsigned long long r = 0;

	if (max <= 0)
		return 0;
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
		r = (unsigned long long)clock_now_ms() * 2654435761ULL;
	return (long long)(r % ((unsigned long long)max + 1));
}

static size_t webhook_on_answer(char *data, size_t size, size_t nmemb,
				void *userdata)
{
	struct attempt *a = userdata;
	size_t n = size * nmemb;
	size_t room = ANSWER_KEEP - a->answer_len;
	size_t take = n < room ? n : room;

	memcpy(a->answer + a->answer_len, data, take);
	a->answer_len += take;
	a->answer[a->answer_len] = '\0';
	/* The rest is read and dropped: the receiver must not see an error. */
	return n;
}

/*
 * The start of an answer, safe for one log line: control characters and
 * bytes outside ASCII become '?' (line breaks and tabs a blank), at most
 * ANSWER_SHOW bytes, "..." when cut.
 */
static void webhook_excerpt(const struct attempt *a, char *out, size_t outlen)
{
	size_t i, n = 0;

	for (i = 0; i < a->answer_len && i < ANSWER_SHOW && n + 1 < outlen;
	     i++) {
		unsigned char c = (unsigned char)a->answer[i];

		if (c == '\n' || c == '\r' || c == '\t')
			c = ' ';
		else if (c < 0x20 || c >= 0x7f)
			c = '?';
		out[n++] = (char)c;
	}
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
	if (a->answer_len > ANSWER_SHOW && n + 4 < outlen)
		strcat(out, "...");
}

/* Failures another attempt may fix. */
static int webhook_curl_retryable(CURLcode rc)
{
	switch (rc) {
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_CONNECT:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_PARTIAL_FILE:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
		return 1;
	default:
		return 0;
	}
}

static int webhook_status_retryable(long status)
{
	return status == 408 || status == 429 || (status >= 500 && status <= 599);
}

static void webhook_host(const char *url, char *out, size_t outlen)
{
	CURLU *u = curl_url();
	char *host = NULL;

	if (u && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK)
		snprintf(out, outlen, "%s", host);
	else
		snprintf(out, outlen, "the [webhook] url");
	curl_free(host);
	curl_url_cleanup(u);
}

/* The options that are the same for every attempt. */
static int webhook_setup(CURL *curl, const struct webhook *wh,
			 const char *body, struct attempt *a)
{
	CURLcode rc = CURLE_OK;

#define SETOPT(opt, val) \
	do { if (rc == CURLE_OK) rc = curl_easy_setopt(curl, opt, val); } while (0)
	SETOPT(CURLOPT_URL, wh->url);
	/* http and https only, and no redirect is ever followed. */
#if LIBCURL_VERSION_NUM >= 0x075500
	SETOPT(CURLOPT_PROTOCOLS_STR, "http,https");
	SETOPT(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
	SETOPT(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
	SETOPT(CURLOPT_REDIR_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	SETOPT(CURLOPT_FOLLOWLOCATION, 0L);
	/* Always verified; there is deliberately no switch to turn it off. */
	SETOPT(CURLOPT_SSL_VERIFYPEER, 1L);
	SETOPT(CURLOPT_SSL_VERIFYHOST, 2L);
	SETOPT(CURLOPT_USERAGENT, "mfa-sweeper/" SWEEPER_VERSION);
	SETOPT(CURLOPT_POST, 1L);
	SETOPT(CURLOPT_POSTFIELDS, body);
	SETOPT(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
	SETOPT(CURLOPT_WRITEFUNCTION, webhook_on_answer);
	SETOPT(CURLOPT_WRITEDATA, a);
	SETOPT(CURLOPT_ERRORBUFFER, a->curl_error);
	/*
	 * CURLOPT_NOSIGNAL stays off: libcurl then ignores SIGPIPE while it
	 * works, also in runs that fail before main ignores it, and Debian's
	 * threaded resolver needs no alarm().
	 */
#undef SETOPT
	return rc == CURLE_OK ? 0 : -1;
}

/* The headers of one attempt, signed at `now`. */
static struct curl_slist *webhook_headers(const struct webhook *wh,
					  const struct run_summary *s,
					  const char *body, time_t now)
{
	struct curl_slist *h = NULL, *next;
	const char *lines[5];
	char id[64], ts[64], sig[WEBHOOK_SIGNATURE_MAX + 32];
	char mac[WEBHOOK_SIGNATURE_MAX];
	size_t i, n = 0;

	snprintf(id, sizeof(id), "webhook-id: %s", s->run_id);
	snprintf(ts, sizeof(ts), "webhook-timestamp: %lld", (long long)now);
	lines[n++] = "content-type: application/json";
	lines[n++] = id;
	lines[n++] = ts;
	if (wh->key) {
		if (webhook_sign(wh->key, wh->keylen, s->run_id,
				 (long long)now, body, strlen(body), mac,
				 sizeof(mac)) != 0)
			return NULL;
		snprintf(sig, sizeof(sig), "webhook-signature: %s", mac);
		lines[n++] = sig;
	}
	/* No "Expect: 100-continue" round trip for larger bodies. */
	lines[n++] = "Expect:";
	for (i = 0; i < n; i++) {
		next = curl_slist_append(h, lines[i]);
		if (!next) {
			curl_slist_free_all(h);
			return NULL;
		}
		h = next;
	}
	return h;
}

/*
 * One attempt within `limit_ms`.  Fills res->http_status and res->error;
 * returns 1 on success, 0 on a failure worth retrying, -1 on a final one.
 * *retry_after_ms is the wait the server asked for, or -1.
 */
static int webhook_attempt(CURL *curl, const struct webhook *wh,
			   const struct run_summary *s, const char *body,
			   struct attempt *a, long long limit_ms,
			   struct webhook_result *res,
			   long long *retry_after_ms)
{
	struct curl_slist *headers;
	curl_off_t after = 0;
	char excerpt[ANSWER_SHOW + 8];
	long status = 0;
	CURLcode rc;
	int ret;

	*retry_after_ms = -1;
	a->answer_len = 0;
	a->answer[0] = '\0';
	a->curl_error[0] = '\0';
	headers = webhook_headers(wh, s, body, time(NULL));
	if (!headers) {
		snprintf(res->error, sizeof(res->error),
			 "cannot sign the request (OpenSSL failed)");
		return -1;
	}
	/* curl takes a long, which a 32-bit build keeps to 24 days. */
	if (limit_ms > LONG_MAX)
		limit_ms = LONG_MAX;
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)limit_ms);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)(limit_ms < WEBHOOK_CONNECT_TIMEOUT_MS ?
				limit_ms : WEBHOOK_CONNECT_TIMEOUT_MS));
	rc = curl_easy_perform(curl);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(headers);
	res->attempts++;

	if (rc != CURLE_OK) {
		res->http_status = 0;
		snprintf(res->error, sizeof(res->error), "%.200s (curl error %d)",
			 a->curl_error[0] ? a->curl_error :
			 curl_easy_strerror(rc), (int)rc);
		return webhook_curl_retryable(rc) ? 0 : -1;
	}
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	res->http_status = status;
	if (status >= 200 && status <= 299) {
		res->error[0] = '\0';
		return 1;
	}
	webhook_excerpt(a, excerpt, sizeof(excerpt));
	snprintf(res->error, sizeof(res->error), "HTTP %ld%s%s%s", status,
		 excerpt[0] ? ", answer: '" : "", excerpt,
		 excerpt[0] ? "'" : "");
	ret = webhook_status_retryable(status) ? 0 : -1;
	/* Both forms (seconds and HTTP date); 0 when absent or past. */
	if (ret == 0 &&
	    curl_easy_getinfo(curl, CURLINFO_RETRY_AFTER, &after) == CURLE_OK &&
	    after > 0) {
		if (after < WEBHOOK_RETRY_AFTER_MIN)
			after = WEBHOOK_RETRY_AFTER_MIN;
		if (after > WEBHOOK_RETRY_AFTER_MAX)
			after = WEBHOOK_RETRY_AFTER_MAX;
		*retry_after_ms = (long long)after * 1000;
	}
	return ret;
}

/* The wait before retry number `retry` (1 = the first retry). */
static long long webhook_backoff(const struct webhook *wh, int retry)
{
	long long cap = wh->backoff_ms;
	int i;

	for (i = 1; i < retry && cap < WEBHOOK_BACKOFF_CAP_MS; i++)
		cap *= 2;
	if (cap > WEBHOOK_BACKOFF_CAP_MS)
		cap = WEBHOOK_BACKOFF_CAP_MS;
	return webhook_jitter(cap);
}

int webhook_post(const struct webhook *wh, const struct run_summary *s,
		 struct webhook_result *res)
{
	struct attempt *a = NULL;
	CURL *curl = NULL;
	char *body = NULL;
	long long deadline, left, limit, wait_ms, after_ms;
	int rc;

	memset(res, 0, sizeof(*res));
	if (!wh->url) {
		snprintf(res->error, sizeof(res->error), "no [webhook] url");
		return -1;
	}
	deadline = clock_add_ms(clock_now_ms(), wh->max_time_ms);
	body = webhook_payload(wh->format, s);
	curl = curl_easy_init();
	a = xcalloc(1, sizeof(*a));
	if (!body || !curl || webhook_setup(curl, wh, body, a) != 0) {
		snprintf(res->error, sizeof(res->error),
			 "cannot prepare the request (out of memory?)");
		goto out;
	}
	for (;;) {
		left = deadline - clock_now_ms();
		if (left <= 0) {
			if (res->attempts == 0)
				snprintf(res->error, sizeof(res->error),
					 "max_time passed before the first attempt");
			break;
		}
		limit = wh->timeout_ms < left ? wh->timeout_ms : left;
		rc = webhook_attempt(curl, wh, s, body, a, limit, res,
				     &after_ms);
		if (rc == 1) {
			res->ok = 1;
			break;
		}
		if (rc < 0 || res->attempts > wh->retries)
			break;
		wait_ms = after_ms >= 0 ? after_ms :
			  webhook_backoff(wh, res->attempts);
		left = deadline - clock_now_ms();
		if (wait_ms >= left) {
			log_msg(SWEEPER_LOG_INFO,
				"webhook: attempt %d failed: %s; no time left for another within max_time",
				res->attempts, res->error);
			break;
		}
		log_msg(SWEEPER_LOG_INFO,
			"webhook: attempt %d failed: %s; retrying in %lld.%03llds",
			res->attempts, res->error, wait_ms / 1000,
			wait_ms % 1000);
		webhook_sleep_ms(wait_ms);
	}
out:
	if (curl)
		curl_easy_cleanup(curl);
	free(a);
	free(body);
	return res->ok ? 0 : -1;
}

void webhook_log_result(const struct webhook *wh,
			const struct webhook_result *res)
{
	char host[256];

	webhook_host(wh->url, host, sizeof(host));
	if (res->ok)
		log_msg(SWEEPER_LOG_INFO,
			"webhook: run summary posted to %s (HTTP %ld, %d attempt%s)",
			host, res->http_status, res->attempts,
			res->attempts == 1 ? "" : "s");
	else
		log_msg(SWEEPER_LOG_ERROR,
			"webhook: cannot post the run summary to %s after %d attempt%s: %s",
			host, res->attempts, res->attempts == 1 ? "" : "s",
			res->error);
}

int webhook_init(struct webhook *wh, const struct config *cfg, char *err,
		 size_t errlen)
{
	const struct config_entry *e;
	char why[512];
	char *path = NULL;
	int ret = -1;

	memset(wh, 0, sizeof(*wh));
	if (!cfg->webhook_url || !cfg->webhook_url[0])
		return 0;
	wh->url = cfg->webhook_url;
	wh->format = strcmp(cfg->webhook_format, "slack") == 0 ?
		     WEBHOOK_FORMAT_SLACK : WEBHOOK_FORMAT_JSON;
	wh->timeout_ms = cfg->webhook_timeout_ms;
	wh->max_time_ms = cfg->webhook_max_time_ms;
	wh->backoff_ms = cfg->webhook_backoff_ms;
	wh->retries = cfg->webhook_retries;
	wh->required = cfg->webhook_required;

	if (cfg->webhook_secret && cfg->webhook_secret[0]) {
		e = config_entry_find(cfg, "webhook", "secret");
		/* config_load() has checked it; this is a net. */
		if (webhook_secret_decode(cfg->webhook_secret, &wh->key,
					  &wh->keylen, why, sizeof(why)) != 0) {
			snprintf(err, errlen, "%s:%d: [webhook] secret: %s",
				 cfg->path, e ? e->line : 0, why);
			goto out;
		}
	} else if (cfg->webhook_secret_file && cfg->webhook_secret_file[0]) {
		e = config_entry_find(cfg, "webhook", "secret_file");
		path = credential_path(cfg->path, cfg->webhook_secret_file);
		if (webhook_secret_read_file(path, &wh->key, &wh->keylen, why,
					     sizeof(why)) != 0) {
			snprintf(err, errlen, "%s:%d: [webhook] secret_file: %s",
				 cfg->path, e ? e->line : 0, why);
			goto out;
		}
	}
	ret = 0;
out:
	free(path);
	return ret;
}

void webhook_free(struct webhook *wh)
{
	webhook_key_free(wh->key, wh->keylen);
	memset(wh, 0, sizeof(*wh));
}
