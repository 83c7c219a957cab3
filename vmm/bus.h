/* SPDX-License-Identifier: MIT */
/*
 * Port-I/O and MMIO buses: sorted, non-overlapping address ranges, each with
 * a handler that sees the offset from its own base. One handler signature
 * serves both buses, so a device model works on x86 ports and on MMIO alike.
 */
#ifndef VMM_BUS_H
#define VMM_BUS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bus_ops {
	/* Fill @data (@len bytes) with the value at @off from the base. */
	void (*read)(void *opaque, uint64_t off, uint8_t *data, uint32_t len);
	/* Consume @len bytes written at @off from the base. */
	void (*write)(void *opaque, uint64_t off, const uint8_t *data,
		      uint32_t len);
};

struct bus_range {
	uint64_t base, len;
	const struct bus_ops *ops;
	void *opaque;
	const char *name;
};

struct bus {
	const char *name;
	struct bus_range *ranges; /* sorted by base */
	size_t nr, cap;
	pthread_rwlock_t lock; /* ranges may move at run time (PCI BARs) */
	uint64_t unclaimed; /* accesses nobody claimed, for statistics */
	bool warned;
};

/* Initialise an empty bus; @name appears in log messages. Returns 0/-errno. */
int bus_init(struct bus *bus, const char *name);
/* Free the range table. */
void bus_destroy(struct bus *bus);
/* Claim [base, base+len); -EEXIST if it overlaps a range, -EINVAL if empty. */
int bus_register(struct bus *bus, uint64_t base, uint64_t len,
		 const struct bus_ops *ops, void *opaque, const char *name);
/* Release the range that starts at @base; -ENOENT if there is none. */
int bus_unregister(struct bus *bus, uint64_t base);
/*
 * Dispatch one access to the range holding [addr, addr+len). An unclaimed
 * read returns all-ones and an unclaimed write is dropped; both are counted.
 * Returns true if a device claimed the access. The handler runs without
 * the bus lock, so it may register and unregister ranges (PCI BAR moves);
 * in exchange a device must stay alive until no vCPU can reach it.
 */
bool bus_access(struct bus *bus, uint64_t addr, uint8_t *data, uint32_t len,
		bool write);

#endif
