/*
 * webhook_payload.c: the webhook's body in the json and slack formats,
 * built with jansson.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "strbuf.h"
#include "summary_json.h"
#include "webhook_payload.h"

/* Slack refuses a section text longer than this many characters. */
#define SLACK_SECTION_MAX 3000

static void payload_seconds(long long ms, char *out, size_t outlen)
{
	snprintf(out, outlen, "%lld.%02llds", ms / 1000, (ms % 1000) / 10);
}

void webhook_summary_line(const struct run_summary *s, char *out,
			  size_t outlen)
{
	char secs[32];

	char left[64] = "";

	payload_seconds(s->duration_ms, secs, sizeof(secs));
	if (s->left_behind_total > 0)
		snprintf(left, sizeof(left), ", %lld left behind",
			 s->left_behind_total);
	snprintf(out, outlen, "mfa-sweeper on %s: %s, %lld row%s %s in %s%s%s%s",
		 s->host, run_status_name(s->status), s->deleted_total,
		 s->deleted_total == 1 ? "" : "s",
		 s->dry_run ? "would be deleted (dry run)" : "deleted", secs,
		 left, s->error ? ": " : "", s->error ? s->error : "");
}

static json_t *payload_json(const struct run_summary *s)
{
	json_t *root = json_object();
	struct tm tm;
	char when[32];

	gmtime_r(&s->finished_at.tv_sec, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	json_object_set_new(root, "type", json_string(WEBHOOK_EVENT_TYPE));
	json_object_set_new(root, "timestamp", json_string(when));
	json_object_set_new(root, "data", summary_json(s));
	return root;
}

/* Slack's mrkdwn takes &, < and > as markup; everything else is text. */
static void slack_escape(struct strbuf *sb, const char *text)
{
	char one[2] = { 0, 0 };
	const char *p;

	for (p = text; *p; p++) {
		if (*p == '&') {
			strbuf_add(sb, "&amp;");
		} else if (*p == '<') {
			strbuf_add(sb, "&lt;");
		} else if (*p == '>') {
			strbuf_add(sb, "&gt;");
		} else {
			one[0] = *p;
			strbuf_add(sb, one);
		}
	}
}

static json_t *slack_section(const char *mrkdwn)
{
	json_t *text = json_object();
	json_t *section = json_object();

	json_object_set_new(text, "type", json_string("mrkdwn"));
	json_object_set_new(text, "text", summary_json_string(mrkdwn));
	json_object_set_new(section, "type", json_string("section"));
	json_object_set_new(section, "text", text);
	return section;
}

/* The most of one step's rows left behind that a rule's line shows. */
#define SLACK_LEFT_MAX 400

/*
 * "; `table`: 2 rows left behind, refused by the database: key 17
 * (23503, constraint "app_fk"), ..." for each step of `r` that left rows,
 * cut (at a character boundary) after SLACK_LEFT_MAX bytes: a trigger's
 * messages may be long, and a rule's line must fit in its section.
 */
static void slack_left_behind(struct strbuf *line, const struct rule_result *r)
{
	size_t i, cut;

	for (i = 0; i < r->nsteps; i++) {
		struct strbuf text = STRBUF_INIT;

		summary_refused_text(&text, &r->steps[i]);
		if (text.len > SLACK_LEFT_MAX) {
			cut = SLACK_LEFT_MAX;
			while (cut > 0 &&
			       ((unsigned char)text.buf[cut] & 0xc0) == 0x80)
				cut--;
			text.buf[cut] = '\0';
			text.len = cut;
			strbuf_add(&text, "\xe2\x80\xa6");
		}
		if (text.len) {
			strbuf_add(line, "; `");
			slack_escape(line, r->steps[i].table);
			strbuf_add(line, "`: ");
			slack_escape(line, strbuf_str(&text));
		}
		strbuf_release(&text);
	}
}

/* One line per rule: name, status, rows, rows left behind, and the error
 * if any. */
static void slack_rules_text(const struct run_summary *s, struct strbuf *sb)
{
	size_t i;

	if (s->nrules == 0) {
		strbuf_add(sb, "No rule ran.");
		return;
	}
	for (i = 0; i < s->nrules; i++) {
		const struct rule_result *r = &s->rules[i];
		struct strbuf line = STRBUF_INIT;

		strbuf_addf(&line, "%s\xe2\x80\xa2 `", i ? "\n" : "");
		slack_escape(&line, r->name ? r->name : "?");
		strbuf_addf(&line, "`: %s, %lld %s", run_status_name(r->status),
			    r->deleted, s->dry_run ? "would delete" : "deleted");
		slack_left_behind(&line, r);
		if (r->error) {
			strbuf_addf(&line, " (");
			slack_escape(&line, r->error);
			strbuf_addf(&line, ")");
		}
		/* Leave room for the note about the rules left out. */
		if (sb->len + line.len > SLACK_SECTION_MAX - 64) {
			strbuf_release(&line);
			strbuf_addf(sb, "\n\xe2\x80\xa6 and %zu more rule%s",
				    s->nrules - i, s->nrules - i == 1 ? "" : "s");
			return;
		}
		strbuf_add(sb, strbuf_str(&line));
		strbuf_release(&line);
	}
}

/*
 * A run over targets: the counts by status, then one line per target
 * that did not end ok, as many as fit one section: with 500 tenants the
 * message stays three blocks, never one per tenant.
 */
static void slack_targets_text(const struct run_summary *s,
			       struct strbuf *sb)
{
	static const char *const names[] = {
		"ok", "partial", "failed", "locked", "interrupted"
	};
	size_t n[5] = { 0, 0, 0, 0, 0 };
	size_t i, j, shown = 0, bad = 0;

	for (i = 0; i < s->ntargets; i++) {
		for (j = 0; j < 5; j++)
			n[j] += strcmp(target_status_name(&s->targets[i]),
				       names[j]) == 0;
	}
	bad = s->ntargets - n[0];
	strbuf_addf(sb, "*%zu target%s*:", s->ntargets,
		    s->ntargets == 1 ? "" : "s");
	for (j = 0; j < 5; j++) {
		if (n[j])
			strbuf_addf(sb, " %zu %s", n[j], names[j]);
	}
	for (i = 0; i < s->ntargets; i++) {
		const struct target_result *t = &s->targets[i];
		struct strbuf line = STRBUF_INIT;

		if (!t->locked && t->status == RUN_OK)
			continue;
		strbuf_add(&line, "\n\xe2\x80\xa2 `");
		slack_escape(&line, t->name);
		strbuf_addf(&line, "`: %s", target_status_name(t));
		if (t->error) {
			strbuf_add(&line, " (");
			slack_escape(&line, t->error);
			strbuf_add(&line, ")");
		} else if (t->stopped_by) {
			strbuf_addf(&line, " (stopped by %s)", t->stopped_by);
		}
		if (line.len > SLACK_LEFT_MAX) {
			size_t cut = SLACK_LEFT_MAX;

			while (cut > 0 &&
			       ((unsigned char)line.buf[cut] & 0xc0) == 0x80)
				cut--;
			line.buf[cut] = '\0';
			line.len = cut;
			strbuf_add(&line, "\xe2\x80\xa6");
		}
		if (sb->len + line.len > SLACK_SECTION_MAX - 64) {
			strbuf_release(&line);
			strbuf_addf(sb, "\n\xe2\x80\xa6 and %zu more",
				    bad - shown);
			return;
		}
		strbuf_add(sb, strbuf_str(&line));
		strbuf_release(&line);
		shown++;
	}
}

static json_t *payload_slack(const struct run_summary *s)
{
	json_t *root = json_object();
	json_t *blocks = json_array();
	json_t *context = json_object();
	json_t *elements = json_array();
	json_t *note = json_object();
	struct strbuf head = STRBUF_INIT;
	struct strbuf rules = STRBUF_INIT;
	struct strbuf foot = STRBUF_INIT;
	char line[1024];
	char secs[32];

	webhook_summary_line(s, line, sizeof(line));
	json_object_set_new(root, "text", summary_json_string(line));

	payload_seconds(s->duration_ms, secs, sizeof(secs));
	strbuf_addf(&head, "*mfa-sweeper* on `");
	slack_escape(&head, s->host);
	strbuf_addf(&head, "`: *%s*, %lld row%s %s in %s",
		    run_status_name(s->status), s->deleted_total,
		    s->deleted_total == 1 ? "" : "s",
		    s->dry_run ? "would be deleted" : "deleted", secs);
	if (s->left_behind_total > 0)
		strbuf_addf(&head, ", *%lld left behind* (refused by the "
			    "database)", s->left_behind_total);
	if (s->error) {
		strbuf_addf(&head, "\n");
		slack_escape(&head, s->error);
	}
	json_array_append_new(blocks, slack_section(strbuf_str(&head)));

	slack_rules_text(s, &rules);
	json_array_append_new(blocks, slack_section(strbuf_str(&rules)));
	if (s->targets) {
		struct strbuf targets = STRBUF_INIT;

		slack_targets_text(s, &targets);
		json_array_append_new(blocks,
				      slack_section(strbuf_str(&targets)));
		strbuf_release(&targets);
	}

	strbuf_addf(&foot, "run %s%s", s->run_id, s->dry_run ? " \xc2\xb7 dry run" : "");
	json_object_set_new(note, "type", json_string("mrkdwn"));
	json_object_set_new(note, "text",
			    summary_json_string(strbuf_str(&foot)));
	json_array_append_new(elements, note);
	json_object_set_new(context, "type", json_string("context"));
	json_object_set_new(context, "elements", elements);
	json_array_append_new(blocks, context);
	json_object_set_new(root, "blocks", blocks);

	strbuf_release(&head);
	strbuf_release(&rules);
	strbuf_release(&foot);
	return root;
}

char *webhook_payload(enum webhook_format format, const struct run_summary *s)
{
	json_t *doc;
	char *text;

	doc = format == WEBHOOK_FORMAT_SLACK ? payload_slack(s) :
	      payload_json(s);
	text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(doc);
	return text;
}
