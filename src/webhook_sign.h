/*
 * webhook_sign.h: the webhook's secret and the Standard Webhooks signature
 * (https://www.standardwebhooks.com/), with OpenSSL.
 *
 * A secret is written "whsec_" followed by the base64 of the key bytes;
 * the HMAC-SHA256 key is the decoded bytes.  A request is signed over
 * "<webhook-id>.<webhook-timestamp>.<body>" and the signature is sent as
 * "v1,<base64 of the MAC>" in the webhook-signature header.
 */
#ifndef SWEEPER_WEBHOOK_SIGN_H
#define SWEEPER_WEBHOOK_SIGN_H

#include <stddef.h>

#define WEBHOOK_SECRET_PREFIX "whsec_"

/* Shortest key accepted, in bytes; the standard asks for 24 to 64. */
#define WEBHOOK_KEY_MIN 16

/* Room for "v1," and the base64 of a SHA-256 MAC, with its NUL. */
#define WEBHOOK_SIGNATURE_MAX 64

/*
 * Decode the secret `text` ("whsec_" + base64, padded or not) into a newly
 * allocated key (free with webhook_key_free()).  `key` may be NULL to only
 * check the text.  Returns 0, or -1 with the problem and its fix in `why`;
 * the message never repeats the secret.
 */
int webhook_secret_decode(const char *text, unsigned char **key,
			  size_t *keylen, char *why, size_t whylen);

/*
 * Read a secret from the file at `path` (absolute) and decode it: the file
 * is read as credential_read() (src/credential.h) reads one, so it must be
 * a regular file that neither group nor others may read or write (save a
 * systemd credential's ACL for the running user), of one non-empty line,
 * and hold a secret as webhook_secret_decode() takes it.  On success stores a newly allocated key
 * and returns 0; otherwise returns -1 with one line in `err` that names
 * the path and the fix, never the secret.
 */
int webhook_secret_read_file(const char *path, unsigned char **key,
			     size_t *keylen, char *err, size_t errlen);

/*
 * Sign one request: "v1," + base64(HMAC-SHA256(key, id "." timestamp "."
 * body)) into `out` (at least WEBHOOK_SIGNATURE_MAX bytes).  Returns 0, or
 * -1 when OpenSSL fails.
 */
int webhook_sign(const unsigned char *key, size_t keylen, const char *id,
		 long long timestamp, const char *body, size_t bodylen,
		 char *out, size_t outlen);

/* Wipe and free a key from webhook_secret_decode().  Accepts NULL. */
void webhook_key_free(unsigned char *key, size_t keylen);

#endif /* SWEEPER_WEBHOOK_SIGN_H */
