/*
 * log.c - syslog or stderr logging, printf-checked.
 *
 * One function, log_vlog(), formats every line; the rest are thin
 * wrappers that pick a priority and whether errno is appended.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <sysexits.h>
#include <time.h>

#include "log.h"

static const char *log_ident = "beacon";	/* program name */
static int log_stderr = 1;			/* 1: stderr, 0: syslog */
static int log_debug_on;			/* print debug lines */
static int log_exit_code = EX_SOFTWARE;		/* status of fatal exits */

/* log_init - name the program and choose where lines go */
void log_init(const char *ident, int to_stderr, int facility)
{
	log_ident = ident;
	log_stderr = to_stderr;
	if (!to_stderr)
		openlog(ident, LOG_PID | LOG_NDELAY, facility);
}

/* log_set_exit - choose the status fatal exits use */
void log_set_exit(int code)
{
	log_exit_code = code;
}

/* log_set_debug - enable or disable debug lines */
void log_set_debug(int on)
{
	log_debug_on = on;
}

/* log_facility_code - syslog facility code for NAME, LOG_MAIL if unknown */
int log_facility_code(const char *name)
{
	static const struct { const char *n; int c; } tab[] = {
		{ "mail", LOG_MAIL }, { "daemon", LOG_DAEMON },
		{ "local0", LOG_LOCAL0 }, { "local1", LOG_LOCAL1 },
		{ "local2", LOG_LOCAL2 }, { "local3", LOG_LOCAL3 },
		{ "local4", LOG_LOCAL4 }, { "local5", LOG_LOCAL5 },
		{ "local6", LOG_LOCAL6 }, { "local7", LOG_LOCAL7 },
	};
	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (strcmp(tab[i].n, name) == 0)
			return tab[i].c;
	return LOG_MAIL;
}

/* log_vlog - format one line and send it to stderr or syslog */
void log_vlog(int prio, int with_errno, const char *fmt, va_list ap)
{
	char msg[2048];
	int saved = errno;
	int n;

	if (prio == LOG_DEBUG && !log_debug_on)
		return;
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (with_errno && n >= 0 && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - (size_t)n, ": %s", strerror(saved));
	if (log_stderr) {
		static const char *names[] = { "emerg", "alert", "crit", "error",
			"warning", "notice", "info", "debug" };
		fprintf(stderr, "%s: %s: %s\n", log_ident, names[prio & 7], msg);
	} else {
		syslog(prio, "%s", msg);
	}
	errno = saved;
}

#define LOG_WRAP(name, prio, with_errno) \
	void name(const char *fmt, ...) \
	{ \
		va_list ap; \
		va_start(ap, fmt); \
		log_vlog(prio, with_errno, fmt, ap); \
		va_end(ap); \
	}

/* log_debug, log_info, log_warn, log_warnx - one line at their priority */
LOG_WRAP(log_debug, LOG_DEBUG, 0)
LOG_WRAP(log_info, LOG_INFO, 0)
LOG_WRAP(log_warn, LOG_WARNING, 1)
LOG_WRAP(log_warnx, LOG_WARNING, 0)

/* log_fatal - log with errno text and exit */
void log_fatal(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vlog(LOG_ERR, 1, fmt, ap);
	va_end(ap);
	exit(log_exit_code);
}

/* log_fatalx - log and exit */
void log_fatalx(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vlog(LOG_ERR, 0, fmt, ap);
	va_end(ap);
	exit(log_exit_code);
}
