/*
 * db_secret.c: libpq's messages without the secrets they may quote, and
 * the dsn's own checks (db.h, db_internal.h).
 *
 * libpq quotes connection parameters in some of its messages: a dsn it
 * cannot parse, a host name it cannot resolve, a port that is not a
 * number.  Those messages end up in the journal, the run summary, the
 * webhook and the ledger, so none leaves the db files (db.c,
 * db_connect.c and this one) before the password and the dsn are taken
 * out of it (db_message()).  The dsn is also checked with libpq's parser
 * when the config is loaded (db_dsn_check()), so a malformed one is a
 * configuration error that never reaches libpq's connect and its quoting
 * at all.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "db.h"
#include "db_internal.h"
#include "log.h"
#include "strbuf.h"
#include "xalloc.h"

/* What stands where a secret was. */
#define DB_REDACTED "[redacted]"

void db_secrets_add(struct db_secrets *ds, const char *text)
{
	if (text && text[0] && ds->n < DB_SECRETS_MAX)
		ds->text[ds->n++] = text;
}

/* The password a connection uses or tried (the dsn's, password_file's,
 * PGPASSWORD or the pgpass file's), and nothing else. */
void db_secrets_conn(struct db_secrets *ds, const PGconn *conn)
{
	memset(ds, 0, sizeof(*ds));
	if (conn)
		db_secrets_add(ds, PQpass(conn));
}

/*
 * Copy `msg` into `sb` with every occurrence of every secret replaced by
 * DB_REDACTED, the longest match first.  Done on libpq's whole message,
 * before anything cuts it to a buffer's size, which could leave a piece
 * of a secret that no longer matches.
 */
static void db_scrub(struct strbuf *sb, const char *msg,
		     const struct db_secrets *ds)
{
	const char *p = msg, *run = msg;
	size_t i, best, len;

	while (*p) {
		best = 0;
		for (i = 0; ds && i < ds->n; i++) {
			len = strlen(ds->text[i]);
			if (len > best && strncmp(p, ds->text[i], len) == 0)
				best = len;
		}
		if (best == 0) {
			p++;
			continue;
		}
		if (p > run)
			strbuf_addf(sb, "%.*s", (int)(p - run), run);
		strbuf_add(sb, DB_REDACTED);
		p += best;
		run = p;
	}
	strbuf_add(sb, run);
}

/* Copy libpq's message into err as one line, without its newlines and
 * without the secrets of `ds`. */
void db_message(const char *prefix, const char *msg, const char *state,
		const struct db_secrets *ds, char *err, size_t errlen)
{
	struct strbuf clean = STRBUF_INIT;
	const char *text;
	size_t i;

	db_scrub(&clean, msg ? msg : "", ds);
	text = strbuf_str(&clean);
	if (state && *state)
		snprintf(err, errlen, "%s%s (SQLSTATE %s)", prefix, text,
			 state);
	else
		snprintf(err, errlen, "%s%s", prefix, text);
	strbuf_release(&clean);
	for (i = 0; err[i]; i++) {
		if (err[i] == '\n' || err[i] == '\r')
			err[i] = ' ';
	}
	/* Drop the trailing blank libpq's final newline became. */
	while (i > 0 && err[i - 1] == ' ')
		err[--i] = '\0';
}

/*
 * Server notices (and libpq's own), logged rather than printed by libpq
 * to stderr, so that they take the log's format and lose the password
 * like every other message.  `arg` is the connection.
 */
void db_notice(void *arg, const PGresult *res)
{
	const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	struct db_secrets ds;
	char line[1024];
	int level = SWEEPER_LOG_INFO;

	if (!msg)
		msg = PQresultErrorMessage(res);
	if (sev && strcmp(sev, "WARNING") == 0)
		level = SWEEPER_LOG_WARN;
	else if (sev && (strcmp(sev, "DEBUG") == 0 || strcmp(sev, "LOG") == 0))
		level = SWEEPER_LOG_DEBUG;
	db_secrets_conn(&ds, arg);
	db_message("", msg, NULL, &ds, line, sizeof(line));
	log_msg(level, "database %s: %s", sev ? sev : "notice", line);
}

/* As libpq's recognized_connection_string(): only such a dsn is parsed;
 * anything else is a database name. */
int db_dsn_is_conninfo(const char *dsn)
{
	return strncmp(dsn, "postgresql://", 13) == 0 ||
	       strncmp(dsn, "postgres://", 11) == 0 || strchr(dsn, '=') != NULL;
}

static const char *db_dsn_uri_rest(const char *dsn)
{
	if (strncmp(dsn, "postgresql://", 13) == 0)
		return dsn + 13;
	if (strncmp(dsn, "postgres://", 11) == 0)
		return dsn + 11;
	return NULL;
}

/*
 * The password of a URI's user info as written (still percent-encoded),
 * newly allocated, or NULL: what libpq would quote of it, were it to
 * quote the URI.
 */
char *db_dsn_uri_password(const char *dsn)
{
	const char *rest = db_dsn_uri_rest(dsn);
	const char *at, *colon;
	char *password;
	size_t len;

	if (!rest)
		return NULL;
	at = rest + strcspn(rest, "@/");
	if (*at != '@')
		return NULL;
	colon = memchr(rest, ':', (size_t)(at - rest));
	if (!colon || colon + 1 == at)
		return NULL;
	len = (size_t)(at - colon - 1);
	password = xmalloc(len + 1);
	memcpy(password, colon + 1, len);
	password[len] = '\0';
	return password;
}

/* The dsn's password, decoded, newly allocated, or NULL for none. */
char *db_dsn_password(const char *dsn)
{
	PQconninfoOption *opts, *o;
	char *password = NULL;

	if (!dsn || !db_dsn_is_conninfo(dsn))
		return NULL;
	opts = PQconninfoParse(dsn, NULL);
	if (!opts)
		return NULL;
	for (o = opts; o->keyword; o++) {
		if (strcmp(o->keyword, "password") == 0 && o->val && o->val[0])
			password = xstrdup(o->val);
	}
	PQconninfoFree(opts);
	return password;
}

void db_free_secret(char *text)
{
	if (!text)
		return;
	OPENSSL_cleanse(text, strlen(text));
	free(text);
}

int db_dsn_has_password(const char *dsn)
{
	char *password = db_dsn_password(dsn);
	int has = password != NULL;

	db_free_secret(password);
	return has;
}

/*
 * What went wrong, in words of our own: libpq's message quotes the part
 * of the dsn it stumbled on, which may be the password.  Matched on the
 * English text, which is what libpq writes in a program that never calls
 * setlocale(); an unknown message gets the general reason.
 */
static const char *db_parse_reason(const char *msg)
{
	static const struct {
		const char *libpq;
		const char *ours;
	} reasons[] = {
		{ "missing \"=\" after", "a word without '=' (separate key=value pairs with blanks, and put a value with blanks in single quotes)" },
		{ "unterminated quoted string", "a quoted value without its closing quote" },
		{ "invalid connection option", "an unknown connection option" },
		{ "end of string reached when looking for matching \"]\"", "an IPv6 host address without its closing ']'" },
		{ "IPv6 host address may not be empty", "an empty IPv6 host address []" },
		{ "unexpected character", "an unexpected character after the host (':' or '/' expected)" },
		{ "extra key/value separator", "a query parameter with two '='" },
		{ "missing key/value separator", "a query parameter without '='" },
		{ "invalid URI query parameter", "an unknown query parameter" },
		{ "invalid percent-encoded token", "a '%' not followed by two hex digits" },
		{ "forbidden value %00", "%00 in a percent-encoded value" },
	};
	size_t i;

	for (i = 0; msg && i < sizeof(reasons) / sizeof(reasons[0]); i++) {
		if (strstr(msg, reasons[i].libpq))
			return reasons[i].ours;
	}
	return "a syntax error";
}

#define DB_DSN_FIX "write key=value pairs, or a postgresql:// URI with '@', '/' and '%' in the user name and password percent-encoded (%40, %2F, %25); better, move the password to password_file"

int db_dsn_check(const char *dsn, char *why, size_t whylen)
{
	PQconninfoOption *opts;
	const char *rest, *end, *at;
	char *msg = NULL;

	if (!db_dsn_is_conninfo(dsn))
		return 0;
	opts = PQconninfoParse(dsn, &msg);
	if (!opts) {
		snprintf(why, whylen,
			 "libpq cannot read it: %s (the value is not shown, as it may hold a password); %s",
			 msg ? db_parse_reason(msg) : "out of memory", DB_DSN_FIX);
		PQfreemem(msg);
		return -1;
	}
	PQconninfoFree(opts);
	/*
	 * libpq takes a URI's user info up to the first '@' or '/', so an
	 * unencoded '@' or '/' in a password puts the rest of it in the host
	 * or the database name, which its messages do show.
	 */
	rest = db_dsn_uri_rest(dsn);
	if (!rest)
		return 0;
	end = rest + strcspn(rest, "?");
	at = memchr(rest, '@', (size_t)(end - rest));
	if (!at)
		return 0;
	if (memchr(at + 1, '@', (size_t)(end - at - 1)) ||
	    memchr(rest, '/', (size_t)(at - rest))) {
		snprintf(why, whylen,
			 "the URI has an '@' after its user info, or a '/' inside it: an '@' or '/' in the password must be percent-encoded (the value is not shown, as it may hold a password); %s",
			 DB_DSN_FIX);
		return -1;
	}
	return 0;
}
