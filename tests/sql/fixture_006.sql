-- fixture_006.sql - rows that need migration 006 (reason, late, class
-- bot, the honeypot link 0), loaded by run_pgtap.sh after every
-- migration and after fixture.sql.  The expected figures in
-- tests/sql/*.pg are worked out from these rows too.
--
-- M4 ...0004  carol@example.org, campaign autumn, 2026-01-25 10:00 UTC,
--             client 192.0.2.30, links 0 (the honeypot) 1 2
--   0401 kim@example.com   tracked  honeypot click (scanner, honeypot) and
--                                   a click on 1 from the same scanner
--                                   (scanner, honeypot-peer), its mark in
--                                   scanner_marks; human open
--                                   and human click 2; a bot open (bot-ua);
--                                   a human open and click 1 flagged late
--   0402 lee@example.com   tracked  scanner click 1 (early-click) and bot
--                                   click 2 (list:crawler-test) only: never
--                                   opened
--   0403 mia@example.com   tracked  a human open flagged late only (in the
--                                   DEFAULT partition: February 2026)

INSERT INTO beacon.messages (id, message_id, queue_id, sender, sasl_login,
	subject, campaign, sent_at, client_ip, clicks, notify, recipients, size)
VALUES
('10000000-0000-4000-8000-000000000004', '<m4@example.org>', '4Q1AA4',
 'carol@example.org', 'carol', 'Autumn news', 'autumn',
 '2026-01-25 10:00:00+00', '192.0.2.30', true, false, 3, 12000);

INSERT INTO beacon.recipients (token_id, message, address, status, key_id,
	token, name)
VALUES
('20000000-0000-4000-8000-000000000401', '10000000-0000-4000-8000-000000000004',
 'kim@example.com', 'tracked', 2, 'tok-0401', 'Kim Kay'),
('20000000-0000-4000-8000-000000000402', '10000000-0000-4000-8000-000000000004',
 'lee@example.com', 'tracked', 2, 'tok-0402', NULL),
('20000000-0000-4000-8000-000000000403', '10000000-0000-4000-8000-000000000004',
 'mia@example.com', 'tracked', 2, 'tok-0403', NULL);

INSERT INTO beacon.links (message, n, url) VALUES
('10000000-0000-4000-8000-000000000004', 0, 'honeypot:'),
('10000000-0000-4000-8000-000000000004', 1, 'https://example.org/autumn'),
('10000000-0000-4000-8000-000000000004', 2, 'https://example.org/shop');

INSERT INTO beacon.events (at, kind, token_id, link_n, ip, user_agent,
	device, os, browser, client, country, region, city, asn, asn_org,
	class, reason, hints, late)
VALUES
('2026-01-25 10:00:05+00', 'click', '20000000-0000-4000-8000-000000000401',
 0, '198.51.100.60', 'Mozilla/5.0 (scan)', 'Other', 'Other', 'Other', NULL,
 'US', 'Washington', 'Quincy', 8075, 'Microsoft', 'scanner', 'honeypot', 0,
 false),
('2026-01-25 10:00:06+00', 'click', '20000000-0000-4000-8000-000000000401',
 1, '198.51.100.60', 'Mozilla/5.0 (scan)', 'Other', 'Other', 'Other', NULL,
 'US', 'Washington', 'Quincy', 8075, 'Microsoft', 'scanner',
 'honeypot-peer', 0, false),
('2026-01-25 12:00:00+00', 'open', '20000000-0000-4000-8000-000000000401',
 NULL, '203.0.113.70', 'Thunderbird/128', 'Desktop', 'Linux', NULL,
 'Thunderbird', 'AT', 'Vienna', 'Vienna', 64507, 'AT ISP', 'human', NULL,
 0, false),
('2026-01-25 12:01:00+00', 'click', '20000000-0000-4000-8000-000000000401',
 2, '203.0.113.70', 'Firefox/128', 'Desktop', 'Linux', 'Firefox', NULL,
 'AT', 'Vienna', 'Vienna', 64507, 'AT ISP', 'human', NULL, 0, false),
('2026-01-25 12:30:00+00', 'open', '20000000-0000-4000-8000-000000000401',
 NULL, '198.51.100.61', 'python-requests/2.31', 'Spider', 'Other', NULL,
 NULL, 'US', 'Oregon', 'Boardman', 16509, 'Amazon', 'bot', 'bot-ua', 48,
 false),
('2026-01-30 07:00:00+00', 'open', '20000000-0000-4000-8000-000000000401',
 NULL, '203.0.113.70', 'Thunderbird/128', 'Desktop', 'Linux', NULL,
 'Thunderbird', 'AT', 'Vienna', 'Vienna', 64507, 'AT ISP', 'human', NULL,
 0, true),
('2026-01-30 07:01:00+00', 'click', '20000000-0000-4000-8000-000000000401',
 1, '203.0.113.70', 'Firefox/128', 'Desktop', 'Linux', 'Firefox', NULL,
 'AT', 'Vienna', 'Vienna', 64507, 'AT ISP', 'human', NULL, 0, true),
('2026-02-10 18:00:00+00', 'open', '20000000-0000-4000-8000-000000000403',
 NULL, '203.0.113.71', 'Outlook/16', 'Desktop', 'Windows', NULL, 'Outlook',
 'AT', 'Tyrol', 'Innsbruck', 64507, 'AT ISP', 'human', NULL, 0, true),
('2026-01-25 10:00:04+00', 'click', '20000000-0000-4000-8000-000000000402',
 1, '198.51.100.62', 'Mozilla/5.0', 'Other', 'Other', 'Other', NULL,
 'US', 'Washington', 'Quincy', 8075, 'Microsoft', 'scanner', 'early-click',
 0, false),
('2026-01-25 10:00:09+00', 'click', '20000000-0000-4000-8000-000000000402',
 2, '198.51.100.63', 'crawler-test/1.0', 'Spider', 'Other', 'Other', NULL,
 'DE', 'Hesse', 'Frankfurt', 64508, 'Hosting', 'bot', 'list:crawler-test',
 0, false);

INSERT INTO beacon.scanner_marks (message, ip, user_agent, first_at) VALUES
('10000000-0000-4000-8000-000000000004', '198.51.100.60', 'Mozilla/5.0 (scan)',
 '2026-01-25 10:00:05+00');
