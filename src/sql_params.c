/*
 * sql_params.c: moving the placeholders of a rule's SQL (sql_params.h).
 *
 * A small lexer after PostgreSQL's own (src/backend/parser/scan.l): it
 * tells the tokens a '$' may hide in (strings, quoted identifiers,
 * dollar-quoted strings, comments, identifiers) from the placeholders,
 * and copies everything but the placeholders' numbers as it is.
 */
#include <stdlib.h>
#include <string.h>

#include "sql_params.h"

/* The most parameters one statement may have (the protocol's limit). */
#define SQL_PARAMS_MAX 65535

/* A character that may start an identifier or a dollar quote's tag. */
static int sql_ident_start(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       c >= 0x80;
}

/* A character that may follow inside an identifier ('$' included). */
static int sql_ident_cont(unsigned char c)
{
	return sql_ident_start(c) || (c >= '0' && c <= '9') || c == '$';
}

/* A character that may follow inside a dollar quote's tag (no '$'). */
static int sql_tag_cont(unsigned char c)
{
	return sql_ident_start(c) || (c >= '0' && c <= '9');
}

/*
 * The end of the quoted text starting at p (on its opening `quote`): past
 * the closing quote, a doubled quote standing for one, and with
 * `backslash` a backslash escaping the next character.  An unterminated
 * text ends with the string.
 */
static const char *sql_skip_quoted(const char *p, char quote, int backslash)
{
	p++;
	while (*p) {
		if (backslash && *p == '\\' && p[1]) {
			p += 2;
			continue;
		}
		if (*p == quote) {
			if (p[1] == quote) {
				p += 2;
				continue;
			}
			return p + 1;
		}
		p++;
	}
	return p;
}

/* The end of the comment starting at p ("--" or a nested slash-star). */
static const char *sql_skip_comment(const char *p)
{
	int depth = 0;

	if (p[0] == '-')
		return p + strcspn(p, "\n");
	while (*p) {
		if (p[0] == '/' && p[1] == '*') {
			depth++;
			p += 2;
		} else if (p[0] == '*' && p[1] == '/') {
			p += 2;
			if (--depth == 0)
				return p;
		} else {
			p++;
		}
	}
	return p;
}

/*
 * When p starts a dollar quote's opening delimiter ($$ or $tag$), the end
 * of the whole dollar-quoted string (past its closing delimiter, or the
 * end of the text); else NULL.
 */
static const char *sql_skip_dollar_quoted(const char *p)
{
	const char *tag = p + 1, *end;
	size_t len;

	if (*tag != '$' && !sql_ident_start((unsigned char)*tag))
		return NULL;
	end = tag;
	while (*end && *end != '$' && sql_tag_cont((unsigned char)*end))
		end++;
	if (*end != '$')
		return NULL;
	len = (size_t)(end - p) + 1;  /* the delimiter, both '$' included */
	for (end++; *end; end++) {
		if (*end == '$' && strncmp(end, p, len) == 0)
			return end + len;
	}
	return end;
}

/*
 * When p starts a string constant with a prefix (E'', U&'', B'', X'',
 * N''), the end of the constant; else NULL.  Only E'' reads backslash
 * escapes.
 */
static const char *sql_skip_prefixed_string(const char *p)
{
	char c = *p;

	if ((c == 'e' || c == 'E') && p[1] == '\'')
		return sql_skip_quoted(p + 1, '\'', 1);
	if ((c == 'b' || c == 'B' || c == 'x' || c == 'X' || c == 'n' ||
	     c == 'N') && p[1] == '\'')
		return sql_skip_quoted(p + 1, '\'', 0);
	if ((c == 'u' || c == 'U') && p[1] == '&' &&
	    (p[2] == '\'' || p[2] == '"'))
		return sql_skip_quoted(p + 2, p[2], 0);
	return NULL;
}

int sql_params_shift(struct strbuf *out, const char *sql, int shift,
		     int *highest)
{
	const char *p = sql, *run = sql, *end;
	int top = 0, ret = 0;

	while (*p) {
		unsigned char c = (unsigned char)*p;

		if (c == '\'' || c == '"') {
			p = sql_skip_quoted(p, (char)c, 0);
		} else if ((c == '-' && p[1] == '-') ||
			   (c == '/' && p[1] == '*')) {
			p = sql_skip_comment(p);
		} else if (sql_ident_start(c)) {
			end = sql_skip_prefixed_string(p);
			if (end) {
				p = end;
				continue;
			}
			while (sql_ident_cont((unsigned char)*p))
				p++;
		} else if (c >= '0' && c <= '9') {
			/* A number: its digits are no placeholder's. */
			while ((*p >= '0' && *p <= '9') || *p == '.')
				p++;
		} else if (c == '$' && p[1] >= '0' && p[1] <= '9') {
			long n;
			char *num_end;

			n = strtol(p + 1, &num_end, 10);
			strbuf_addf(out, "%.*s", (int)(p - run), run);
			if (n < 1 || n > SQL_PARAMS_MAX ||
			    n + shift > SQL_PARAMS_MAX || n + shift < 1) {
				/* Left as written: the server names it. */
				strbuf_addf(out, "%.*s", (int)(num_end - p), p);
				ret = -1;
			} else {
				strbuf_addf(out, "$%ld", n + shift);
				if (n > top)
					top = (int)n;
			}
			p = num_end;
			run = p;
		} else if (c == '$') {
			end = sql_skip_dollar_quoted(p);
			p = end ? end : p + 1;
		} else {
			p++;
		}
	}
	strbuf_add(out, run);
	if (highest)
		*highest = top;
	return ret;
}
