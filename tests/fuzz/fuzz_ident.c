/*
 * fuzz_ident.c: identifier quoting (src/ident.c) on arbitrary names.
 *
 * The first byte picks ident_quote() or ident_quote_column() and the
 * buffer size; the rest is the name.  A reference parser written from the
 * grammar in ident.h reads the name into its parts; the quoted result must
 * be exactly those parts, each in double quotes with '"' doubled, and a
 * name the grammar refuses must be refused.  So whatever a config file
 * holds comes out as identifiers and never as SQL.
 */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "ident.h"

/* PostgreSQL keeps at most this many bytes of a name (NAMEDATALEN - 1). */
#define PG_NAME_MAX 63

struct ref_parts {
	char *part[2];
	size_t n;
};

static void ref_free(struct ref_parts *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		free(r->part[i]);
	r->n = 0;
}

/*
 * Split `name` as ident.h describes it: at most `max` parts separated by
 * '.', a part in double quotes holding dots and "" for '"', any other part
 * taken as it is up to the next '.'.  Returns 0, or -1 for a name the
 * grammar refuses.
 */
static int ref_parse(const char *name, size_t max, struct ref_parts *r)
{
	const char *p = name;
	size_t len = strlen(name);

	r->n = 0;
	if (!*name || fuzz_has_control(name) || !fuzz_utf8_valid(name, len))
		return -1;
	for (;;) {
		char *part = malloc(len + 1);
		size_t n = 0;

		if (!part)
			abort();
		if (*p == '"') {
			p++;
			for (;;) {
				if (*p == '\0')
					goto bad;
				if (p[0] == '"' && p[1] == '"') {
					part[n++] = '"';
					p += 2;
					continue;
				}
				if (*p == '"')
					break;
				part[n++] = *p++;
			}
			p++;
			if (*p != '\0' && *p != '.')
				goto bad;
		} else {
			while (*p && *p != '.')
				part[n++] = *p++;
		}
		part[n] = '\0';
		if (n == 0 || r->n == max)
			goto bad;
		r->part[r->n++] = part;
		if (*p == '\0')
			return 0;
		p++;
		continue;
bad:
		free(part);
		ref_free(r);
		return -1;
	}
}

/* What ident_quote() must write for the parts. */
static char *ref_quote(const struct ref_parts *r)
{
	size_t cap = 4, i, len = 0;
	char *out;
	const char *p;

	for (i = 0; i < r->n; i++)
		cap += strlen(r->part[i]) * 2 + 3;
	out = malloc(cap);
	if (!out)
		abort();
	for (i = 0; i < r->n; i++) {
		if (i)
			out[len++] = '.';
		out[len++] = '"';
		for (p = r->part[i]; *p; p++) {
			if (*p == '"')
				out[len++] = '"';
			out[len++] = *p;
		}
		out[len++] = '"';
	}
	out[len] = '\0';
	return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ref_parts ref = { { NULL, NULL }, 0 };
	char buf[IDENT_MAX + 8];
	size_t bufsize, i, max;
	int column, rc, ref_rc, long_part = 0;
	char *name, *want = NULL;

	if (size < 1)
		return 0;
	column = data[0] & 1;
	/* Mostly the real buffer; sometimes one that is too small. */
	bufsize = (data[0] & 0x80) ? (size_t)(data[0] >> 1 & 0x3f) : IDENT_MAX;
	max = column ? 1 : 2;
	name = fuzz_strndup(data + 1, size - 1);

	memset(buf, 'X', sizeof(buf));
	rc = column ? ident_quote_column(name, buf, bufsize)
		    : ident_quote(name, buf, bufsize);
	if (bufsize > 0)
		FUZZ_CHECK(strlen(buf) < bufsize, "the result overran the buffer");
	FUZZ_CHECK(buf[bufsize] == 'X', "a write past the buffer size");
	if (rc != 0 && bufsize > 0)
		FUZZ_CHECK(buf[0] == '\0', "half an identifier left behind");

	ref_rc = ref_parse(name, max, &ref);
	for (i = 0; i < ref.n; i++) {
		if (strlen(ref.part[i]) > PG_NAME_MAX)
			long_part = 1;
	}
	if (ref_rc == 0)
		want = ref_quote(&ref);

	if (rc == 0) {
		FUZZ_CHECK(ref_rc == 0, "a name the grammar refuses was quoted");
		FUZZ_CHECK(strcmp(buf, want) == 0,
			   "the quoted name is not the name's parts");
	} else if (ref_rc == 0 && strlen(want) < bufsize && !long_part) {
		/* A part longer than PostgreSQL keeps may be refused. */
		FUZZ_CHECK(0, "a name the grammar takes was refused");
	}

	/* Quoting the quoted parts again gives the same identifier. */
	if (rc == 0) {
		char again[IDENT_MAX];

		FUZZ_CHECK((column ? ident_quote_column(want, again, sizeof(again))
				   : ident_quote(want, again, sizeof(again))) == 0 &&
			   strcmp(again, want) == 0,
			   "quoting does not round-trip");
	}
	free(want);
	ref_free(&ref);
	free(name);
	return 0;
}
