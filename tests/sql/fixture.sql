-- fixture.sql - messages, recipients, links and events the pgTAP tests
-- assert the reports against (loaded once, committed, after the
-- migrations).  The expected figures in tests/sql/*.pg are worked out
-- from the rows below; change both together.
--
-- M1 ...0001  alice@example.org, campaign spring, 2025-12-30 09:00 UTC,
--             notify on, links 1-3, attachment 1
--   0101 ann@example.com   tracked  internal open, 2 human opens (Berlin),
--                                   human click 1, download 1, scanner
--                                   clicks 1 and 2, one inbound event
--   0102 Ben@Example.com   tracked  2 proxy opens (no place), human click 2
--   0103 cat@example.com   tracked  prefetch open only
--   0104 dan@example.com   tracked  sender-class open only
--   0105 eve@corp.example  internal (no token)
--   0106 fay@optout.example suppressed (no token)
-- M2 ...0002  alice@example.org, campaign spring, 2026-01-10 14:00 UTC
--   0201 ann@example.com   tracked  human open (Hamburg), human click 1
--   0202 gus@example.com   tracked  human open (New York); name Gus Grant
--   0203 hal@example.com   tracked  human click 1, no open (images off)
-- M3 ...0003  bob@example.net, no campaign, 2026-01-20 08:00 UTC
--   0301 team@corp.example shared   prefetch open only
-- one human open whose token has no recipients row (spool replay order),
-- and one more of that token in the DEFAULT partition (June 2024)
-- suppressions: fay@optout.example and @optout.example (0.1 rows: no sender)
--
-- The rows are those of the 0.1 schema (migrations 001-005):
-- run_pgtap.sh loads this file before the later migrations, so that they
-- are tested on a database holding 0.1 rows; fixture_006.sql adds rows
-- that need the later columns.

CREATE TABLE IF NOT EXISTS beacon.events_y2025m12 PARTITION OF beacon.events
	FOR VALUES FROM ('2025-12-01 00:00:00+00') TO ('2026-01-01 00:00:00+00');
CREATE TABLE IF NOT EXISTS beacon.events_y2026m01 PARTITION OF beacon.events
	FOR VALUES FROM ('2026-01-01 00:00:00+00') TO ('2026-02-01 00:00:00+00');

INSERT INTO beacon.messages (id, message_id, queue_id, sender, sasl_login,
	subject, campaign, sent_at, client_ip, clicks, notify, recipients, size)
VALUES
('10000000-0000-4000-8000-000000000001', '<m1@example.org>', '4Q1AA1',
 'alice@example.org', 'alice', 'Spring letter', 'spring',
 '2025-12-30 09:00:00+00', '192.0.2.10', true, true, 6, 28000),
('10000000-0000-4000-8000-000000000002', '<m2@example.org>', '4Q1AA2',
 'alice@example.org', 'alice', 'Spring letter (reminder)', 'spring',
 '2026-01-10 14:00:00+00', '192.0.2.10', true, false, 3, 27000),
('10000000-0000-4000-8000-000000000003', '<m3@example.net>', '4Q1AA3',
 'Bob@Example.net', NULL, 'Invoice 42', NULL,
 '2026-01-20 08:00:00+00', '192.0.2.20', false, false, 1, 9000);

INSERT INTO beacon.recipients (token_id, message, address, status, key_id,
	token, name)
VALUES
('20000000-0000-4000-8000-000000000101', '10000000-0000-4000-8000-000000000001',
 'ann@example.com', 'tracked', 1, 'tok-0101', 'Ann Archer'),
('20000000-0000-4000-8000-000000000102', '10000000-0000-4000-8000-000000000001',
 'Ben@Example.com', 'tracked', 1, 'tok-0102', NULL),
('20000000-0000-4000-8000-000000000103', '10000000-0000-4000-8000-000000000001',
 'cat@example.com', 'tracked', 1, 'tok-0103', NULL),
('20000000-0000-4000-8000-000000000104', '10000000-0000-4000-8000-000000000001',
 'dan@example.com', 'tracked', 1, 'tok-0104', NULL),
('20000000-0000-4000-8000-000000000105', '10000000-0000-4000-8000-000000000001',
 'eve@corp.example', 'internal', 1, NULL, NULL),
('20000000-0000-4000-8000-000000000106', '10000000-0000-4000-8000-000000000001',
 'fay@optout.example', 'suppressed', 1, NULL, NULL),
('20000000-0000-4000-8000-000000000201', '10000000-0000-4000-8000-000000000002',
 'ann@example.com', 'tracked', 2, 'tok-0201', 'Ann Archer'),
('20000000-0000-4000-8000-000000000202', '10000000-0000-4000-8000-000000000002',
 'gus@example.com', 'tracked', 2, 'tok-0202', 'Gus Grant'),
('20000000-0000-4000-8000-000000000203', '10000000-0000-4000-8000-000000000002',
 'hal@example.com', 'tracked', 2, 'tok-0203', NULL),
('20000000-0000-4000-8000-000000000301', '10000000-0000-4000-8000-000000000003',
 'team@corp.example', 'shared', 2, 'tok-0301', NULL);

INSERT INTO beacon.links (message, n, url) VALUES
('10000000-0000-4000-8000-000000000001', 1, 'https://example.org/a'),
('10000000-0000-4000-8000-000000000001', 2, 'https://example.org/b'),
('10000000-0000-4000-8000-000000000001', 3, 'https://example.org/c'),
('10000000-0000-4000-8000-000000000002', 1, 'https://example.org/r');

INSERT INTO beacon.attachments (message, id, name, content_type, size,
	expires_at, storage_ref)
VALUES
('10000000-0000-4000-8000-000000000001', 1, 'price-list.pdf',
 'application/pdf', 120000, '2026-03-30 09:00:00+00', 'att/m1/1');

INSERT INTO beacon.events (at, kind, token_id, link_n, attachment_id, ip,
	user_agent, device, os, browser, client, country, region, city,
	latitude, longitude, asn, asn_org, class)
VALUES
-- M1 / ann
('2025-12-30 09:00:30+00', 'click', '20000000-0000-4000-8000-000000000101',
 1, NULL, '198.51.100.7', 'curl/8.0', 'Other', 'Other', 'Other', NULL,
 'US', 'Virginia', 'Ashburn', 39.04, -77.49, 64500, 'Scan Co', 'scanner'),
('2025-12-30 09:00:31+00', 'click', '20000000-0000-4000-8000-000000000101',
 2, NULL, '198.51.100.7', 'curl/8.0', 'Other', 'Other', 'Other', NULL,
 'US', 'Virginia', 'Ashburn', 39.04, -77.49, 64500, 'Scan Co', 'scanner'),
('2025-12-30 09:02:00+00', 'open', '20000000-0000-4000-8000-000000000101',
 NULL, NULL, '192.0.2.50', 'Thunderbird/115', 'Desktop', 'Windows',
 NULL, 'Thunderbird', 'DE', 'Bavaria', 'Munich', 48.14, 11.58, 64501,
 'Office Net', 'internal'),
('2025-12-30 09:03:00+00', 'open', '20000000-0000-4000-8000-000000000101',
 NULL, NULL, '203.0.113.5', 'Thunderbird/115', 'Desktop', 'Linux',
 NULL, 'Thunderbird', 'DE', 'Berlin', 'Berlin', 52.52, 13.40, 64502,
 'Home ISP', 'human'),
('2025-12-30 09:05:00+00', 'click', '20000000-0000-4000-8000-000000000101',
 1, NULL, '203.0.113.5', 'Firefox/120', 'Desktop', 'Linux', 'Firefox',
 NULL, 'DE', 'Berlin', 'Berlin', 52.52, 13.40, 64502, 'Home ISP', 'human'),
('2025-12-30 09:06:00+00', 'download', '20000000-0000-4000-8000-000000000101',
 NULL, 1, '203.0.113.5', 'Firefox/120', 'Desktop', 'Linux', 'Firefox',
 NULL, 'DE', 'Berlin', 'Berlin', 52.52, 13.40, 64502, 'Home ISP', 'human'),
('2025-12-31 18:20:00+00', 'open', '20000000-0000-4000-8000-000000000101',
 NULL, NULL, '203.0.113.5', 'Thunderbird/115', 'Desktop', 'Linux',
 NULL, 'Thunderbird', 'DE', 'Berlin', 'Berlin', 52.52, 13.40, 64502,
 'Home ISP', 'human'),
('2026-01-03 10:00:00+00', 'inbound', '20000000-0000-4000-8000-000000000101',
 NULL, NULL, '203.0.113.5', NULL, NULL, NULL, NULL, NULL,
 NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'human'),
-- M1 / Ben
('2025-12-30 10:30:00+00', 'open', '20000000-0000-4000-8000-000000000102',
 NULL, NULL, '66.249.84.1', 'GoogleImageProxy', NULL, NULL, NULL, 'Gmail',
 NULL, NULL, NULL, NULL, NULL, 15169, 'Google', 'proxy'),
('2026-01-02 07:00:00+00', 'open', '20000000-0000-4000-8000-000000000102',
 NULL, NULL, '66.249.84.2', 'GoogleImageProxy', NULL, NULL, NULL, 'Gmail',
 NULL, NULL, NULL, NULL, NULL, 15169, 'Google', 'proxy'),
('2026-01-02 07:01:00+00', 'click', '20000000-0000-4000-8000-000000000102',
 2, NULL, '203.0.113.80', 'Chrome/120', 'Smartphone', 'Android', 'Chrome',
 NULL, 'FR', 'Ile-de-France', 'Paris', 48.86, 2.35, 64503, 'Mobile FR',
 'human'),
-- M1 / cat, dan
('2025-12-30 09:01:00+00', 'open', '20000000-0000-4000-8000-000000000103',
 NULL, NULL, '172.225.0.9', 'Mozilla/5.0', NULL, NULL, NULL, 'Apple Mail',
 'US', 'California', NULL, NULL, NULL, 714, 'Apple', 'prefetch'),
('2025-12-30 09:00:10+00', 'open', '20000000-0000-4000-8000-000000000104',
 NULL, NULL, '192.0.2.10', 'Outlook/16', 'Desktop', 'Windows', NULL,
 'Outlook', NULL, NULL, NULL, NULL, NULL, NULL, NULL, 'sender'),
-- M2
('2026-01-11 08:15:00+00', 'open', '20000000-0000-4000-8000-000000000201',
 NULL, NULL, '203.0.113.9', 'iPhone Mail', 'iPhone', 'iOS', NULL,
 'Apple Mail', 'DE', 'Hamburg', 'Hamburg', 53.55, 9.99, 64504, 'Mobile DE',
 'human'),
('2026-01-11 08:16:00+00', 'click', '20000000-0000-4000-8000-000000000201',
 1, NULL, '203.0.113.9', 'Mobile Safari', 'iPhone', 'iOS', 'Mobile Safari',
 NULL, 'DE', 'Hamburg', 'Hamburg', 53.55, 9.99, 64504, 'Mobile DE',
 'human'),
('2026-01-10 14:20:00+00', 'open', '20000000-0000-4000-8000-000000000202',
 NULL, NULL, '198.51.100.40', 'Outlook/16', 'Desktop', 'Windows', NULL,
 'Outlook', 'US', 'New York', 'New York', 40.71, -74.01, 64505, 'NY ISP',
 'human'),
('2026-01-12 12:00:00+00', 'click', '20000000-0000-4000-8000-000000000203',
 1, NULL, '198.51.100.41', 'Chrome/120', 'Desktop', 'Mac', 'Chrome',
 NULL, 'US', 'New York', 'Brooklyn', 40.68, -73.94, 64505, 'NY ISP',
 'human'),
-- M3 / team
('2026-01-20 08:05:00+00', 'open', '20000000-0000-4000-8000-000000000301',
 NULL, NULL, '172.225.0.10', 'Mozilla/5.0', NULL, NULL, NULL, 'Apple Mail',
 'US', 'California', NULL, NULL, NULL, 714, 'Apple', 'prefetch'),
-- no recipients row (yet)
('2026-01-05 12:00:00+00', 'open', 'ffffffff-ffff-4fff-8fff-ffffffffffff',
 NULL, NULL, '203.0.113.99', 'Thunderbird/115', 'Desktop', 'Linux', NULL,
 'Thunderbird', 'NL', 'North Holland', 'Amsterdam', 52.37, 4.90, 64506,
 'NL ISP', 'human'),
('2024-06-01 12:00:00+00', 'open', 'ffffffff-ffff-4fff-8fff-ffffffffffff',
 NULL, NULL, '203.0.113.99', 'Thunderbird/115', 'Desktop', 'Linux', NULL,
 'Thunderbird', 'NL', 'North Holland', 'Amsterdam', 52.37, 4.90, 64506,
 'NL ISP', 'human');

INSERT INTO beacon.suppressions (pattern, reason, added_at)
VALUES ('fay@optout.example', 'asked by phone', '2025-12-01 10:00:00+00'),
       ('@optout.example', NULL, '2025-12-01 10:00:00+00');
