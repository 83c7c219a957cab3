// SPDX-License-Identifier: MIT
#include "vmm/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static enum log_level cur_level = LOG_INFO;
static bool raw_tty;

void log_set_level(enum log_level level)
{
	cur_level = level;
}

bool log_enabled(enum log_level level)
{
	return level <= cur_level;
}

void log_set_raw(bool raw)
{
	raw_tty = raw;
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *const prefix[] = { "error: ", "warning: ", "", "" };
	char buf[1024];
	va_list ap;
	size_t n;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	n = strlen(buf);
	while (n && buf[n - 1] == '\n')
		buf[--n] = '\0';
	/* One fprintf per message so lines from vCPU threads never interleave. */
	fprintf(stderr, "vmm: %s%s%s", prefix[level], buf,
		raw_tty ? "\r\n" : "\n");
}
