-- 002_report_indexes.sql - indexes the reports in sql/reports/ rely on
--
-- DESCRIPTION
--	events: by token_id, for a recipient's or a message's events (each
--	token has few; a wider key costs ingest more than it saves); BRIN on
--	"at" for time windows (events arrive in time order, so a BRIN costs
--	next to nothing on ingest).
--	recipients: by message, by lower(address) (history, never_opened),
--	trigram on address and name (search).
--	messages: by lower(sender) and sent_at, by sent_at, by campaign, by
--	Message-ID, trigram on subject, sender and campaign (search).
--	Trigram indexes come from pg_trgm (Debian postgresql-15 contrib); it
--	is a trusted extension, so the database owner may create it.  It goes
--	into schema beacon unless the database has it already.

SET LOCAL search_path = beacon, public, pg_catalog;
CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA beacon;

CREATE INDEX IF NOT EXISTS events_token ON beacon.events (token_id);
CREATE INDEX IF NOT EXISTS events_at_brin ON beacon.events USING brin (at);

CREATE INDEX IF NOT EXISTS recipients_message ON beacon.recipients (message);
CREATE INDEX IF NOT EXISTS recipients_lower_address
	ON beacon.recipients (lower(address));
CREATE INDEX IF NOT EXISTS recipients_address_trgm
	ON beacon.recipients USING gin (address gin_trgm_ops);
CREATE INDEX IF NOT EXISTS recipients_name_trgm
	ON beacon.recipients USING gin (name gin_trgm_ops);

CREATE INDEX IF NOT EXISTS messages_sender
	ON beacon.messages (lower(sender), sent_at);
CREATE INDEX IF NOT EXISTS messages_sent_at ON beacon.messages (sent_at);
CREATE INDEX IF NOT EXISTS messages_campaign
	ON beacon.messages (campaign, sent_at);
CREATE INDEX IF NOT EXISTS messages_message_id
	ON beacon.messages (message_id);
CREATE INDEX IF NOT EXISTS messages_subject_trgm
	ON beacon.messages USING gin (subject gin_trgm_ops);
CREATE INDEX IF NOT EXISTS messages_sender_trgm
	ON beacon.messages USING gin (sender gin_trgm_ops);
CREATE INDEX IF NOT EXISTS messages_campaign_trgm
	ON beacon.messages USING gin (campaign gin_trgm_ops);
