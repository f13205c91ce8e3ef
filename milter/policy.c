/*
 * NAME
 *	policy.c - map a failure to the configured action and the milter
 *	reply
 *
 * DESCRIPTION
 *	See policy.h for the rules.  This is the only file that reads
 *	on_db_error.
 */
#include "policy.h"

/* policy_db - the action on_db_error names; SPOOL: the spool may still take the rows */
static enum policy_action policy_db(const struct beacon_cfg *cfg, int spool)
{
	switch (cfg->milter.on_db_error) {
	case CFG_DBERR_TEMPFAIL:
		return POLICY_TEMPFAIL;
	case CFG_DBERR_SPOOL:
		return spool ? POLICY_SPOOL : POLICY_UNTRACKED;
	default:
		return POLICY_UNTRACKED;
	}
}

/* policy_decide - cause → action → reply */
struct policy policy_decide(const struct beacon_cfg *cfg, enum policy_cause cause,
			    int copies_sent)
{
	struct policy p = { POLICY_CONTINUE, SMFIS_ACCEPT, "" };

	switch (cause) {
	case POLICY_NONE:
		break;
	case POLICY_DB_DOWN:
	case POLICY_ROWS_LOST:
		p.action = policy_db(cfg, cause == POLICY_DB_DOWN);
		break;
	case POLICY_REINJECT:
		p.action = POLICY_TEMPFAIL;
		p.reason = "re-injection failed, nothing sent";
		break;
	case POLICY_MTA_REFUSED:
		p.action = POLICY_TEMPFAIL;
		p.reason = "the MTA refused a change";
		break;
	}
	/* a temp-fail after copies left would send them again */
	if (p.action == POLICY_TEMPFAIL && copies_sent > 0)
		p.action = POLICY_UNTRACKED;
	if (cause == POLICY_DB_DOWN || cause == POLICY_ROWS_LOST)
		p.reason = p.action == POLICY_TEMPFAIL ?
			   "database unavailable (on_db_error = tempfail)" :
			   p.action == POLICY_SPOOL ? "database unavailable: rows spooled" :
			   "database unavailable: delivered untracked";
	p.reply = p.action == POLICY_TEMPFAIL ? SMFIS_TEMPFAIL : SMFIS_ACCEPT;
	return p;
}
