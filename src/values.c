/*
 * values.c: parsing and checking of configuration values.
 *
 * Everything here is strict on purpose: a config value that the sweeper
 * half-understands ("1.5h", "5 minutes", "-5m") must be refused with a
 * message that says how to write it, never guessed at, because the values
 * decide which rows get deleted.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "values.h"

/* Bytes of a value shown in a message before it is cut with "...". */
#define QUOTE_SHOWN 60

static const char duration_fix[] =
	"write a number and a unit: 500ms, 30s, 5m, 24h, 90d";

static int is_blank(int c)
{
	return c == ' ' || c == '\t';
}

/* Find `text` without its leading and trailing blanks. */
static void span_trim(const char *text, const char **start, size_t *len)
{
	size_t n;

	while (is_blank((unsigned char)*text))
		text++;
	n = strlen(text);
	while (n > 0 && is_blank((unsigned char)text[n - 1]))
		n--;
	*start = text;
	*len = n;
}

/*
 * Read the decimal digits at the start of s[0..len) into *out and their
 * count into *ndigits (0 when there are none).  Returns 0, or -1 when the
 * number does not fit a long long; *ndigits still counts every digit then.
 */
static int digits_parse(const char *s, size_t len, long long *out,
			size_t *ndigits)
{
	long long n = 0;
	size_t i;
	int ret = 0;

	for (i = 0; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
		int d = s[i] - '0';

		if (ret != 0 || n > (LLONG_MAX - d) / 10) {
			ret = -1;
			continue;
		}
		n = n * 10 + d;
	}
	*out = n;
	*ndigits = i;
	return ret;
}

int uint_parse(const char *text, long long *out)
{
	const char *s;
	size_t len;
	size_t ndigits;
	long long n;

	if (!text)
		return -1;
	span_trim(text, &s, &len);
	if (digits_parse(s, len, &n, &ndigits) != 0)
		return -1;
	if (ndigits == 0 || ndigits != len)
		return -1;
	*out = n;
	return 0;
}

int decimal_parse(const char *text, double *out)
{
	const char *s;
	double v = 0, scale = 1;
	size_t len, i, ndigits = 0;
	int dot = 0;

	if (!text)
		return -1;
	span_trim(text, &s, &len);
	/* By hand: strtod() follows the locale's decimal point. */
	for (i = 0; i < len; i++) {
		if (s[i] == '.' && !dot) {
			dot = 1;
			continue;
		}
		if (s[i] < '0' || s[i] > '9' || ++ndigits > DECIMAL_MAX_DIGITS)
			return -1;
		if (dot) {
			scale /= 10;
			v += (s[i] - '0') * scale;
		} else {
			v = v * 10 + (s[i] - '0');
		}
	}
	if (ndigits == 0)
		return -1;
	*out = v;
	return 0;
}

int duration_parse(const char *text, long long *ms)
{
	static const struct {
		const char *name;
		long long ms;
	} units[] = {
		{ "ms", 1LL },
		{ "s", 1000LL },
		{ "m", 60LL * 1000 },
		{ "h", 60LL * 60 * 1000 },
		{ "d", 24LL * 60 * 60 * 1000 },
	};
	const char *s;
	const char *unit;
	size_t len;
	size_t unitlen;
	size_t i;
	size_t ndigits;
	long long n;
	int overflow;

	if (!text)
		return DURATION_INVALID;
	span_trim(text, &s, &len);
	/*
	 * Digits that do not fit a long long still make a duration, only too
	 * large a one: the unit after them decides which message is right.
	 */
	overflow = digits_parse(s, len, &n, &ndigits) != 0;
	if (ndigits == 0)
		return DURATION_INVALID;
	unit = s + ndigits;
	unitlen = len - ndigits;
	while (unitlen > 0 && is_blank((unsigned char)*unit)) {
		unit++;
		unitlen--;
	}

	/* Zero needs no unit: "max_runtime = 0" reads naturally as "none". */
	if (unitlen == 0) {
		if (overflow || n != 0)
			return DURATION_INVALID;
		*ms = 0;
		return 0;
	}
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strlen(units[i].name) != unitlen ||
		    memcmp(units[i].name, unit, unitlen) != 0)
			continue;
		if (overflow || n > DURATION_MAX_MS / units[i].ms)
			return DURATION_TOO_LARGE;
		*ms = n * units[i].ms;
		return 0;
	}
	return DURATION_INVALID;
}

int bool_parse(const char *text, int *out)
{
	static const struct {
		const char *word;
		int value;
	} words[] = {
		{ "true", 1 }, { "yes", 1 }, { "on", 1 }, { "1", 1 },
		{ "false", 0 }, { "no", 0 }, { "off", 0 }, { "0", 0 },
	};
	const char *s;
	size_t len;
	size_t i;

	if (!text)
		return -1;
	span_trim(text, &s, &len);
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (strlen(words[i].word) == len &&
		    strncasecmp(words[i].word, s, len) == 0) {
			*out = words[i].value;
			return 0;
		}
	}
	return -1;
}

void list_free(char **items, size_t count)
{
	size_t i;

	if (!items)
		return;
	for (i = 0; i < count; i++)
		free(items[i]);
	free(items);
}

/*
 * The array list_split() returns always has a NULL after the last item, so
 * that a list of zero items is still an allocated array the caller can
 * walk or free like any other.
 */
int list_split(const char *text, char ***items, size_t *count)
{
	char **list = NULL;
	size_t n = 0;
	size_t alloc;
	const char *p;
	const char *s;
	size_t len;
	int ret = -1;

	*items = NULL;
	*count = 0;
	if (!text)
		return -1;

	list = calloc(1, sizeof(*list));
	if (!list)
		goto out;
	alloc = 1;
	span_trim(text, &s, &len);
	if (len == 0) {
		ret = 0;
		goto out;
	}

	for (p = text; p; ) {
		const char *comma = strchr(p, ',');
		size_t itemlen = comma ? (size_t)(comma - p) : strlen(p);
		const char *item = p;

		while (itemlen > 0 && is_blank((unsigned char)*item)) {
			item++;
			itemlen--;
		}
		while (itemlen > 0 && is_blank((unsigned char)item[itemlen - 1]))
			itemlen--;
		if (itemlen == 0)
			goto out;

		if (n + 2 > alloc) {
			size_t want = alloc * 2 + 2;
			char **bigger = realloc(list, want * sizeof(*list));

			if (!bigger)
				goto out;
			list = bigger;
			alloc = want;
		}
		list[n] = strndup(item, itemlen);
		if (!list[n])
			goto out;
		n++;
		list[n] = NULL;
		p = comma ? comma + 1 : NULL;
	}
	ret = 0;
out:
	if (ret != 0) {
		list_free(list, n);
		return -1;
	}
	*items = list;
	*count = n;
	return 0;
}

/*
 * Both value_quote() and ident.c's identifier check read UTF-8 with this,
 * so a name the messages show as text is also one the quoting accepts.
 */
size_t utf8_seq_len(const unsigned char *s)
{
	size_t len;
	size_t i;
	unsigned long cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		len = 2;
		cp = s[0] & 0x1f;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		len = 3;
		cp = s[0] & 0x0f;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		len = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

/*
 * Values end up in error messages that operators read on a terminal and in
 * the journal: a stray escape sequence or carriage return in a value must
 * not garble the line, so only printable text is shown as it is.
 */
void value_quote(const char *text, char *buf, size_t size)
{
	const unsigned char *p = (const unsigned char *)(text ? text : "");
	char out[VALUE_QUOTE_MAX];
	size_t n = 0;
	size_t shown = 0;

	if (!buf || size == 0)
		return;
	out[n++] = '\'';
	while (*p) {
		size_t len = utf8_seq_len(p);

		if (shown + (len ? len : 1) > QUOTE_SHOWN) {
			memcpy(out + n, "...", 3);
			n += 3;
			break;
		}
		if (len == 0 || *p < 0x20 || *p == 0x7f) {
			snprintf(out + n, sizeof(out) - n, "\\x%02x", *p);
			n += 4;
			shown++;
			p++;
			continue;
		}
		memcpy(out + n, p, len);
		n += len;
		shown += len;
		p += len;
	}
	out[n++] = '\'';
	out[n] = '\0';
	snprintf(buf, size, "%s", out);
}

static void why_set(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void why_set(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (!why || whylen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

/*
 * "24h  # one day" arrives whole from inih.  Saying that the '#' is the
 * problem beats saying "not a duration", so value_check() and the checks
 * of the core keys both look for it first.
 */
int value_has_hash_comment(const char *value)
{
	const char *p;

	for (p = value; *p; p++) {
		if (*p == '#' && p > value && is_blank((unsigned char)p[-1]))
			return 1;
	}
	return 0;
}

/* Only matching quotes count: "5m' is a typo for the type check to name. */
int value_is_quoted(const char *value)
{
	size_t len = strlen(value);

	return len >= 2 && (value[0] == '"' || value[0] == '\'') &&
	       value[len - 1] == value[0];
}

/*
 * The checks of the core keys in config_keys.c refuse quotes and '#'
 * comments in more keys than value_check() does; sharing the messages
 * keeps the advice the same wherever a value is refused.
 */
void value_explain_quotes(const char *value, const char *tail, char *why,
			  size_t whylen)
{
	char shown[VALUE_QUOTE_MAX];
	char bare[VALUE_QUOTE_MAX];
	char inner[VALUE_QUOTE_MAX];

	value_quote(value, shown, sizeof(shown));
	snprintf(bare, sizeof(bare), "%.*s", (int)(strlen(value) - 2),
		 value + 1);
	value_quote(bare, inner, sizeof(inner));
	why_set(why, whylen, "%s is in quotes; remove them and write just %s%s",
		shown, inner, tail);
}

void value_explain_hash_comment(const char *value, char *why, size_t whylen)
{
	char shown[VALUE_QUOTE_MAX];

	value_quote(value, shown, sizeof(shown));
	why_set(why, whylen,
		"%s has a '#' comment after the value; '#' starts a comment only at the start of a line: move it to its own line or write '; comment'",
		shown);
}

/* Write the choices "a|b|c" as "a, b, c". */
static void choices_format(const char *choices, char *buf, size_t size)
{
	size_t n = 0;
	const char *p;

	if (size == 0)
		return;
	for (p = choices; *p && n + 3 < size; p++) {
		if (*p == '|') {
			buf[n++] = ',';
			buf[n++] = ' ';
		} else {
			buf[n++] = *p;
		}
	}
	buf[n] = '\0';
}

/*
 * Find `value` among "a|b|c".  Returns 1 on an exact match, 2 when it only
 * matches ignoring case (the matching choice is copied to `hint`), else 0.
 */
static int choices_find(const char *choices, const char *value, char *hint,
			size_t hintlen)
{
	size_t vlen = strlen(value);
	const char *p = choices;
	int found = 0;

	while (*p) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);

		if (len == vlen && memcmp(p, value, len) == 0)
			return 1;
		if (!found && len == vlen && strncasecmp(p, value, len) == 0) {
			snprintf(hint, hintlen, "%.*s", (int)len, p);
			found = 2;
		}
		if (!bar)
			break;
		p = bar + 1;
	}
	return found;
}

static int enum_check(const struct sweeper_key *decl, const char *value,
		      const char *shown, char *why, size_t whylen)
{
	char list[256];
	char hint[128] = "";
	int found;

	if (!decl->choices || !decl->choices[0]) {
		why_set(why, whylen,
			"key '%s' is declared as a choice but lists no choices; fix the plugin",
			decl->name ? decl->name : "");
		return -1;
	}
	found = choices_find(decl->choices, value, hint, sizeof(hint));
	if (found == 1)
		return 0;
	choices_format(decl->choices, list, sizeof(list));
	if (found == 2)
		why_set(why, whylen,
			"%s is not one of %s; choices are case-sensitive: write %s",
			shown, list, hint);
	else
		why_set(why, whylen, "%s is not one of %s", shown, list);
	return -1;
}

/* The message for an empty value, which inih gives for "key =". */
static void empty_fix(const struct sweeper_key *decl, char *why,
		      size_t whylen)
{
	char list[256];

	switch (decl->type) {
	case SWEEPER_KEY_BOOL:
		why_set(why, whylen, "the value is empty; write true or false");
		return;
	case SWEEPER_KEY_INT:
		why_set(why, whylen, "the value is empty; write a whole number");
		return;
	case SWEEPER_KEY_DURATION:
		why_set(why, whylen, "the value is empty; %s", duration_fix);
		return;
	case SWEEPER_KEY_ENUM:
		choices_format(decl->choices ? decl->choices : "", list,
			       sizeof(list));
		why_set(why, whylen, "the value is empty; write one of %s",
			list);
		return;
	case SWEEPER_KEY_STRING:
		break;
	}
	why_set(why, whylen, "the value is empty");
}

/* Parse one end of a range, `text` of `len` bytes, with the key's type. */
static int range_end_parse(const struct sweeper_key *decl, const char *text,
			   size_t len, long long *out)
{
	char buf[64];

	if (len == 0 || len >= sizeof(buf))
		return -1;
	memcpy(buf, text, len);
	buf[len] = '\0';
	if (decl->type == SWEEPER_KEY_INT)
		return uint_parse(buf, out);
	return duration_parse(buf, out) == 0 ? 0 : -1;
}

int value_range_parse(const struct sweeper_key *decl,
		      struct value_range *range)
{
	const char *text = decl->choices;
	const char *dots;

	range->has_min = 0;
	range->has_max = 0;
	range->min = 0;
	range->max = 0;
	range->text = NULL;
	if ((decl->type != SWEEPER_KEY_INT &&
	     decl->type != SWEEPER_KEY_DURATION) || !text || !*text)
		return 0;
	range->text = text;
	dots = strstr(text, "..");
	if (!dots || strstr(dots + 2, ".."))
		return -1;
	if (dots > text) {
		if (range_end_parse(decl, text, (size_t)(dots - text),
				    &range->min) != 0)
			return -1;
		range->has_min = 1;
	}
	if (dots[2]) {
		if (range_end_parse(decl, dots + 2, strlen(dots + 2),
				    &range->max) != 0)
			return -1;
		range->has_max = 1;
	}
	if (!range->has_min && !range->has_max)
		return -1;
	if (range->has_min && range->has_max && range->min > range->max)
		return -1;
	return 0;
}

/*
 * Check `n`, the value `shown` of `decl`, against its declared range.
 * Returns 0 inside it (or without one), else -1 with the fix in `why`.
 */
static int range_check(const struct sweeper_key *decl, long long n,
		       const char *shown, char *why, size_t whylen)
{
	struct value_range r;
	const char *what = decl->type == SWEEPER_KEY_INT ? "whole number" :
			   "duration";
	size_t minlen;

	if (value_range_parse(decl, &r) != 0) {
		why_set(why, whylen,
			"key '%s' is declared with the range '%s', which is not min..max; fix the plugin",
			decl->name ? decl->name : "", r.text);
		return -1;
	}
	if ((!r.has_min || n >= r.min) && (!r.has_max || n <= r.max))
		return 0;
	minlen = (size_t)(strstr(r.text, "..") - r.text);
	if (r.has_min && r.has_max)
		why_set(why, whylen,
			"%s is out of range; write a %s from %.*s to %s",
			shown, what, (int)minlen, r.text, r.text + minlen + 2);
	else if (r.has_max)
		why_set(why, whylen, "%s is too %s; write at most %s", shown,
			decl->type == SWEEPER_KEY_INT ? "large" : "long",
			r.text + minlen + 2);
	else
		why_set(why, whylen, "%s is too %s; write at least %.*s",
			shown, decl->type == SWEEPER_KEY_INT ? "small" : "short",
			(int)minlen, r.text);
	return -1;
}

int value_check(const struct sweeper_key *decl, const char *value,
		char *why, size_t whylen)
{
	char shown[VALUE_QUOTE_MAX];
	long long n;
	int b, rc;

	if (why && whylen)
		why[0] = '\0';
	if (!value)
		value = "";
	value_quote(value, shown, sizeof(shown));

	if (decl->type < SWEEPER_KEY_STRING || decl->type > SWEEPER_KEY_ENUM) {
		why_set(why, whylen,
			"key '%s' is declared with unknown type %d; fix the plugin",
			decl->name ? decl->name : "", (int)decl->type);
		return -1;
	}
	/* Any text is a valid string, quotes and '#' included. */
	if (decl->type == SWEEPER_KEY_STRING)
		return 0;

	if (value[0] == '\0') {
		empty_fix(decl, why, whylen);
		return -1;
	}
	if (value_is_quoted(value)) {
		value_explain_quotes(value, "", why, whylen);
		return -1;
	}
	if (value_has_hash_comment(value)) {
		value_explain_hash_comment(value, why, whylen);
		return -1;
	}

	switch (decl->type) {
	case SWEEPER_KEY_BOOL:
		if (bool_parse(value, &b) == 0)
			return 0;
		why_set(why, whylen,
			"%s is not true or false; write true or false (yes/no, on/off and 1/0 work too)",
			shown);
		return -1;
	case SWEEPER_KEY_INT:
		if (uint_parse(value, &n) == 0)
			return range_check(decl, n, shown, why, whylen);
		why_set(why, whylen,
			"%s is not a whole number; write digits only, without sign, unit or decimal point",
			shown);
		return -1;
	case SWEEPER_KEY_DURATION:
		rc = duration_parse(value, &n);
		if (rc == 0)
			return range_check(decl, n, shown, why, whylen);
		if (rc == DURATION_TOO_LARGE)
			why_set(why, whylen,
				"%s is too large; the longest duration is %s (about 100 years)",
				shown, DURATION_MAX_TEXT);
		else
			why_set(why, whylen, "%s is not a duration; %s", shown,
				duration_fix);
		return -1;
	case SWEEPER_KEY_ENUM:
		return enum_check(decl, value, shown, why, whylen);
	case SWEEPER_KEY_STRING:
		break;
	}
	return 0;
}
