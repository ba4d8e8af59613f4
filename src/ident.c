/*
 * ident.c: quoting of SQL identifiers taken from configuration.
 *
 * Table and column names come from the config file, which the sweeper
 * trusts less than its own code: whatever a name holds, it must come out
 * as identifiers and never as SQL.  So every part is always emitted in
 * double quotes with embedded double quotes doubled, which PostgreSQL
 * reads back as exactly the text inside, and text that is not clean UTF-8
 * is refused before it can reach the server.
 */
#include <string.h>

#include "ident.h"
#include "values.h"

/* The output buffer of one quoting call. */
struct ident_out {
	char *buf;
	size_t size;
	size_t len;
	int overflow;
};

static void out_char(struct ident_out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len++] = c;
	else
		o->overflow = 1;
}

/* 0 when `name` is UTF-8 without control characters, else -1. */
static int ident_text_check(const char *name)
{
	const unsigned char *p = (const unsigned char *)name;

	while (*p) {
		size_t len = utf8_seq_len(p);

		if (len == 0 || *p < 0x20 || *p == 0x7f)
			return -1;
		p += len;
	}
	return 0;
}

/*
 * Copy one part starting at *pp into `o` in double quotes and move *pp to
 * the '.' or NUL after it.  A part that starts with '"' is read as a quoted
 * identifier ("" inside stands for one double quote) and must be followed
 * by '.' or the end.  Any other part runs to the next '.', and a double
 * quote inside it is just a character: it is doubled like any other, so
 * `users"; DROP TABLE x; --` stays one identifier.  Returns 0,
 * IDENT_INVALID for an empty part or an unterminated quote, or
 * IDENT_TOO_LONG for a part PostgreSQL would cut short.
 */
static int ident_part(const char **pp, struct ident_out *o)
{
	const char *p = *pp;
	size_t n = 0;

	out_char(o, '"');
	if (*p == '"') {
		p++;
		for (;;) {
			if (*p == '\0')
				return IDENT_INVALID;
			if (*p == '"' && p[1] != '"')
				break;
			if (*p == '"') {
				out_char(o, '"');
				p++;
			}
			out_char(o, *p++);
			n++;
		}
		p++;
		if (*p != '\0' && *p != '.')
			return IDENT_INVALID;
	} else {
		for (; *p != '\0' && *p != '.'; p++, n++) {
			if (*p == '"')
				out_char(o, '"');
			out_char(o, *p);
		}
	}
	if (n == 0)
		return IDENT_INVALID;
	if (n > IDENT_NAME_MAX)
		return IDENT_TOO_LONG;
	out_char(o, '"');
	*pp = p;
	return 0;
}

static int ident_quote_parts(const char *name, int max_parts, char *buf,
			     size_t size)
{
	struct ident_out o = { buf, size, 0, 0 };
	const char *p = name;
	int parts = 0;
	int ret = IDENT_INVALID;
	int rc;

	if (!buf || size == 0)
		return IDENT_INVALID;
	if (!name || !*name || ident_text_check(name) != 0)
		goto out;

	for (;;) {
		if (parts == max_parts)
			goto out;
		if (parts > 0)
			out_char(&o, '.');
		rc = ident_part(&p, &o);
		if (rc != 0) {
			ret = rc;
			goto out;
		}
		parts++;
		if (*p == '\0')
			break;
		/* Skip the '.'; a trailing one leaves an empty part. */
		p++;
	}
	if (o.overflow)
		goto out;
	ret = 0;
out:
	/* Never leave half an identifier behind for a careless caller. */
	buf[ret == 0 ? o.len : 0] = '\0';
	return ret;
}

int ident_quote(const char *name, char *buf, size_t size)
{
	return ident_quote_parts(name, 2, buf, size);
}

int ident_quote_column(const char *name, char *buf, size_t size)
{
	return ident_quote_parts(name, 1, buf, size);
}
