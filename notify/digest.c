/*
 * digest.c - one plain-text mail per mail destination and interval,
 * through libcurl's SMTP (see digest.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>
#include <sodium.h>

#include "digest.h"
#include "log.h"
#include "payload.h"

#define DIGEST_LINE_MAX 900	/* bytes of one event's line */

/* digest_reader - the mail being uploaded */
struct digest_reader {
	const char *p;	/* what is left */
	size_t left;	/* its length */
};

/* digest_read - CURLOPT_READFUNCTION: the next piece of the mail */
static size_t digest_read(char *out, size_t size, size_t n, void *arg)
{
	struct digest_reader *r = arg;
	size_t len = size * n < r->left ? size * n : r->left;

	memcpy(out, r->p, len);
	r->p += len;
	r->left -= len;
	return len;
}

/* digest_domain - the part of FROM after '@', or the host name */
static const char *digest_domain(const char *from, char *host, size_t len)
{
	const char *at = strrchr(from, '@');

	if (at && at[1])
		return at + 1;
	if (gethostname(host, len) < 0 || !*host)
		snprintf(host, len, "localhost");
	host[len - 1] = '\0';
	return host;
}

/* digest_line - IT's line, cut to DIGEST_LINE_MAX bytes on a UTF-8 boundary: with
 * its "- " and CRLF well under SMTP's 998 (RFC 5322 2.1.1), whatever the name,
 * subject and link */
static void digest_line(struct buf *m, const struct item *it)
{
	struct buf line = { 0 };
	size_t n;

	payload_line(&line, it);
	n = line.len;
	if (n > DIGEST_LINE_MAX) {
		n = DIGEST_LINE_MAX - 3;
		while (n > 0 && ((unsigned char)line.p[n] & 0xc0) == 0x80)
			n--;
	}
	buf_adds(m, "- ");
	buf_add(m, line.p, n);
	if (n < line.len)
		buf_adds(m, "...");
	buf_adds(m, "\r\n");
	buf_free(&line);
}

/* digest_message - headers and one line per event, CRLF */
size_t digest_message(struct buf *m, const struct digest_conf *dc, const char *to,
    const struct item *items, size_t n)
{
	char date[64], host[256];
	time_t now = time(NULL);
	struct tm tm;
	size_t count = 0;

	for (size_t i = 0; i < n; i++)
		count += items[i].outcome != ITEM_DROPPED;
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	buf_printf(m, "From: %s\r\n", dc->from);
	buf_adds(m, "To: ");
	payload_clean(m, to, 320);
	buf_adds(m, "\r\n");
	buf_printf(m, "Subject: Beacon: %zu event%s on your mail\r\n", count, count == 1 ? "" : "s");
	buf_printf(m, "Date: %s\r\n", date);
	buf_printf(m, "Message-ID: <beacon-digest.%lld.%08x@%s>\r\n", (long long)now,
	    randombytes_random(), digest_domain(dc->from, host, sizeof(host)));
	buf_adds(m, "MIME-Version: 1.0\r\n"
		    "Content-Type: text/plain; charset=utf-8\r\n"
		    "Content-Transfer-Encoding: 8bit\r\n"
		    "Auto-Submitted: auto-generated\r\n");
	buf_printf(m, "%s: no\r\n", dc->tag_header && *dc->tag_header ? dc->tag_header :
	    "X-Beacon");
	buf_printf(m, "\r\n%zu event%s on the mail you sent, oldest first:\r\n\r\n", count,
	    count == 1 ? "" : "s");
	for (size_t i = 0; i < n; i++) {
		if (items[i].outcome == ITEM_DROPPED)
			continue;
		digest_line(m, &items[i]);
	}
	buf_adds(m, "\r\n-- \r\nbeacon-notify: mute a message with beaconctl notify mute.\r\n");
	return count;
}

/* digest_send - one mail for the items not dropped */
void digest_send(const struct digest_conf *dc, struct item *items, size_t n)
{
	struct buf m = { 0 }, from = { 0 }, to = { 0 };
	struct digest_reader r;
	struct curl_slist *rcpt = NULL;
	char errbuf[CURL_ERROR_SIZE] = "";
	const char *addr = NULL, *id = NULL;
	long code = 0;
	curl_off_t us = 0;
	CURLcode rc;
	CURL *e;

	for (size_t i = 0; i < n && !addr; i++)
		if (items[i].outcome != ITEM_DROPPED)
			addr = items[i].url, id = items[i].id;
	if (!addr)
		return;
	if (strpbrk(addr, "<>\r\n \t") || !strchr(addr, '@')) {
		for (size_t i = 0; i < n; i++)
			if (items[i].outcome != ITEM_DROPPED)
				snprintf(items[i].error, sizeof(items[i].error),
				    "destination %d: '%.64s' is not a mail address", items[i].dest,
				    addr);
		log_warnx("%s: %s", id, items[0].error[0] ? items[0].error : "bad address");
		return;
	}
	if (digest_message(&m, dc, addr, items, n) == 0)
		return;
	buf_printf(&from, "<%s>", dc->from);
	buf_printf(&to, "<%s>", addr);
	if (!(e = curl_easy_init()) || !(rcpt = curl_slist_append(NULL, buf_str(&to))))
		log_fatalx("out of memory (libcurl handle)");
	r = (struct digest_reader){ m.p, m.len };
	curl_easy_setopt(e, CURLOPT_URL, dc->smtp_url);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, dc->timeout_s * 1000);
	curl_easy_setopt(e, CURLOPT_MAIL_FROM, buf_str(&from));
	curl_easy_setopt(e, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(e, CURLOPT_READFUNCTION, digest_read);
	curl_easy_setopt(e, CURLOPT_READDATA, &r);
	curl_easy_setopt(e, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(e, CURLOPT_INFILESIZE_LARGE, (curl_off_t)m.len);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
	rc = curl_easy_perform(e);
	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
	curl_easy_getinfo(e, CURLINFO_TOTAL_TIME_T, &us);
	for (size_t i = 0; i < n; i++) {
		struct item *it = &items[i];

		if (it->outcome == ITEM_DROPPED)
			continue;
		it->status = (int)code;
		it->latency_ms = (int)(us / 1000);
		if (rc == CURLE_OK) {
			it->outcome = ITEM_SENT;
			it->error[0] = '\0';
		} else {
			it->outcome = ITEM_RETRY;
			snprintf(it->error, sizeof(it->error), "%s", errbuf[0] ? errbuf :
			    curl_easy_strerror(rc));
		}
	}
	if (rc == CURLE_OK)
		log_info("%s: digest mail to destination %d accepted by %s (SMTP %ld)", id,
		    items[0].dest, dc->smtp_url, code);
	else
		log_warnx("%s: digest mail to destination %d not sent through %s: %s", id,
		    items[0].dest, dc->smtp_url, errbuf[0] ? errbuf : curl_easy_strerror(rc));
	curl_slist_free_all(rcpt);
	curl_easy_cleanup(e);
	buf_free(&m);
	buf_free(&from);
	buf_free(&to);
}
