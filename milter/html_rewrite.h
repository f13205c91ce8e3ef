/*
 * html_rewrite.h - put the pixel into an HTML part and sign its links.
 *
 * SYNOPSIS
 *	struct html_rewrite_opts o = { .pixel_url = px, .placeholder_url = ph,
 *	    .clicks = 1, .link = sign, .link_arg = msg };
 *	struct html_rewrite_stats st;
 *	GString *out = g_string_new(NULL);
 *	if (html_rewrite(html, len, &o, out, &st) == 0) ... use out ...
 *
 * DESCRIPTION
 *	html_rewrite() copies the decoded bytes of one text/html part to OUT,
 *	changing only:
 *
 *	- the first <img> whose src (entity-decoded, trimmed) equals
 *	  placeholder_url: the whole tag becomes the pixel markup
 *	  <img src="PIXEL" width="1" height="1" alt=""
 *	  style="display:block;border:0;width:1px;height:1px">;
 *	  further placeholders are cut out.  With pixel_url NULL every
 *	  placeholder is cut out.
 *	- with no placeholder, the pixel markup is inserted just before the
 *	  last </body> tag, or else at the end of the document (before a
 *	  comment, tag or raw-text element left open there, so it stays
 *	  visible).
 *	- with clicks on, the first href of each <a> and <area> whose URL
 *	  (entity-decoded, trimmed, tab/CR/LF removed) has scheme http or
 *	  https: the value is replaced by what the link callback appends,
 *	  entity-escaped inside double quotes.  Left alone: other schemes,
 *	  fragments, relative URLs, keep_urls (compared with the decoded
 *	  URL, exactly), links marked data-beacon="off", and, unless
 *	  track_literal_urls, an <a> whose visible text starts with
 *	  http://, https:// or www. (ASCII case-insensitive).
 *	- the attribute data-beacon="off" of an <a> or <area> is cut out,
 *	  with the whitespace before it.
 *	- with honeypot_url set, one hidden link to it is inserted where
 *	  the pixel goes when there is no placeholder (just after the
 *	  pixel then):
 *	  <span style="display:none;mso-hide:all" aria-hidden="true"><a
 *	  href="HONEYPOT" tabindex="-1" aria-hidden="true"
 *	  style="display:none;mso-hide:all"></a></span>
 *	  (one line).  No person sees it, reaches it with the keyboard or
 *	  hears it from a screen reader, and it has no text to click: a
 *	  request for it comes from a program that follows every link.  It
 *	  never goes next to a placeholder, which may sit inside a link (a
 *	  link inside a link would end the outer one).
 *
 *	- with download_html set, it is inserted (as it is, never scanned)
 *	  where the pixel goes when there is no placeholder, before the
 *	  pixel and the hidden link, whether or not there is a placeholder.
 *
 *	Every other byte is copied as it came, NUL bytes included.  Links
 *	and images inside comments, CDATA, <script>, <style>, <title> and
 *	<textarea> are not seen.
 *
 * DIAGNOSTICS
 *	html_rewrite() returns -1, with OUT as it was on entry, when an
 *	argument is missing (o or out NULL, html NULL with len > 0, clicks
 *	on without a link callback) or when the link callback returns a
 *	negative value.
 */
#ifndef BEACON_HTML_REWRITE_H
#define BEACON_HTML_REWRITE_H

#include <stddef.h>

#include <glib.h>

/* html_link_fn - sign one link: URL is entity-decoded (NUL-terminated);
 * append the click URL (raw, not escaped) to OUT and return 1, or return
 * 0 to keep the link as it is (a negative return fails the rewrite) */
typedef int (*html_link_fn)(void *arg, const char *url, GString *out);

/* html_rewrite_opts - what to do to one part */
struct html_rewrite_opts {
	const char *pixel_url;		/* the recipient's pixel URL; NULL: no pixel */
	const char *placeholder_url;	/* <img src> that marks the pixel's place; NULL: none */
	int clicks;			/* rewrite http(s) links of <a>/<area> */
	int track_literal_urls;		/* also links whose visible text is a URL */
	const char *const *keep_urls;	/* links never rewritten (List-Unsubscribe
					 * targets), NULL-terminated or NULL */
	html_link_fn link;		/* signs one link */
	void *link_arg;			/* its first argument */
	const char *honeypot_url;	/* the hidden link's URL; NULL: none */
	const char *download_html;	/* the download block (attach.h), inserted where the
					 * pixel goes without a placeholder, before it; NULL: none */
	const char *download_text;	/* the download lines for text/plain parts
					 * (mime_rewrite.h), UTF-8; NULL: none */
};

/* html_rewrite_stats - what html_rewrite() did */
struct html_rewrite_stats {
	int placeholders;	/* placeholder <img>s replaced (first one becomes
				 * the pixel, further ones removed) */
	int pixel_inserted;	/* 1 if the pixel was inserted before </body> or at the end */
	int links_rewritten;	/* hrefs replaced by click URLs */
	int links_kept;		/* http(s) hrefs left as they were (keep_urls,
				 * data-beacon="off", literal URL text, callback 0) */
	int honeypots;		/* 1 if the hidden link was inserted */
};

/* html_rewrite - rewrite HTML[0..LEN) into OUT (appended); 0 ok, -1 on a
 * failure that must leave the part untouched */
int html_rewrite(const char *html, size_t len, const struct html_rewrite_opts *o,
    GString *out, struct html_rewrite_stats *st);

/* html_has_placeholder - does HTML hold an <img> whose src (entity-decoded)
 * equals URL? */
int html_has_placeholder(const char *html, size_t len, const char *url);

/* html_escape_attr - append S escaped for a double-quoted attribute value
 * (& < > " ') */
void html_escape_attr(GString *out, const char *s);

#endif
