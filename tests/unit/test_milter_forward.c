/*
 * test_milter_forward.c - milter/forward.c against the messages in tests/fixtures/forward.
 *
 * DESCRIPTION
 *	Each fixture is a message as a mail client sends it (Gmail, Outlook
 *	on the web, Apple Mail, Outlook on Windows; multipart/alternative
 *	and HTML-only, quoted-printable and base64, UTF-8 and
 *	windows-1252), a redirect (Resent-*), a forward as attachment
 *	(message/rfc822), a portal's own mail and an Outlook reply.  The
 *	table says, per fixture, whether it is a forward, which form, and
 *	the original From, Reply-To, List-Id and Subject.  Each fixture is
 *	parsed as stored (LF) and as the milter has it (CRLF); every prefix
 *	of every fixture is parsed too, which must never crash or leak.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>
#include <gmime/gmime.h>

#include "forward.h"

/* fwd_case - one fixture and what the parser must find */
struct fwd_case {
	const char *name;	/* tests/fixtures/forward/NAME.eml */
	int forward;		/* a forward */
	const char *how;	/* its form, or NULL */
	const char *from;	/* original From, one form */
	const char *reply_to;	/* original Reply-To, or NULL */
	const char *list_id;	/* original List-Id, or NULL */
	const char *subject;	/* original Subject */
};

static const struct fwd_case cases[] = {
	{ "gmail", 1, "gmail", "contact-pro@leads.seloger.example", NULL, NULL,
	  "Nouveau contact pour votre annonce 123456" },
	{ "gmail_html", 1, "gmail", "contact-pro@leads.seloger.example", NULL, NULL,
	  "Nouveau contact pour votre annonce 123456" },
	{ "owa", 1, "owa", "no-reply@mail.immoportal.example", NULL, NULL,
	  "New enquiry: 3-bedroom house, Bordeaux" },
	{ "owa_html", 1, "owa", "no-reply@mail.immoportal.example", NULL, NULL,
	  "New enquiry: 3-bedroom house, Bordeaux" },
	{ "apple", 1, "apple", "formulaire@www.agence-martin.example",
	  "sophie.bernard@orange.example", NULL, "Demande de visite - Maison Caluire" },
	{ "apple_html", 1, "apple", "formulaire@www.agence-martin.example",
	  "sophie.bernard@orange.example", NULL, "Demande de visite - Maison Caluire" },
	{ "outlook", 1, "outlook", "leads@notifications.logic-immo.example", NULL, NULL,
	  "Contact pour l'annonce LI-554433" },
	{ "outlook_html", 1, "outlook", "leads@notifications.logic-immo.example", NULL, NULL,
	  "Contact pour l'annonce LI-554433" },
	{ "outlook_reply", 0, NULL, "nantes@agence-martin.example", NULL, NULL,
	  "RE: Contact pour l'annonce LI-554433" },
	{ "resent", 1, "resent", "ne-pas-repondre@mail.bienici.example",
	  "luc.garnier@free.example", "contacts.bienici.example",
	  "Un particulier vous contacte au sujet de votre annonce" },
	{ "rfc822", 1, "rfc822", "estimation@mailer.meilleursagents.example",
	  "vendeur.dupont@laposte.example", "estimations.meilleursagents.example",
	  "Demande d'estimation" },
	{ "plain", 0, NULL, "no-reply@mail.leboncoin.example", "t.petit@yahoo.example",
	  "messages.leboncoin.example", "Nouveau message pour votre annonce \"T2 Croix-Rousse\"" },
};

/* load - the fixture as stored; CRLF: with CRLF line ends */
static GByteArray *load(const char *name, int crlf)
{
	const char *src = getenv("BEACON_SRC");
	char *path = g_strdup_printf("%s/tests/fixtures/forward/%s.eml", src ? src : ".", name);
	char *data = NULL;
	gsize len = 0;
	GByteArray *b = g_byte_array_new();

	if (!g_file_get_contents(path, &data, &len, NULL))
		fail_msg("cannot read %s", path);
	for (gsize i = 0; i < len; i++) {
		if (crlf && data[i] == '\n' && (i == 0 || data[i - 1] != '\r'))
			g_byte_array_append(b, (const guint8 *)"\r", 1);
		g_byte_array_append(b, (const guint8 *)data + i, 1);
	}
	g_free(data);
	g_free(path);
	return b;
}

/* eq - both NULL, or equal strings; names the field on failure */
static void eq(const char *fixture, const char *field, const char *want, const char *got)
{
	if ((want == NULL) != (got == NULL) || (want && strcmp(want, got) != 0))
		fail_msg("%s: %s: want '%s', got '%s'", fixture, field, want ? want : "(null)",
			 got ? got : "(null)");
}

/* test_fixtures - every fixture, LF and CRLF, as the table says */
static void test_fixtures(void **state)
{
	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		for (int crlf = 0; crlf < 2; crlf++) {
			const struct fwd_case *c = &cases[i];
			GByteArray *b = load(c->name, crlf);
			struct forward_orig o;

			assert_int_equal(forward_parse((const char *)b->data, b->len, &o), 0);
			if (o.forward != c->forward)
				fail_msg("%s: forward: want %d, got %d", c->name, c->forward, o.forward);
			eq(c->name, "how", c->how, o.how);
			eq(c->name, "from", c->from, o.from);
			eq(c->name, "reply_to", c->reply_to, o.reply_to);
			eq(c->name, "list_id", c->list_id, o.list_id);
			eq(c->name, "subject", c->subject, o.subject);
			forward_orig_clear(&o);
			g_byte_array_free(b, TRUE);
		}
	}
}

/* test_prefixes - every prefix of every fixture parses without harm */
static void test_prefixes(void **state)
{
	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		GByteArray *b = load(cases[i].name, 1);
		for (size_t n = 0; n <= b->len; n += 7) {
			/* an exact-size copy: a read past the end is one the sanitizer sees */
			char *p = g_memdup2(b->data, n ? n : 1);
			struct forward_orig o;
			if (forward_parse(p, n, &o) == 0)
				forward_orig_clear(&o);
			g_free(p);
		}
		g_byte_array_free(b, TRUE);
	}
}

/* test_from_lines - the address forms of a From: line, and what is not one */
static void test_from_lines(void **state)
{
	static const struct {
		const char *line, *want;
	} t[] = {
		{ "From: Portal <LEADS@Portal.Example>", "leads@portal.example" },
		{ "From: Portal Leads [mailto:leads@portal.example] ", "leads@portal.example" },
		{ "From: leads@portal.example", "leads@portal.example" },
		{ "From: \"Portal, Inc.\" <leads@portal.example>", "leads@portal.example" },
		{ "> From: Portal <leads@portal.example>", "leads@portal.example" },
		{ "From: Portal only, no address", NULL },
		{ "From: Portal <<<< <<leads@portal.example>", "leads@portal.example" },
		{ "From: <a <b <leads@portal.example> x", "leads@portal.example" },
	};
	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(t); i++) {
		char *msg = g_strdup_printf("From: fw@agency.example\r\nSubject: Fwd: x\r\n"
					    "Content-Type: text/plain\r\n\r\nhello\r\n\r\n"
					    "---------- Forwarded message ---------\r\n%s\r\n"
					    "Date: Thu, 3 Dec 2026\r\nSubject: lead\r\n\r\nbody\r\n",
					    t[i].line);
		struct forward_orig o;
		assert_int_equal(forward_parse(msg, strlen(msg), &o), 0);
		eq(t[i].line, "from", t[i].want ? t[i].want : "fw@agency.example", o.from);
		assert_int_equal(o.forward, t[i].want != NULL);
		forward_orig_clear(&o);
		g_free(msg);
	}
}

/* test_hostile_lines - a From: line of a megabyte of '<' (no '@' before the '>') is no
 * field: the message is its own, and is read in linear time (the test's time limit would
 * end a quadratic scan of it) */
static void test_hostile_lines(void **state)
{
	static const char *const heads[] = {
		"---------- Forwarded message ---------\r\nFrom: ",	/* after a marker */
		"From: ",	/* a From: ... Sent: block */
	};
	const size_t n = 1u << 20;
	(void)state;
	for (size_t h = 0; h < G_N_ELEMENTS(heads); h++) {
		GString *msg = g_string_new("From: fw@agency.example\r\nSubject: Fwd: x\r\n"
					    "Content-Type: text/plain\r\n\r\nhello\r\n\r\n");
		struct forward_orig o;
		g_string_append(msg, heads[h]);
		for (size_t i = 0; i < n; i++)
			g_string_append_c(msg, '<');
		g_string_append(msg, "> lead@portal.example\r\nSent: today\r\nSubject: lead\r\n"
			       "\r\nbody\r\n");
		assert_int_equal(forward_parse(msg->str, msg->len, &o), 0);
		assert_int_equal(o.forward, 0);
		eq("hostile", "from", "fw@agency.example", o.from);
		forward_orig_clear(&o);
		g_string_free(msg, TRUE);
	}
}

/* test_from_sent_plain - a web form's own "From: ... Sent: ..." lines in text/plain are no
 * forward; the same block in HTML is Outlook's */
static void test_from_sent_plain(void **state)
{
	static const char head[] = "From: forms@agency-site.example\r\nSubject: Contact form\r\n";
	static const char plain[] = "Content-Type: text/plain\r\n\r\nA visitor wrote:\r\n"
				    "From: Visitor <visitor@gmail.example>\r\n"
				    "Sent: Thursday 3 December 2026\r\n\r\nI want to visit.\r\n";
	static const char html[] = "Content-Type: text/html\r\n\r\n<p>A visitor wrote:</p>"
				   "<p>From: Visitor &lt;visitor@gmail.example&gt;<br>"
				   "Sent: Thursday 3 December 2026</p><p>I want to visit.</p>\r\n";
	struct forward_orig o;
	char *msg;
	(void)state;

	msg = g_strconcat(head, plain, NULL);
	assert_int_equal(forward_parse(msg, strlen(msg), &o), 0);
	assert_int_equal(o.forward, 0);
	eq("plain", "from", "forms@agency-site.example", o.from);
	forward_orig_clear(&o);
	g_free(msg);
	msg = g_strconcat(head, html, NULL);
	assert_int_equal(forward_parse(msg, strlen(msg), &o), 0);
	assert_int_equal(o.forward, 1);
	eq("html", "how", "outlook", o.how);
	eq("html", "from", "visitor@gmail.example", o.from);
	forward_orig_clear(&o);
	g_free(msg);
}

/* test_html_text - tags become lines, entities decoded, blanks collapsed */
static void test_html_text(void **state)
{
	static const char html[] = "<html><head><title>x</title></head><body><div>a&nbsp;&amp;"
				   "  b</div><b>From:</b>\n Me &lt;me@x.example&gt;<br>c<hr>d</body>";
	char *t = forward_html_text(html, sizeof(html) - 1);

	(void)state;
	assert_string_equal(t, "a & b\nFrom: Me <me@x.example>\nc\n"
			    "________________________________\nd");
	g_free(t);
}

/* main - run the cases */
int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fixtures),
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_from_lines),
		cmocka_unit_test(test_hostile_lines),
		cmocka_unit_test(test_from_sent_plain),
		cmocka_unit_test(test_html_text),
	};
	int rc;

	g_mime_init();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	g_mime_shutdown();
	return rc;
}
