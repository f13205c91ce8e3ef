/*
 * log.c - syslog or stderr logging, printf-checked, and the one exit on
 * an error.
 *
 * One function, log_vlog(), formats every line; the rest are thin
 * wrappers that pick a priority and whether errno is appended.
 * log_vfatal() is the only place a program exits on an error.
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

/* log_init - name the program and choose where lines go */
void log_init(const char *ident, int to_stderr, int facility)
{
	log_ident = ident;
	log_stderr = to_stderr;
	if (!to_stderr)
		openlog(ident, LOG_PID | LOG_NDELAY, facility);
}

/* log_set_debug - enable or disable debug lines */
void log_set_debug(int on)
{
	log_debug_on = on;
}

#define LOG_FACILITY_CODE(name, code) code,

/* log_facility_code - syslog code of the INDEXth facility of LOG_FACILITIES */
int log_facility_code(int index)
{
	static const int codes[] = { LOG_FACILITIES(LOG_FACILITY_CODE) };

	if (index < 0 || (size_t)index >= sizeof(codes) / sizeof(codes[0]))
		return LOG_MAIL;
	return codes[index];
}

/* log_vlog - format one line and send it to stderr or syslog */
void log_vlog(int prio, int with_errno, const char *fmt, va_list ap)
{
	static const char *names[] = { "emerg", "alert", "crit", "error",
		"warning", "notice", "info", "debug" };
	char msg[2048];
	int saved = errno;
	int n;

	if (prio == LOG_DEBUG && !log_debug_on)
		return;
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	if (with_errno && n >= 0 && (size_t)n < sizeof(msg))
		snprintf(msg + n, sizeof(msg) - (size_t)n, ": %s", strerror(saved));
	if (!log_stderr)
		syslog(prio, "%s", msg);
	/* errors: "program: message" on stderr, also when the log is syslog */
	if (prio <= LOG_ERR)
		fprintf(stderr, "%s: %s\n", log_ident, msg);
	else if (log_stderr)
		fprintf(stderr, "%s: %s: %s\n", log_ident, names[prio & 7], msg);
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

/* log_vfatal - log one error line and exit with CODE (callers need no va_end:
 * nothing runs after it) */
__attribute__((noreturn)) LOG_PRINTF(3, 0)
static void log_vfatal(int code, int with_errno, const char *fmt, va_list ap)
{
	log_vlog(LOG_ERR, with_errno, fmt, ap);
	exit(code);
}

/* log_fatal_status - log and exit with a sysexits(3) CODE */
void log_fatal_status(int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vfatal(code, 0, fmt, ap);
}

/* log_fatal - log with errno text and exit with EX_SOFTWARE */
void log_fatal(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vfatal(EX_SOFTWARE, 1, fmt, ap);
}

/* log_fatalx - log and exit with EX_SOFTWARE */
void log_fatalx(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vfatal(EX_SOFTWARE, 0, fmt, ap);
}
