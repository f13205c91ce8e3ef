/*
 * NAME
 *	trust.h - who may ask beacon-milter to track: the one decision
 *
 * SYNOPSIS
 *	struct trust *t = trust_new(cfg, err, sizeof(err));
 *	if (trust_decide(t, client_ip, sasl_login, daemon_name, why, sizeof(why)))
 *		... the tag header, the placeholder and track_senders count ...
 *	trust_free(t);
 *
 * DESCRIPTION
 *	Tracking rewrites a message and signs its links on the operator's
 *	tracking domain, so only the operator's own senders may ask for it,
 *	the way OpenDKIM decides whom to sign for (InternalHosts, MTA and
 *	the {auth_authen} macro).  A submission is trusted when any of these
 *	holds, checked in this order:
 *
 *	1. the session is SASL-authenticated (the MTA's {auth_authen} macro
 *	   at MAIL FROM is not empty);
 *	2. the client address is in [milter] trusted_networks (default
 *	   127.0.0.0/8 and ::1; Postfix hands mail from sendmail(1) to
 *	   non_smtpd_milters as client 127.0.0.1);
 *	3. the MTA's {daemon_name} macro (Postfix: milter_macro_daemon_name,
 *	   set per service in master.cf; Sendmail: DaemonPortOptions Name)
 *	   is one of [milter] trusted_daemons.
 *
 *	Anything else is untrusted: its tag headers are removed and nothing
 *	else changes (track.h, TRACK_HEAD_UNTRUSTED).  A client without a
 *	known address (unix socket, unknown family) is trusted only by 1 or 3.
 */
#ifndef BEACON_TRUST_H
#define BEACON_TRUST_H

#include <stddef.h>

#include "cfg.h"

struct trust;

/* trust_new - the trusted networks and daemon names of CFG; NULL with ERR on a bad prefix */
struct trust *trust_new(const struct beacon_cfg *cfg, char *err, size_t errlen);
/* trust_free - release T (NULL is fine) */
void trust_free(struct trust *t);
/* trust_decide - 1 if the submission may tag, else 0; WHY says which rule (or none) held */
int trust_decide(const struct trust *t, const char *client_ip, const char *sasl_login,
		 const char *daemon_name, char *why, size_t whylen);

/* trust_bounce - 1 if a bounce report from CLIENT_IP may match rows by Message-ID and
 * address (client in [milter] bounce_trusted_networks, no SASL login), else 0: it may then
 * touch only the row of the token it carries */
int trust_bounce(const struct trust *t, const char *client_ip, const char *sasl_login);

#endif
