-- 004_report_filter.sql - the message selection shared by the reports
--
-- DESCRIPTION
--	beacon.report_messages(message, message_id, campaign, sender
--	                       [, since [, until]])
--	returns the rows of beacon.messages that the reports in sql/reports/
--	select with their psql variables of the same names:
--
--	  message     messages.id (uuid text)
--	  message_id  the Message-ID header, with or without its <>
--	  campaign    messages.campaign, exactly
--	  sender      the envelope sender, compared in any case
--	  since       sent_at >= since (default NULL: no lower bound)
--	  until       sent_at < until (default NULL: no upper bound)
--
--	An empty string selects any value; message is cast to uuid only
--	when it is not empty.  The function is a plain STABLE SQL function
--	(no SET, not STRICT, not SECURITY DEFINER) so that the planner
--	inlines it into the report's query: the empty conditions fold away
--	and the indexes of 002_report_indexes.sql serve the others.  It runs
--	with the caller's rights; the caller needs SELECT on beacon.messages.

CREATE OR REPLACE FUNCTION beacon.report_messages(message text,
	message_id text, campaign text, sender text,
	since timestamptz DEFAULT NULL,
	until timestamptz DEFAULT NULL)
RETURNS SETOF beacon.messages
LANGUAGE sql
STABLE
AS $$
	SELECT m.*
	FROM beacon.messages m
	WHERE (report_messages.message = ''
	       OR m.id = nullif(report_messages.message, '')::uuid)
	  AND (report_messages.message_id = ''
	       OR m.message_id IN (report_messages.message_id,
				   '<' || report_messages.message_id || '>'))
	  AND (report_messages.campaign = ''
	       OR m.campaign = report_messages.campaign)
	  AND (report_messages.sender = ''
	       OR lower(m.sender) = lower(report_messages.sender))
	  AND (report_messages.since IS NULL
	       OR m.sent_at >= report_messages.since)
	  AND (report_messages.until IS NULL
	       OR m.sent_at < report_messages.until)
$$;
