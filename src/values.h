/*
 * values.h: parsing and checking of configuration values (durations,
 * booleans, whole numbers, comma lists) and of declared keys' values, and
 * showing them safely in messages.
 */
#ifndef SWEEPER_VALUES_H
#define SWEEPER_VALUES_H

#include <stddef.h>

#include "sweeper/plugin.h"

/*
 * The longest duration taken, 36500 days (about 100 years): longer than
 * any grace period, age or timeout means, and short enough that adding it
 * to any clock reading, or doubling it as a backoff does, never overflows
 * a long long of milliseconds or a time_t of seconds.
 */
#define DURATION_MAX_MS (36500LL * 24 * 60 * 60 * 1000)
#define DURATION_MAX_TEXT "36500d"

/* Returns of duration_parse() besides 0. */
enum duration_error {
	DURATION_INVALID = -1,    /* not a duration */
	DURATION_TOO_LARGE = -2   /* a duration, but over DURATION_MAX_MS */
};

/*
 * Parse a duration: a whole number followed by one unit of ms, s, m, h or d
 * ("500ms", "30s", "5m", "24h", "90d"), or a bare "0".  Surrounding blanks
 * are ignored.  Stores milliseconds in *ms.  Returns 0, DURATION_INVALID
 * when the text is not a duration, or DURATION_TOO_LARGE when it is one
 * longer than DURATION_MAX_MS (however many digits it has).
 */
int duration_parse(const char *text, long long *ms);

/*
 * Parse a boolean: true/false, yes/no, on/off, 1/0, any case.  Returns 0
 * and stores 1 or 0 in *out, or -1.
 */
int bool_parse(const char *text, int *out);

/*
 * Parse a decimal whole number >= 0 without sign or unit.  Returns 0, or -1
 * when it is not one or does not fit a long long.
 */
int uint_parse(const char *text, long long *out);

/*
 * Parse a decimal number >= 0 written with digits and at most one '.'
 * ("0.5", "2", "1.25"; no sign, exponent or unit), with at most
 * DECIMAL_MAX_DIGITS digits.  Returns 0 and stores it in *out, or -1.
 */
#define DECIMAL_MAX_DIGITS 12
int decimal_parse(const char *text, double *out);

/*
 * Split a comma-separated list, trimming blanks around items.  Empty items
 * ("a,,b", trailing comma) are an error.  An empty or all-blank text gives
 * zero items.  On success stores a newly allocated array of newly allocated
 * strings (free with list_free()) and returns 0; -1 on a bad list or when
 * out of memory.
 */
int list_split(const char *text, char ***items, size_t *count);

/* Free what list_split() allocated.  Accepts NULL. */
void list_free(char **items, size_t count);

/*
 * The range an int or duration key declares in its `choices`
 * ("1h..3650d", either end may be left out: "..30d").
 */
struct value_range {
	const char *text;      /* the declaration, borrowed; NULL for none */
	int has_min, has_max;
	long long min, max;    /* the key's unit: milliseconds for durations */
};

/*
 * Read the range `decl` declares into *range: none (range->text NULL) for
 * a key of another type or without choices.  Returns 0, or -1 when the
 * declaration is not min..max with at least one end, each end a value of
 * the key's type, min not above max.
 */
int value_range_parse(const struct sweeper_key *decl,
		      struct value_range *range);

/*
 * Check `value` against a declared key: its type, for enums its choices,
 * and for int and duration keys their declared range.  Returns 0 when
 * valid.  Otherwise returns -1 and writes into
 * `why` (at most `whylen` bytes) the problem and the fix, without the
 * key's name, e.g. "'5x' is not a duration; write a number and a unit:
 * 500ms, 30s, 5m, 24h, 90d".
 */
int value_check(const struct sweeper_key *decl, const char *value,
		char *why, size_t whylen);

/*
 * Whether `value` (not NULL) is written in matching single or double quotes,
 * like '5m' or "json".  inih keeps quotes as part of the value, so a quoted
 * value is almost always a mistake worth its own message.  Returns 1 or 0.
 */
int value_is_quoted(const char *value);

/*
 * Whether `value` (not NULL) holds a '#' after a space or tab, like
 * "5000  # default".  inih takes only "; comment" after a value, so such a
 * comment arrives as part of the value.  Returns 1 or 0.
 */
int value_has_hash_comment(const char *value);

/*
 * Write into `why` (at most `whylen` bytes) the problem and the fix for a
 * value in quotes, `tail` ("" for none) appended: "'\"5m\"' is in quotes;
 * remove them and write just '5m'".  `value` must be quoted, as
 * value_is_quoted() tells.  The message repeats the value: not for secrets.
 */
void value_explain_quotes(const char *value, const char *tail, char *why,
			  size_t whylen);

/*
 * Write into `why` (at most `whylen` bytes) the problem and the fix for a
 * value with a '#' comment after it, as value_has_hash_comment() finds.
 * The message repeats the value: not for secrets.
 */
void value_explain_hash_comment(const char *value, char *why, size_t whylen);

/*
 * Length of the well-formed UTF-8 sequence at `s` (1 to 4), or 0 when the
 * bytes there are not one: overlong forms, surrogates and code points above
 * U+10FFFF are refused, as RFC 3629 requires.  `s` points into a
 * NUL-terminated string, and a sequence the NUL cuts short gives 0, so the
 * caller may step by the result until it reaches the NUL.
 */
size_t utf8_seq_len(const unsigned char *s);

/*
 * Write `text` into `buf` (at most `size` bytes, NUL included) as it should
 * appear in a one-line message: in single quotes, with control characters
 * and bytes that are not UTF-8 written as \xNN, and cut with "..." after 60
 * bytes.  A NULL text is written as ''.
 */
void value_quote(const char *text, char *buf, size_t size);

/* A buffer that always holds what value_quote() writes. */
#define VALUE_QUOTE_MAX 256

#endif /* SWEEPER_VALUES_H */
