/*
 * fuzz_values.c: every value parser of src/values.c, and the checks of the
 * core keys' values in src/config_keys.c, on arbitrary text.
 *
 * The first byte of the input picks the parser, the second is a parameter
 * (the declared type of a key, a buffer size, which core key), and the
 * rest is the text.  Each parser is held to a small reference written from
 * its documentation in values.h, so that a value it accepts is one the
 * documentation promises, with the value the documentation says.
 */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "config_keys.h"
#include "fuzz.h"
#include "values.h"

/* A value a secret check must never repeat: the seeds hold it. */
#define SENTINEL "Zq9Xw"

/* A duration no bound on durations may refuse: a year. */
#define DURATION_SURE_MS (365LL * 24 * 60 * 60 * 1000)

enum fuzz_op {
	OP_DURATION,
	OP_UINT,
	OP_DECIMAL,
	OP_BOOL,
	OP_LIST,
	OP_VALUE_CHECK,
	OP_QUOTE,
	OP_UTF8,
	OP_QUOTES_AND_COMMENTS,
	OP_CORE_CHECK,
	OP_COUNT
};

static int ref_blank(char c)
{
	return c == ' ' || c == '\t';
}

/* The text without its surrounding blanks, as a new string. */
static char *ref_trim(const char *text)
{
	size_t len;

	while (ref_blank(*text))
		text++;
	len = strlen(text);
	while (len > 0 && ref_blank(text[len - 1]))
		len--;
	return strndup(text, len);
}

static void check_why(const char *why)
{
	FUZZ_CHECK(why[0] != '\0', "a refusal without a message");
	FUZZ_CHECK(!fuzz_has_control(why),
		   "a message with a control character or line break");
	FUZZ_CHECK(fuzz_utf8_valid(why, strlen(why)),
		   "a message that is not UTF-8");
}

/*
 * Digits, blanks, one unit of ms/s/m/h/d, or a bare 0.  Returns 0 with the
 * milliseconds, 1 when the text is not a duration, 2 when it overflows.
 */
static int ref_duration(const char *text, long long *out)
{
	static const struct {
		const char *unit;
		long long ms;
	} units[] = { { "ms", 1 }, { "s", 1000 }, { "m", 60000 },
		      { "h", 3600000 }, { "d", 86400000 } };
	char *t = ref_trim(text);
	const char *p = t;
	long long n = 0;
	int overflow = 0, ret = 1;
	size_t i;

	if (!(*p >= '0' && *p <= '9'))
		goto out;
	for (; *p >= '0' && *p <= '9'; p++) {
		if (__builtin_mul_overflow(n, 10, &n) ||
		    __builtin_add_overflow(n, *p - '0', &n))
			overflow = 1;
	}
	while (ref_blank(*p))
		p++;
	if (*p == '\0') {
		if (!overflow && n == 0) {
			*out = 0;
			ret = 0;
		}
		goto out;
	}
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(p, units[i].unit) != 0)
			continue;
		if (overflow || __builtin_mul_overflow(n, units[i].ms, out))
			ret = 2;
		else
			ret = 0;
	}
out:
	free(t);
	return ret;
}

static void fuzz_duration(const char *text)
{
	long long ms = -1, want = -1;
	int ref = ref_duration(text, &want);

	if (duration_parse(text, &ms) == 0) {
		FUZZ_CHECK(ref == 0, "a duration the documentation refuses");
		FUZZ_CHECK(ms == want, "a duration with the wrong value");
		FUZZ_CHECK(ms >= 0, "a negative duration");
	} else {
		FUZZ_CHECK(ref != 0 || want > DURATION_SURE_MS,
			   "a documented duration refused");
	}
}

/* Digits only, around blanks; 0 with the value, 1 bad, 2 overflow. */
static int ref_uint(const char *text, long long *out)
{
	char *t = ref_trim(text);
	const char *p;
	long long n = 0;
	int ret = 0;

	if (!*t)
		ret = 1;
	for (p = t; *p && ret != 1; p++) {
		if (!(*p >= '0' && *p <= '9'))
			ret = 1;
		else if (__builtin_mul_overflow(n, 10, &n) ||
			 __builtin_add_overflow(n, *p - '0', &n))
			ret = 2;
	}
	free(t);
	*out = n;
	return ret;
}

static void fuzz_uint(const char *text)
{
	long long n = -1, want = -1;
	int ref = ref_uint(text, &want);

	if (uint_parse(text, &n) == 0) {
		FUZZ_CHECK(ref == 0, "a whole number the documentation refuses");
		FUZZ_CHECK(n == want && n >= 0, "a whole number misread");
	} else {
		FUZZ_CHECK(ref != 0, "a documented whole number refused");
	}
}

static void fuzz_decimal(const char *text)
{
	char *t = ref_trim(text);
	size_t digits = 0, dots = 0;
	const char *p;
	int ok = 1;
	double v = -1;

	for (p = t; *p; p++) {
		if (*p == '.')
			dots++;
		else if (*p >= '0' && *p <= '9')
			digits++;
		else
			ok = 0;
	}
	ok = ok && dots <= 1 && digits >= 1 && digits <= DECIMAL_MAX_DIGITS;
	if (decimal_parse(text, &v) == 0) {
		double want = strtod(t, NULL);

		FUZZ_CHECK(ok, "a decimal the documentation refuses");
		FUZZ_CHECK(isfinite(v) && v >= 0 && v < 1e12,
			   "a decimal out of its range");
		FUZZ_CHECK(fabs(v - want) <= 1e-9 * (want > 1 ? want : 1),
			   "a decimal misread");
	} else {
		FUZZ_CHECK(!ok, "a documented decimal refused");
	}
	free(t);
}

static void fuzz_bool(const char *text)
{
	static const char *const yes[] = { "true", "yes", "on", "1" };
	static const char *const no[] = { "false", "no", "off", "0" };
	char *t = ref_trim(text);
	int want = -1, b = -1;
	size_t i;

	for (i = 0; i < 4; i++) {
		if (strcasecmp(t, yes[i]) == 0)
			want = 1;
		if (strcasecmp(t, no[i]) == 0)
			want = 0;
	}
	if (bool_parse(text, &b) == 0)
		FUZZ_CHECK(b == want, "a boolean misread");
	else
		FUZZ_CHECK(want == -1, "a documented boolean refused");
	free(t);
}

static void fuzz_list(const char *text)
{
	char *t = ref_trim(text);
	char **items = NULL;
	size_t count = 99, i = 0;
	const char *p = text;
	int ok = 1;

	/* Reference: split at every comma and trim; an empty item fails. */
	if (list_split(text, &items, &count) != 0) {
		FUZZ_CHECK(items == NULL && count == 0,
			   "a refused list left something behind");
		if (*t) {
			ok = 0;
			for (;;) {
				const char *comma = strchr(p, ',');
				char *item = comma ? strndup(p, (size_t)(comma - p))
						   : strdup(p);
				char *trimmed = ref_trim(item);

				if (!*trimmed)
					ok = 1;
				free(item);
				free(trimmed);
				if (!comma)
					break;
				p = comma + 1;
			}
		}
		FUZZ_CHECK(ok && *t, "a list refused without an empty item");
		free(t);
		return;
	}
	FUZZ_CHECK(items != NULL && items[count] == NULL,
		   "a list array without its NULL");
	if (!*t) {
		FUZZ_CHECK(count == 0, "items in a blank list");
	} else {
		for (;;) {
			const char *comma = strchr(p, ',');
			char *item = comma ? strndup(p, (size_t)(comma - p))
					   : strdup(p);
			char *trimmed = ref_trim(item);

			FUZZ_CHECK(i < count, "a list item lost");
			FUZZ_CHECK(*trimmed && strcmp(items[i], trimmed) == 0,
				   "a list item misread");
			i++;
			free(item);
			free(trimmed);
			if (!comma)
				break;
			p = comma + 1;
		}
		FUZZ_CHECK(i == count, "a list item made up");
	}
	list_free(items, count);
	free(t);
}

/* Choices a plugin may declare, the odd ones included. */
static const char *const fuzz_choices[] = {
	"keep|delete", "json|slack", "a", "", NULL, "x||y", "|", "Keep|keep",
};

static int choice_listed(const char *choices, const char *value)
{
	size_t vlen = strlen(value);
	const char *p = choices;

	for (;;) {
		const char *bar = strchr(p, '|');
		size_t len = bar ? (size_t)(bar - p) : strlen(p);

		if (len == vlen && memcmp(p, value, len) == 0)
			return 1;
		if (!bar)
			return 0;
		p = bar + 1;
	}
}

static void fuzz_value_check(unsigned param, const char *text)
{
	struct sweeper_key decl = { "key", (enum sweeper_key_type)(param % 7),
				    NULL, NULL, NULL };
	char why[1024];
	long long n;
	int b;

	decl.choices = fuzz_choices[(param / 7) %
				    (sizeof(fuzz_choices) / sizeof(fuzz_choices[0]))];
	if (value_check(&decl, text, why, sizeof(why)) != 0) {
		check_why(why);
		FUZZ_CHECK(decl.type != SWEEPER_KEY_STRING,
			   "a string refused");
		return;
	}
	switch (decl.type) {
	case SWEEPER_KEY_STRING:
		return;
	case SWEEPER_KEY_BOOL:
		FUZZ_CHECK(bool_parse(text, &b) == 0, "a bad boolean passed");
		break;
	case SWEEPER_KEY_INT:
		FUZZ_CHECK(uint_parse(text, &n) == 0, "a bad number passed");
		break;
	case SWEEPER_KEY_DURATION:
		FUZZ_CHECK(duration_parse(text, &n) == 0,
			   "a bad duration passed");
		break;
	case SWEEPER_KEY_ENUM:
		FUZZ_CHECK(decl.choices && choice_listed(decl.choices, text),
			   "a value not among the choices passed");
		break;
	default:
		FUZZ_CHECK(0, "a key of unknown type passed");
	}
	FUZZ_CHECK(!value_is_quoted(text) && !value_has_hash_comment(text),
		   "a quoted or commented value passed");
}

static void fuzz_quote(unsigned param, const char *text)
{
	char full[VALUE_QUOTE_MAX];
	char part[VALUE_QUOTE_MAX];
	size_t len, size = param & 0x7f;

	value_quote(text, full, sizeof(full));
	len = strlen(full);
	FUZZ_CHECK(len >= 2 && full[0] == '\'' && full[len - 1] == '\'',
		   "a quoted value not in quotes");
	FUZZ_CHECK(!fuzz_has_control(full), "a control character shown raw");
	FUZZ_CHECK(fuzz_utf8_valid(full, len), "a shown value not UTF-8");
	if (strlen(text) <= 60 && !fuzz_has_control(text) &&
	    fuzz_utf8_valid(text, strlen(text)))
		FUZZ_CHECK(len == strlen(text) + 2 &&
			   memcmp(full + 1, text, len - 2) == 0,
			   "printable text not shown as it is");

	/* A smaller buffer gets a prefix, and never more than it holds. */
	memset(part, 'X', sizeof(part));
	value_quote(text, part, size);
	if (size > 0) {
		FUZZ_CHECK(strlen(part) < size, "value_quote overran its buffer");
		FUZZ_CHECK(strncmp(part, full, strlen(part)) == 0,
			   "a cut quote is not a prefix");
	}
	FUZZ_CHECK(part[size] == 'X', "value_quote wrote past its size");
}

static void fuzz_utf8(const char *text)
{
	const unsigned char *p = (const unsigned char *)text;
	int valid = 1;

	while (*p) {
		size_t len = utf8_seq_len(p);

		if (len == 0) {
			valid = 0;
			p++;
			continue;
		}
		FUZZ_CHECK(len <= 4 && memchr(p, '\0', len) == NULL,
			   "a sequence past the NUL");
		FUZZ_CHECK(fuzz_utf8_valid((const char *)p, len),
			   "a sequence taken that is not UTF-8");
		p += len;
	}
	FUZZ_CHECK(valid == fuzz_utf8_valid(text, strlen(text)),
		   "utf8_seq_len() and jansson disagree");
}

static void fuzz_quotes_and_comments(const char *text)
{
	size_t len = strlen(text);
	char why[1024];
	int quoted = len >= 2 && (text[0] == '"' || text[0] == '\'') &&
		     text[len - 1] == text[0];
	int hash = 0;
	size_t i;

	for (i = 1; i < len; i++) {
		if (text[i] == '#' && ref_blank(text[i - 1]))
			hash = 1;
	}
	FUZZ_CHECK(value_is_quoted(text) == quoted, "quotes misjudged");
	FUZZ_CHECK(value_has_hash_comment(text) == hash,
		   "a '#' comment misjudged");
	if (quoted) {
		value_explain_quotes(text, " (tail)", why, sizeof(why));
		check_why(why);
	}
	if (hash) {
		value_explain_hash_comment(text, why, sizeof(why));
		check_why(why);
	}
}

static void fuzz_core_check(unsigned param, const char *text)
{
	const struct core_section *cs;
	const struct sweeper_key *k;
	size_t nkeys = 0, pick;
	char why[1024];

	for (cs = core_sections; cs->name; cs++)
		for (k = cs->keys; k->name; k++)
			nkeys++;
	pick = param % nkeys;
	for (cs = core_sections; cs->name; cs++) {
		for (k = cs->keys; k->name; k++) {
			if (pick-- == 0)
				goto found;
		}
	}
	return;
found:
	why[0] = '\0';
	if (core_value_check(cs->name, k, text, why, sizeof(why)) == 0)
		return;
	check_why(why);
	/* A DSN, a secret and a webhook URL may hold credentials. */
	if (strcmp(k->name, "dsn") == 0 || strcmp(k->name, "secret") == 0 ||
	    strcmp(k->name, "url") == 0)
		FUZZ_CHECK(!strstr(text, SENTINEL) || !strstr(why, SENTINEL),
			   "a message repeats a secret");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned op, param;
	char *text;

	if (size < 2)
		return 0;
	op = data[0] % OP_COUNT;
	param = data[1];
	text = fuzz_strndup(data + 2, size - 2);
	switch (op) {
	case OP_DURATION:
		fuzz_duration(text);
		break;
	case OP_UINT:
		fuzz_uint(text);
		break;
	case OP_DECIMAL:
		fuzz_decimal(text);
		break;
	case OP_BOOL:
		fuzz_bool(text);
		break;
	case OP_LIST:
		fuzz_list(text);
		break;
	case OP_VALUE_CHECK:
		fuzz_value_check(param, text);
		break;
	case OP_QUOTE:
		fuzz_quote(param, text);
		break;
	case OP_UTF8:
		fuzz_utf8(text);
		break;
	case OP_QUOTES_AND_COMMENTS:
		fuzz_quotes_and_comments(text);
		break;
	case OP_CORE_CHECK:
		fuzz_core_check(param, text);
		break;
	}
	free(text);
	return 0;
}
