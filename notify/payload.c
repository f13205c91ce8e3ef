/*
 * payload.c - the webhook JSON, the chat line and the digest line of a
 * delivery (see payload.h).
 */
#include <string.h>

#include "json.h"
#include "payload.h"

#define PAYLOAD_FFFD "\xef\xbf\xbd"	/* U+FFFD REPLACEMENT CHARACTER in UTF-8 */

/* payload_json_string - append S as a JSON string (json.h) */
void payload_json_string(struct buf *b, const char *s)
{
	json_string(s, json_buf_put, b);
}

/* payload_clean - append S as one line of valid UTF-8 */
void payload_clean(struct buf *b, const char *s, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s), len;
	unsigned cp;

	if (max && n > max)
		n = max;
	while (n > 0) {
		if (!(len = json_utf8(p, n, &cp)))
			buf_adds(b, PAYLOAD_FFFD), len = 1;
		else if (cp < 0x20 || cp == 0x7f || cp == 0x2028 || cp == 0x2029 ||
			 (cp >= 0x80 && cp < 0xa0))
			buf_add(b, " ", 1);
		else
			buf_add(b, p, len);
		p += len, n -= len;
	}
}

/* payload_field - append "NAME": VALUE, with a comma before unless FIRST */
static void payload_field(struct buf *b, const char *name, const char *value, int first)
{
	if (!first)
		buf_add(b, ", ", 2);
	payload_json_string(b, name);
	buf_add(b, ": ", 2);
	payload_json_string(b, value);
}

/* payload_webhook - the generic JSON body */
void payload_webhook(struct buf *b, const struct item *it)
{
	buf_add(b, "{", 1);
	payload_field(b, "id", it->id, 1);
	payload_field(b, "type", it->kind, 0);
	payload_field(b, "at", it->at, 0);
	payload_field(b, "class", it->class, 0);
	buf_adds(b, ", \"message\": {");
	payload_field(b, "id", it->msg_uuid, 1);
	payload_field(b, "message_id", it->message_id, 0);
	payload_field(b, "subject", it->subject, 0);
	payload_field(b, "campaign", it->campaign, 0);
	payload_field(b, "sent_at", it->sent_at, 0);
	buf_adds(b, "}, \"recipient\": {");
	payload_field(b, "address", it->address, 1);
	payload_field(b, "name", it->name, 0);
	buf_adds(b, "}, \"place\": {");
	payload_field(b, "country", it->country, 1);
	payload_field(b, "city", it->city, 0);
	buf_adds(b, "}, \"device\": {");
	payload_field(b, "device", it->device, 1);
	payload_field(b, "os", it->os, 0);
	payload_field(b, "client", it->client, 0);
	buf_adds(b, "}");
	payload_field(b, "link", it->link, 0);
	payload_field(b, "file", it->file, 0);
	buf_adds(b, "}");
}

/* payload_has - S is set and not empty */
static int payload_has(const char *s)
{
	return s && *s;
}

/* payload_line - "Ann <ann@example.org> opened "Spring offer" at 2026-12-06 04:12 UTC
 * in Paris, FR on iPhone (iOS, Apple Mail)" */
void payload_line(struct buf *b, const struct item *it)
{
	const char *k = it->kind ? it->kind : "?";
	int paren = 0;

	if (payload_has(it->name)) {
		payload_clean(b, it->name, 200);
		buf_adds(b, " <");
		payload_clean(b, payload_has(it->address) ? it->address : "?", 320);
		buf_adds(b, ">");
	} else {
		payload_clean(b, payload_has(it->address) ? it->address : "a recipient", 320);
	}
	if (!strcmp(k, "open"))
		buf_adds(b, " opened ");
	else if (!strcmp(k, "click"))
		buf_adds(b, " clicked a link in ");
	else if (!strcmp(k, "download"))
		buf_adds(b, " downloaded a file of ");
	else if (!strcmp(k, "reply"))
		buf_adds(b, " replied to ");
	else {
		buf_adds(b, " ");
		payload_clean(b, k, 40);
		buf_adds(b, " ");
	}
	buf_adds(b, "\"");
	payload_clean(b, payload_has(it->subject) ? it->subject : "(no subject)", 200);
	buf_adds(b, "\"");
	if (it->at && strlen(it->at) >= 16) {	/* 2026-12-06T04:12 */
		buf_adds(b, " at ");
		buf_add(b, it->at, 10);
		buf_adds(b, " ");
		buf_add(b, it->at + 11, 5);
		buf_adds(b, " UTC");
	}
	if (payload_has(it->city) || payload_has(it->country)) {
		buf_adds(b, " in ");
		if (payload_has(it->city))
			payload_clean(b, it->city, 100);
		if (payload_has(it->city) && payload_has(it->country))
			buf_adds(b, ", ");
		if (payload_has(it->country))
			payload_clean(b, it->country, 10);
	}
	if (payload_has(it->device)) {
		buf_adds(b, " on ");
		payload_clean(b, it->device, 100);
	}
	if (payload_has(it->os) || payload_has(it->client)) {
		buf_adds(b, payload_has(it->device) ? " (" : " with ");
		paren = payload_has(it->device);
		if (payload_has(it->os))
			payload_clean(b, it->os, 100);
		if (payload_has(it->os) && payload_has(it->client))
			buf_adds(b, ", ");
		if (payload_has(it->client))
			payload_clean(b, it->client, 100);
		if (paren)
			buf_adds(b, ")");
	}
	if (payload_has(it->link)) {
		buf_adds(b, ": ");
		payload_clean(b, it->link, 500);
	} else if (payload_has(it->file)) {
		buf_adds(b, ": ");
		payload_clean(b, it->file, 200);
	}
}

/* payload_slack_escape - Slack reads <...> as a link or a mention: & < > as entities */
static void payload_slack_escape(struct buf *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '&')
			buf_adds(out, "&amp;");
		else if (*s == '<')
			buf_adds(out, "&lt;");
		else if (*s == '>')
			buf_adds(out, "&gt;");
		else
			buf_add(out, s, 1);
	}
}

/* payload_mattermost_escape - Mattermost reads Markdown and @mentions: a backslash
 * before each Markdown character (no [text](url) link, no emphasis, no heading,
 * no list or quote at the start), and a ZERO WIDTH SPACE after each @ (no @channel,
 * @all or @user mention) */
static void payload_mattermost_escape(struct buf *out, const char *s)
{
	if (*s && strchr("-+=", *s))
		buf_add(out, "\\", 1);
	for (; *s; s++) {
		if (strchr("\\`*_~[]<>#|", *s))
			buf_add(out, "\\", 1);
		buf_add(out, s, 1);
		if (*s == '@')
			buf_adds(out, "\xe2\x80\x8b");
	}
}

/* payload_chat - {"text": "<line>"}; escaped as Slack or Mattermost reads it */
void payload_chat(struct buf *b, const struct item *it)
{
	struct buf line = { 0 }, esc = { 0 };

	payload_line(&line, it);
	if (it->dkind && !strcmp(it->dkind, "slack"))
		payload_slack_escape(&esc, buf_str(&line));
	else if (it->dkind && !strcmp(it->dkind, "mattermost"))
		payload_mattermost_escape(&esc, buf_str(&line));
	buf_adds(b, "{\"text\": ");
	payload_json_string(b, buf_str(esc.len ? &esc : &line));
	buf_adds(b, "}");
	buf_free(&line);
	buf_free(&esc);
}

/* payload_body - the body for IT's destination kind */
void payload_body(struct buf *b, const struct item *it)
{
	if (it->dkind && (!strcmp(it->dkind, "slack") || !strcmp(it->dkind, "mattermost")))
		payload_chat(b, it);
	else
		payload_webhook(b, it);
}
