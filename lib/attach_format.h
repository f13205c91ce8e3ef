/*
 * attach_format.h - what beacon-milter, beacon-pixelsrv and beaconctl agree
 * on about the attachment store (attachment_dir, see beacon.conf(5))
 *
 * ATTACH_MANIFEST_MAX is the largest manifest (<dir>/t/<rid-hex>): the
 * milter never writes a larger one (the message then goes out as it came)
 * and the pixel server refuses to read one.
 *
 * ATTACH_LOCK_NAME is the lock file <dir>/.lock (mode 0640, opened with
 * O_NOFOLLOW): beacon-milter holds flock(LOCK_SH) on it from its first
 * content-file check to its last manifest rename; beaconctl holds
 * flock(LOCK_EX) while it decides which content files no manifest names
 * and removes them, so no file a message just named is removed.
 */
#ifndef BEACON_ATTACH_FORMAT_H
#define BEACON_ATTACH_FORMAT_H

#define ATTACH_MANIFEST_MAX (256 * 1024)	/* octets of the largest manifest */
#define ATTACH_LOCK_NAME ".lock"		/* in attachment_dir */
#define ATTACH_LOCK_MODE 0640

#endif
