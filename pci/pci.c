// SPDX-License-Identifier: MIT
/*
 * The device side of the PCI core: the config-space image and its write
 * mask, BARs (sizing, decoding, bus registration), capabilities, INTx.
 *
 * The guest changes a byte of config space only where dev->wmask has bits
 * set, so read-only fields, the BAR type bits and capabilities need no
 * code. A write that touches a BAR or COMMAND then re-derives every BAR's
 * (enabled, address) from the image and moves the bus registrations.
 */
#include "pci/pci.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pci/internal.h"
#include "vmm/le.h"
#include "vmm/log.h"
#include "vmm/vm.h"

#define IO_SPACE_END 0x10000ULL

int pci_dev_init(struct pci_dev *dev, const char *name, uint16_t vendor,
		 uint16_t device, uint32_t class_code, uint16_t subsys_vendor,
		 uint16_t subsys_id, uint8_t revision)
{
	int ret;

	memset(dev, 0, sizeof(*dev));
	if (class_code > 0xffffff)
		return -EINVAL;
	ret = -pthread_mutex_init(&dev->lock, NULL);
	if (ret)
		return ret;
	dev->name = name;
	put_le16(dev->cfg + CFG_VENDOR, vendor);
	put_le16(dev->cfg + CFG_DEVICE, device);
	dev->cfg[CFG_REVISION] = revision;
	dev->cfg[CFG_CLASS] = (uint8_t)class_code;
	dev->cfg[CFG_CLASS + 1] = (uint8_t)(class_code >> 8);
	dev->cfg[CFG_CLASS + 2] = (uint8_t)(class_code >> 16);
	dev->cfg[CFG_HEADER_TYPE] = 0; /* type 0, single function */
	put_le16(dev->cfg + CFG_SUBSYS_VENDOR, subsys_vendor);
	put_le16(dev->cfg + CFG_SUBSYS_ID, subsys_id);
	dev->cfg[CFG_INT_PIN] = 1; /* INTA# */
	put_le16(dev->wmask + CFG_COMMAND,
		 CMD_IO | CMD_MEM | CMD_MASTER | CMD_INTX_DISABLE);
	dev->wmask[CFG_CACHE_LINE] = 0xff;
	dev->wmask[CFG_INT_LINE] = 0xff;
	dev->next_cap = CFG_CAP_START;
	return 0;
}

void pci_dev_destroy(struct pci_dev *dev)
{
	free(dev->msix);
	dev->msix = NULL;
	dev->msix_nvec = 0;
	pthread_mutex_destroy(&dev->lock);
}

static bool is_pow2(uint64_t x)
{
	return x && !(x & (x - 1));
}

static int bar_check(const struct pci_dev *dev, unsigned int bar, uint64_t size,
		     unsigned int flags)
{
	bool io = flags & PCI_BAR_IO, mem64 = flags & PCI_BAR_MEM64;

	if (dev->bus || bar >= PCI_NR_BARS || !is_pow2(size) ||
	    (flags & ~(PCI_BAR_MEM64 | PCI_BAR_PREFETCH | PCI_BAR_IO)))
		return -EINVAL;
	if (io &&
	    (mem64 || (flags & PCI_BAR_PREFETCH) || size < 4 || size > 256))
		return -EINVAL;
	if (!io && (size < 4096 || (!mem64 && size > (1ULL << 31)) ||
		    size > (1ULL << 62) || (mem64 && bar + 1 >= PCI_NR_BARS)))
		return -EINVAL;
	if (dev->bar[bar].size || (dev->bar[bar].flags & PCI_BAR_UPPER) ||
	    (mem64 && (dev->bar[bar + 1].size ||
		       (dev->bar[bar + 1].flags & PCI_BAR_UPPER))))
		return -EBUSY;
	return 0;
}

int pci_dev_set_bar(struct pci_dev *dev, unsigned int bar, uint64_t size,
		    unsigned int flags, const struct bus_ops *ops, void *opaque)
{
	struct pci_bar *b = &dev->bar[bar];
	uint64_t mask = ~(size - 1);
	uint32_t type;
	int ret = bar_check(dev, bar, size, flags);

	if (ret)
		return ret;
	pthread_mutex_lock(&dev->lock);
	*b = (struct pci_bar){
		.size = size, .flags = flags, .ops = ops, .opaque = opaque
	};
	if (flags & PCI_BAR_IO) {
		type = BAR_IO_SPACE;
		mask &= ~3ULL;
	} else {
		type = (flags & PCI_BAR_MEM64 ? BAR_MEM_TYPE64 : 0) |
		       (flags & PCI_BAR_PREFETCH ? BAR_MEM_PREFETCH : 0);
		mask &= ~0xfULL;
	}
	put_le32(dev->cfg + CFG_BAR0 + 4 * bar, type);
	put_le32(dev->wmask + CFG_BAR0 + 4 * bar, (uint32_t)mask);
	if (flags & PCI_BAR_MEM64) {
		dev->bar[bar + 1] = (struct pci_bar){ .flags = PCI_BAR_UPPER };
		put_le32(dev->wmask + CFG_BAR0 + 4 * (bar + 1),
			 (uint32_t)(mask >> 32));
	}
	pthread_mutex_unlock(&dev->lock);
	return 0;
}

int pci_dev_add_cap(struct pci_dev *dev, const void *data, size_t len)
{
	unsigned int off;

	if (len < 2)
		return -EINVAL;
	pthread_mutex_lock(&dev->lock);
	off = dev->next_cap < CFG_CAP_START ? CFG_CAP_START :
					      (dev->next_cap + 3u) & ~3u;
	if (len > CFG_STD_SIZE - off) {
		pthread_mutex_unlock(&dev->lock);
		return -ENOSPC;
	}
	memcpy(dev->cfg + off, data, len);
	dev->cfg[off + 1] = 0; /* the end of the list, for now */
	if (dev->last_cap)
		dev->cfg[dev->last_cap + 1] = (uint8_t)off;
	else
		dev->cfg[CFG_CAP_PTR] = (uint8_t)off;
	dev->cfg[CFG_STATUS] |= STATUS_CAP_LIST;
	dev->last_cap = (uint8_t)off;
	dev->next_cap = (uint16_t)((off + len + 3) & ~3u);
	pthread_mutex_unlock(&dev->lock);
	return (int)off;
}

void pci_cfg_read(struct pci_dev *dev, uint32_t off, uint8_t *data,
		  uint32_t len)
{
	pthread_mutex_lock(&dev->lock);
	for (uint32_t i = 0; i < len; i++) {
		uint64_t o = (uint64_t)off + i;

		data[i] = o < PCI_CFG_SIZE ? dev->cfg[o] : 0xff;
	}
	pthread_mutex_unlock(&dev->lock);
}

void pci_cfg_write(struct pci_dev *dev, uint32_t off, const uint8_t *data,
		   uint32_t len)
{
	uint16_t old_cmd, cmd, old_msix = 0;
	bool bars = false;

	pthread_mutex_lock(&dev->lock);
	old_cmd = get_le16(dev->cfg + CFG_COMMAND);
	if (dev->msix_cap)
		old_msix = get_le16(dev->cfg + dev->msix_cap + MSIX_CTRL);
	for (uint32_t i = 0; i < len; i++) {
		uint64_t o = (uint64_t)off + i;
		uint8_t m;

		if (o >= PCI_CFG_SIZE)
			break;
		m = dev->wmask[o];
		if (!m)
			continue;
		dev->cfg[o] = (uint8_t)((dev->cfg[o] & ~m) | (data[i] & m));
		if (o >= CFG_BAR0 && o < CFG_BAR_END)
			bars = true;
	}
	cmd = get_le16(dev->cfg + CFG_COMMAND);
	if ((cmd ^ old_cmd) & CMD_INTX_DISABLE)
		pci_intx_update_locked(dev);
	if ((cmd ^ old_cmd) & (CMD_IO | CMD_MEM))
		bars = true;
	if (dev->msix_cap)
		pci_msix_ctrl_written(dev, old_msix);
	pthread_mutex_unlock(&dev->lock);

	if (bars && dev->bus) {
		pthread_mutex_lock(&dev->bus->map_lock);
		pci_bars_sync_locked(dev, true);
		pthread_mutex_unlock(&dev->bus->map_lock);
	}
}

/*
 * Where the guest wants BAR @i decoded, from the config image (dev->lock
 * held). Off while its decode bit in COMMAND is clear, while it is being
 * sized (a dword holds all ones in its writable bits), at 0, or where it
 * does not fit the address space.
 */
static bool bar_decode(const struct pci_dev *dev, unsigned int i,
		       uint64_t *addr)
{
	const struct pci_bar *b = &dev->bar[i];
	unsigned int reg = CFG_BAR0 + 4 * i;
	uint16_t cmd = get_le16(dev->cfg + CFG_COMMAND);
	uint32_t lo = get_le32(dev->cfg + reg),
		 wlo = get_le32(dev->wmask + reg);
	uint64_t a = lo & wlo;

	if (!(cmd & (b->flags & PCI_BAR_IO ? CMD_IO : CMD_MEM)))
		return false;
	if (wlo && (lo & wlo) == wlo)
		return false;
	if (b->flags & PCI_BAR_MEM64) {
		uint32_t hi = get_le32(dev->cfg + reg + 4);
		uint32_t whi = get_le32(dev->wmask + reg + 4);

		if ((hi & whi) == whi)
			return false;
		a |= (uint64_t)(hi & whi) << 32;
	}
	if (!a || a + b->size < a)
		return false;
	if ((b->flags & PCI_BAR_IO) && a + b->size > IO_SPACE_END)
		return false;
	*addr = a;
	return true;
}

/* Null handler for a BAR without ops. */
static void bar_null_read(void *opaque, uint64_t off, uint8_t *data,
			  uint32_t len)
{
	memset(data, 0, len);
}

static void bar_null_write(void *opaque, uint64_t off, const uint8_t *data,
			   uint32_t len)
{
}

static const struct bus_ops bar_null_ops = { bar_null_read, bar_null_write };

static int bar_register(struct pci_dev *dev, unsigned int i)
{
	struct pci_bar *b = &dev->bar[i];
	struct vm *vm = dev->bus->vm;
	struct bus *bus = b->flags & PCI_BAR_IO ? &vm->pio : &vm->mmio;

	if (dev->msix && i == dev->msix_bar)
		return bus_register(bus, b->addr, b->size, &pci_msix_bar_ops,
				    dev, dev->name);
	return bus_register(bus, b->addr, b->size,
			    b->ops ? b->ops : &bar_null_ops, b->opaque,
			    dev->name);
}

static void bar_unregister(struct pci_dev *dev, unsigned int i)
{
	struct pci_bar *b = &dev->bar[i];
	struct vm *vm = dev->bus->vm;

	if (!b->registered)
		return;
	bus_unregister(b->flags & PCI_BAR_IO ? &vm->pio : &vm->mmio, b->addr);
	b->registered = false;
}

void pci_bars_sync_locked(struct pci_dev *dev, bool notify)
{
	uint64_t want_addr[PCI_NR_BARS] = { 0 };
	bool want[PCI_NR_BARS] = { false };

	pthread_mutex_lock(&dev->lock);
	for (unsigned int i = 0; i < PCI_NR_BARS; i++)
		if (dev->bar[i].size)
			want[i] = bar_decode(dev, i, &want_addr[i]);
	pthread_mutex_unlock(&dev->lock);

	for (unsigned int i = 0; i < PCI_NR_BARS; i++) {
		struct pci_bar *b = &dev->bar[i];
		bool was = b->registered;
		uint64_t old = b->addr;

		if (!b->size || (want[i] == b->enabled &&
				 (!want[i] || want_addr[i] == b->addr)))
			continue;
		bar_unregister(dev, i);
		b->enabled = want[i];
		if (want[i]) {
			b->addr = want_addr[i];
			/* On -EEXIST bus.c has logged the overlap. */
			b->registered = !bar_register(dev, i);
		}
		log_debug("pci: %s BAR %u %s at 0x%llx", dev->name, i,
			  b->registered ? "on" :
			  b->enabled	? "overlaps" :
					  "off",
			  (unsigned long long)b->addr);
		if (notify && dev->ops && dev->ops->bar_update &&
		    (was != b->registered || (was && old != b->addr)))
			dev->ops->bar_update(dev, i, b->addr, b->registered);
	}
}

void pci_bars_unregister_locked(struct pci_dev *dev)
{
	for (unsigned int i = 0; i < PCI_NR_BARS; i++) {
		bar_unregister(dev, i);
		dev->bar[i].enabled = false;
	}
}

void pci_intx_update_locked(struct pci_dev *dev)
{
	struct pci_bus *bus = dev->bus;
	uint16_t cmd = get_le16(dev->cfg + CFG_COMMAND);
	bool drive = dev->intx_level && !(cmd & CMD_INTX_DISABLE) &&
		     !pci_msix_enabled_locked(dev);
	uint32_t bit;
	bool before, after;

	if (dev->intx_level)
		dev->cfg[CFG_STATUS] |= STATUS_INTX;
	else
		dev->cfg[CFG_STATUS] &= (uint8_t)~STATUS_INTX;
	if (!bus) {
		irq_pin_set(&dev->intx, drive);
		return;
	}
	/* One line for the whole bus: the OR of the devices driving it. */
	bit = 1u << dev->slot;
	pthread_mutex_lock(&bus->intx_lock);
	before = bus->intx_asserted != 0;
	if (drive)
		bus->intx_asserted |= bit;
	else
		bus->intx_asserted &= ~bit;
	after = bus->intx_asserted != 0;
	if (before != after)
		irq_pin_set(&dev->intx, after);
	pthread_mutex_unlock(&bus->intx_lock);
}

void pci_intx_set(struct pci_dev *dev, bool level)
{
	pthread_mutex_lock(&dev->lock);
	dev->intx_level = level;
	pci_intx_update_locked(dev);
	pthread_mutex_unlock(&dev->lock);
}
