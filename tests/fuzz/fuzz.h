/*
 * fuzz.h: what the fuzz targets in tests/fuzz/ share.
 *
 * Each target defines LLVMFuzzerTestOneInput().  `make fuzz` links it with
 * libFuzzer (clang -fsanitize=fuzzer); `make check` links the same source
 * with replay.c, which feeds it every file of the target's corpus, so the
 * corpora are regression tests that need no clang.
 *
 * A target checks what must hold with FUZZ_CHECK(), which prints the
 * broken promise and aborts: libFuzzer saves the input as a crash, and the
 * replay fails.
 */
#ifndef SWEEPER_FUZZ_H
#define SWEEPER_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Abort with "fuzz check failed: MSG (COND)" unless `cond` holds. */
#define FUZZ_CHECK(cond, msg) \
	((cond) ? (void)0 : fuzz_fail(__FILE__, __LINE__, #cond, (msg)))

void fuzz_fail(const char *file, int line, const char *cond, const char *msg)
	__attribute__((noreturn));

/*
 * Write data[0..size) to this process's scratch file and return its path
 * (a regular file of mode 0600 in $TMPDIR, /dev/shm or /tmp, removed at
 * exit).  Every call replaces the contents.  For the parsers that read a
 * file by name: the config, the users file, the secret file.
 */
const char *fuzz_file(const uint8_t *data, size_t size);

/* data[0..size) as a newly allocated NUL-terminated string (free()); an
 * embedded NUL byte ends it early, as it would for any C caller. */
char *fuzz_strndup(const uint8_t *data, size_t size);

/*
 * Whether text[0..len) is UTF-8 as RFC 3629 has it, decided by jansson
 * rather than by the sweeper's own utf8_seq_len(), so that one checks the
 * other.
 */
int fuzz_utf8_valid(const char *text, size_t len);

/* Whether `text` holds a control character (below 0x20, or 0x7f). */
int fuzz_has_control(const char *text);

/*
 * A reader of the fuzz bytes, for targets that build a structure from
 * them.  Past the end every read gives zeros, so any input builds
 * something.
 */
struct fuzz_bytes {
	const uint8_t *p;
	size_t left;
};

unsigned fuzz_u8(struct fuzz_bytes *fb);
uint64_t fuzz_u64(struct fuzz_bytes *fb);

/* A count: small most of the time, else 0, -1, LLONG_MIN, LLONG_MAX or
 * any 64 bits. */
long long fuzz_count(struct fuzz_bytes *fb);

/* A newly allocated string (free()) of up to a few KiB of arbitrary bytes
 * (no NUL inside). */
char *fuzz_string(struct fuzz_bytes *fb);

#endif /* SWEEPER_FUZZ_H */
