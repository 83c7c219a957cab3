/* SPDX-License-Identifier: MIT */
/*
 * A growable set of pollfds plus a timeout, filled afresh before every
 * poll() by whoever owns fds in a loop (a device's I/O thread and the
 * network backend behind it).
 */
#ifndef VMM_POLLSET_H
#define VMM_POLLSET_H

#include <poll.h>

struct pollset {
	struct pollfd *fds;
	unsigned int n, cap;
	int timeout_ms; /* -1: none; owners only ever lower it */
};

/* Empty the set (keeping its memory) and clear the timeout. */
void pollset_reset(struct pollset *ps);
/* Append @fd waiting for @events; its index, or -ENOMEM. */
int pollset_add(struct pollset *ps, int fd, short events);
/* Lower the timeout to @ms if that is sooner (negative: ignored). */
void pollset_timeout(struct pollset *ps, int ms);
/* revents of entry @i, 0 when @i is out of range (negative included). */
short pollset_revents(const struct pollset *ps, int i);
/* Free the memory. */
void pollset_free(struct pollset *ps);

#endif
