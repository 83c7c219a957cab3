// SPDX-License-Identifier: MIT
/* The growable pollfd set used by device I/O threads. */
#include "vmm/pollset.h"

#include <errno.h>
#include <stdlib.h>

void pollset_reset(struct pollset *ps)
{
	ps->n = 0;
	ps->timeout_ms = -1;
}

int pollset_add(struct pollset *ps, int fd, short events)
{
	if (ps->n == ps->cap) {
		unsigned int cap = ps->cap ? ps->cap * 2 : 16;
		struct pollfd *f = realloc(ps->fds, cap * sizeof(*f));

		if (!f)
			return -ENOMEM;
		ps->fds = f;
		ps->cap = cap;
	}
	ps->fds[ps->n] = (struct pollfd){ .fd = fd, .events = events };
	return (int)ps->n++;
}

void pollset_timeout(struct pollset *ps, int ms)
{
	if (ms >= 0 && (ps->timeout_ms < 0 || ms < ps->timeout_ms))
		ps->timeout_ms = ms;
}

short pollset_revents(const struct pollset *ps, int i)
{
	if (i < 0 || (unsigned int)i >= ps->n)
		return 0;
	return ps->fds[i].revents;
}

void pollset_free(struct pollset *ps)
{
	free(ps->fds);
	*ps = (struct pollset){ .timeout_ms = -1 };
}
