-- 015_node.sql - which beacon-pixelsrv logged each event
--
-- DESCRIPTION
--	events gains
--	  node  text: the [pixelsrv] node_name of the server that answered
--	        the request (its host name by default), so that with several
--	        pixel servers behind a balancer each event says which one
--	        logged it.  The server writes it into its event record on the
--	        request path, so an event spooled, or recovered from the queue
--	        file after a crash, keeps the node that answered it whoever
--	        replays it.  NULL for events stored before this migration and
--	        for records spooled by an older beacon-pixelsrv.
--	beacon-pixelsrv COPYs it after partial.
--
--	Locks: beaconctl migrate runs this file in one transaction.  The
--	ADD COLUMN takes ACCESS EXCLUSIVE on events and every partition for
--	an instant: a nullable column without a default is a catalog change
--	only, no table rewrite and no scan.  Until the commit no event is
--	written (beacon-pixelsrv spools them) and no report runs.  Cost: none
--	beyond the catalog change, whatever the size of events.
--
--	beacon_pixelsrv gets INSERT on the column (it has INSERT on the table
--	already, from 005_roles.sql; granted again per column so the grant
--	survives a REVOKE of the table grant to columns).

ALTER TABLE beacon.events ADD COLUMN IF NOT EXISTS node text;

GRANT INSERT (node) ON beacon.events TO beacon_pixelsrv;
