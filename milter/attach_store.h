/*
 * NAME
 *	attach_store.h - write the taken attachments and each recipient's
 *	manifest into attachment_dir, all or nothing
 *
 * SYNOPSIS
 *	struct attach_undo *u = NULL;
 *	if (attach_store_put(dir, doc, rids, nrids, expiry, min_free, &u, why, sizeof(why)) < 0)
 *		... nothing was left behind; send the message as it came ...
 *	...
 *	attach_store_finish(u, rewritten);	(keep the files, or remove them)
 *
 * DESCRIPTION
 *	The layout beacon-pixelsrv reads (see beacon.conf(5)):
 *	    DIR/<aa>/<sha256hex>   the content, once per content (aa = its
 *	                           first two hex digits)
 *	    DIR/t/<rid-hex>        one line per attachment of one recipient:
 *	        n TAB sha256hex TAB size TAB expires_unix TAB content-type
 *	        TAB filename (percent-encoded UTF-8, RFC 3986 unreserved kept)
 *	Each file is written atomically: mkstemp in its directory, write,
 *	fchmod 0640, fsync, rename, fsync of the directory.  A content file
 *	of the same name and size is reused, not written again.  Missing
 *	directories are made (0750).  Nothing in any path comes from the
 *	message: the names are hex digests and token ids.
 *
 *	Content files go first, then the manifests: a manifest never names a
 *	file that is not there.  From the first content file check to the
 *	last manifest rename the call holds flock(LOCK_SH) on DIR/.lock
 *	(attach_format.h; made 0640 if missing, O_NOFOLLOW), waiting at most
 *	5 seconds while beaconctl holds LOCK_EX; a reused content file gets
 *	its time renewed (a failure fails the call), and every content file
 *	is checked again after the manifests are written.  Refused before
 *	anything is written: a manifest over ATTACH_MANIFEST_MAX octets (the
 *	pixel server would not read it), and a filesystem that would keep
 *	less than MIN_FREE octets free (0: not checked).  When anything fails the manifests this call
 *	wrote are removed again and -1 returned with the reason;
 *	attach_store_finish(u, 0) does the same later, when the message is
 *	not sent rewritten after all.  Content files are never removed here
 *	(another message may name the same content meanwhile); one that no
 *	message names is left to beaconctl purge.
 */
#ifndef BEACON_ATTACH_STORE_H
#define BEACON_ATTACH_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "mime_rewrite.h"
#include "token.h"

struct attach_undo;

/* attach_store_put - the taken attachments of D, and one manifest per recipient id of RIDS;
 * 0 with *UNDO set, or -1 with WHY and nothing left behind */
int attach_store_put(const char *dir, const struct mime_doc *d,
		     const uint8_t (*rids)[TOKEN_RID_LEN], int nrids, uint64_t expiry,
		     long long min_free, struct attach_undo **undo, char *why, size_t whylen);
/* attach_store_finish - KEEP: forget what was written; else remove it; frees U (NULL: nothing) */
void attach_store_finish(struct attach_undo *u, int keep);
/* attach_store_pct - NAME percent-encoded (RFC 3986 unreserved kept), g_free'd */
char *attach_store_pct(const char *name);

#endif
