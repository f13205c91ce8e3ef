/*
 * NAME
 *	attach_files.h - removing the stored files of linked attachments
 *
 * DESCRIPTION
 *	beaconctl purge, maintain and forget plan inside their transaction
 *	(the database then shows what they remove) and remove after the
 *	commit; attach_files.c says which files go.
 */
#ifndef BEACON_CTL_ATTACH_FILES_H
#define BEACON_CTL_ATTACH_FILES_H

#include "ctl.h"

/* attach_mode - who asks: forget removes the blobs of the manifests it removes at once */
enum attach_mode { ATTACH_RETENTION, ATTACH_FORGET };

/* attach_plan - the files to remove */
struct attach_plan {
	char **paths;		/* "dir/name" below attachment_dir; "!" first: forget's */
	size_t npaths, cap;
	long manifests;		/* manifests among them */
	long blobs;		/* blobs among them */
	long long bytes;	/* the blobs' size */
	long ttl;		/* attachment_ttl, seconds */
	long temps;		/* the milter's temporary files left by a crash */
	int failed;		/* files or directories that could not be read or removed */
	int lockfd;		/* attachment_dir/.lock, held from the plan to the end of apply */
};

/* attach_files_plan - which files go, decided in the open transaction; takes the
 * store's lock (kept until attach_files_apply or attach_files_free) */
void attach_files_plan(struct ctl *c, enum attach_mode mode, struct attach_plan *p);
/* attach_files_apply - remove them (after the commit), then release the lock;
 * failures counted in P */
void attach_files_apply(struct ctl *c, struct attach_plan *p);
/* attach_files_free - release P (and the lock, when apply did not run) */
void attach_files_free(struct attach_plan *p);

#endif
