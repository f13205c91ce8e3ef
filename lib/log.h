/*
 * log.h - logging for every Beacon program.
 *
 * Syslog (mail facility by default) for daemons, stderr when running in
 * the foreground (-f) or for command-line tools.  Callers put the queue id
 * or request id first in the message.  warn/fatal append strerror(errno);
 * warnx/fatalx do not.  fatal/fatalx exit with EX_SOFTWARE unless the
 * exit code was set with log_set_exit().
 */
#ifndef BEACON_LOG_H
#define BEACON_LOG_H

#include <stdarg.h>

#define LOG_PRINTF(a, b) __attribute__((format(printf, a, b)))

/* log_init - name the program; TO_STDERR: log to stderr; FACILITY: syslog facility */
void log_init(const char *ident, int to_stderr, int facility);
/* log_set_exit - exit status of log_fatal/log_fatalx from now on (EX_SOFTWARE by default) */
void log_set_exit(int code);
/* log_set_debug - enable debug lines */
void log_set_debug(int on);
/* log_facility_code - map "mail", "daemon", "local0".. to a LOG_ code */
int log_facility_code(const char *name);

void log_debug(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_info(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_warn(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_warnx(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_fatal(const char *fmt, ...) LOG_PRINTF(1, 2) __attribute__((noreturn));
void log_fatalx(const char *fmt, ...) LOG_PRINTF(1, 2) __attribute__((noreturn));
/* log_vlog - the one place every line goes through */
void log_vlog(int prio, int with_errno, const char *fmt, va_list ap) LOG_PRINTF(3, 0);

#endif
