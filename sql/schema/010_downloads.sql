-- 010_downloads.sql - what a download carried: bytes and partial
--
-- DESCRIPTION
--	events gains
--	  bytes    bigint: for a download, the body bytes the answer carried
--	           (the whole file for a 200, the range for a 206, 0 for a
--	           HEAD); NULL for every other kind and for download events
--	           stored before this migration
--	  partial  boolean NOT NULL DEFAULT false: for a download, the answer
--	           was a range (206, a resumed or split download) or the
--	           transfer was cut short (the client went away, a timeout,
--	           a shutdown); false for every other kind
--	beacon-pixelsrv COPYs both after late.  Its event records keep both
--	(spool format version 2); records written before (version 1) still
--	replay, with bytes NULL and partial false.
--
--	Locks: beaconctl migrate runs this file in one transaction.  The
--	two ADD COLUMNs take ACCESS EXCLUSIVE on events and every partition
--	for an instant: NULL and a constant default need no table rewrite
--	and no scan.  Until the commit no event is written (beacon-pixelsrv
--	spools them) and no report runs.  Cost: none beyond the catalog
--	change, whatever the size of events.
--
--	beacon_pixelsrv gets INSERT on the two columns (it has INSERT on the
--	table already, from 005_roles.sql; granted again per column so the
--	grant survives a REVOKE of the table grant to columns).

ALTER TABLE beacon.events ADD COLUMN IF NOT EXISTS bytes bigint;
ALTER TABLE beacon.events ADD COLUMN IF NOT EXISTS partial boolean NOT NULL DEFAULT false;

GRANT INSERT (bytes, partial) ON beacon.events TO beacon_pixelsrv;
