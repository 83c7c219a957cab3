/* SPDX-License-Identifier: MIT */
/* Capture what the code under test logs to stderr, to check exact messages. */
#ifndef TESTS_UNIT_FAKE_CAPTURE_H
#define TESTS_UNIT_FAKE_CAPTURE_H

#include <string.h>

/* Redirect stderr to a temporary file until capture_stop(). */
void capture_start(void);
/* Restore stderr; return what was written meanwhile (static buffer). */
const char *capture_stop(void);

/* Stop capturing and fail unless the log contains @needle. */
#define assert_logged(needle)                                                  \
	do {                                                                   \
		const char *log_ = capture_stop();                             \
		if (!strstr(log_, (needle)))                                   \
			fail_msg("log lacks \"%s\"; got: %s", (needle), log_); \
	} while (0)

#endif
