/*
 * item.h - one delivery as beacon-notify handles it: the event, the
 * message and recipient it belongs to, the destination, and the outcome
 * of the attempt.
 *
 * The strings point into the PGresult the queue claimed them with
 * (queue.h); NULL is SQL NULL.  An item lives for one round: claimed,
 * sent (or dropped), recorded.
 */
#ifndef NOTIFY_ITEM_H
#define NOTIFY_ITEM_H

/* item_outcome - what became of one attempt */
enum item_outcome {
	ITEM_SENT,	/* 2xx / SMTP accepted: state sent */
	ITEM_RETRY,	/* failed: retried later, or failed for good past retry_for */
	ITEM_DROPPED,	/* not sent: muted, past notify_days, destination disabled,
			 * reclassified */
	ITEM_UNSENT,	/* not tried (stopping): pending again at once, no attempt counted */
};

/* item - one (job, destination) delivery */
struct item {
	long long job;		/* notify_jobs.id */
	int dest;		/* notify_destinations.id */
	int attempts;		/* attempts before this one */
	char id[48];		/* "<job>.<destination>": Beacon-Delivery and the JSON id */
	const char *dkind;	/* webhook, slack, mattermost, mail */
	const char *url;	/* the URL, or the mail address */
	const char *secret;	/* HMAC key (the destination's secret, as text) */
	const char *kind;	/* open, click, download, reply */
	const char *class;	/* human, proxy */
	const char *at;		/* event time, UTC, "2026-12-06T04:12:00.000Z" */
	const char *msg_uuid;	/* messages.id */
	const char *message_id;	/* Message-ID header */
	const char *subject;	/* Subject */
	const char *campaign;	/* campaign */
	const char *sent_at;	/* when it was sent, like at */
	const char *address;	/* recipient address */
	const char *name;	/* recipient display name */
	const char *country;	/* ISO country code */
	const char *city;	/* city */
	const char *device;	/* device family */
	const char *os;		/* operating system */
	const char *client;	/* mail client or browser */
	const char *link;	/* clicks: the link's URL */
	const char *file;	/* downloads: the attachment's name */
	const char *drop;	/* not NULL: why it is dropped instead of sent */
	const char *claim;	/* the lease's end set by the claim, in microseconds since the
				 * epoch: recording needs it unchanged */
	/* the outcome, filled by webhook.c, digest.c or the queue */
	enum item_outcome outcome;	/* what happened */
	int status;		/* HTTP or SMTP status, 0 when none came back */
	int latency_ms;		/* request time, -1 when none */
	char error[256];	/* why it failed, "" on success */
};

#endif
