/*
 * NAME
 *	callbacks.c - libmilter callbacks of beacon-milter
 *
 * DESCRIPTION
 *	See callbacks.h.  The connection context is made in xxfi_negotiate
 *	(the first callback of a connection) and freed only in xxfi_close;
 *	the message context is reset by eom, abort and close, and before any
 *	early SMFIS_ACCEPT.  Nothing here decides about tracking: that is
 *	track_message(); this file only moves bytes between libmilter and
 *	the contexts and applies the result.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "callbacks.h"
#include "log.h"
#include "msgctx.h"
#include "tagging.h"
#include "split.h"
#include "tcpopt.h"
#include "track.h"

#define CB_CHUNK 65535		/* largest smfi_replacebody call */

static const struct milter_env *cb_env;	/* set once by callbacks_init */
static struct suppress *cb_suppress;	/* the suppression list cache */
static int cb_tcp;			/* the socket is inet: tune it */
static gint cb_sessions;		/* connections between negotiate and close */

/* callbacks_init - remember the environment */
void callbacks_init(const struct milter_env *env, struct suppress *suppress, int tcp)
{
	cb_env = env;
	cb_suppress = suppress;
	cb_tcp = tcp;
}

/* callbacks_sessions - connections still open (shutdown waits for them) */
int callbacks_sessions(void)
{
	return g_atomic_int_get(&cb_sessions);
}

/* cb_conn - the connection context of CTX (made on demand) */
static struct conn_ctx *cb_conn(SMFICTX *ctx)
{
	struct conn_ctx *c = smfi_getpriv(ctx);

	if (!c) {
		c = conn_new();
		smfi_setpriv(ctx, c);
		g_atomic_int_inc(&cb_sessions);
	}
	return c;
}

/* cb_reply - CONTINUE, or NOREPLY when the MTA agreed not to wait for this step */
static sfsistat cb_reply(const struct conn_ctx *c, unsigned long nr_flag)
{
	return (c->nr_flags & nr_flag) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

/* cb_queue_id - pick up {i} when the MTA sends it */
static void cb_queue_id(SMFICTX *ctx, struct msg_ctx *m)
{
	if (m && !m->queue_id)
		msg_set_queue_id(m, smfi_getsymval(ctx, "i"));
}

/* cb_negotiate - agree on actions, steps and macros */
static sfsistat cb_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2,
			     unsigned long f3, unsigned long *pf0, unsigned long *pf1,
			     unsigned long *pf2, unsigned long *pf3)
{
	const unsigned long need = SMFIF_CHGBODY | SMFIF_CHGHDRS;
	const unsigned long steps = SMFIP_NOHELO | SMFIP_NOUNKNOWN | SMFIP_NODATA | SMFIP_SKIP |
				    SMFIP_NR_CONN | SMFIP_NR_MAIL | SMFIP_NR_RCPT | SMFIP_NR_HDR;
	struct conn_ctx *c = cb_conn(ctx);

	(void)f2;
	(void)f3;
	if ((f0 & need) != need) {
		log_warnx("the MTA does not allow body and header changes: its mail passes untouched");
		/* no other callback follows for this connection */
		smfi_setpriv(ctx, NULL);
		conn_free(c);
		g_atomic_int_dec_and_test(&cb_sessions);
		return SMFIS_REJECT;
	}
	/* removing recipients is what a split needs; without it tokens are shared */
	*pf0 = need | (f0 & (SMFIF_SETSYMLIST | SMFIF_DELRCPT));
	c->can_delrcpt = (*pf0 & SMFIF_DELRCPT) != 0;
	*pf1 = f1 & steps;
	*pf2 = 0;
	*pf3 = 0;
	c->nr_flags = *pf1 & (SMFIP_NR_CONN | SMFIP_NR_MAIL | SMFIP_NR_RCPT | SMFIP_NR_HDR);
	c->can_skip = (*pf1 & SMFIP_SKIP) != 0;
	if (*pf0 & SMFIF_SETSYMLIST) {
		smfi_setsymlist(ctx, SMFIM_ENVFROM, "i {auth_authen}");
		smfi_setsymlist(ctx, SMFIM_EOH, "i");
		smfi_setsymlist(ctx, SMFIM_EOM, "i");
	}
	return SMFIS_CONTINUE;
}

/* cb_connect - the client's address; tune a TCP socket */
static sfsistat cb_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *sa)
{
	struct conn_ctx *c = cb_conn(ctx);
	char buf[INET6_ADDRSTRLEN];

	g_free(c->hostname);
	c->hostname = g_strdup(hostname ? hostname : "");
	g_free(c->client_ip);
	c->client_ip = NULL;
	if (sa && sa->sa_family == AF_INET &&
	    inet_ntop(AF_INET, &((struct sockaddr_in *)(void *)sa)->sin_addr, buf, sizeof(buf)))
		c->client_ip = g_strdup(buf);
	else if (sa && sa->sa_family == AF_INET6 &&
		 inet_ntop(AF_INET6, &((struct sockaddr_in6 *)(void *)sa)->sin6_addr, buf, sizeof(buf)))
		c->client_ip = g_strdup(buf);
	if (cb_tcp && c->sd < 0) {
		c->sd = tcpopt_ctx_socket(ctx);
		tcpopt_nodelay(c->sd);
	}
	tcpopt_quickack(c->sd);
	return cb_reply(c, SMFIP_NR_CONN);
}

/* cb_envfrom - a new message */
static sfsistat cb_envfrom(SMFICTX *ctx, char **argv)
{
	struct conn_ctx *c = cb_conn(ctx);
	const char *login;

	tcpopt_quickack(c->sd);
	msg_begin(c, argv && argv[0] ? argv[0] : "", argv && argv[0] ? argv + 1 : NULL);
	login = smfi_getsymval(ctx, "{auth_authen}");
	if (login && *login)
		c->msg->sasl_login = g_strdup(login);
	cb_queue_id(ctx, c->msg);
	return cb_reply(c, SMFIP_NR_MAIL);
}

/* cb_envrcpt - one recipient */
static sfsistat cb_envrcpt(SMFICTX *ctx, char **argv)
{
	struct conn_ctx *c = cb_conn(ctx);

	tcpopt_quickack(c->sd);
	if (c->msg && argv && argv[0])
		msg_add_rcpt(c->msg, argv[0], argv + 1);
	return cb_reply(c, SMFIP_NR_RCPT);
}

/* cb_header - one header */
static sfsistat cb_header(SMFICTX *ctx, char *name, char *value)
{
	struct conn_ctx *c = cb_conn(ctx);

	tcpopt_quickack(c->sd);
	if (c->msg && name)
		msg_add_header(c->msg, name, value ? value : "", cb_env->cfg->milter.max_message_size);
	return cb_reply(c, SMFIP_NR_HDR);
}

/* cb_untouched - log an early pass and forget the message */
static sfsistat cb_untouched(struct conn_ctx *c, const char *why)
{
	log_info("%s: untouched: %s", msg_qid(c->msg), why);
	msg_reset(c);
	return SMFIS_ACCEPT;
}

/* cb_eoh - early decisions that need no body */
static sfsistat cb_eoh(SMFICTX *ctx)
{
	struct conn_ctx *c = cb_conn(ctx);
	struct msg_ctx *m = c->msg;
	const char *why;
	struct xbeacon xb;
	char *copy_of;
	int forged;

	tcpopt_quickack(c->sd);
	if (!m)
		return SMFIS_CONTINUE;
	cb_queue_id(ctx, m);
	/* a copy this milter made needs no body: end of message only removes its header */
	copy_of = split_copy_check(cb_env->keys, cb_env->cfg->milter.tag_header, m, &forged);
	if (copy_of) {
		g_free(copy_of);
		m->skip_body = 1;
		msg_end_headers(m);
		return SMFIS_CONTINUE;
	}
	if (msg_end_headers(m) < 0)
		return cb_untouched(c, "over max_message_size");
	why = tagging_header_exclusion(msg_header_get(m, "Content-Type"),
				       msg_header_count(m, "DKIM-Signature") > 0);
	if (why)
		return cb_untouched(c, why);
	xbeacon_parse(msg_header_get(m, cb_env->cfg->milter.tag_header), &xb);
	m->skip_body = xb.mode == XB_NO;
	xbeacon_clear(&xb);
	return SMFIS_CONTINUE;
}

/* cb_body - buffer the body up to max_message_size */
static sfsistat cb_body(SMFICTX *ctx, unsigned char *chunk, size_t len)
{
	struct conn_ctx *c = cb_conn(ctx);

	tcpopt_quickack(c->sd);
	if (!c->msg)
		return SMFIS_CONTINUE;
	if (c->msg->skip_body)
		return c->can_skip ? SMFIS_SKIP : SMFIS_CONTINUE;
	if (msg_add_body(c->msg, chunk, len, cb_env->cfg->milter.max_message_size) < 0)
		return cb_untouched(c, "over max_message_size");
	return SMFIS_CONTINUE;
}

/* cb_apply - hand the decided changes to the MTA; 0, or -1 if it refused one */
static int cb_apply(SMFICTX *ctx, const struct msg_ctx *m, const struct track_out *out)
{
	const char *tag = cb_env->cfg->milter.tag_header;
	int rc = 0;

	/* recipients first: after copies left, nothing matters more than removing them */
	for (guint i = 0; out->delrcpts && i < out->delrcpts->len; i++)
		if (smfi_delrcpt(ctx, g_ptr_array_index(out->delrcpts, i)) != MI_SUCCESS)
			rc = -1;
	if (out->body) {
		size_t len = out->body->len, off = 0;
		do {
			size_t n = MIN(len - off, (size_t)CB_CHUNK);
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
	return rc;
}

/* cb_progress - tell the MTA the milter is still working (between copies) */
static void cb_progress(void *arg)
{
	smfi_progress(arg);
}

/* cb_log_tracked - the one line of a tracked message */
static void cb_log_tracked(const struct msg_ctx *m, const struct track_out *out)
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

/* cb_eom - decide, apply, log */
static sfsistat cb_eom(SMFICTX *ctx)
{
	struct conn_ctx *c = cb_conn(ctx);
	struct msg_ctx *m = c->msg;
	struct track_opts opts = { c->can_delrcpt, cb_suppress, cb_progress, ctx, c->hostname };
	struct track_out out;
	sfsistat rc = SMFIS_ACCEPT;

	tcpopt_quickack(c->sd);
	if (!m)
		return SMFIS_ACCEPT;
	cb_queue_id(ctx, m);
	track_message_with(cb_env, m, c->client_ip, &opts, &out);
	if (out.verdict == TRACK_TEMPFAIL) {
		log_warnx("%s: temp-failed: %s", msg_qid(m), out.reason);
		rc = SMFIS_TEMPFAIL;
	} else if (cb_apply(ctx, m, &out) < 0) {
		if (out.copies > 0) {
			/* temp-failing now would send every copy again */
			log_warnx("%s: the MTA refused a change after %d copies left: delivered as "
				  "the MTA has it", msg_qid(m), out.copies);
		} else {
			/* a body half replaced must not be delivered */
			log_warnx("%s: the MTA refused a change: temp-failed", msg_qid(m));
			rc = SMFIS_TEMPFAIL;
		}
	} else if (out.verdict == TRACK_REWRITTEN) {
		cb_log_tracked(m, &out);
	} else if (out.verdict == TRACK_COPY) {
		log_info("%s: untouched: %s (copy header removed)", msg_qid(m), out.reason);
	} else {
		log_info("%s: untouched: %s%s", msg_qid(m), out.reason,
			 out.remove_tag ? " (tag header removed)" : "");
	}
	track_out_clear(&out);
	msg_reset(c);
	return rc;
}

/* cb_abort - the MTA dropped the message */
static sfsistat cb_abort(SMFICTX *ctx)
{
	msg_reset(cb_conn(ctx));
	return SMFIS_CONTINUE;
}

/* cb_close - the connection ends: the only place it is freed */
static sfsistat cb_close(SMFICTX *ctx)
{
	struct conn_ctx *c = smfi_getpriv(ctx);

	if (c) {
		smfi_setpriv(ctx, NULL);
		conn_free(c);
		g_atomic_int_dec_and_test(&cb_sessions);
	}
	return SMFIS_CONTINUE;
}

/* callbacks_desc - registered with smfi_register */
struct smfiDesc callbacks_desc = {
	.xxfi_name = (char *)"beacon-milter",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = SMFIF_CHGBODY | SMFIF_CHGHDRS | SMFIF_DELRCPT,
	.xxfi_connect = cb_connect,
	.xxfi_helo = NULL,
	.xxfi_envfrom = cb_envfrom,
	.xxfi_envrcpt = cb_envrcpt,
	.xxfi_header = cb_header,
	.xxfi_eoh = cb_eoh,
	.xxfi_body = cb_body,
	.xxfi_eom = cb_eom,
	.xxfi_abort = cb_abort,
	.xxfi_close = cb_close,
	.xxfi_unknown = NULL,
	.xxfi_data = NULL,
	.xxfi_negotiate = cb_negotiate,
};
