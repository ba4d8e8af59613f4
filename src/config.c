/*
 * config.c: reading the INI configuration file and resolving it.
 *
 * inih does the parsing, but it gives its handler no line numbers, splits
 * lines longer than its buffer, and treats an indented line as the
 * continuation of the previous value.  Each of those turns a typo into a
 * silently wrong setting, and a wrong setting here decides which rows get
 * deleted.  So inih reads the file through config_read_line(), which
 * counts lines, refuses over-long ones and lines inih would misread, and
 * hands inih every line without its indentation: a continuation can never
 * happen, and an indented "key = value" is read as the key it looks like.
 *
 * The file is read whole first, through safe_file.h, so that a FIFO, a
 * device or a huge file given with -c is refused before a byte is parsed.
 * Debian builds inih with a 200-byte line buffer, too short for a DSN
 * with certificate paths or a webhook URL with its token.  A setting that
 * does not fit reaches inih as its key with an empty stand-in value; the
 * reader keeps the value, split off as inih would, and the handler takes
 * it from there.  A header too long for inih reaches it as "[]": the
 * handler reads the section the reader kept in any case.
 *
 * Checks run in file order while inih reads, so the first error reported
 * is the first one in the file.  The core keys and the checks of their
 * values live in config_keys.c; this file finds the keys, rejects unknown
 * and repeated ones, and reports what those checks say.  Checks that need
 * the whole file (a [rule.NAME] section for a rule missing from `rules`,
 * secret and secret_file both set) run after it.
 */
#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "config.h"
#include "config_keys.h"
#include "db.h"
#include "ident.h"
#include "log.h"
#include "safe_file.h"
#include "values.h"

#define RULE_PREFIX "rule."
#define TARGET_PREFIX "target."
#define TARGET_SCHEMA_PREFIX "schema."

/* Longest name the edit distance is computed for; longer ones get no
 * suggestion. */
#define SUGGEST_MAX 64

/* A [rule.NAME] header, remembered to check NAME against `rules`. */
struct section_mark {
	char *name;
	int line;
};

/* What config_load() carries through inih's callbacks. */
struct load_state {
	struct config *cfg;
	char *data;              /* the whole file, NUL-terminated */
	size_t len;
	size_t pos;              /* start of the next line in data */
	char *long_value;        /* value of a line inih gets a stand-in for */
	int lineno;
	char *section;           /* current section; NULL before the first */
	size_t entries_alloc;
	struct section_mark *marks;
	size_t nmarks;
	size_t marks_alloc;
	/* [target.NAME] headers, in file order, each name once. */
	struct section_mark *tmarks;
	size_t ntmarks;
	size_t tmarks_alloc;
	int failed;              /* err holds the first error: stop */
	char *err;
	size_t errlen;
};

static void buf_vadd(char *buf, size_t size, size_t *len, const char *fmt,
		     va_list ap)
{
	int n;

	if (*len >= size)
		return;
	n = vsnprintf(buf + *len, size - *len, fmt, ap);
	if (n > 0)
		*len += (size_t)n;
}

static void buf_add(char *buf, size_t size, size_t *len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void buf_add(char *buf, size_t size, size_t *len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	buf_vadd(buf, size, len, fmt, ap);
	va_end(ap);
}

/* Show a section or key name as written, made safe like a value but
 * without the quotes. */
static void name_show(const char *name, char *buf, size_t size)
{
	char q[VALUE_QUOTE_MAX];
	size_t len;

	value_quote(name, q, sizeof(q));
	len = strlen(q);
	snprintf(buf, size, "%.*s", (int)(len >= 2 ? len - 2 : 0), q + 1);
}

/*
 * Write "PATH:LINE: [SECTION] KEY: message" into err; LINE 0 leaves out
 * the line, a NULL section or key leaves out that part.
 */
static void msg_vset(char *err, size_t errlen, const char *path, int line,
		     const char *section, const char *key, const char *fmt,
		     va_list ap)
{
	char name[VALUE_QUOTE_MAX];
	size_t len = 0;

	if (!err || errlen == 0)
		return;
	err[0] = '\0';
	if (line > 0)
		buf_add(err, errlen, &len, "%s:%d: ", path, line);
	else
		buf_add(err, errlen, &len, "%s: ", path);
	if (section) {
		name_show(section, name, sizeof(name));
		buf_add(err, errlen, &len, "[%s] ", name);
	}
	if (key) {
		name_show(key, name, sizeof(name));
		buf_add(err, errlen, &len, "%s: ", name);
	}
	buf_vadd(err, errlen, &len, fmt, ap);
}

static void msg_set(char *err, size_t errlen, const char *path, int line,
		    const char *section, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 7, 8)));

static void msg_set(char *err, size_t errlen, const char *path, int line,
		    const char *section, const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	msg_vset(err, errlen, path, line, section, key, fmt, ap);
	va_end(ap);
}

static void load_error(struct load_state *st, int line, const char *section,
		       const char *key, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* Record the first error of a load; later ones are consequences. */
static void load_error(struct load_state *st, int line, const char *section,
		       const char *key, const char *fmt, ...)
{
	va_list ap;

	if (st->failed)
		return;
	st->failed = 1;
	va_start(ap, fmt);
	msg_vset(st->err, st->errlen, st->cfg->path, line, section, key, fmt,
		 ap);
	va_end(ap);
}

static void load_oom(struct load_state *st)
{
	load_error(st, st->lineno, NULL, NULL,
		   "out of memory while reading the configuration");
}

/*
 * Edit distance with adjacent transpositions, ignoring case: "batchsize"
 * and "bacth_size" are both one or two edits from "batch_size".  Returns
 * INT_MAX for names too long to bother with.
 */
static int edit_distance(const char *a, const char *b)
{
	int d[SUGGEST_MAX + 1][SUGGEST_MAX + 1];
	size_t la = strlen(a);
	size_t lb = strlen(b);
	size_t i;
	size_t j;

	if (la > SUGGEST_MAX || lb > SUGGEST_MAX)
		return INT_MAX;
	for (i = 0; i <= la; i++)
		d[i][0] = (int)i;
	for (j = 0; j <= lb; j++)
		d[0][j] = (int)j;
	for (i = 1; i <= la; i++) {
		for (j = 1; j <= lb; j++) {
			int ca = tolower((unsigned char)a[i - 1]);
			int cb = tolower((unsigned char)b[j - 1]);
			int cost = ca != cb;
			int best = d[i - 1][j - 1] + cost;

			if (d[i - 1][j] + 1 < best)
				best = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < best)
				best = d[i][j - 1] + 1;
			if (i > 1 && j > 1 &&
			    ca == tolower((unsigned char)b[j - 2]) &&
			    tolower((unsigned char)a[i - 2]) == cb &&
			    d[i - 2][j - 2] + 1 < best)
				best = d[i - 2][j - 2] + 1;
			d[i][j] = best;
		}
	}
	return d[la][lb];
}

/*
 * Whether `candidate` is a likely meant by `typed`: within two edits, and
 * fewer edits than `typed` has characters, so "x" suggests nothing.
 */
static int suggest_better(const char *typed, const char *candidate,
			  int *best)
{
	int d = edit_distance(typed, candidate);

	if (d > 2 || d >= *best || (size_t)d >= strlen(typed))
		return 0;
	*best = d;
	return 1;
}

static const char *key_suggest(const struct sweeper_key *keys,
			       const char *typed)
{
	const struct sweeper_key *k;
	const char *found = NULL;
	int best = INT_MAX;

	for (k = keys; k && k->name; k++) {
		if (suggest_better(typed, k->name, &best))
			found = k->name;
	}
	return found;
}

/* "a, b, c" from the names of `keys`. */
static void key_list(const struct sweeper_key *keys, char *buf, size_t size)
{
	const struct sweeper_key *k;
	size_t len = 0;

	buf[0] = '\0';
	for (k = keys; k && k->name; k++)
		buf_add(buf, size, &len, "%s%s", k == keys ? "" : ", ",
			k->name);
}

const struct config_entry *config_entry_find(const struct config *cfg,
					     const char *section,
					     const char *key)
{
	size_t i;

	for (i = 0; i < cfg->nentries; i++) {
		const struct config_entry *e = &cfg->entries[i];

		if (strcmp(e->section, section) == 0 &&
		    strcmp(e->key, key) == 0)
			return e;
	}
	return NULL;
}

const char *config_written(const struct config *cfg, const char *section,
			   const char *key)
{
	const struct config_entry *e = config_entry_find(cfg, section, key);

	return e ? e->value : NULL;
}

/* The written value of a core key, or its default. */
static const char *core_value(const struct config *cfg, const char *section,
			      const char *key)
{
	const struct sweeper_key *decl;
	const char *v = config_written(cfg, section, key);

	if (v)
		return v;
	decl = core_key_find(section, key);
	return decl ? decl->default_value : NULL;
}

const char *config_schema(const struct config *cfg, const char *key)
{
	if (!core_key_find("schema", key))
		return NULL;
	return core_value(cfg, "schema", key);
}

/*
 * Mirror of inih's find_chars_or_comment(): the first of `chars`, or the
 * ';' of an inline comment (one after a blank), or the end.  The reader
 * uses it to see a line exactly as inih will.
 */
static const char *ini_find(const char *s, const char *chars)
{
	int was_space = 0;

	while (*s && !strchr(chars, *s) && !(was_space && *s == ';')) {
		was_space = isspace((unsigned char)*s);
		s++;
	}
	return s;
}

/* A copy of s[0..len) without surrounding white space, or NULL. */
static char *dup_trimmed(const char *s, size_t len)
{
	while (len > 0 && isspace((unsigned char)*s)) {
		s++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)s[len - 1]))
		len--;
	return strndup(s, len);
}

static void section_unknown(struct load_state *st, const char *name)
{
	char shown[VALUE_QUOTE_MAX];
	const struct core_section *cs;
	const char *found = NULL;
	int best = INT_MAX;

	name_show(name, shown, sizeof(shown));
	if (strncasecmp(name, "rules.", 6) == 0 ||
	    strncasecmp(name, "rule_", 5) == 0 ||
	    strncasecmp(name, "rule:", 5) == 0) {
		char rest[VALUE_QUOTE_MAX];

		name_show(name + (tolower((unsigned char)name[4]) == 's' ? 6 : 5),
			  rest, sizeof(rest));
		load_error(st, st->lineno, NULL, NULL,
			   "unknown section [%s]; did you mean [rule.%s]?",
			   shown, rest);
		return;
	}
	for (cs = core_sections; cs->name; cs++) {
		if (suggest_better(name, cs->name, &best))
			found = cs->name;
	}
	if (found)
		load_error(st, st->lineno, NULL, NULL,
			   "unknown section [%s]; did you mean [%s]?", shown,
			   found);
	else
		load_error(st, st->lineno, NULL, NULL,
			   "unknown section [%s]; the sections are [database], [sweeper], [schema], [webhook], [ledger], [rule.NAME] and [target.NAME]",
			   shown);
}

static int marks_push(struct section_mark **marks, size_t *n,
		      size_t *alloc, const char *name, int line)
{
	if (*n == *alloc) {
		size_t want = *alloc * 2 + 4;
		struct section_mark *m;

		m = realloc(*marks, want * sizeof(*m));
		if (!m)
			return -1;
		*marks = m;
		*alloc = want;
	}
	(*marks)[*n].name = strdup(name);
	if (!(*marks)[*n].name)
		return -1;
	(*marks)[*n].line = line;
	(*n)++;
	return 0;
}

static int mark_add(struct load_state *st, const char *name)
{
	return marks_push(&st->marks, &st->nmarks, &st->marks_alloc, name,
			  st->lineno);
}

/*
 * A [target.NAME] header: NAME is what --target and the summary show,
 * and NAME/SCHEMA names a tenant, so it holds no '/' and nothing a
 * shell or a metrics label would need quoted.
 */
static void target_header(struct load_state *st, const char *name)
{
	const char *t = name + strlen(TARGET_PREFIX);
	char shown[VALUE_QUOTE_MAX];
	const char *p;
	size_t i;

	for (p = t; *p; p++) {
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-')
			break;
	}
	if (*t == '\0' || *p || strlen(t) > CONFIG_TARGET_NAME_MAX) {
		name_show(name, shown, sizeof(shown));
		load_error(st, st->lineno, NULL, NULL,
			   "section [%s] does not name a target; write [target.NAME] with a NAME of letters, digits, '_' and '-' (at most %d), e.g. [target.eu_shard1]",
			   shown, CONFIG_TARGET_NAME_MAX);
		return;
	}
	for (i = 0; i < st->ntmarks; i++) {
		if (strcmp(st->tmarks[i].name, t) == 0)
			return;
	}
	if (marks_push(&st->tmarks, &st->ntmarks, &st->tmarks_alloc, t,
		       st->lineno) != 0)
		load_oom(st);
}

/*
 * Whether a line that cannot be read may hold a password or a key, so
 * that its message must not show it: any line in [database] or [webhook],
 * and any line that names a dsn, a password or a secret, or holds a URL
 * (which may carry a credential, as Slack's do).
 */
static int line_may_hold_secret(const struct load_state *st, const char *line)
{
	static const char *const words[] = {
		"dsn", "password", "secret", "whsec_", "://"
	};
	size_t i;

	if (st->section && (strcmp(st->section, "database") == 0 ||
			    strcmp(st->section, "webhook") == 0 ||
			    strncmp(st->section, TARGET_PREFIX,
				    strlen(TARGET_PREFIX)) == 0))
		return 1;
	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (strcasestr(line, words[i]))
			return 1;
	}
	return 0;
}

/* The line quoted for a message, or `noun` with a note that it is not
 * shown. */
static void line_show(const struct load_state *st, const char *line,
		      const char *noun, char *shown, size_t size)
{
	if (line_may_hold_secret(st, line))
		snprintf(shown, size,
			 "%s (not shown, as it may hold a password)", noun);
	else
		value_quote(line, shown, size);
}

/* Read a "[name]" line (inih reads it the same way) into st->section. */
static void section_read(struct load_state *st, const char *line)
{
	char shown[VALUE_QUOTE_MAX];
	const char *end = ini_find(line + 1, "]");
	const char *rest;
	char *name;

	if (*end != ']') {
		if (line_may_hold_secret(st, line))
			load_error(st, st->lineno, NULL, NULL,
				   "a section header has no closing ']' (the line is not shown, as it may hold a password); write the section name in brackets, e.g. [sweeper]");
		else {
			value_quote(line, shown, sizeof(shown));
			load_error(st, st->lineno, NULL, NULL,
				   "section header %s has no closing ']'; write the section name in brackets, e.g. [sweeper]",
				   shown);
		}
		return;
	}
	for (rest = end + 1; isspace((unsigned char)*rest); rest++)
		;
	if (*rest && *rest != ';' && *rest != '#') {
		line_show(st, rest, "text", shown, sizeof(shown));
		load_error(st, st->lineno, NULL, NULL,
			   "unexpected %s after the section header; remove it or start a comment with ';'",
			   shown);
		return;
	}

	name = dup_trimmed(line + 1, (size_t)(end - line - 1));
	if (!name) {
		load_oom(st);
		return;
	}
	free(st->section);
	st->section = name;

	if (name[0] == '\0') {
		load_error(st, st->lineno, NULL, NULL,
			   "empty section name []; write one of [database], [sweeper], [schema], [webhook], [ledger] or [rule.NAME]");
		return;
	}
	if (core_section_find(name))
		return;
	if (strncmp(name, TARGET_PREFIX, strlen(TARGET_PREFIX)) == 0) {
		target_header(st, name);
		return;
	}
	if (strncmp(name, RULE_PREFIX, strlen(RULE_PREFIX)) != 0) {
		section_unknown(st, name);
		return;
	}
	if (name[strlen(RULE_PREFIX)] == '\0') {
		load_error(st, st->lineno, NULL, NULL,
			   "section [rule.] names no rule; write [rule.NAME] with a NAME from rules = ... in [sweeper]");
		return;
	}
	if (mark_add(st, name) != 0)
		load_oom(st);
}

/*
 * Check a "key = value" line the way inih will split it, so that a line it
 * would refuse gets a message that says why.
 */
static void setting_read(struct load_state *st, const char *line)
{
	char shown[VALUE_QUOTE_MAX];
	const char *end = ini_find(line, "=:");

	if (*end != '=' && *end != ':') {
		line_show(st, line, "this line", shown, sizeof(shown));
		load_error(st, st->lineno, NULL, NULL,
			   "%s is not a setting; write key = value, a [section] header, or a comment starting with ';' or '#' (a value cannot go on over several lines)",
			   shown);
		return;
	}
	if (end == line) {
		line_show(st, line, "this line", shown, sizeof(shown));
		load_error(st, st->lineno, NULL, NULL,
			   "%s has no key before '%c'; write key = value",
			   shown, *end);
	}
}

/*
 * Hand inih a setting or section header too long for its buffer of `num`
 * bytes: the key with an empty value, whose real value the handler takes
 * from st->long_value, or an empty header.  Returns `str`, or NULL after
 * an error.
 */
static char *config_stand_in(struct load_state *st, const char *line,
			     char *str, int num)
{
	const char *end;
	const char *key_end;

	if (*line == '[') {
		snprintf(str, (size_t)num, "[]\n");
		return str;
	}
	end = ini_find(line, "=:");
	for (key_end = end; key_end > line &&
	     isspace((unsigned char)key_end[-1]); key_end--)
		;
	/* "KEY=\n" and the NUL must fit. */
	if (key_end - line + 3 > num) {
		load_error(st, st->lineno, NULL, NULL,
			   "the key is too long (over %d characters); keys are short names such as batch_size",
			   num - 3);
		return NULL;
	}
	/* The value as inih splits it: up to an inline "; comment", trimmed. */
	st->long_value = dup_trimmed(end + 1,
				     (size_t)(ini_find(end + 1, "") - end - 1));
	if (!st->long_value) {
		load_oom(st);
		return NULL;
	}
	snprintf(str, (size_t)num, "%.*s=\n", (int)(key_end - line), line);
	return str;
}

/*
 * The ini_reader: fgets() for inih, one line of st->data per call, with
 * each line checked and reduced to what inih should see.  Returning NULL
 * ends the parse, which is how an error found here stops it.
 */
static char *config_read_line(char *str, int num, void *stream)
{
	struct load_state *st = stream;
	char *line;
	char *nl;
	char *p;
	size_t len;

	free(st->long_value);
	st->long_value = NULL;
	/* inih's buffer always holds far more than "[]\n". */
	if (st->failed || num < 8 || st->pos >= st->len)
		return NULL;
	line = st->data + st->pos;
	nl = memchr(line, '\n', st->len - st->pos);
	len = nl ? (size_t)(nl - line) : st->len - st->pos;
	st->pos += len + (nl ? 1 : 0);
	st->lineno++;
	if (memchr(line, '\0', len)) {
		load_error(st, st->lineno, NULL, NULL,
			   "line holds a NUL byte; the configuration must be a text file");
		return NULL;
	}
	/* The '\n', or the NUL safe_file_read() put after the data. */
	line[len] = '\0';

	/* Windows editors end lines with "\r\n". */
	while (len > 0 && line[len - 1] == '\r')
		line[--len] = '\0';
	if (len > CONFIG_LINE_MAX) {
		load_error(st, st->lineno, NULL, NULL,
			   "line too long (over %d bytes); shorten it",
			   CONFIG_LINE_MAX);
		return NULL;
	}
	p = line;
	if (st->lineno == 1 && strncmp(p, "\xef\xbb\xbf", 3) == 0)
		p += 3;
	while (isspace((unsigned char)*p))
		p++;
	len = strlen(p);
	while (len > 0 && isspace((unsigned char)p[len - 1]))
		p[--len] = '\0';

	/* Comments are not inih's business. */
	if (*p == '\0' || *p == ';' || *p == '#') {
		strcpy(str, "\n");
		return str;
	}
	if (*p == '[')
		section_read(st, p);
	else
		setting_read(st, p);
	if (st->failed)
		return NULL;

	/*
	 * inih reads into a buffer of num bytes, and would split a longer
	 * line into pieces it parses as lines of their own.  A line of
	 * num - 1 characters still fits whole, without its '\n', which inih
	 * does not need.
	 */
	if (len > (size_t)num - 1)
		return config_stand_in(st, p, str, num);
	memcpy(str, p, len);
	if (len + 1 < (size_t)num)
		str[len++] = '\n';
	str[len] = '\0';
	return str;
}

static int entry_add(struct load_state *st, const char *key, const char *value)
{
	struct config *cfg = st->cfg;
	struct config_entry *e;

	if (cfg->nentries == st->entries_alloc) {
		size_t want = st->entries_alloc * 2 + 16;

		e = realloc(cfg->entries, want * sizeof(*e));
		if (!e)
			return -1;
		cfg->entries = e;
		st->entries_alloc = want;
	}
	e = &cfg->entries[cfg->nentries];
	memset(e, 0, sizeof(*e));
	cfg->nentries++;
	e->line = st->lineno;
	e->section = strdup(st->section);
	e->key = strdup(key);
	e->value = strdup(value);
	if (!e->section || !e->key || !e->value)
		return -1;
	return 0;
}


static void key_unknown(struct load_state *st, const char *section,
			const struct sweeper_key *keys, const char *key)
{
	char shown[VALUE_QUOTE_MAX];
	char list[512];
	const char *found = key_suggest(keys, key);
	const char *home = core_key_locate(key);

	value_quote(key, shown, sizeof(shown));
	if (found) {
		load_error(st, st->lineno, section, NULL,
			   "unknown key %s; did you mean '%s'?", shown, found);
	} else if (home) {
		load_error(st, st->lineno, section, NULL,
			   "unknown key %s; it belongs in [%s]", shown, home);
	} else {
		key_list(keys, list, sizeof(list));
		load_error(st, st->lineno, section, NULL,
			   "unknown key %s; the keys of [%s] are %s", shown,
			   section, list);
	}
}

/*
 * A key of a [target.NAME] section: a [database] key, schema.KEY for a
 * [schema] key, or tenants_query; each value checked as in its own
 * section.  Returns 1 to go on, 0 after an error.
 */
static int target_entry(struct load_state *st, const struct config_entry *e)
{
	const struct sweeper_key *decl;
	const char *section = "database";
	const char *key = e->key;
	char shown[VALUE_QUOTE_MAX];
	char why[512];

	if (strcmp(e->key, "tenants_query") == 0) {
		const char *q = e->value;

		while (isspace((unsigned char)*q))
			q++;
		if (strncasecmp(q, "select", 6) == 0 ||
		    strncasecmp(q, "with", 4) == 0 ||
		    strncasecmp(q, "values", 6) == 0 ||
		    strncasecmp(q, "table", 5) == 0)
			return 1;
		load_error(st, e->line, e->section, e->key,
			   "the value is not a query; write a SELECT whose rows are schema names, e.g. tenants_query = SELECT schema_name FROM public.customers_client");
		return 0;
	}
	if (strncmp(e->key, TARGET_SCHEMA_PREFIX,
		    strlen(TARGET_SCHEMA_PREFIX)) == 0) {
		section = "schema";
		key = e->key + strlen(TARGET_SCHEMA_PREFIX);
	}
	decl = core_key_find(section, key);
	if (!decl) {
		value_quote(e->key, shown, sizeof(shown));
		if (strcmp(section, "schema") == 0)
			load_error(st, e->line, e->section, NULL,
				   "unknown key %s; schema.KEY takes a key of [schema], e.g. schema.users_table = accounts_user",
				   shown);
		else if (core_key_find("schema", key))
			load_error(st, e->line, e->section, NULL,
				   "unknown key %s; a [schema] key is written schema.%s here",
				   shown, key);
		else
			load_error(st, e->line, e->section, NULL,
				   "unknown key %s; a target takes the keys of [database] (dsn, password_file, ...), schema.KEY for a key of [schema], and tenants_query",
				   shown);
		return 0;
	}
	why[0] = '\0';
	if (core_value_check(section, decl, e->value, why, sizeof(why)) != 0) {
		load_error(st, e->line, e->section, e->key, "%s", why);
		return 0;
	}
	return 1;
}

/* The ini_handler: one call per "key = value", in file order. */
static int config_handle_entry(void *user, const char *section,
			       const char *key, const char *value)
{
	struct load_state *st = user;
	struct config *cfg = st->cfg;
	const struct config_entry *e;
	const struct config_entry *first;
	const struct core_section *cs;
	const struct sweeper_key *decl;
	char why[512];
	char shown[VALUE_QUOTE_MAX];

	/* inih cuts its copy of the section name at 49 bytes; the reader
	 * kept the whole one. */
	(void)section;
	if (st->failed)
		return 0;
	if (st->long_value)
		value = st->long_value;
	if (!st->section) {
		const char *home = core_key_locate(key);

		value_quote(key, shown, sizeof(shown));
		if (home)
			load_error(st, st->lineno, NULL, NULL,
				   "key %s is outside any section; put it under [%s]",
				   shown, home);
		else
			load_error(st, st->lineno, NULL, NULL,
				   "key %s is outside any section; put it under its [section] header",
				   shown);
		return 0;
	}
	if (entry_add(st, key, value) != 0) {
		load_oom(st);
		return 0;
	}
	e = &cfg->entries[cfg->nentries - 1];

	/* The new entry is the last one, so an earlier match is a repeat. */
	first = config_entry_find(cfg, e->section, e->key);
	if (first != e) {
		load_error(st, e->line, e->section, e->key,
			   "set twice, on lines %d and %d; keep only one",
			   first->line, e->line);
		return 0;
	}

	if (strncmp(e->section, TARGET_PREFIX, strlen(TARGET_PREFIX)) == 0)
		return target_entry(st, e);
	/* [rule.NAME] sections wait for their plugin's declared keys. */
	cs = core_section_find(e->section);
	if (!cs)
		return 1;
	decl = key_table_find(cs->keys, e->key);
	if (!decl) {
		key_unknown(st, e->section, cs->keys, e->key);
		return 0;
	}
	why[0] = '\0';
	if (core_value_check(e->section, decl, e->value, why, sizeof(why)) != 0) {
		load_error(st, e->line, e->section, e->key, "%s", why);
		return 0;
	}
	return 1;
}

/*
 * Join a path relative to the config file's directory.  The result is
 * absolute, because the plugin loader accepts only absolute directories,
 * and "." and empty components are dropped; ".." is kept, since only the
 * file system knows what it leads to through a symbolic link.
 */
static int path_resolve(const char *config_path, const char *rel, char **out)
{
	const char *slash = strrchr(config_path, '/');
	char *cwd = NULL;
	char *joined = NULL;
	char *result = NULL;
	char *part;
	char *save = NULL;
	size_t len = 0;
	int ret = -1;

	*out = NULL;
	if (rel[0] == '/') {
		joined = strdup(rel);
	} else if (config_path[0] == '/') {
		if (asprintf(&joined, "%.*s/%s",
			     (int)(slash - config_path), config_path, rel) < 0)
			joined = NULL;
	} else {
		cwd = getcwd(NULL, 0);
		if (!cwd)
			goto out;
		if (asprintf(&joined, "%s/%.*s/%s", cwd,
			     slash ? (int)(slash - config_path) : 0,
			     config_path, rel) < 0)
			joined = NULL;
	}
	if (!joined)
		goto out;

	/* The result is never longer than the joined path. */
	result = malloc(strlen(joined) + 2);
	if (!result)
		goto out;
	for (part = strtok_r(joined, "/", &save); part;
	     part = strtok_r(NULL, "/", &save)) {
		if (strcmp(part, ".") == 0)
			continue;
		result[len++] = '/';
		memcpy(result + len, part, strlen(part));
		len += strlen(part);
	}
	if (len == 0)
		result[len++] = '/';
	result[len] = '\0';
	*out = result;
	result = NULL;
	ret = 0;
out:
	free(cwd);
	free(joined);
	free(result);
	return ret;
}

/*
 * Parse a checked value (or a default) into *out with `parse`, which is
 * duration_parse() or uint_parse(); `what` names what it reads, for the
 * message.  Only a bad built-in default can fail here, since every value
 * in the file has passed its check.
 */
static int resolve_number(struct load_state *st, const char *section,
			  const char *key,
			  int (*parse)(const char *text, long long *out),
			  const char *what, long long *out)
{
	if (parse(core_value(st->cfg, section, key), out) == 0)
		return 0;
	load_error(st, 0, section, key,
		   "the built-in default is not %s; this is a bug in mfa-sweeper, set the key in the file",
		   what);
	return -1;
}

static int resolve_duration(struct load_state *st, const char *section,
			    const char *key, long long *out)
{
	return resolve_number(st, section, key, duration_parse, "a duration",
			      out);
}

static int resolve_int(struct load_state *st, const char *section,
		       const char *key, long long *out)
{
	return resolve_number(st, section, key, uint_parse, "a number", out);
}

static int resolve_bool(struct load_state *st, const char *section,
			const char *key, int *out)
{
	if (bool_parse(core_value(st->cfg, section, key), out) == 0)
		return 0;
	load_error(st, 0, section, key,
		   "the built-in default is not a boolean; this is a bug in mfa-sweeper, set the key in the file");
	return -1;
}

/* Fill the typed fields of cfg from the checked entries and defaults. */
static int config_resolve(struct load_state *st)
{
	struct config *cfg = st->cfg;
	const struct config_entry *e;
	char *dir = NULL;

	cfg->dsn = core_value(cfg, "database", "dsn");
	if (resolve_duration(st, "database", "lock_timeout",
			     &cfg->lock_timeout_ms) != 0 ||
	    resolve_duration(st, "database", "statement_timeout",
			     &cfg->statement_timeout_ms) != 0 ||
	    resolve_duration(st, "database", "lease_ttl",
			     &cfg->lease_ttl_ms) != 0)
		return -1;
	cfg->pooler = core_value(cfg, "database", "pooler");

	/*
	 * cfg->plugin_dir always points to a copy config_free() frees, so
	 * that a resolved relative path and the default look the same to it.
	 */
	e = config_entry_find(cfg, "sweeper", "plugin_dir");
	if (!e) {
		dir = strdup(core_value(cfg, "sweeper", "plugin_dir"));
		if (!dir) {
			load_oom(st);
			return -1;
		}
	} else if (path_resolve(cfg->path, e->value, &dir) != 0) {
		load_error(st, e->line, e->section, e->key,
			   "cannot make the relative path absolute: %s; write an absolute path",
			   strerror(errno ? errno : ENOMEM));
		return -1;
	}
	cfg->plugin_dir = dir;

	if (list_split(core_value(cfg, "sweeper", "rules"), &cfg->rules,
		       &cfg->nrules) != 0) {
		load_oom(st);
		return -1;
	}
	/* An empty batch_size, like none, leaves the size adaptive (0). */
	cfg->batch_size = 0;
	if ((core_value(cfg, "sweeper", "batch_size")[0] != '\0' &&
	     resolve_int(st, "sweeper", "batch_size", &cfg->batch_size) != 0) ||
	    resolve_duration(st, "sweeper", "max_runtime",
			     &cfg->max_runtime_ms) != 0 ||
	    resolve_duration(st, "sweeper", "pause", &cfg->pause_ms) != 0 ||
	    resolve_duration(st, "sweeper", "batch_target",
			     &cfg->batch_target_ms) != 0 ||
	    resolve_int(st, "sweeper", "batch_min", &cfg->batch_min) != 0 ||
	    resolve_int(st, "sweeper", "batch_max", &cfg->batch_max) != 0 ||
	    resolve_duration(st, "sweeper", "max_replica_lag",
			     &cfg->max_replica_lag_ms) != 0 ||
	    resolve_duration(st, "sweeper", "max_throttle",
			     &cfg->max_throttle_ms) != 0 ||
	    resolve_int(st, "sweeper", "max_rows", &cfg->max_rows) != 0 ||
	    resolve_int(st, "sweeper", "jobs", &cfg->jobs) != 0 ||
	    resolve_int(st, "sweeper", "workers", &cfg->workers) != 0 ||
	    resolve_int(st, "sweeper", "max_rate", &cfg->max_rate) != 0)
		return -1;
	cfg->metrics_file = core_value(cfg, "sweeper", "metrics_file");
	if (resolve_int(st, "sweeper", "retries", &cfg->retries) != 0 ||
	    resolve_duration(st, "sweeper", "retry_backoff",
			     &cfg->retry_backoff_ms) != 0 ||
	    resolve_duration(st, "sweeper", "stop_timeout",
			     &cfg->stop_timeout_ms) != 0)
		return -1;
	if (decimal_parse(core_value(cfg, "sweeper", "pause_ratio"),
			  &cfg->pause_ratio) != 0) {
		load_error(st, 0, "sweeper", "pause_ratio",
			   "the built-in default is not a number; this is a bug in mfa-sweeper, set the key in the file");
		return -1;
	}

	cfg->webhook_url = core_value(cfg, "webhook", "url");
	cfg->webhook_format = core_value(cfg, "webhook", "format");
	cfg->webhook_secret = core_value(cfg, "webhook", "secret");
	cfg->webhook_secret_file = core_value(cfg, "webhook", "secret_file");
	if (resolve_duration(st, "webhook", "timeout",
			     &cfg->webhook_timeout_ms) != 0 ||
	    resolve_int(st, "webhook", "retries", &cfg->webhook_retries) != 0 ||
	    resolve_duration(st, "webhook", "max_time",
			     &cfg->webhook_max_time_ms) != 0 ||
	    resolve_duration(st, "webhook", "backoff",
			     &cfg->webhook_backoff_ms) != 0 ||
	    resolve_bool(st, "webhook", "required",
			 &cfg->webhook_required) != 0)
		return -1;

	if (bool_parse(core_value(cfg, "ledger", "enabled"),
		       &cfg->ledger_enabled) != 0) {
		load_error(st, 0, "ledger", "enabled",
			   "the built-in default is not a boolean; this is a bug in mfa-sweeper, set the key in the file");
		return -1;
	}
	cfg->ledger_schema = core_value(cfg, "ledger", "schema");
	return 0;
}

static int rule_listed(const struct config *cfg, const char *name)
{
	size_t i;

	for (i = 0; i < cfg->nrules; i++) {
		if (strcmp(cfg->rules[i], name) == 0)
			return 1;
	}
	return 0;
}

/* Checks that need the whole file, run once it is read. */
static int config_check_whole(struct load_state *st)
{
	struct config *cfg = st->cfg;
	const struct config_entry *secret;
	const struct config_entry *file;
	const struct config_entry *later;
	size_t i;

	for (i = 0; i < st->nmarks; i++) {
		const char *rule = st->marks[i].name + strlen(RULE_PREFIX);
		char shown[VALUE_QUOTE_MAX];

		if (rule_listed(cfg, rule))
			continue;
		name_show(st->marks[i].name, shown, sizeof(shown));
		load_error(st, st->marks[i].line, NULL, NULL,
			   "section [%s] is for a rule not listed in 'rules'; add it to rules = ... in [sweeper] or remove the section",
			   shown);
		return -1;
	}

	if (cfg->batch_min > cfg->batch_max) {
		const struct config_entry *lo =
			config_entry_find(cfg, "sweeper", "batch_min");
		const struct config_entry *hi =
			config_entry_find(cfg, "sweeper", "batch_max");

		later = !hi || (lo && lo->line > hi->line) ? lo : hi;
		load_error(st, later->line, later->section, later->key,
			   "batch_min (%lld) is larger than batch_max (%lld); make batch_min at most batch_max",
			   cfg->batch_min, cfg->batch_max);
		return -1;
	}

	if (st->ntmarks) {
		cfg->targets = calloc(st->ntmarks, sizeof(*cfg->targets));
		if (!cfg->targets) {
			load_oom(st);
			return -1;
		}
	}
	for (i = 0; i < st->ntmarks; i++) {
		struct config_target *t = &cfg->targets[cfg->ntargets++];
		char section[128];

		snprintf(section, sizeof(section), TARGET_PREFIX "%s",
			 st->tmarks[i].name);
		t->name = strdup(st->tmarks[i].name);
		if (!t->name) {
			load_oom(st);
			return -1;
		}
		t->line = st->tmarks[i].line;
		t->tenants_query = config_written(cfg, section,
						  "tenants_query");
	}

	secret = config_entry_find(cfg, "webhook", "secret");
	file = config_entry_find(cfg, "webhook", "secret_file");
	if (secret && file && secret->value[0] && file->value[0]) {
		later = secret->line > file->line ? secret : file;
		load_error(st, later->line, later->section, later->key,
			   "both secret (line %d) and secret_file (line %d) are set; keep only one of them",
			   secret->line, file->line);
		return -1;
	}
	return 0;
}

/*
 * Whether the host of an http:// `url` is this machine: localhost,
 * 127.0.0.0/8 or [::1].  Requests to it never cross a network.
 */
static int url_is_loopback(const char *url)
{
	const char *host = url + strlen("http://");
	const char *end = host + strcspn(host, "/?#");
	const char *at = memchr(host, '@', (size_t)(end - host));
	char name[256];
	struct in_addr a4;
	size_t len;

	if (at)
		host = at + 1;
	if (*host == '[') {
		end = strchr(host, ']');
		if (!end)
			return 0;
		host++;
	} else {
		end = host + strcspn(host, ":/?#");
	}
	len = (size_t)(end - host);
	if (len == 0 || len >= sizeof(name))
		return 0;
	memcpy(name, host, len);
	name[len] = '\0';
	if (strcasecmp(name, "localhost") == 0 || strcmp(name, "::1") == 0)
		return 1;
	return inet_pton(AF_INET, name, &a4) == 1 &&
	       (ntohl(a4.s_addr) >> 24) == 127;
}

void config_warn_exposed(const struct config *cfg)
{
	const struct config_entry *dsn = config_entry_find(cfg, "database", "dsn");
	const struct config_entry *secret = config_entry_find(cfg, "webhook", "secret");
	const struct config_entry *url = config_entry_find(cfg, "webhook", "url");
	struct stat sb;
	unsigned mode = 0;
	int exposed, signed_hook;
	size_t i;

	/* The file as it is now; a warning can afford the second look. */
	exposed = stat(cfg->path, &sb) == 0 && S_ISREG(sb.st_mode) &&
		  (sb.st_mode & (S_IRWXG | S_IRWXO));
	if (exposed)
		mode = (unsigned)(sb.st_mode & 07777);
	if (exposed && dsn && db_dsn_has_password(dsn->value))
		log_msg(SWEEPER_LOG_WARN,
			"%s:%d: [database] dsn: the dsn holds a password, and group or others may read this file (mode %04o); move the password to password_file (or chmod 600 '%s' if only the user the sweeper runs as reads it)",
			cfg->path, dsn->line, mode, cfg->path);
	if (exposed && secret && secret->value[0])
		log_msg(SWEEPER_LOG_WARN,
			"%s:%d: [webhook] secret: group or others may read this file (mode %04o), and with it the webhook's key; move the key to secret_file (or chmod 600 '%s' if only the user the sweeper runs as reads it)",
			cfg->path, secret->line, mode, cfg->path);
	signed_hook = (cfg->webhook_secret && cfg->webhook_secret[0]) ||
		      (cfg->webhook_secret_file && cfg->webhook_secret_file[0]);
	if (signed_hook && url && strncasecmp(url->value, "http://", 7) == 0 &&
	    !url_is_loopback(url->value))
		log_msg(SWEEPER_LOG_WARN,
			"%s:%d: [webhook] url: signed requests go over plain http://, where anyone on the way can read the summary and replay a request within its timestamp's tolerance; use an https:// address",
			cfg->path, url->line);
	/* A target's dsn, like [database]'s. */
	for (i = 0; exposed && i < cfg->nentries; i++) {
		const struct config_entry *e = &cfg->entries[i];
		char section[VALUE_QUOTE_MAX];

		if (strncmp(e->section, TARGET_PREFIX, strlen(TARGET_PREFIX)) != 0 ||
		    strcmp(e->key, "dsn") != 0 || !db_dsn_has_password(e->value))
			continue;
		name_show(e->section, section, sizeof(section));
		log_msg(SWEEPER_LOG_WARN,
			"%s:%d: [%s] dsn: the dsn holds a password, and group or others may read this file (mode %04o); move the password to password_file (or chmod 600 '%s' if only the user the sweeper runs as reads it)",
			cfg->path, e->line, section, mode, cfg->path);
	}
}

void config_free(struct config *cfg)
{
	size_t i;

	if (!cfg)
		return;
	for (i = 0; i < cfg->nentries; i++) {
		free(cfg->entries[i].section);
		free(cfg->entries[i].key);
		free(cfg->entries[i].value);
	}
	free(cfg->entries);
	free(cfg->path);
	for (i = 0; i < cfg->ntargets; i++)
		free((char *)cfg->targets[i].name);
	free(cfg->targets);
	free(cfg->target_name);
	free(cfg->tenant_schema);
	list_free(cfg->rules, cfg->nrules);
	/* Always a copy of our own: see config_resolve(). */
	free((char *)cfg->plugin_dir);
	memset(cfg, 0, sizeof(*cfg));
}

int config_load(struct config *cfg, const char *path, char *err,
		size_t errlen)
{
	struct load_state st;
	char why[512];
	size_t i;
	int rc;
	int ret = -1;

	memset(cfg, 0, sizeof(*cfg));
	memset(&st, 0, sizeof(st));
	st.cfg = cfg;
	st.err = err;
	st.errlen = errlen;
	if (err && errlen)
		err[0] = '\0';

	cfg->path = strdup(path);
	if (!cfg->path) {
		snprintf(err, errlen, "out of memory while reading '%s'", path);
		goto out;
	}
	rc = safe_file_read(path, 0, CONFIG_FILE_MAX, &st.data, &st.len, NULL,
			    why, sizeof(why));
	if (rc != 0) {
		snprintf(err, errlen, "%s; %s", why,
			 rc == SAFE_FILE_MISSING ?
			 "check the path given with -c/--config or MFA_SWEEPER_CONFIG" :
			 "give the configuration file itself with -c/--config or MFA_SWEEPER_CONFIG");
		goto out;
	}

	rc = ini_parse_stream(config_read_line, &st, config_handle_entry, &st);
	if (st.failed)
		goto out;
	if (rc != 0) {
		/* The reader refuses every line inih would; this is a net. */
		if (rc > 0)
			load_error(&st, rc, NULL, NULL,
				   "cannot parse this line; write key = value, a [section] header, or a comment starting with ';' or '#'");
		else
			load_oom(&st);
		goto out;
	}
	if (config_resolve(&st) != 0 || config_check_whole(&st) != 0)
		goto out;
	/*
	 * Every key has a default, so an empty file would run every rule
	 * against whatever database libpq finds: that is never meant.
	 */
	if (cfg->nentries == 0) {
		load_error(&st, 0, NULL, NULL,
			   "the file holds no settings, and would run every rule on the defaults; write at least [database] dsn = ... and [sweeper] rules = ..., as in the example configuration mfa-sweeper.ini.example");
		goto out;
	}
	ret = 0;
out:
	free(st.data);
	free(st.long_value);
	free(st.section);
	for (i = 0; i < st.nmarks; i++)
		free(st.marks[i].name);
	free(st.marks);
	for (i = 0; i < st.ntmarks; i++)
		free(st.tmarks[i].name);
	free(st.tmarks);
	if (ret != 0)
		config_free(cfg);
	return ret;
}

const struct config_target *config_target_find(const struct config *cfg,
					       const char *name)
{
	size_t i;

	for (i = 0; i < cfg->ntargets; i++) {
		if (strcmp(cfg->targets[i].name, name) == 0)
			return &cfg->targets[i];
	}
	return NULL;
}

int tenant_schema_valid(const char *name)
{
	const char *p;

	if (!name || !(isalpha((unsigned char)*name) || *name == '_'))
		return 0;
	for (p = name; *p; p++) {
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '$')
			return 0;
		/* isalnum() of the C locale: ASCII only. */
		if ((unsigned char)*p >= 0x80)
			return 0;
	}
	return p - name <= IDENT_NAME_MAX;
}

/* Set `key` of `section` in cfg to `value` (replacing what is there),
 * as written on `line`.  Returns 0, or -1 when out of memory. */
static int derive_set(struct load_state *st, const char *section,
		      const char *key, const char *value, int line)
{
	struct config *cfg = st->cfg;
	size_t i;

	for (i = 0; i < cfg->nentries; i++) {
		struct config_entry *e = &cfg->entries[i];
		char *v;

		if (strcmp(e->section, section) != 0 ||
		    strcmp(e->key, key) != 0)
			continue;
		v = strdup(value);
		if (!v)
			return -1;
		free(e->value);
		e->value = v;
		e->line = line;
		return 0;
	}
	free(st->section);
	st->section = strdup(section);
	if (!st->section)
		return -1;
	st->lineno = line;
	return entry_add(st, key, value);
}

/* Whether the [schema] key names a table (its name ends in "_table"). */
static int schema_key_is_table(const char *key)
{
	size_t len = strlen(key);

	return len > 6 && strcmp(key + len - 6, "_table") == 0;
}

/* Whether a table name as written names its schema (a dot outside
 * double quotes). */
static int table_has_schema(const char *name)
{
	int quoted = 0;

	for (; *name; name++) {
		if (*name == '"')
			quoted = !quoted;
		else if (*name == '.' && !quoted)
			return 1;
	}
	return 0;
}

int config_for_target(const struct config *base, const struct config_target *t,
		      const char *tenant_schema, struct config *out, char *err,
		      size_t errlen)
{
	const struct sweeper_key *k;
	struct load_state st;
	char section[128];
	size_t i;
	int ret = -1;

	if (errlen)
		err[0] = '\0';
	memset(out, 0, sizeof(*out));
	memset(&st, 0, sizeof(st));
	st.cfg = out;
	st.err = err;
	st.errlen = errlen;
	snprintf(section, sizeof(section), TARGET_PREFIX "%s", t->name);
	out->path = strdup(base->path);
	out->target_name = tenant_schema ?
			   NULL : strdup(t->name);
	if (tenant_schema) {
		out->tenant_schema = strdup(tenant_schema);
		if (asprintf(&out->target_name, "%s/%s", t->name,
			     tenant_schema) < 0)
			out->target_name = NULL;
	}
	if (!out->path || !out->target_name ||
	    (tenant_schema && !out->tenant_schema))
		goto out;
	/* The file's settings but the targets', which replace them. */
	for (i = 0; i < base->nentries; i++) {
		const struct config_entry *e = &base->entries[i];

		if (strncmp(e->section, TARGET_PREFIX,
			    strlen(TARGET_PREFIX)) == 0)
			continue;
		free(st.section);
		st.section = strdup(e->section);
		st.lineno = e->line;
		if (!st.section || entry_add(&st, e->key, e->value) != 0)
			goto out;
	}
	for (i = 0; i < base->nentries; i++) {
		const struct config_entry *e = &base->entries[i];
		const char *key = e->key;
		const char *sec = "database";

		if (strcmp(e->section, section) != 0 ||
		    strcmp(e->key, "tenants_query") == 0)
			continue;
		if (strncmp(key, TARGET_SCHEMA_PREFIX,
			    strlen(TARGET_SCHEMA_PREFIX)) == 0) {
			sec = "schema";
			key += strlen(TARGET_SCHEMA_PREFIX);
		}
		if (derive_set(&st, sec, key, e->value, e->line) != 0)
			goto out;
	}
	/* A tenant's tables are the configured ones inside its schema. */
	for (k = config_schema_keys; tenant_schema && k->name; k++) {
		const struct config_entry *e;
		char *name;
		int rc;

		if (!schema_key_is_table(k->name))
			continue;
		e = config_entry_find(out, "schema", k->name);
		if (e && table_has_schema(e->value))
			continue;
		if (asprintf(&name, "%s.%s", tenant_schema,
			     e ? e->value : k->default_value) < 0)
			goto out;
		rc = derive_set(&st, "schema", k->name, name, e ? e->line : 0);
		free(name);
		if (rc != 0)
			goto out;
	}
	if (config_resolve(&st) != 0 || config_check_whole(&st) != 0)
		goto out;
	ret = 0;
out:
	/* Only running out of memory leaves no message. */
	if (ret != 0 && errlen && err[0] == '\0')
		snprintf(err, errlen, "out of memory while setting up target "
			 "'%s'", t->name);
	free(st.section);
	free(st.long_value);
	if (ret != 0)
		config_free(out);
	return ret;
}

/* "add KEY = ... under [SECTION]" for a missing required key. */
static void missing_fix(const struct sweeper_key *decl, const char *section,
			char *buf, size_t size)
{
	char list[256];
	size_t i;

	switch (decl->type) {
	case SWEEPER_KEY_BOOL:
		snprintf(buf, size, "add %s = true or %s = false under [%s]",
			 decl->name, decl->name, section);
		return;
	case SWEEPER_KEY_INT:
		snprintf(buf, size, "add %s = NUMBER under [%s]", decl->name,
			 section);
		return;
	case SWEEPER_KEY_DURATION:
		snprintf(buf, size,
			 "add %s = DURATION under [%s], a number and a unit such as 30s, 5m, 24h or 90d",
			 decl->name, section);
		return;
	case SWEEPER_KEY_ENUM:
		snprintf(list, sizeof(list), "%s",
			 decl->choices ? decl->choices : "");
		for (i = 0; list[i]; i++) {
			if (list[i] == '|')
				list[i] = '/';
		}
		snprintf(buf, size, "add %s = %s under [%s]", decl->name, list,
			 section);
		return;
	case SWEEPER_KEY_STRING:
		break;
	}
	snprintf(buf, size, "add %s = VALUE under [%s]", decl->name, section);
}

int config_check_rule(const struct config *cfg, const char *rule,
		      const struct sweeper_key *keys, char *err,
		      size_t errlen)
{
	const struct sweeper_key *decl;
	char *section = NULL;
	char shown[VALUE_QUOTE_MAX];
	char why[512];
	char list[512];
	size_t i;
	int ret = -1;

	if (err && errlen)
		err[0] = '\0';
	if (asprintf(&section, "%s%s", RULE_PREFIX, rule) < 0) {
		section = NULL;
		snprintf(err, errlen, "out of memory checking rule '%s'", rule);
		goto out;
	}

	for (i = 0; i < cfg->nentries; i++) {
		const struct config_entry *e = &cfg->entries[i];

		if (strcmp(e->section, section) != 0)
			continue;
		decl = key_table_find(keys, e->key);
		if (!decl) {
			const char *found = key_suggest(keys, e->key);

			value_quote(e->key, shown, sizeof(shown));
			key_list(keys, list, sizeof(list));
			if (found)
				msg_set(err, errlen, cfg->path, e->line, section,
					NULL, "unknown key %s; did you mean '%s'?",
					shown, found);
			else if (!list[0])
				msg_set(err, errlen, cfg->path, e->line, section,
					NULL,
					"unknown key %s; rule '%s' takes no keys, remove it",
					shown, rule);
			else
				msg_set(err, errlen, cfg->path, e->line, section,
					NULL,
					"unknown key %s; rule '%s' takes the keys %s",
					shown, rule, list);
			goto out;
		}
		if (value_check(decl, e->value, why, sizeof(why)) != 0) {
			msg_set(err, errlen, cfg->path, e->line, section,
				e->key, "%s", why);
			goto out;
		}
	}

	for (decl = keys; decl && decl->name; decl++) {
		if (config_written(cfg, section, decl->name))
			continue;
		if (!decl->default_value) {
			missing_fix(decl, section, why, sizeof(why));
			msg_set(err, errlen, cfg->path, 0, section, decl->name,
				"required key is missing; %s", why);
			goto out;
		}
		/* A bad default is the plugin's bug, but it would reach the
		 * plugin just like a bad value from the file. */
		if (value_check(decl, decl->default_value, why,
				sizeof(why)) != 0) {
			msg_set(err, errlen, cfg->path, 0, section, decl->name,
				"the plugin's default is wrong: %s; set the key in [%s] or fix the plugin",
				why, section);
			goto out;
		}
	}
	ret = 0;
out:
	free(section);
	return ret;
}
