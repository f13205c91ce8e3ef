/*
 * cfg_keys.h - the one table of beacon.conf(5) keys.
 *
 * Each CFG_KEY(section, name, type, default, help) line defines one key:
 * the struct field (cfg.<section>.<name>), its parser, its default and the
 * one-line help that `-n` prints.  tests/checks/man_keys.sh compares
 * this table with man/beacon.conf.5 so code and manual cannot drift.
 *
 * Types: STR (string), INT (integer >= 0), BOOL (yes/no/true/false/on/off/1/0),
 * SIZE (bytes, suffix k/m/g), DUR (seconds, suffix s/m/h/d), LIST (comma
 * separated strings), ENUM(values "a|b|c", stored as the index), and the
 * network types, checked with lib/cidr.c and lib/hostport.c when read and
 * stored as their text: CIDRS (a LIST of IP prefixes), ADDR (a STR address
 * to connect to: host:port, [v6]:port, inet:port@host), ADDRS (a LIST of
 * addresses to listen on: host:port, [v6]:port, *:port) and SOCKET (a STR
 * libmilter socket: unix:/path, inet:port@host).
 */

#include "log.h"	/* LOG_FACILITY_NAMES: the syslog_facility values */
#include "paths.h"	/* the defaults of path keys follow the install paths */

/* keys before any [section] header: shared by every program */
#define CFG_GLOBAL_KEYS(X) \
	X(global, base_url, STR, "https://t.example.com", "public URL prefix of beacon-pixelsrv, no trailing slash") \
	X(global, secret_file, STR, BEACON_SYSCONFDIR "/secret", "token keys: lines 'ID HEX64'; last line signs, all verify") \
	X(global, syslog_facility, ENUM(LOG_FACILITY_NAMES), "mail", "syslog facility")

#define CFG_MILTER_KEYS(X) \
	X(milter, socket, SOCKET, "unix:/run/beacon/milter.sock", "libmilter socket: unix:/path or inet:port@host") \
	X(milter, user, STR, "", "user to switch to after binding the socket") \
	X(milter, pidfile, STR, "/run/beacon/milter.pid", "pid file") \
	X(milter, spool_dir, STR, "/var/spool/beacon/milter", "append-only spool for rows while the database is down") \
	X(milter, tag_header, STR, "X-Beacon", "header that marks a message for tracking") \
	X(milter, placeholder_url, STR, "", "placeholder image URL (empty: <base_url>/p.gif)") \
	X(milter, track_senders, LIST, "", "senders always tracked: address, @domain, sasl:login; !prefix excludes") \
	X(milter, trusted_networks, CIDRS, "127.0.0.0/8, ::1", "clients that may ask for tracking (besides SASL and trusted_daemons)") \
	X(milter, trusted_daemons, LIST, "", "MTA daemon names ({daemon_name}) whose clients may ask for tracking") \
	X(milter, internal_domains, LIST, "", "recipient domains never tracked") \
	X(milter, max_message_size, SIZE, "20m", "larger messages pass untouched") \
	X(milter, clicks, BOOL, "yes", "rewrite links into click URLs by default") \
	X(milter, track_literal_urls, BOOL, "no", "also rewrite links whose visible text is a URL") \
	X(milter, per_recipient, ENUM("split|shared"), "split", "one copy per recipient, or one shared token") \
	X(milter, reinject, ADDR, "inet:10026@127.0.0.1", "SMTP listener for split copies: inet:port@host or host:port") \
	X(milter, reinject_daemon_name, STR, "beacon-reinject", "{daemon_name} of the reinject listener: only there copy headers are trusted") \
	X(milter, on_db_error, ENUM("spool|accept|tempfail"), "spool", "what to do when the database is unavailable") \
	X(milter, suppression_refresh, DUR, "60", "seconds between suppression list reloads (0: at start only)") \
	X(milter, unsubscribe, LIST, "", "senders whose tracked mail gets one-click List-Unsubscribe: rules as track_senders, * for all") \
	X(milter, unsubscribe_action, ENUM("drop|untrack"), "drop", "a recipient's one-click unsubscribe: remove them from that sender's mail, or deliver it untracked (beacon-pixelsrv's pages say which)") \
	X(milter, unsubscribe_mailto, STR, "", "address added to List-Unsubscribe as a mailto: URI (empty: none)") \
	X(milter, bounces, BOOL, "no", "record the bounces delivery status notifications report for tracked messages") \
	X(milter, bounce_suppress, BOOL, "yes", "a dead address (bounce_suppress_status) is suppressed for every sender") \
	X(milter, bounce_trusted_networks, CIDRS, "", "clients whose bounce reports may name rows by Message-ID (the MTA's own bounce daemon); others touch only the row of the token they carry") \
	X(milter, bounce_suppress_status, LIST, "5.1.1, 5.1.2, 5.1.3, 5.1.6, 5.1.10, 5.2.1", "status patterns (shell-style) of a hard bounce that means the address is dead") \
	X(milter, inbound, BOOL, "no", "record mail to tracked inbound addresses (beacon.tracked_inbound) and replies to tracked messages") \
	X(milter, inbound_refresh, DUR, "60", "seconds between reloads of the tracked inbound addresses (0: at start only)") \
	X(milter, inbound_forwarders, LIST, "", "senders whose forwards name the original sender of a lead: address, @domain (besides SASL, trusted clients and internal_domains)") \
	X(milter, plain_to_html, BOOL, "no", "give text-only tracked messages an HTML twin (links tracked, pixel)") \
	X(milter, attachments, ENUM("keep|link"), "keep", "turn attachments into download links") \
	X(milter, attachment_min_size, SIZE, "0", "smallest attachment turned into a link") \
	X(milter, attachment_ttl, DUR, "30d", "how long download links work") \
	X(milter, attachment_dir, STR, "/var/lib/beacon/attachments", "where linked attachments are stored") \
	X(milter, attachment_max_count, INT, "100", "most attachments a message may have to be linked") \
	X(milter, attachment_min_free, SIZE, "1g", "free space the attachment store must keep") \
	X(milter, db_pool_size, INT, "4", "database connections kept by the milter") \
	X(milter, db_conninfo, STR, "", "libpq connection string of the milter (empty: [database] conninfo)") \
	X(milter, db_password_file, STR, "", "the milter's password file (empty: [database] password_file)")

#define CFG_PIXELSRV_KEYS(X) \
	X(pixelsrv, listen, ADDRS, "127.0.0.1:8080", "addresses to listen on: host:port, [v6]:port, *:port") \
	X(pixelsrv, user, STR, "", "user to switch to after binding") \
	X(pixelsrv, pidfile, STR, "/run/beacon/pixelsrv.pid", "pid file") \
	X(pixelsrv, node_name, STR, "", "this server's name in every event it logs and in /metrics: at most 63 bytes of A-Za-z0-9._- (empty: the host name)") \
	X(pixelsrv, threads, INT, "0", "HTTP worker threads (0: one per core)") \
	X(pixelsrv, tls_cert, STR, "", "PEM certificate for built-in TLS") \
	X(pixelsrv, tls_key, STR, "", "PEM key for built-in TLS") \
	X(pixelsrv, trusted_proxies, CIDRS, "", "CIDRs whose X-Forwarded-For/Forwarded is believed") \
	X(pixelsrv, internal_networks, CIDRS, "", "CIDRs whose events are class internal") \
	X(pixelsrv, apple_relay_ranges, STR, "", "CSV of iCloud Private Relay egress ranges") \
	X(pixelsrv, geoip_city_db, STR, "/var/lib/GeoIP/GeoLite2-City.mmdb", "MaxMind City database") \
	X(pixelsrv, geoip_asn_db, STR, "/var/lib/GeoIP/GeoLite2-ASN.mmdb", "MaxMind ASN database") \
	X(pixelsrv, uap_regexes, STR, "/usr/share/uap-core/regexes.yaml", "uap-core regexes.yaml") \
	X(pixelsrv, mail_clients, STR, BEACON_DATADIR "/mail-clients.yaml", "mail-client rules") \
	X(pixelsrv, machines, STR, BEACON_DATADIR "/machines.yaml", "scanner, proxy, bot and hosting-network rules (empty: none)") \
	X(pixelsrv, scanner_click_seconds, DUR, "10", "a click this soon after sending is a scanner's (0: off)") \
	X(pixelsrv, machine_open_seconds, DUR, "60", "an open from a hosting network this soon after sending is a machine's (0: off)") \
	X(pixelsrv, click_burst_seconds, DUR, "5", "several links of one message clicked within this from one address: a scanner (0: off)") \
	X(pixelsrv, count_window_days, INT, "0", "events later than this many days after sending are flagged late (0: off)") \
	X(pixelsrv, anonymize_ip, BOOL, "no", "store IPs truncated (/24, /48)") \
	X(pixelsrv, spool_dir, STR, "/var/spool/beacon/pixelsrv", "event queue file and spool") \
	X(pixelsrv, attachment_dir, STR, "", "where /d/ reads stored attachments (empty: [milter] attachment_dir)") \
	X(pixelsrv, download_limit, INT, "64", "downloads (/d/) sent at once; more get 503 (0: no limit)") \
	X(pixelsrv, queue_size, INT, "65536", "events held in memory before spilling to the spool") \
	X(pixelsrv, batch_size, INT, "1000", "events per COPY batch") \
	X(pixelsrv, batch_interval, INT, "200", "milliseconds between writer flushes") \
	X(pixelsrv, spool_max_bytes, SIZE, "1g", "cap of each event spool file; events past it are dropped and counted") \
	X(pixelsrv, repeat_window, DUR, "60", "repeats of an event within this are counted, not stored (0: off)") \
	X(pixelsrv, token_event_limit, INT, "100", "events stored per token per repeat_window (0: no cap)") \
	X(pixelsrv, rejected_retention, DUR, "7d", "rejected.spool and *.bad files unchanged this long are removed (0: kept)") \
	X(pixelsrv, connection_limit, INT, "10000", "concurrent HTTP connections") \
	X(pixelsrv, per_ip_connection_limit, INT, "64", "concurrent connections per client address (0: no limit)") \
	X(pixelsrv, connection_timeout, DUR, "15", "idle HTTP connection timeout, seconds") \
	X(pixelsrv, header_timeout, DUR, "10", "seconds a client has to send a whole request head (0: no limit)") \
	X(pixelsrv, metrics_listen, STR, "", "host:port serving /metrics and /healthz (empty: /metrics nowhere)") \
	X(pixelsrv, db_conninfo, STR, "", "libpq connection string of pixelsrv (empty: [database] conninfo)") \
	X(pixelsrv, db_password_file, STR, "", "pixelsrv's password file (empty: [database] password_file)")

#define CFG_NOTIFY_KEYS(X) \
	X(notify, user, STR, "", "user beacon-notify switches to after start-up") \
	X(notify, pidfile, STR, "", "pid file of beacon-notify (empty: none)") \
	X(notify, smtp_url, STR, "smtp://127.0.0.1:25", "SMTP server digest mails go through (smtp:// or smtps:// URL)") \
	X(notify, mail_from, STR, "", "sender of digest mails (empty: beacon@<host name>)") \
	X(notify, notify_interval, DUR, "300", "at most one digest mail per mail destination this often") \
	X(notify, notify_days, INT, "30", "messages not pinned stop notifying this many days after sending (0: never)") \
	X(notify, retry_for, DUR, "172800", "how long a delivery is retried from its event, at least 24h") \
	X(notify, timeout, DUR, "10", "seconds a webhook request or a digest mail may take") \
	X(notify, concurrency, INT, "8", "webhook requests in flight at once") \
	X(notify, batch, INT, "100", "deliveries claimed from the queue at a time") \
	X(notify, db_conninfo, STR, "", "libpq connection string of beacon-notify (empty: [database] conninfo)") \
	X(notify, db_password_file, STR, "", "beacon-notify's password file (empty: [database] password_file)") \
	X(notify, hold, DUR, "10", "seconds an event waits before it is notified, longer than click_burst_seconds") \
	X(notify, allow_private_destinations, BOOL, "no", "let webhooks reach loopback, private and link-local addresses") \
	X(notify, allow_http, BOOL, "no", "let webhooks use plain http:// URLs") \
	X(notify, proxy, STR, "", "proxy webhooks go through (empty: none, whatever the environment says)")

#define CFG_WEB_KEYS(X) \
	X(web, listen, ADDRS, "127.0.0.1:8090", "addresses beacon-web listens on: host:port, [v6]:port, *:port") \
	X(web, user, STR, "", "user to switch to after binding") \
	X(web, pidfile, STR, "/run/beacon/web.pid", "pid file") \
	X(web, threads, INT, "32", "connections served at once, one thread each, live streams included") \
	X(web, live_clients, INT, "16", "live event streams at once; more get 503") \
	X(web, db_connections, INT, "4", "database connections shared by the requests") \
	X(web, session_ttl, DUR, "12h", "a session ends this long after sign-in") \
	X(web, session_idle, DUR, "2h", "a session ends after this long without a request") \
	X(web, login_attempts, INT, "5", "failed sign-ins of one user before a lockout (0: no lockout)") \
	X(web, login_lockout, DUR, "15m", "how long a locked-out user cannot sign in") \
	X(web, login_rate, INT, "10", "failed sign-ins per client address per 10 minutes before 429 (0: no limit)") \
	X(web, trusted_proxies, CIDRS, "", "CIDRs whose X-Forwarded-For is believed (the TLS front)") \
	X(web, static_dir, STR, BEACON_DATADIR "/web", "directory of the pages' CSS and JavaScript (left at the default: web/static when run from a source tree)") \
	X(web, chartjs, STR, "/usr/share/javascript/chart.js/chart.min.js", "Chart.js file served as /static/chart.min.js") \
	X(web, db_conninfo, STR, "", "libpq connection string of beacon-web, a member of beacon_web (empty: [database] conninfo)") \
	X(web, db_password_file, STR, "", "beacon-web's password file (empty: [database] password_file)") \
	X(web, statement_timeout, DUR, "30", "seconds a statement of the pages and the API may run (sign-in keeps [database] statement_timeout)") \
	X(web, read_conninfo, STR, "", "libpq connection string of a streaming replica the pages and the API read, as beacon-web's own role (empty: the primary)") \
	X(web, read_password_file, STR, "", "the replica's password file (empty: beacon-web's own, db_password_file or [database] password_file)")

#define CFG_DATABASE_KEYS(X) \
	X(database, conninfo, STR, "dbname=beacon", "libpq connection string") \
	X(database, password_file, STR, "", "file holding the password (mode 0600)") \
	X(database, read_conninfo, STR, "", "libpq connection string of a streaming replica that report, history and export read (empty: the primary)") \
	X(database, read_password_file, STR, "", "the replica's password file (empty: password_file)") \
	X(database, read_max_lag, DUR, "30", "seconds the replica may be behind before reads go to the primary (0: never for lag)") \
	X(database, connect_timeout, DUR, "5", "seconds to wait for a connection") \
	X(database, statement_timeout, INT, "2000", "milliseconds a statement may run") \
	X(database, retention_days, INT, "400", "beaconctl maintain drops events older than this and purges the messages sent before then, with their recipients (0: keep all)") \
	X(database, tombstone_days, INT, "400", "days beaconctl maintain keeps the tombstone of a purged token (0: for ever)")

#define CFG_ALL_KEYS(X) CFG_GLOBAL_KEYS(X) CFG_MILTER_KEYS(X) CFG_PIXELSRV_KEYS(X) CFG_NOTIFY_KEYS(X) CFG_WEB_KEYS(X) CFG_DATABASE_KEYS(X)
