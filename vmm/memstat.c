// SPDX-License-Identifier: MIT
#include "vmm/memstat.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

int memstat_read(const void *guest_ram, struct memstat *out)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[256];
	bool in_guest = false;
	unsigned long long kib;

	if (!f)
		return -errno;
	memset(out, 0, sizeof(*out));
	while (fgets(line, sizeof(line), f)) {
		uintptr_t start, end;
		char perms[8];

		/* A mapping header: "start-end perms offset dev inode path". */
		if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %7s", &start, &end,
			   perms) == 3) {
			in_guest = start == (uintptr_t)guest_ram;
			continue;
		}
		/* hugetlbfs pages are not in Rss: count them apart. */
		if (sscanf(line, "Rss: %llu kB", &kib) != 1 &&
		    sscanf(line, "Private_Hugetlb: %llu kB", &kib) != 1 &&
		    sscanf(line, "Shared_Hugetlb: %llu kB", &kib) != 1)
			continue;
		out->rss_kib += kib;
		if (in_guest)
			out->guest_kib += kib;
	}
	fclose(f);
	return 0;
}
