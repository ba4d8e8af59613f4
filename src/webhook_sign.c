/*
 * webhook_sign.c: decoding the webhook secret, reading it from a file, and
 * signing requests the Standard Webhooks way, with OpenSSL.
 *
 * Messages here never show the secret or any part of it: they end up in
 * the journal and in cron mails.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "credential.h"
#include "webhook_sign.h"
#include "xalloc.h"

#define SECRET_FIX "generate one with: echo \"whsec_$(openssl rand -base64 32)\""

static int b64_char(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '+' || c == '/';
}

int webhook_secret_decode(const char *text, unsigned char **key,
			  size_t *keylen, char *why, size_t whylen)
{
	size_t plen = strlen(WEBHOOK_SECRET_PREFIX);
	const char *b64;
	size_t len, chars, pad = 0, i, padded_len, n = 0, outsize = 0;
	unsigned char *padded = NULL;
	unsigned char *out = NULL;
	int decoded, ret = -1;

	if (key)
		*key = NULL;
	if (keylen)
		*keylen = 0;
	if (strncmp(text, WEBHOOK_SECRET_PREFIX, plen) != 0) {
		snprintf(why, whylen,
			 "the secret does not start with \"whsec_\"; write whsec_ followed by the base64 of the key, e.g. %s",
			 SECRET_FIX);
		goto out;
	}
	b64 = text + plen;
	len = strlen(b64);
	while (len > pad && b64[len - 1 - pad] == '=')
		pad++;
	chars = len - pad;
	for (i = 0; i < chars; i++) {
		if (!b64_char((unsigned char)b64[i])) {
			snprintf(why, whylen,
				 "the secret is not base64 after \"whsec_\" (character %zu is not A-Z, a-z, 0-9, + or /); %s",
				 plen + i + 1, SECRET_FIX);
			goto out;
		}
	}
	/* Padding, when present, must make the length a multiple of 4. */
	if (pad > 2 || chars % 4 == 1 || (pad && (chars + pad) % 4 != 0)) {
		snprintf(why, whylen,
			 "the secret is not valid base64 after \"whsec_\" (wrong length or padding); %s",
			 SECRET_FIX);
		goto out;
	}
	n = chars / 4 * 3 + (chars % 4 ? chars % 4 - 1 : 0);
	if (n < WEBHOOK_KEY_MIN) {
		snprintf(why, whylen,
			 "the key after \"whsec_\" is %zu bytes, too short to be safe (at least %d); %s",
			 n, WEBHOOK_KEY_MIN, SECRET_FIX);
		goto out;
	}
	if (!key) {
		ret = 0;
		goto out;
	}

	/* EVP_DecodeBlock() wants whole, padded groups of four. */
	padded_len = (chars + 3) / 4 * 4;
	padded = xmalloc(padded_len + 1);
	memcpy(padded, b64, chars);
	memset(padded + chars, '=', padded_len - chars);
	padded[padded_len] = '\0';
	outsize = padded_len / 4 * 3 + 1;
	out = xmalloc(outsize);
	decoded = EVP_DecodeBlock(out, padded, (int)padded_len);
	if (decoded < 0 || (size_t)decoded < n) {
		snprintf(why, whylen,
			 "the secret is not valid base64 after \"whsec_\"; %s",
			 SECRET_FIX);
		goto out;
	}
	*key = out;
	*keylen = n;
	out = NULL;
	ret = 0;
out:
	if (padded) {
		OPENSSL_cleanse(padded, strlen((char *)padded));
		free(padded);
	}
	if (out)
		webhook_key_free(out, outsize);
	return ret;
}

int webhook_secret_read_file(const char *path, unsigned char **key,
			     size_t *keylen, char *err, size_t errlen)
{
	char why[512];
	char *text = NULL;
	size_t len = 0;
	int ret = -1;

	*key = NULL;
	*keylen = 0;
	if (credential_read(path, "secret file", "the secret, whsec_...",
			    &text, &len, err, errlen) != 0)
		return -1;
	if (webhook_secret_decode(text, key, keylen, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "in the secret file '%s': %s", path, why);
		goto out;
	}
	ret = 0;
out:
	credential_free(text, len);
	return ret;
}

int webhook_sign(const unsigned char *key, size_t keylen, const char *id,
		 long long timestamp, const char *body, size_t bodylen,
		 char *out, size_t outlen)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0;
	char head[128];
	unsigned char *msg;
	size_t headlen;
	int n, ret = -1;

	n = snprintf(head, sizeof(head), "%s.%lld.", id, timestamp);
	if (n < 0 || (size_t)n >= sizeof(head) || outlen < WEBHOOK_SIGNATURE_MAX)
		return -1;
	headlen = (size_t)n;
	msg = xmalloc(headlen + bodylen + 1);
	memcpy(msg, head, headlen);
	memcpy(msg + headlen, body, bodylen);
	if (!HMAC(EVP_sha256(), key, (int)keylen, msg, headlen + bodylen, mac,
		  &maclen))
		goto out;
	memcpy(out, "v1,", 3);
	/* 32 bytes encode to 44 characters and a NUL: they fit. */
	EVP_EncodeBlock((unsigned char *)out + 3, mac, (int)maclen);
	ret = 0;
out:
	OPENSSL_cleanse(mac, sizeof(mac));
	free(msg);
	return ret;
}

void webhook_key_free(unsigned char *key, size_t keylen)
{
	if (!key)
		return;
	OPENSSL_cleanse(key, keylen);
	free(key);
}
