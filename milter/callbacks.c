/*
 * NAME
 *	callbacks.c - libmilter callbacks of beacon-milter
 *
 * DESCRIPTION
 *	See callbacks.h.  The connection context is made in xxfi_negotiate
 *	(the first callback of a connection) and freed only in xxfi_close;
 *	the message context is reset by eom, abort and close, and before any
 *	early SMFIS_ACCEPT.  Nothing here decides about tracking: that is
 *	track_head_check() at end of headers and track_message_with() at
 *	end of message; the reply comes from the failure policy
 *	(policy_decide).  This file moves bytes between libmilter and the
 *	contexts and applies the result.  The steps that need no MTA
 *	(callbacks_agree, callbacks_client_ip, callbacks_end_headers,
 *	callbacks_outcome) are public for the unit tests.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "bounce.h"
#include "callbacks.h"
#include "inbound.h"
#include "log.h"
#include "policy.h"
#include "msgctx.h"
#include "split.h"
#include "tcpopt.h"
#include "track.h"

#define CALLBACKS_CHUNK 65535		/* largest smfi_replacebody call */

static const struct milter_env *callbacks_env;	/* set once by callbacks_init */
static struct suppress *callbacks_suppress;	/* the suppression list cache */
static int callbacks_tcp;			/* the socket is inet: tune it */
static gint callbacks_open;		/* connections between negotiate and close */

/* callbacks_init - remember the environment */
void callbacks_init(const struct milter_env *env, struct suppress *suppress, int tcp)
{
	callbacks_env = env;
	callbacks_suppress = suppress;
	callbacks_tcp = tcp;
}

/* callbacks_sessions - connections still open (shutdown waits for them) */
int callbacks_sessions(void)
{
	return g_atomic_int_get(&callbacks_open);
}

/* callbacks_conn - the connection context of CTX (made on demand) */
static struct conn_ctx *callbacks_conn(SMFICTX *ctx)
{
	struct conn_ctx *c = smfi_getpriv(ctx);

	if (!c) {
		c = conn_new();
		smfi_setpriv(ctx, c);
		g_atomic_int_inc(&callbacks_open);
	}
	return c;
}

/* callbacks_reply - CONTINUE, or NOREPLY when the MTA agreed not to wait for this step */
static sfsistat callbacks_reply(const struct conn_ctx *c, unsigned long nr_flag)
{
	return (c->nr_flags & nr_flag) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

/* callbacks_queue_id - pick up {i} when the MTA sends it */
static void callbacks_queue_id(SMFICTX *ctx, struct msg_ctx *m)
{
	if (m && !m->queue_id)
		msg_set_queue_id(m, smfi_getsymval(ctx, "i"));
}

/* callbacks_agree - the actions and steps to ask for, noted in C */
int callbacks_agree(struct conn_ctx *c, unsigned long f0, unsigned long f1, unsigned long *pf0,
		    unsigned long *pf1)
{
	const unsigned long need = SMFIF_CHGBODY | SMFIF_CHGHDRS;
	const unsigned long steps = SMFIP_NOHELO | SMFIP_NOUNKNOWN | SMFIP_NODATA | SMFIP_SKIP |
				    SMFIP_NR_CONN | SMFIP_NR_MAIL | SMFIP_NR_RCPT | SMFIP_NR_HDR;

	if ((f0 & need) != need)
		return -1;
	/* removing recipients is what a split needs; without it tokens are shared */
	*pf0 = need | (f0 & (SMFIF_SETSYMLIST | SMFIF_DELRCPT));
	c->can_delrcpt = (*pf0 & SMFIF_DELRCPT) != 0;
	*pf1 = f1 & steps;
	c->nr_flags = *pf1 & (SMFIP_NR_CONN | SMFIP_NR_MAIL | SMFIP_NR_RCPT | SMFIP_NR_HDR);
	c->can_skip = (*pf1 & SMFIP_SKIP) != 0;
	return 0;
}

/* callbacks_negotiate - agree on actions, steps and macros */
static sfsistat callbacks_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
				    unsigned long f2, unsigned long f3, unsigned long *pf0,
				    unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	struct conn_ctx *c = callbacks_conn(ctx);

	(void)f2;
	(void)f3;
	if (callbacks_agree(c, f0, f1, pf0, pf1) < 0) {
		log_warnx("the MTA does not allow body and header changes: "
			  "its mail passes untouched");
		/* no other callback follows for this connection */
		smfi_setpriv(ctx, NULL);
		conn_free(c);
		g_atomic_int_dec_and_test(&callbacks_open);
		return SMFIS_REJECT;
	}
	*pf2 = 0;
	*pf3 = 0;
	if (*pf0 & SMFIF_SETSYMLIST) {
		/* {daemon_name} and {auth_authen} decide who may ask for tracking (trust.h) */
		smfi_setsymlist(ctx, SMFIM_CONNECT, "j {daemon_name}");
		smfi_setsymlist(ctx, SMFIM_ENVFROM, "i {auth_authen}");
		smfi_setsymlist(ctx, SMFIM_EOH, "i");
		smfi_setsymlist(ctx, SMFIM_EOM, "i");
	}
	return SMFIS_CONTINUE;
}

/* callbacks_client_ip - inet_ntop of an IPv4 or IPv6 address */
char *callbacks_client_ip(const struct sockaddr *sa)
{
	char buf[INET6_ADDRSTRLEN];

	if (sa && sa->sa_family == AF_INET &&
	    inet_ntop(AF_INET, &((const struct sockaddr_in *)(const void *)sa)->sin_addr, buf,
		      sizeof(buf)))
		return g_strdup(buf);
	if (sa && sa->sa_family == AF_INET6 &&
	    inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)(const void *)sa)->sin6_addr, buf,
		      sizeof(buf)))
		return g_strdup(buf);
	return NULL;
}

/* callbacks_via_reinject - is DAEMON_NAME ({daemon_name} at connect) the listener that takes
 * the copies?  Only there may a copy header be trusted. */
int callbacks_via_reinject(const struct milter_env *env, const char *daemon_name)
{
	const char *want = env->cfg->milter.reinject_daemon_name;

	return want && *want && daemon_name && strcmp(daemon_name, want) == 0;
}

/* callbacks_connect - the client's address and the MTA daemon's name; tune a TCP socket */
static sfsistat callbacks_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *sa)
{
	struct conn_ctx *c = callbacks_conn(ctx);
	const char *daemon = smfi_getsymval(ctx, "{daemon_name}");

	g_free(c->hostname);
	c->hostname = g_strdup(hostname ? hostname : "");
	g_free(c->client_ip);
	c->client_ip = callbacks_client_ip(sa);
	g_free(c->daemon_name);
	c->daemon_name = daemon && *daemon ? g_strdup(daemon) : NULL;
	c->via_reinject = callbacks_via_reinject(callbacks_env, daemon);
	if (callbacks_tcp && c->sd < 0) {
		c->sd = tcpopt_ctx_socket(ctx);
		tcpopt_nodelay(c->sd);
	}
	tcpopt_quickack(c->sd);
	return callbacks_reply(c, SMFIP_NR_CONN);
}

/* callbacks_trust - may this message ask for tracking?  Noted in M (trust.h decides) */
void callbacks_trust(const struct milter_env *env, const struct conn_ctx *c, struct msg_ctx *m)
{
	char why[256];

	m->trusted = trust_decide(env->trust, c->client_ip, m->sasl_login, c->daemon_name, why,
				  sizeof(why));
	m->bounce_trusted = trust_bounce(env->trust, c->client_ip, m->sasl_login);
	g_free(m->trust_why);
	m->trust_why = g_strdup(why);
}

/* callbacks_envfrom - a new message */
static sfsistat callbacks_envfrom(SMFICTX *ctx, char **argv)
{
	struct conn_ctx *c = callbacks_conn(ctx);
	const char *login;

	tcpopt_quickack(c->sd);
	msg_begin(c, argv && argv[0] ? argv[0] : "", argv && argv[0] ? argv + 1 : NULL);
	c->msg->via_reinject = c->via_reinject;
	login = smfi_getsymval(ctx, "{auth_authen}");
	if (login && *login)
		c->msg->sasl_login = g_strdup(login);
	callbacks_trust(callbacks_env, c, c->msg);
	callbacks_queue_id(ctx, c->msg);
	return callbacks_reply(c, SMFIP_NR_MAIL);
}

/* callbacks_envrcpt - one recipient */
static sfsistat callbacks_envrcpt(SMFICTX *ctx, char **argv)
{
	struct conn_ctx *c = callbacks_conn(ctx);

	tcpopt_quickack(c->sd);
	if (c->msg && argv && argv[0])
		msg_add_rcpt(c->msg, argv[0], argv + 1);
	return callbacks_reply(c, SMFIP_NR_RCPT);
}

/* callbacks_header - one header */
static sfsistat callbacks_header(SMFICTX *ctx, char *name, char *value)
{
	struct conn_ctx *c = callbacks_conn(ctx);

	tcpopt_quickack(c->sd);
	if (c->msg && name)
		msg_add_header(c->msg, name, value ? value : "",
			       callbacks_env->cfg->milter.max_message_size);
	return callbacks_reply(c, SMFIP_NR_HDR);
}

/* callbacks_pass - an early pass of C's message: with nothing to record, logged, forgotten
 * and accepted now; else its body is skipped and it is recorded at end of message, when the
 * MTA will deliver it (an abort or a later reject records nothing) */
sfsistat callbacks_pass(const struct milter_env *env, struct conn_ctx *c, const char *why)
{
	if (inbound_pending(env, c->msg)) {
		c->msg->record_only = why;
		c->msg->skip_body = 1;
		return SMFIS_CONTINUE;
	}
	log_info("%s: untouched: %s", msg_qid(c->msg), why);
	msg_reset(c);
	return policy_decide(env->cfg, POLICY_NONE, 0).reply;
}

/* callbacks_record_only - end of C's message passed early by callbacks_pass(): log, record
 * (inbound.h) and forget it; 1, or 0 for any other message */
int callbacks_record_only(const struct milter_env *env, struct conn_ctx *c)
{
	if (!c->msg || !c->msg->record_only)
		return 0;
	log_info("%s: untouched: %s", msg_qid(c->msg), c->msg->record_only);
	inbound_message(env, c->msg, 1);
	msg_reset(c);
	return 1;
}

/* callbacks_head - the header check track_message_with() makes again at the end */
static int callbacks_head(const struct milter_env *env, struct msg_ctx *m, const char **why)
{
	struct track_head h;
	int rc = 0;

	if (env->cfg->milter.bounces && bounce_candidate(m)) {
		/* end of message reads the report; it is not a report: the usual rules */
		m->dsn_candidate = 1;
		return 0;
	}
	track_head_check(env, m, &h);
	if (h.forged && (h.verdict == TRACK_HEAD_UNTOUCHED || h.verdict == TRACK_HEAD_UNTRUSTED)) {
		/* no early pass: end of message removes the copy header nobody may set */
		m->skip_body = 1;
		track_head_clear(&h);
		return 0;
	}
	switch (h.verdict) {
	case TRACK_HEAD_UNTOUCHED:
		*why = h.why;
		rc = -1;
		break;
	case TRACK_HEAD_UNTRUSTED:
		/* without a tag header there is nothing to remove: pass now */
		if (msg_header_count(m, env->cfg->milter.tag_header) == 0) {
			*why = h.why;
			rc = -1;
			break;
		}
		m->skip_body = 1;	/* end of message only removes the tag headers */
		break;
	case TRACK_HEAD_COPY:	/* end of message only removes its copy header */
	case TRACK_HEAD_NO:	/* end of message only removes the tag header */
		m->skip_body = 1;
		break;
	case TRACK_HEAD_BODY:
		break;
	}
	track_head_clear(&h);
	return rc;
}

/* callbacks_end_headers - the header check; a message to tracked inbound addresses has its
 * body read whatever it says (forward.h looks for the original sender there) */
int callbacks_end_headers(const struct milter_env *env, struct msg_ctx *m, const char **why)
{
	int rc;

	msg_end_headers(m);
	inbound_head(env, m);
	rc = callbacks_head(env, m, why);
	if (m->inbound) {
		if (rc < 0)
			m->inbound_only = *why;
		m->skip_body = 0;
		rc = 0;
	}
	return rc;
}

/* callbacks_eoh - early decisions that need no body */
static sfsistat callbacks_eoh(SMFICTX *ctx)
{
	struct conn_ctx *c = callbacks_conn(ctx);
	const char *why;

	tcpopt_quickack(c->sd);
	if (!c->msg)
		return SMFIS_CONTINUE;
	callbacks_queue_id(ctx, c->msg);
	if (callbacks_end_headers(callbacks_env, c->msg, &why) < 0)
		return callbacks_pass(callbacks_env, c, why);
	return SMFIS_CONTINUE;
}

/* callbacks_body - buffer the body up to max_message_size */
static sfsistat callbacks_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	struct conn_ctx *c = callbacks_conn(ctx);

	tcpopt_quickack(c->sd);
	if (!c->msg)
		return SMFIS_CONTINUE;
	if (c->msg->skip_body)
		return c->can_skip ? SMFIS_SKIP : SMFIS_CONTINUE;
	if (c->msg->inbound_only) {
		/* read only to record it: the forward parser needs its beginning alone */
		msg_add_body_head(c->msg, chunk, len, INBOUND_TEXT_KEEP);
		return SMFIS_CONTINUE;
	}
	if (msg_add_body(c->msg, chunk, len, callbacks_env->cfg->milter.max_message_size) < 0) {
		sfsistat rc = callbacks_pass(callbacks_env, c, "over max_message_size");
		return rc == SMFIS_CONTINUE && c->can_skip ? SMFIS_SKIP : rc;
	}
	return SMFIS_CONTINUE;
}

/* callbacks_apply - hand the decided changes to the MTA; 0, or -1 if it refused one */
static int callbacks_apply(SMFICTX *ctx, const struct msg_ctx *m, const struct track_out *out)
{
	const char *tag = callbacks_env->cfg->milter.tag_header;
	int rc = 0;

	/* recipients first: after copies left, nothing matters more than removing them */
	for (guint i = 0; out->delrcpts && i < out->delrcpts->len; i++)
		if (smfi_delrcpt(ctx, g_ptr_array_index(out->delrcpts, i)) != MI_SUCCESS)
			rc = -1;
	if (out->body) {
		size_t len = out->body->len, off = 0;
		do {
			size_t n = MIN(len - off, (size_t)CALLBACKS_CHUNK);
			if (smfi_replacebody(ctx, out->body->data + off, (int)n) != MI_SUCCESS)
				return -1;
			off += n;
		} while (off < len);
	}
	if (out->top_cte &&
	    smfi_chgheader(ctx, (char *)"Content-Transfer-Encoding", 1, out->top_cte) != MI_SUCCESS)
		return -1;
	/* in list order: deletions come from the last occurrence to the first */
	for (guint i = 0; out->edits && i < out->edits->len; i++) {
		const struct split_edit *e = g_ptr_array_index(out->edits, i);
		if (smfi_chgheader(ctx, e->name, e->index, e->value) != MI_SUCCESS)
			return -1;
	}
	if (out->remove_tag) {
		/* from the last to the first, so the indexes stay valid */
		for (int i = msg_header_count(m, tag); i >= 1; i--)
			if (smfi_chgheader(ctx, (char *)tag, i, NULL) != MI_SUCCESS)
				return -1;
	}
	if (out->remove_copy) {
		/* at most TRACK_MAX_TAG_HEADERS (track_head_check) */
		char *copy = split_copy_header_name(tag);
		for (int i = msg_header_count(m, copy); i >= 1 && rc == 0; i--)
			if (smfi_chgheader(ctx, copy, i, NULL) != MI_SUCCESS)
				rc = -1;
		g_free(copy);
	}
	return rc;
}

/* callbacks_progress - tell the MTA the milter is still working (between copies) */
static void callbacks_progress(void *arg)
{
	smfi_progress(arg);
}

/* callbacks_log_tracked - the one line of a tracked message */
static void callbacks_log_tracked(const struct msg_ctx *m, const struct track_out *out)
{
	GString *excl = g_string_new(NULL);

	if (out->internal)
		g_string_append_printf(excl, ", %d internal", out->internal);
	if (out->suppressed)
		g_string_append_printf(excl, ", %d suppressed", out->suppressed);
	log_info("%s: tracked: %d recipient%s (%s)%s, %d link%s, message %s%s", msg_qid(m),
		 out->tracked, out->tracked == 1 ? "" : "s", out->mode, excl->str, out->links,
		 out->links == 1 ? "" : "s", out->msg_uuid, out->spooled ? " (rows spooled)" : "");
	g_string_free(excl, TRUE);
}

/* callbacks_outcome - the failure policy for what happened, its log line and its reply */
sfsistat callbacks_outcome(const struct milter_env *env, const struct msg_ctx *m,
			   const struct track_out *out, int applied)
{
	struct policy p = policy_decide(env->cfg, applied < 0 ? POLICY_MTA_REFUSED : out->cause,
					out->copies);

	/* track.c set the verdict from the same cause; should they ever differ,
	 * nothing was applied, so the verdict's temp-fail is the safe reply */
	if (applied >= 0 && out->verdict == TRACK_TEMPFAIL && p.action != POLICY_TEMPFAIL) {
		p.action = POLICY_TEMPFAIL;
		p.reply = SMFIS_TEMPFAIL;
	}
	if (applied < 0 && p.action == POLICY_TEMPFAIL)
		/* a body half replaced must not be delivered */
		log_warnx("%s: %s: temp-failed", msg_qid(m), p.reason);
	else if (applied < 0)
		/* temp-failing now would send every copy again */
		log_warnx("%s: %s after %d copies left: delivered as the MTA has it", msg_qid(m),
			  p.reason, out->copies);
	else if (p.action == POLICY_TEMPFAIL)
		log_warnx("%s: temp-failed: %s", msg_qid(m), out->reason);
	else if (out->verdict == TRACK_REWRITTEN)
		callbacks_log_tracked(m, out);
	else if (out->verdict == TRACK_COPY)
		log_info("%s: untouched: %s (copy header removed)", msg_qid(m), out->reason);
	else
		log_info("%s: untouched: %s%s", msg_qid(m), out->reason,
			 out->remove_tag ? " (tag header removed)" : "");
	return p.reply;
}

/* callbacks_eom - decide, apply, log */
static sfsistat callbacks_eom(SMFICTX *ctx)
{
	struct conn_ctx *c = callbacks_conn(ctx);
	struct msg_ctx *m = c->msg;
	struct track_opts opts = { c->can_delrcpt, callbacks_suppress, callbacks_progress, ctx,
				   c->hostname, 0 };
	struct track_out out;
	sfsistat rc;
	int applied = 0;

	tcpopt_quickack(c->sd);
	if (!m)
		return SMFIS_ACCEPT;
	callbacks_queue_id(ctx, m);
	if (callbacks_record_only(callbacks_env, c))
		return policy_decide(callbacks_env->cfg, POLICY_NONE, 0).reply;
	if (m->dsn_candidate && bounce_message(callbacks_env, m) == 0) {
		/* a delivery status notification: recorded, delivered as it is */
		msg_reset(c);
		return policy_decide(callbacks_env->cfg, POLICY_NONE, 0).reply;
	}
	if (m->inbound_only) {
		/* passed by the header check: only recorded */
		log_info("%s: untouched: %s", msg_qid(m), m->inbound_only);
		inbound_message(callbacks_env, m, 1);
		msg_reset(c);
		return policy_decide(callbacks_env->cfg, POLICY_NONE, 0).reply;
	}
	track_message_with(callbacks_env, m, c->client_ip, &opts, &out);
	if (out.discard) {
		/* every recipient left unsubscribed from the sender (logged by track.c) */
		track_out_clear(&out);
		msg_reset(c);
		return SMFIS_DISCARD;
	}
	if (out.verdict != TRACK_TEMPFAIL)
		applied = callbacks_apply(ctx, m, &out);
	rc = callbacks_outcome(callbacks_env, m, &out, applied);
	/* a message that will come again, or a copy of one seen already, is not recorded yet */
	if (rc != SMFIS_TEMPFAIL && out.verdict != TRACK_COPY)
		inbound_message(callbacks_env, m, out.verdict != TRACK_REWRITTEN);
	track_out_clear(&out);
	msg_reset(c);
	return rc;
}

/* callbacks_abort - the MTA dropped the message */
static sfsistat callbacks_abort(SMFICTX *ctx)
{
	msg_reset(callbacks_conn(ctx));
	return SMFIS_CONTINUE;
}

/* callbacks_close - the connection ends: the only place it is freed */
static sfsistat callbacks_close(SMFICTX *ctx)
{
	struct conn_ctx *c = smfi_getpriv(ctx);

	if (c) {
		smfi_setpriv(ctx, NULL);
		conn_free(c);
		g_atomic_int_dec_and_test(&callbacks_open);
	}
	return SMFIS_CONTINUE;
}

/* callbacks_desc - registered with smfi_register */
struct smfiDesc callbacks_desc = {
	.xxfi_name = (char *)"beacon-milter",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = SMFIF_CHGBODY | SMFIF_CHGHDRS | SMFIF_DELRCPT,
	.xxfi_connect = callbacks_connect,
	.xxfi_helo = NULL,
	.xxfi_envfrom = callbacks_envfrom,
	.xxfi_envrcpt = callbacks_envrcpt,
	.xxfi_header = callbacks_header,
	.xxfi_eoh = callbacks_eoh,
	.xxfi_body = callbacks_body,
	.xxfi_eom = callbacks_eom,
	.xxfi_abort = callbacks_abort,
	.xxfi_close = callbacks_close,
	.xxfi_unknown = NULL,
	.xxfi_data = NULL,
	.xxfi_negotiate = callbacks_negotiate,
};
