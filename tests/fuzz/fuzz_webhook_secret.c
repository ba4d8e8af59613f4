/*
 * fuzz_webhook_secret.c: webhook secret decoding (webhook_secret_decode()
 * and webhook_secret_read_file() in src/webhook_sign.c) on arbitrary text.
 *
 * What must hold: checking a secret and decoding it agree; a key that is
 * decoded is the base64 of the text after "whsec_", decoded by a reference
 * written here, and at least WEBHOOK_KEY_MIN bytes; the file gives the key
 * its text gives; a refusal never repeats the secret; and the key signs.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "webhook_sign.h"

static int ref_b64_value(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Decode base64 without padding, 6 bits at a time; the bits left over
 * at the end are dropped, as every decoder does. */
static unsigned char *ref_b64_decode(const char *b64, size_t *outlen)
{
	size_t len = strlen(b64), n = 0, i;
	unsigned char *out = malloc(len * 3 / 4 + 1);
	unsigned long acc = 0;
	int bits = 0;

	if (!out)
		abort();
	for (i = 0; i < len && b64[i] != '='; i++) {
		int v = ref_b64_value(b64[i]);

		if (v < 0) {
			free(out);
			return NULL;
		}
		acc = (acc << 6) | (unsigned long)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(acc >> bits);
			acc &= (1UL << bits) - 1;
		}
	}
	*outlen = n;
	return out;
}

/* Whether `why` shows the base64 text; only long, plain ones are looked
 * for, since a short one may be any word of the message. */
static void check_not_repeated(const char *text, const char *why)
{
	const char *b64;
	size_t len, i;

	if (strncmp(text, WEBHOOK_SECRET_PREFIX, 6) != 0)
		return;
	b64 = text + 6;
	len = strlen(b64);
	if (len < 12)
		return;
	for (i = 0; i < len; i++) {
		if (ref_b64_value(b64[i]) < 0 && b64[i] != '=')
			return;
	}
	FUZZ_CHECK(strstr(why, b64) == NULL, "a message repeats the secret");
}

static void check_signs(const unsigned char *key, size_t keylen)
{
	char sig[WEBHOOK_SIGNATURE_MAX];
	size_t i;

	FUZZ_CHECK(webhook_sign(key, keylen, "msg_1", 1700000000LL, "{}", 2,
				sig, sizeof(sig)) == 0,
		   "a decoded key does not sign");
	FUZZ_CHECK(strncmp(sig, "v1,", 3) == 0 && strlen(sig) == 3 + 44,
		   "a signature of the wrong form");
	for (i = 3; i < 3 + 43; i++)
		FUZZ_CHECK(ref_b64_value(sig[i]) >= 0, "a signature not base64");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[512], err[1024];
	unsigned char *key = NULL, *fkey = NULL, *want = NULL;
	size_t keylen = 99, fkeylen = 99, wantlen = 0;
	char *text = fuzz_strndup(data, size);
	int checked, decoded, from_file;
	size_t textlen = strlen(text);

	why[0] = '\0';
	checked = webhook_secret_decode(text, NULL, NULL, why, sizeof(why));
	if (checked != 0) {
		FUZZ_CHECK(why[0] != '\0', "a refusal without a message");
		check_not_repeated(text, why);
	}
	why[0] = '\0';
	decoded = webhook_secret_decode(text, &key, &keylen, why, sizeof(why));
	FUZZ_CHECK(checked == decoded, "checking and decoding disagree");
	if (decoded != 0) {
		FUZZ_CHECK(key == NULL && keylen == 0,
			   "a refused secret left a key behind");
		FUZZ_CHECK(why[0] != '\0', "a refusal without a message");
		check_not_repeated(text, why);
	} else {
		want = ref_b64_decode(text + 6, &wantlen);
		FUZZ_CHECK(want != NULL, "a secret with a non-base64 character");
		FUZZ_CHECK(keylen >= WEBHOOK_KEY_MIN, "a key too short");
		FUZZ_CHECK(keylen == wantlen && memcmp(key, want, keylen) == 0,
			   "the key is not the base64 decoded");
		check_signs(key, keylen);
	}

	/* The file holds the same text; newlines after it are ignored. */
	from_file = webhook_secret_read_file(fuzz_file(data, size), &fkey,
					     &fkeylen, err, sizeof(err));
	if (from_file == 0) {
		FUZZ_CHECK(memchr(data, '\0', size) == NULL,
			   "a secret file with a NUL byte accepted");
		/* Without the trailing newlines, it is a secret of its own. */
		while (textlen > 0 && (text[textlen - 1] == '\n' ||
				       text[textlen - 1] == '\r'))
			text[--textlen] = '\0';
		webhook_key_free(key, keylen);
		key = NULL;
		FUZZ_CHECK(webhook_secret_decode(text, &key, &keylen, why,
						 sizeof(why)) == 0 &&
			   keylen == fkeylen && memcmp(key, fkey, keylen) == 0,
			   "the file and its text give different keys");
	} else {
		FUZZ_CHECK(fkey == NULL && err[0] != '\0',
			   "a refused secret file without a message");
		check_not_repeated(text, err);
	}
	webhook_key_free(key, keylen);
	webhook_key_free(fkey, fkeylen);
	free(want);
	free(text);
	return 0;
}
