// SPDX-License-Identifier: MIT
#include "vmm/bus.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/log.h"

int bus_init(struct bus *bus, const char *name)
{
	memset(bus, 0, sizeof(*bus));
	bus->name = name;
	return -pthread_rwlock_init(&bus->lock, NULL);
}

void bus_destroy(struct bus *bus)
{
	free(bus->ranges);
	bus->ranges = NULL;
	bus->nr = bus->cap = 0;
	pthread_rwlock_destroy(&bus->lock);
}

/* Index of the first range whose end is above @addr (binary search). */
static size_t bus_lower_bound(const struct bus *bus, uint64_t addr)
{
	size_t lo = 0, hi = bus->nr;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const struct bus_range *r = &bus->ranges[mid];

		if (r->base + r->len <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static int bus_grow(struct bus *bus)
{
	size_t cap = bus->cap ? bus->cap * 2 : 16;
	struct bus_range *r = realloc(bus->ranges, cap * sizeof(*r));

	if (!r)
		return -ENOMEM;
	bus->ranges = r;
	bus->cap = cap;
	return 0;
}

int bus_register(struct bus *bus, uint64_t base, uint64_t len,
		 const struct bus_ops *ops, void *opaque, const char *name)
{
	size_t i;
	int ret = 0;

	if (!len || base + len < base || !ops)
		return -EINVAL;
	pthread_rwlock_wrlock(&bus->lock);
	i = bus_lower_bound(bus, base);
	if (i < bus->nr && bus->ranges[i].base < base + len) {
		log_err("%s bus: %s at 0x%llx+0x%llx overlaps %s", bus->name,
			name, (unsigned long long)base, (unsigned long long)len,
			bus->ranges[i].name);
		ret = -EEXIST;
		goto out;
	}
	if (bus->nr == bus->cap) {
		ret = bus_grow(bus);
		if (ret)
			goto out;
	}
	memmove(&bus->ranges[i + 1], &bus->ranges[i],
		(bus->nr - i) * sizeof(*bus->ranges));
	bus->ranges[i] = (struct bus_range){ base, len, ops, opaque, name };
	bus->nr++;
out:
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

int bus_unregister(struct bus *bus, uint64_t base)
{
	size_t i;
	int ret = -ENOENT;

	pthread_rwlock_wrlock(&bus->lock);
	i = bus_lower_bound(bus, base);
	if (i < bus->nr && bus->ranges[i].base == base) {
		memmove(&bus->ranges[i], &bus->ranges[i + 1],
			(bus->nr - i - 1) * sizeof(*bus->ranges));
		bus->nr--;
		ret = 0;
	}
	pthread_rwlock_unlock(&bus->lock);
	return ret;
}

bool bus_access(struct bus *bus, uint64_t addr, uint8_t *data, uint32_t len,
		bool write)
{
	struct bus_range r = { 0 };
	size_t i;

	/*
	 * Copy the range and call the handler without the lock: a handler
	 * may move ranges itself (a PCI config write relocating a BAR), and
	 * devices outlive every vCPU, so a stale copy still points at a live
	 * device.
	 */
	pthread_rwlock_rdlock(&bus->lock);
	i = bus_lower_bound(bus, addr);
	/* Written so that no sum can wrap on a hostile address. */
	if (i < bus->nr && bus->ranges[i].base <= addr &&
	    addr - bus->ranges[i].base <= bus->ranges[i].len &&
	    len <= bus->ranges[i].len - (addr - bus->ranges[i].base))
		r = bus->ranges[i];
	pthread_rwlock_unlock(&bus->lock);
	if (r.ops && write)
		r.ops->write(r.opaque, addr - r.base, data, len);
	else if (r.ops)
		r.ops->read(r.opaque, addr - r.base, data, len);
	if (r.ops)
		return true;

	if (!write)
		memset(data, 0xff, len);
	__atomic_add_fetch(&bus->unclaimed, 1, __ATOMIC_RELAXED);
	if (!__atomic_exchange_n(&bus->warned, true, __ATOMIC_RELAXED))
		log_debug(
			"%s bus: unclaimed %s of %u bytes at 0x%llx (further ones only counted)",
			bus->name, write ? "write" : "read", len,
			(unsigned long long)addr);
	return false;
}
