/*
 * strbuf.h: a growable NUL-terminated string, for building SQL and lines.
 */
#ifndef SWEEPER_STRBUF_H
#define SWEEPER_STRBUF_H

#include <stddef.h>

struct strbuf {
	char *buf;      /* always NUL-terminated once anything was added */
	size_t len;
	size_t alloc;
};

#define STRBUF_INIT { NULL, 0, 0 }

/* Append a string, its first `n` bytes, or printf-formatted text. */
void strbuf_add(struct strbuf *sb, const char *s);
void strbuf_addn(struct strbuf *sb, const char *s, size_t n);
void strbuf_addf(struct strbuf *sb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Make room for `extra` more bytes, so that adding them moves nothing. */
void strbuf_grow(struct strbuf *sb, size_t extra);

/* The contents: "" for an empty buffer, never NULL. */
const char *strbuf_str(const struct strbuf *sb);

/* Hand the string to the caller, who frees it; the buffer is reset. */
char *strbuf_detach(struct strbuf *sb);

/* Free the contents; the buffer may be reused. */
void strbuf_release(struct strbuf *sb);

#endif /* SWEEPER_STRBUF_H */
