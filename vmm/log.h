/* SPDX-License-Identifier: MIT */
/* Logging: one place decides verbosity and line endings. */
#ifndef VMM_LOG_H
#define VMM_LOG_H

#include <stdbool.h>

enum log_level { LOG_OFF = -1, LOG_ERR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Set the most verbose level that is printed (default LOG_INFO). */
void log_set_level(enum log_level level);
/* True when messages of @level are printed; lets callers skip costly work. */
bool log_enabled(enum log_level level);
/* Tell the logger the terminal is in raw mode, so it ends lines with \r\n. */
void log_set_raw(bool raw);
/* Print one message prefixed with "vmm: " to stderr if @level is enabled. */
void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
