// SPDX-License-Identifier: MIT
/*
 * The host bridge: configuration mechanism #1 (ports 0xCF8-0xCFF), ECAM,
 * bus 0 with its slots, and firmware-style BAR assignment.
 *
 * Mechanism #1: only a 32-bit access at 0xCF8 reaches CONFIG_ADDRESS (the
 * PCI spec passes other widths on as ordinary I/O, so they read all-ones
 * here and are dropped on write; Linux's pci_check_type1() byte write to
 * 0xCFB must not disturb the latch). A byte at 0xCF9 is the PIIX/ICH reset
 * control register, as Linux's reboot=pci expects. 0xCFC-0xCFF reach the
 * dword the latch selects, at any width.
 */
#include <errno.h>
#include <string.h>

#include "pci/internal.h"
#include "pci/pci.h"
#include "vmm/layout_x86_64.h"
#include "vmm/le.h"
#include "vmm/log.h"
#include "vmm/vm.h"

#define CF8_PORT 0xcf8
#define CF8_LEN 8
#define CF8_ENABLE 0x80000000u
#define CF8_MASK 0x80fffffcu /* enable, bus, device, function, register */
#define CF9_OFF 1
#define RCR_SYS_RST 0x02 /* kept: hard or soft reset, we do the same */
#define RCR_RST_CPU 0x04

/* A neutral host bridge that no guest driver or quirk knows: Red Hat's. */
#define BRIDGE_VENDOR 0x1b36
#define BRIDGE_DEVICE 0x0008
#define BRIDGE_CLASS 0x060000

#define ECAM_SLOT_SHIFT 15
#define ECAM_FN_SHIFT 12
#define ECAM_FN_SIZE 4096

/* The device at @slot/@fn of bus 0, or NULL. Only function 0 exists. */
static struct pci_dev *bus_dev(struct pci_bus *bus, unsigned int slot,
			       unsigned int fn)
{
	struct pci_dev *dev = NULL;

	if (fn || slot >= PCI_MAX_SLOTS)
		return NULL;
	pthread_mutex_lock(&bus->lock);
	dev = bus->slots[slot];
	pthread_mutex_unlock(&bus->lock);
	return dev;
}

/* The device and register the latch selects for data port offset @off. */
static struct pci_dev *cf8_target(struct pci_bus *bus, uint64_t off,
				  uint32_t *reg)
{
	uint32_t cf8;

	pthread_mutex_lock(&bus->lock);
	cf8 = bus->cf8;
	pthread_mutex_unlock(&bus->lock);
	if (!(cf8 & CF8_ENABLE) || ((cf8 >> 16) & 0xff))
		return NULL;
	*reg = (cf8 & 0xfc) + (uint32_t)(off - 4);
	return bus_dev(bus, (cf8 >> 11) & 0x1f, (cf8 >> 8) & 7);
}

static void cf8_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	struct pci_bus *bus = opaque;
	struct pci_dev *dev;
	uint32_t reg;

	if (off < 4) {
		memset(data, 0xff, len);
		pthread_mutex_lock(&bus->lock);
		if (off == 0 && len == 4)
			put_le32(data, bus->cf8);
		else if (off == CF9_OFF && len == 1)
			data[0] = bus->rcr;
		pthread_mutex_unlock(&bus->lock);
		return;
	}
	dev = cf8_target(bus, off, &reg);
	if (dev)
		pci_cfg_read(dev, reg, data, len);
	else
		memset(data, 0xff, len);
}

static void cf8_write(void *opaque, uint64_t off, const uint8_t *data,
		      uint32_t len)
{
	struct pci_bus *bus = opaque;
	struct pci_dev *dev;
	bool reset = false;
	uint32_t reg;

	if (off < 4) {
		pthread_mutex_lock(&bus->lock);
		if (off == 0 && len == 4) {
			bus->cf8 = get_le32(data) & CF8_MASK;
		} else if (off == CF9_OFF && len == 1) {
			bus->rcr = data[0] & RCR_SYS_RST;
			reset = data[0] & RCR_RST_CPU;
		}
		pthread_mutex_unlock(&bus->lock);
		if (reset)
			vm_guest_reset(bus->vm);
		return;
	}
	dev = cf8_target(bus, off, &reg);
	if (!dev)
		return;
	/* bus_access() holds no bus lock here: BARs may move. */
	pci_cfg_write(dev, reg, data, len);
}

static const struct bus_ops cf8_ops = { cf8_read, cf8_write };

/*
 * ECAM: offset = slot << 15 | function << 12 | register, bus 0 only (the
 * window is 1 MiB). Any width; an access is cut where it crosses into the
 * next function, and 8 bytes inside one function are one access (a 64-bit
 * BAR moves at once).
 */
static void ecam_access(struct pci_bus *bus, uint64_t off, uint8_t *rd,
			const uint8_t *wr, uint32_t len)
{
	for (uint32_t i = 0, n; i < len; i += n) {
		uint64_t o = off + i;
		uint32_t reg = (uint32_t)(o & (ECAM_FN_SIZE - 1));
		struct pci_dev *dev = bus_dev(
			bus, (unsigned int)(o >> ECAM_SLOT_SHIFT) & 0x1f,
			(unsigned int)(o >> ECAM_FN_SHIFT) & 7);

		n = ECAM_FN_SIZE - reg < len - i ? ECAM_FN_SIZE - reg : len - i;
		if (rd && dev)
			pci_cfg_read(dev, reg, rd + i, n);
		else if (rd)
			memset(rd + i, 0xff, n);
		else if (dev)
			pci_cfg_write(dev, reg, wr + i, n);
	}
}

static void ecam_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	ecam_access(opaque, off, data, NULL, len);
}

static void ecam_write(void *opaque, uint64_t off, const uint8_t *data,
		       uint32_t len)
{
	struct pci_bus *bus = opaque;

	ecam_access(bus, off, NULL, data, len);
}

static const struct bus_ops ecam_ops = { ecam_read, ecam_write };

int pci_bus_init(struct pci_bus *bus, struct vm *vm)
{
	struct pci_dev *br = &bus->bridge;
	int ret;

	memset(bus, 0, sizeof(*bus));
	bus->vm = vm;
	bus->next_mmio = LAYOUT_PCI_MMIO;
	bus->next_io = LAYOUT_PCI_IO;
	ret = pci_dev_init(br, "pci-host-bridge", BRIDGE_VENDOR, BRIDGE_DEVICE,
			   BRIDGE_CLASS, 0, 0, 0);
	if (ret)
		return ret;
	br->cfg[CFG_INT_PIN] = 0; /* the bridge raises no interrupt */
	br->wmask[CFG_INT_LINE] = 0;
	br->bus = bus;
	bus->slots[0] = br;
	bus->nr_slots = 1;
	pthread_mutex_init(&bus->lock, NULL);
	pthread_mutex_init(&bus->map_lock, NULL);
	pthread_mutex_init(&bus->intx_lock, NULL);
	ret = bus_register(&vm->pio, CF8_PORT, CF8_LEN, &cf8_ops, bus,
			   "pci-cf8");
	if (!ret) {
		ret = bus_register(&vm->mmio, LAYOUT_PCI_ECAM,
				   LAYOUT_PCI_ECAM_SIZE, &ecam_ops, bus,
				   "pci-ecam");
		if (ret)
			bus_unregister(&vm->pio, CF8_PORT);
	}
	if (ret) {
		log_err("pci: cannot claim the host bridge's ranges: %s",
			strerror(-ret));
		pci_dev_destroy(br);
		pthread_mutex_destroy(&bus->lock);
		pthread_mutex_destroy(&bus->map_lock);
		pthread_mutex_destroy(&bus->intx_lock);
		return ret;
	}
	bus->initialised = true;
	return 0;
}

static uint64_t align_up(uint64_t x, uint64_t size)
{
	return (x + size - 1) & ~(size - 1);
}

/* Give every BAR of @dev an address in the windows; advances the cursors. */
static int assign_bars(struct pci_bus *bus, struct pci_dev *dev,
		       uint64_t addr[PCI_NR_BARS])
{
	uint64_t mmio = bus->next_mmio, io = bus->next_io;

	for (unsigned int i = 0; i < PCI_NR_BARS; i++) {
		const struct pci_bar *b = &dev->bar[i];
		bool is_io = b->flags & PCI_BAR_IO;
		uint64_t *cur = is_io ? &io : &mmio;
		uint64_t end = is_io ? LAYOUT_PCI_IO + LAYOUT_PCI_IO_SIZE :
				       LAYOUT_PCI_MMIO + LAYOUT_PCI_MMIO_SIZE;

		if (!b->size)
			continue;
		addr[i] = align_up(*cur, b->size);
		if (addr[i] > end || b->size > end - addr[i]) {
			log_err("pci: %s: no room for BAR %u (0x%llx bytes) in the PCI %s window",
				dev->name, i, (unsigned long long)b->size,
				is_io ? "I/O" : "MMIO");
			return -ENOSPC;
		}
		*cur = addr[i] + b->size;
	}
	bus->next_mmio = mmio;
	bus->next_io = (uint32_t)io;
	return 0;
}

/* Write the assigned addresses and turn decoding on, as firmware does. */
static void enable_dev(struct pci_bus *bus, struct pci_dev *dev,
		       unsigned int slot, const uint64_t addr[PCI_NR_BARS])
{
	uint16_t cmd = CMD_MASTER;

	pthread_mutex_lock(&dev->lock);
	for (unsigned int i = 0; i < PCI_NR_BARS; i++) {
		unsigned int reg = CFG_BAR0 + 4 * i;
		uint32_t lo = get_le32(dev->cfg + reg);

		if (!dev->bar[i].size)
			continue;
		put_le32(dev->cfg + reg, lo | (uint32_t)addr[i]);
		if (dev->bar[i].flags & PCI_BAR_MEM64)
			put_le32(dev->cfg + reg + 4, (uint32_t)(addr[i] >> 32));
		cmd |= dev->bar[i].flags & PCI_BAR_IO ? CMD_IO : CMD_MEM;
	}
	put_le16(dev->cfg + CFG_COMMAND, cmd);
	if (dev->cfg[CFG_INT_PIN])
		dev->cfg[CFG_INT_LINE] = LAYOUT_PCI_INTX_IRQ;
	dev->intx = vm_isa_irq(bus->vm, LAYOUT_PCI_INTX_IRQ);
	dev->slot = slot;
	dev->bus = bus;
	pthread_mutex_unlock(&dev->lock);
}

int pci_bus_add(struct pci_bus *bus, struct pci_dev *dev)
{
	uint64_t addr[PCI_NR_BARS] = { 0 };
	uint64_t saved_mmio = bus->next_mmio;
	uint32_t saved_io = bus->next_io;
	unsigned int slot;
	int ret = 0;

	if (dev->bus)
		return -EBUSY;
	pthread_mutex_lock(&bus->map_lock);
	pthread_mutex_lock(&bus->lock);
	slot = bus->nr_slots;
	pthread_mutex_unlock(&bus->lock);
	if (slot >= PCI_MAX_SLOTS) {
		log_err("pci: no free slot for %s", dev->name);
		ret = -ENOSPC;
		goto out;
	}
	ret = assign_bars(bus, dev, addr);
	if (ret)
		goto out;
	enable_dev(bus, dev, slot, addr);
	pci_bars_sync_locked(dev, false);
	for (unsigned int i = 0; i < PCI_NR_BARS; i++)
		if (dev->bar[i].size && !dev->bar[i].registered)
			ret = -EEXIST; /* bus.c said with what */
	if (ret) {
		pci_bars_unregister_locked(dev);
		dev->bus = NULL;
		bus->next_mmio = saved_mmio;
		bus->next_io = saved_io;
		goto out;
	}
	pthread_mutex_lock(&bus->lock);
	bus->slots[slot] = dev;
	bus->nr_slots++;
	pthread_mutex_unlock(&bus->lock);
	log_debug("pci: %s in slot %u", dev->name, slot);
out:
	pthread_mutex_unlock(&bus->map_lock);
	return ret;
}

void pci_bus_destroy(struct pci_bus *bus)
{
	if (!bus->initialised)
		return;
	bus_unregister(&bus->vm->pio, CF8_PORT);
	bus_unregister(&bus->vm->mmio, LAYOUT_PCI_ECAM);
	pthread_mutex_lock(&bus->map_lock);
	for (unsigned int s = 1; s < bus->nr_slots; s++) {
		struct pci_dev *dev = bus->slots[s];

		pci_bars_unregister_locked(dev);
		pthread_mutex_lock(&dev->lock);
		dev->bus = NULL;
		dev->intx = (struct irq_pin){ 0 };
		pthread_mutex_unlock(&dev->lock);
		bus->slots[s] = NULL;
	}
	bus->nr_slots = 0;
	pthread_mutex_unlock(&bus->map_lock);
	pci_dev_destroy(&bus->bridge);
	pthread_mutex_destroy(&bus->lock);
	pthread_mutex_destroy(&bus->map_lock);
	pthread_mutex_destroy(&bus->intx_lock);
	bus->initialised = false;
}
