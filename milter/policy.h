/*
 * NAME
 *	policy.h - the milter's failure policy: what is done when something
 *	fails, and what the MTA is told
 *
 * SYNOPSIS
 *	struct policy p = policy_decide(cfg, POLICY_DB_DOWN, copies_sent);
 *	if (p.action == POLICY_TEMPFAIL) ... p.reason ...
 *	return p.reply;
 *
 * DESCRIPTION
 *	Every failure that changes what happens to a message goes through
 *	policy_decide(), the one place that reads on_db_error and the one
 *	place that turns an action into a milter reply (the shape of
 *	Postfix's milter8_comm_error and OpenDKIM's dkimf_miltercode).
 *	The rules, by cause:
 *
 *	POLICY_NONE: nothing failed; the message goes on as decided
 *	(tracked, untouched, or a copy) and is accepted.
 *
 *	POLICY_DB_DOWN: the database is unavailable.  on_db_error decides:
 *	spool (the rows go to the spool and the message is tracked),
 *	accept (delivered untracked) or tempfail.
 *
 *	POLICY_ROWS_LOST: the rows reached neither the database nor the
 *	spool (the spool failed, or the database refused them).  Delivered
 *	untracked, or temp-failed with on_db_error = tempfail.
 *
 *	POLICY_REINJECT: the first copy could not be handed to reinject, so
 *	nothing was sent: temp-failed.
 *
 *	POLICY_MTA_REFUSED: the MTA refused a change (a body half replaced
 *	must not be delivered): temp-failed.
 *
 *	Once copies have left (COPIES_SENT > 0) a temp-fail would send them
 *	again: every temp-fail becomes "delivered as the MTA has it".
 *	Mail is never lost or held because of Beacon but where the
 *	configuration or a half-done change asks for it.
 */
#ifndef BEACON_POLICY_H
#define BEACON_POLICY_H

#include <libmilter/mfapi.h>

#include "cfg.h"

/* policy_cause - what went wrong */
enum policy_cause {
	POLICY_NONE = 0,	/* nothing: the message goes on as decided */
	POLICY_DB_DOWN,		/* the database is unavailable: on_db_error */
	POLICY_ROWS_LOST,	/* the rows reached neither the database nor the spool */
	POLICY_REINJECT,	/* the first copy could not be handed over: nothing sent */
	POLICY_MTA_REFUSED,	/* the MTA refused a change */
};

/* policy_action - what is done about it */
enum policy_action {
	POLICY_CONTINUE,	/* go on as decided */
	POLICY_SPOOL,		/* go on tracked; the rows go to the spool */
	POLICY_UNTRACKED,	/* deliver the message untracked, as the MTA has it */
	POLICY_TEMPFAIL,	/* temp-fail: the MTA tries again later */
};

/* policy - the decision for one cause */
struct policy {
	enum policy_action action;	/* what is done */
	sfsistat reply;			/* what the MTA is told at end of message */
	const char *reason;		/* why, for the log line ("" for POLICY_NONE) */
};

/* policy_decide - the configured action for CAUSE after COPIES_SENT copies left, and its reply */
struct policy policy_decide(const struct beacon_cfg *cfg, enum policy_cause cause,
			    int copies_sent);

#endif
