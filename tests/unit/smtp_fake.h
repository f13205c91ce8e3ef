/*
 * NAME
 *	smtp_fake.h - a small SMTP listener on 127.0.0.1 for the unit tests
 *	of beacon-milter's copies (test_milter_reinject, test_milter_track_split)
 *
 * SYNOPSIS
 *	struct smtp_fake *f = fake_start("SIZE 1000000\n8BITMIME\nDSN\n");
 *	f->refuse_rcpt = "c@example.org";	(550 to that RCPT)
 *	... point the client at f->spec ...
 *	fake_wait(f, 2);			(two transactions recorded)
 *	fake_stop(f);
 *
 * DESCRIPTION
 *	A real listener, not a mock: one thread accepts connections one after
 *	another on a loopback port and speaks enough SMTP for a client:
 *	greeting, EHLO (answering with the extension lines given), MAIL,
 *	RCPT, DATA (the text is read to the lone dot and un-stuffed), RSET,
 *	NOOP, QUIT.  Every transaction that reached DATA is recorded with its
 *	MAIL and RCPT lines and its text; every command line is kept too.
 *	Knobs (set before the client connects): refuse_rcpt (that RCPT gets
 *	550), refuse_nth (the Nth transaction's DATA, from 1, gets 451 after
 *	the text), no_greeting (accept and stay silent), close_at_data (close
 *	the connection when DATA comes).  Every wait is bounded.
 */
#ifndef BEACON_SMTP_FAKE_H
#define BEACON_SMTP_FAKE_H

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <glib.h>

/* fake_txn - one transaction that reached DATA */
struct fake_txn {
	char *mail;		/* the MAIL command line */
	GPtrArray *rcpts;	/* the RCPT command lines (char *) */
	GByteArray *text;	/* the message, un-stuffed, CRLF line ends */
};

/* smtp_fake - the listener */
struct smtp_fake {
	int lsd;			/* listening socket */
	char spec[64];			/* "127.0.0.1:PORT" */
	unsigned short port;		/* its port */
	const char *ext;		/* EHLO extension lines, "\n"-separated */
	const char *refuse_rcpt;	/* this RCPT address gets 550 */
	int refuse_nth;			/* this transaction (1..) gets 451 at end of data */
	int no_greeting;		/* stay silent */
	int close_at_data;		/* drop the connection at DATA */
	pthread_t thread;		/* the accept loop */
	pthread_mutex_t lock;		/* guards what follows */
	GPtrArray *txns;		/* struct fake_txn * */
	GPtrArray *lines;		/* every command line (char *) */
	int ntxn;			/* transactions begun (MAIL) */
	int sessions;			/* connections accepted */
	int stop;			/* end the thread */
};

/* fake_txn_free - GDestroyNotify */
static inline void fake_txn_free(gpointer p)
{
	struct fake_txn *t = p;

	g_free(t->mail);
	g_ptr_array_free(t->rcpts, TRUE);
	g_byte_array_free(t->text, TRUE);
	g_free(t);
}

/* fake_send - write S to SD */
static inline void fake_send(int sd, const char *s)
{
	size_t off = 0, len = strlen(s);

	while (off < len) {
		ssize_t n = send(sd, s + off, len - off, MSG_NOSIGNAL);
		if (n <= 0)
			return;
		off += (size_t)n;
	}
}

/* fake_line - read one line (CRLF stripped) into LINE from SD using BUF; 0, or -1 at EOF/timeout */
static inline int fake_line(struct smtp_fake *f, int sd, GString *buf, GString *line)
{
	for (int spins = 0; spins < 200; spins++) {
		char *nl = memchr(buf->str, '\n', buf->len);
		struct pollfd pfd = { sd, POLLIN, 0 };
		char tmp[4096];
		ssize_t n;

		if (nl) {
			size_t l = (size_t)(nl - buf->str);
			g_string_assign(line, "");
			g_string_append_len(line, buf->str, (gssize)(l > 0 && nl[-1] == '\r' ? l - 1 : l));
			g_string_erase(buf, 0, (gssize)l + 1);
			return 0;
		}
		if (poll(&pfd, 1, 50) <= 0) {
			int stop;
			pthread_mutex_lock(&f->lock);
			stop = f->stop;
			pthread_mutex_unlock(&f->lock);
			if (stop)
				return -1;
			continue;
		}
		spins = 0;
		n = recv(sd, tmp, sizeof(tmp), 0);
		if (n <= 0)
			return -1;
		g_string_append_len(buf, tmp, n);
	}
	return -1;
}

/* fake_session - one SMTP session on SD */
static inline void fake_session(struct smtp_fake *f, int sd)
{
	GString *buf = g_string_new(NULL), *line = g_string_new(NULL);
	struct fake_txn *t = NULL;
	int nth = 0;

	if (f->no_greeting) {
		while (fake_line(f, sd, buf, line) == 0)
			;
		goto done;
	}
	fake_send(sd, "220 fake ESMTP\r\n");
	while (fake_line(f, sd, buf, line) == 0) {
		pthread_mutex_lock(&f->lock);
		g_ptr_array_add(f->lines, g_strdup(line->str));
		pthread_mutex_unlock(&f->lock);
		if (g_ascii_strncasecmp(line->str, "EHLO", 4) == 0) {
			char **ext = g_strsplit(f->ext ? f->ext : "", "\n", -1);
			GString *r = g_string_new(NULL);
			/* "250-fake", the extensions, the last one without a dash */
			if (ext[0] && ext[0][0]) {
				g_string_assign(r, "250-fake");
				for (int i = 0; ext[i] && ext[i][0]; i++)
					g_string_append_printf(r, "\r\n250%c%s",
							       ext[i + 1] && ext[i + 1][0] ? '-' : ' ', ext[i]);
			} else {
				g_string_assign(r, "250 fake");
			}
			g_string_append(r, "\r\n");
			fake_send(sd, r->str);
			g_string_free(r, TRUE);
			g_strfreev(ext);
		} else if (g_ascii_strncasecmp(line->str, "HELO", 4) == 0 ||
			   g_ascii_strncasecmp(line->str, "NOOP", 4) == 0) {
			fake_send(sd, "250 ok\r\n");
		} else if (g_ascii_strncasecmp(line->str, "MAIL", 4) == 0) {
			if (t)
				fake_txn_free(t);
			t = g_new0(struct fake_txn, 1);
			t->mail = g_strdup(line->str);
			t->rcpts = g_ptr_array_new_with_free_func(g_free);
			t->text = g_byte_array_new();
			pthread_mutex_lock(&f->lock);
			nth = ++f->ntxn;
			pthread_mutex_unlock(&f->lock);
			fake_send(sd, "250 2.1.0 ok\r\n");
		} else if (g_ascii_strncasecmp(line->str, "RCPT", 4) == 0) {
			if (f->refuse_rcpt && strstr(line->str, f->refuse_rcpt)) {
				fake_send(sd, "550 5.1.1 no such user\r\n");
			} else {
				if (t)
					g_ptr_array_add(t->rcpts, g_strdup(line->str));
				fake_send(sd, "250 2.1.5 ok\r\n");
			}
		} else if (g_ascii_strcasecmp(line->str, "DATA") == 0) {
			if (f->close_at_data)
				break;
			fake_send(sd, "354 go ahead\r\n");
			while (fake_line(f, sd, buf, line) == 0 && strcmp(line->str, ".") != 0) {
				const char *s = line->str[0] == '.' ? line->str + 1 : line->str;
				if (t) {
					g_byte_array_append(t->text, (const guint8 *)s, (guint)strlen(s));
					g_byte_array_append(t->text, (const guint8 *)"\r\n", 2);
				}
			}
			if (nth == f->refuse_nth) {
				fake_send(sd, "451 4.3.0 try later\r\n");
			} else {
				pthread_mutex_lock(&f->lock);
				if (t)
					g_ptr_array_add(f->txns, t);
				pthread_mutex_unlock(&f->lock);
				t = NULL;
				fake_send(sd, "250 2.0.0 queued\r\n");
			}
		} else if (g_ascii_strcasecmp(line->str, "RSET") == 0) {
			fake_send(sd, "250 ok\r\n");
		} else if (g_ascii_strcasecmp(line->str, "QUIT") == 0) {
			fake_send(sd, "221 bye\r\n");
			break;
		} else {
			fake_send(sd, "502 5.5.2 what\r\n");
		}
	}
done:
	if (t)
		fake_txn_free(t);
	g_string_free(buf, TRUE);
	g_string_free(line, TRUE);
}

/* fake_thread - accept and serve until stopped */
static inline void *fake_thread(void *arg)
{
	struct smtp_fake *f = arg;

	for (;;) {
		struct pollfd pfd = { f->lsd, POLLIN, 0 };
		int stop, sd;

		pthread_mutex_lock(&f->lock);
		stop = f->stop;
		pthread_mutex_unlock(&f->lock);
		if (stop)
			break;
		if (poll(&pfd, 1, 50) <= 0)
			continue;
		sd = accept(f->lsd, NULL, NULL);
		if (sd < 0)
			continue;
		pthread_mutex_lock(&f->lock);
		f->sessions++;
		pthread_mutex_unlock(&f->lock);
		fake_session(f, sd);
		close(sd);
	}
	return NULL;
}

/* fake_start - listen on a free loopback port and serve; EXT: EHLO extension lines */
static inline struct smtp_fake *fake_start(const char *ext)
{
	struct smtp_fake *f = g_new0(struct smtp_fake, 1);
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	int one = 1;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	f->ext = ext;
	f->lsd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(f->lsd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(f->lsd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(f->lsd, 8) < 0 ||
	    getsockname(f->lsd, (struct sockaddr *)&sa, &sl) < 0) {
		perror("smtp_fake");
		return NULL;
	}
	f->port = ntohs(sa.sin_port);
	snprintf(f->spec, sizeof(f->spec), "127.0.0.1:%u", f->port);
	f->txns = g_ptr_array_new_with_free_func(fake_txn_free);
	f->lines = g_ptr_array_new_with_free_func(g_free);
	pthread_mutex_init(&f->lock, NULL);
	pthread_create(&f->thread, NULL, fake_thread, f);
	return f;
}

/* fake_count - transactions recorded so far */
static inline int fake_count(struct smtp_fake *f)
{
	int n;

	pthread_mutex_lock(&f->lock);
	n = (int)f->txns->len;
	pthread_mutex_unlock(&f->lock);
	return n;
}

/* fake_stop - end the thread, close the socket, free */
static inline void fake_stop(struct smtp_fake *f)
{
	pthread_mutex_lock(&f->lock);
	f->stop = 1;
	pthread_mutex_unlock(&f->lock);
	pthread_join(f->thread, NULL);
	close(f->lsd);
	g_ptr_array_free(f->txns, TRUE);
	g_ptr_array_free(f->lines, TRUE);
	pthread_mutex_destroy(&f->lock);
	g_free(f);
}

/* fake_header - the value of header NAME in TEXT (unfolded first line), g_free; NULL if absent */
static inline char *fake_header(const GByteArray *text, const char *name)
{
	char *s = g_strndup((const char *)text->data, text->len), *end = strstr(s, "\r\n\r\n");
	char **lines, *v = NULL;

	if (end)
		*end = '\0';
	lines = g_strsplit(s, "\r\n", -1);
	for (int i = 0; lines[i] && !v; i++) {
		size_t n = strlen(name);
		if (g_ascii_strncasecmp(lines[i], name, n) == 0 && lines[i][n] == ':')
			v = g_strdup(g_strstrip(lines[i] + n + 1));
	}
	g_strfreev(lines);
	g_free(s);
	return v;
}

#endif
