/* SPDX-License-Identifier: MIT */
/* The VMM's own memory cost, as opposed to the guest RAM it touched. */
#ifndef VMM_MEMSTAT_H
#define VMM_MEMSTAT_H

#include <stdint.h>

struct memstat {
	uint64_t rss_kib; /* the whole process */
	uint64_t guest_kib; /* resident pages of the guest RAM mapping */
};

/*
 * Read /proc/self/smaps: total RSS and the RSS of the mapping that starts
 * at @guest_ram. 0 or -errno.
 */
int memstat_read(const void *guest_ram, struct memstat *out);

#endif
