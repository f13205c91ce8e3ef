/*
 * log.h - logging for every Beacon program, and the one way to die.
 *
 * Syslog (mail facility by default) for daemons, stderr when running in
 * the foreground (-f) or for command-line tools.  Callers put the queue id
 * or request id first in the message.  warn/fatal append strerror(errno);
 * warnx/fatalx do not.
 *
 * log_fatal_status() is the one function that ends a program on an
 * error: it logs the line and exits with the sysexits(3) code given
 * (EX_CONFIG for a bad configuration, EX_OSERR for a resource the system
 * refused).  log_fatal() and log_fatalx() are it with EX_SOFTWARE, for
 * "cannot happen" and out-of-memory exits.  A fatal line also goes to
 * stderr when the log is syslog, so whoever started a daemon sees why it
 * stopped (after the detach stderr is /dev/null).  On stderr a fatal line
 * reads "program: message", as err(3) writes it; other lines carry their
 * level ("program: warning: message").
 */
#ifndef BEACON_LOG_H
#define BEACON_LOG_H

#include <stdarg.h>

#define LOG_PRINTF(a, b) __attribute__((format(printf, a, b)))

/*
 * LOG_FACILITIES(X) - the one table of syslog facilities beacon.conf(5)
 * may name: X(name, LOG_ code).  Its names, in this order, are the values
 * of the syslog_facility key (LOG_FACILITY_NAMES); log_facility_code()
 * maps the key's value to the code.
 */
#define LOG_FACILITIES(X) \
	X(mail, LOG_MAIL) X(daemon, LOG_DAEMON) \
	X(local0, LOG_LOCAL0) X(local1, LOG_LOCAL1) X(local2, LOG_LOCAL2) \
	X(local3, LOG_LOCAL3) X(local4, LOG_LOCAL4) X(local5, LOG_LOCAL5) \
	X(local6, LOG_LOCAL6) X(local7, LOG_LOCAL7)
#define LOG_FACILITY_BAR_NAME(name, code) "|" #name
/* LOG_FACILITY_NAMES - "mail|daemon|local0|...|local7" (the leading '|' skipped) */
#define LOG_FACILITY_NAMES (&LOG_FACILITIES(LOG_FACILITY_BAR_NAME)[1])

/* log_init - name the program; TO_STDERR: log to stderr; FACILITY: syslog facility */
void log_init(const char *ident, int to_stderr, int facility);
/* log_set_debug - enable debug lines */
void log_set_debug(int on);
/* log_facility_code - the LOG_ code of the INDEXth name of LOG_FACILITIES (LOG_MAIL if out of range) */
int log_facility_code(int index);

void log_debug(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_info(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_warn(const char *fmt, ...) LOG_PRINTF(1, 2);
void log_warnx(const char *fmt, ...) LOG_PRINTF(1, 2);
/* log_fatal_status - log FMT (no errno text) and exit with CODE: the one way to die */
void log_fatal_status(int code, const char *fmt, ...) LOG_PRINTF(2, 3) __attribute__((noreturn));
/* log_fatal - log_fatal_status(EX_SOFTWARE, ...) with strerror(errno) appended */
void log_fatal(const char *fmt, ...) LOG_PRINTF(1, 2) __attribute__((noreturn));
/* log_fatalx - log_fatal_status(EX_SOFTWARE, ...) */
void log_fatalx(const char *fmt, ...) LOG_PRINTF(1, 2) __attribute__((noreturn));
/* log_vlog - the one place every line goes through */
void log_vlog(int prio, int with_errno, const char *fmt, va_list ap) LOG_PRINTF(3, 0);

#endif
