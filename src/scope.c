/*
 * scope.c: resolving the users a scoped run is restricted to.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "ident.h"
#include "scope.h"
#include "strbuf.h"
#include "values.h"
#include "xalloc.h"

static void scope_push(char ***items, size_t *n, const char *value)
{
	*items = xrealloc(*items, (*n + 1) * sizeof(**items));
	(*items)[(*n)++] = xstrdup(value);
}

void scope_add(struct scope *s, const char *value, int is_email)
{
	if (is_email)
		scope_push(&s->emails, &s->nemails, value);
	else
		scope_push(&s->ids, &s->nids, value);
}

int scope_read_file(struct scope *s, const char *path, char *err,
		    size_t errlen)
{
	FILE *f;
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int lineno = 0, ret = -1;

	if (strcmp(path, "-") == 0) {
		f = stdin;
	} else {
		f = fopen(path, "r");
		if (!f) {
			snprintf(err, errlen, "cannot open users file '%s': %s",
				 path, strerror(errno));
			return -1;
		}
	}
	for (;;) {
		char *p, *end;

		len = getline(&line, &cap, f);
		if (len < 0)
			break;
		lineno++;
		p = line;
		while (*p == ' ' || *p == '\t')
			p++;
		end = p + strlen(p);
		while (end > p && (end[-1] == '\n' || end[-1] == '\r' ||
				   end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (!*p || *p == '#')
			continue;
		if (strchr(p, ' ') || strchr(p, '\t') || strchr(p, ',')) {
			snprintf(err, errlen,
				 "%s:%d: '%s' is not one user; write one id or "
				 "email per line", path, lineno, p);
			goto out;
		}
		scope_add(s, p, strchr(p, '@') != NULL);
	}
	if (ferror(f)) {
		snprintf(err, errlen, "cannot read users file '%s': %s", path,
			 strerror(errno));
		goto out;
	}
	ret = 0;
out:
	free(line);
	if (f != stdin)
		fclose(f);
	return ret;
}

char *scope_text_array(char *const *items, size_t n)
{
	struct strbuf sb = STRBUF_INIT;
	size_t i;
	const char *p;

	strbuf_add(&sb, "{");
	for (i = 0; i < n; i++) {
		if (i)
			strbuf_add(&sb, ",");
		strbuf_add(&sb, "\"");
		for (p = items[i]; *p; p++) {
			char c[3] = { '\\', *p, '\0' };

			strbuf_add(&sb, (*p == '"' || *p == '\\') ? c : c + 1);
		}
		strbuf_add(&sb, "\"");
	}
	strbuf_add(&sb, "}");
	return strbuf_detach(&sb);
}

/* An optional minus sign and digits: the text form of an integer. */
static int scope_is_integer(const char *v)
{
	if (*v == '-')
		v++;
	if (!*v)
		return 0;
	for (; *v; v++) {
		if (*v < '0' || *v > '9')
			return 0;
	}
	return 1;
}

/*
 * When the users' id column is an integer, an id that is not one is a
 * typing mistake, not a user who is not there: say so instead of
 * reporting it among the unknown users.
 */
static int scope_check_ids(struct scope *s, PGconn *conn,
			   const struct config *cfg, int *bad_input, char *err,
			   size_t errlen)
{
	char users[IDENT_MAX];
	const char *params[2];
	char why[1024];
	char shown[VALUE_QUOTE_MAX];
	PGresult *res;
	size_t i;
	int integer;

	if (s->nids == 0)
		return 0;
	if (ident_quote(config_schema(cfg, "users_table"), users,
			sizeof(users)) != 0) {
		snprintf(err, errlen, "invalid [schema] users_table");
		return -1;
	}
	params[0] = users;
	params[1] = config_schema(cfg, "user_id_column");
	res = db_query(conn,
		       "SELECT a.atttypid IN ('int2'::regtype, 'int4'::regtype,"
		       " 'int8'::regtype), format_type(a.atttypid, a.atttypmod)"
		       " FROM pg_attribute a WHERE a.attrelid = to_regclass($1)"
		       " AND a.attname = $2", 2, params, why, sizeof(why));
	if (!res) {
		snprintf(err, errlen, "cannot read the type of [schema] "
			 "user_id_column: %s", why);
		return -1;
	}
	integer = PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	for (i = 0; integer && i < s->nids; i++) {
		if (scope_is_integer(s->ids[i]))
			continue;
		value_quote(s->ids[i], shown, sizeof(shown));
		snprintf(err, errlen,
			 "user id %s is not a whole number, and '%s'.'%s' is "
			 "%s; give ids with --user-id and emails with "
			 "--user-email", shown, config_schema(cfg, "users_table"),
			 params[1], PQgetvalue(res, 0, 1));
		*bad_input = 1;
		PQclear(res);
		return -1;
	}
	PQclear(res);
	return 0;
}

/* The [schema] users table and its id and email columns, quoted. */
struct scope_names {
	char users[IDENT_MAX];
	char id[IDENT_MAX];
	char email[IDENT_MAX];
};

static int scope_names_quote(struct scope_names *n, const struct config *cfg,
			     char *err, size_t errlen)
{
	if (ident_quote(config_schema(cfg, "users_table"), n->users,
			sizeof(n->users)) ||
	    ident_quote_column(config_schema(cfg, "user_id_column"), n->id,
			       sizeof(n->id)) ||
	    ident_quote_column(config_schema(cfg, "user_email_column"),
			       n->email, sizeof(n->email))) {
		snprintf(err, errlen,
			 "invalid users table or column name in [schema]");
		return -1;
	}
	return 0;
}

int scope_check_users_table(PGconn *conn, const struct config *cfg,
			    char *err, size_t errlen)
{
	struct strbuf sql = STRBUF_INIT;
	struct scope_names n;
	char why[1024];
	int rc = 0;

	if (scope_names_quote(&n, cfg, err, errlen) != 0)
		return -1;
	strbuf_addf(&sql, "SELECT %s, %s FROM %s LIMIT 0", n.id, n.email,
		    n.users);
	if (db_exec(conn, strbuf_str(&sql), why, sizeof(why)) != 0) {
		snprintf(err, errlen,
			 "[schema] users_table '%s' with user_id_column '%s' "
			 "and user_email_column '%s' does not work: %s",
			 config_schema(cfg, "users_table"),
			 config_schema(cfg, "user_id_column"),
			 config_schema(cfg, "user_email_column"), why);
		rc = -1;
	}
	strbuf_release(&sql);
	return rc;
}

int scope_resolve(struct scope *s, PGconn *conn, const struct config *cfg,
		  int *bad_input, char *err, size_t errlen)
{
	struct strbuf sql = STRBUF_INIT;
	struct scope_names n;
	char *arrays[2] = { NULL, NULL };
	const char *params[2];
	char why[1024];
	PGresult *res = NULL;
	int i, ret = -1;

	*bad_input = 0;
	if (scope_names_quote(&n, cfg, err, errlen) != 0)
		return -1;
	if (scope_check_ids(s, conn, cfg, bad_input, err, errlen) != 0)
		return -1;
	arrays[0] = scope_text_array(s->ids, s->nids);
	arrays[1] = scope_text_array(s->emails, s->nemails);
	params[0] = arrays[0];
	params[1] = arrays[1];
	/*
	 * One row per input: the user's id, or NULL for an unknown one.
	 * DISTINCT because an email may match several users that differ
	 * only in case, and an id may be given twice.
	 */
	strbuf_addf(&sql,
		    "SELECT DISTINCT q.v, u.%s::text FROM unnest($1::text[]) AS q(v)"
		    " LEFT JOIN %s AS u ON u.%s::text = q.v"
		    " UNION"
		    " SELECT DISTINCT q.v, u.%s::text FROM unnest($2::text[]) AS q(v)"
		    " LEFT JOIN %s AS u ON lower(u.%s) = lower(q.v)"
		    " ORDER BY 2, 1",
		    n.id, n.users, n.id, n.id, n.users, n.email);
	res = db_query(conn, strbuf_str(&sql), 2, params, why, sizeof(why));
	if (!res) {
		snprintf(err, errlen, "cannot look up the named users in '%s': %s",
			 config_schema(cfg, "users_table"), why);
		goto out;
	}
	for (i = 0; i < PQntuples(res); i++) {
		if (PQgetisnull(res, i, 1)) {
			scope_push(&s->unknown, &s->nunknown,
				   PQgetvalue(res, i, 0));
			continue;
		}
		/* Rows are ordered by id: skip the repeats of the last one. */
		if (s->nfound &&
		    strcmp(s->found[s->nfound - 1], PQgetvalue(res, i, 1)) == 0)
			continue;
		scope_push(&s->found, &s->nfound, PQgetvalue(res, i, 1));
	}
	s->ids_literal = scope_text_array(s->found, s->nfound);
	ret = 0;
out:
	PQclear(res);
	strbuf_release(&sql);
	free(arrays[0]);
	free(arrays[1]);
	return ret;
}

static void scope_free_list(char **items, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(items[i]);
	free(items);
}

void scope_free(struct scope *s)
{
	scope_free_list(s->ids, s->nids);
	scope_free_list(s->emails, s->nemails);
	scope_free_list(s->found, s->nfound);
	scope_free_list(s->unknown, s->nunknown);
	free(s->ids_literal);
	memset(s, 0, sizeof(*s));
}
