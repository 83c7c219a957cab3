/* SPDX-License-Identifier: MIT */
/*
 * PCI: one bus (bus 0) behind a host bridge reached through configuration
 * mechanism #1 (ports 0xCF8/0xCFC) and ECAM (MMIO, described by ACPI MCFG).
 * Devices own a config-space image; the core does the generic parts: BAR
 * sizing and relocation (moving the MMIO registration with the BAR),
 * capability lists, MSI-X (table and PBA in a BAR, per-vector masking) and
 * legacy INTx. Devices never see the backend: interrupts go through the
 * struct vm hooks (vm_msi) and irq pins.
 */
#ifndef PCI_PCI_H
#define PCI_PCI_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/irq.h"

struct vm;
struct pci_bus;
struct pci_dev;

#define PCI_CFG_SIZE 4096 /* ECAM: extended config space */
#define PCI_NR_BARS 6
#define PCI_MAX_SLOTS 32

/* BAR flags for pci_dev_set_bar(). */
#define PCI_BAR_MEM64 0x1 /* 64-bit memory BAR (takes two BAR slots) */
#define PCI_BAR_PREFETCH 0x2
#define PCI_BAR_IO 0x4 /* I/O space BAR */

/* Optional device hooks. */
struct pci_dev_ops {
	/*
	 * A BAR was enabled, disabled or moved by the guest; the core has
	 * already moved the bus registration. @addr is the new base, valid
	 * when @enabled. Devices use it to move ioeventfds. @enabled is false
	 * too when the guest enabled the BAR at an address that overlaps
	 * another range (the core logged it and left the BAR off the bus).
	 * Called on the vCPU thread that made the config write, with no PCI
	 * or bus lock held except the bus's BAR-mapping lock: the hook must
	 * not make config accesses itself. Not called by pci_bus_add() (the
	 * device reads bar[].addr after it) nor by pci_bus_destroy().
	 */
	void (*bar_update)(struct pci_dev *dev, unsigned int bar, uint64_t addr,
			   bool enabled);
};

/*
 * addr, enabled and registered change under the bus's map_lock (not
 * dev->lock): they follow what the guest wrote into config space. A BAR
 * that is enabled but overlaps another range stays unregistered (bus.c
 * logs the overlap) until the guest moves it.
 */
struct pci_bar {
	uint64_t size; /* power of two: I/O 4..256, MMIO >= 4096; 0 = unused */
	uint64_t addr; /* current base in guest space */
	unsigned int flags;
	const struct bus_ops *ops; /* device handler; offsets from the base */
	void *opaque;
	bool enabled; /* the guest has decoding on at a sane addr */
	bool registered; /* on the vm's MMIO/PIO bus right now */
};

struct pci_msix_vec {
	uint64_t addr;
	uint32_t data;
	bool masked;
	bool pending;
};

struct pci_dev {
	const char *name;
	uint8_t cfg[PCI_CFG_SIZE]; /* the guest-visible image */
	uint8_t wmask[PCI_CFG_SIZE]; /* bits the guest may write */
	struct pci_bar bar[PCI_NR_BARS];
	unsigned int slot; /* assigned by pci_bus_add() */
	struct pci_bus *bus;
	struct irq_pin intx; /* set by pci_bus_add() */
	bool intx_level;
	uint8_t last_cap; /* offset of the last capability, 0 if none */
	uint16_t next_cap; /* where the next capability goes */

	/* MSI-X, when pci_dev_init_msix() was called. */
	unsigned int msix_nvec, msix_bar;
	uint32_t msix_table, msix_pba; /* offsets inside the BAR */
	uint8_t msix_cap; /* config offset of the MSI-X capability */
	struct pci_msix_vec *msix; /* msix_nvec entries */

	pthread_mutex_t lock; /* cfg, wmask, intx_level, MSI-X state */
	const struct pci_dev_ops *ops;
	void *opaque; /* the device's own state, for its hooks */
};

/*
 * The host bridge and bus 0.
 * Lock order: map_lock, then a dev->lock, then intx_lock; the vm's bus
 * locks are taken for writing (bus_register) only under map_lock with no
 * dev->lock held; bus_access() calls the CF8/ECAM handlers without any bus
 * lock, so a config write may move BARs.
 */
struct pci_bus {
	struct vm *vm;
	struct pci_dev bridge; /* slot 0 */
	struct pci_dev *slots[PCI_MAX_SLOTS];
	unsigned int nr_slots;
	uint32_t cf8; /* CONFIG_ADDRESS latch */
	uint8_t rcr; /* reset control register, port 0xCF9 */
	uint64_t next_mmio; /* BAR allocation cursor in the PCI window */
	uint32_t next_io; /* same for I/O; may reach 0x10000 */
	pthread_mutex_t lock; /* cf8, rcr and slots */
	pthread_mutex_t map_lock; /* BAR registrations (pci_bar.addr etc.) */
	pthread_mutex_t intx_lock; /* intx_asserted and the shared line */
	uint32_t intx_asserted; /* slot bit: that device drives INTx now */
	bool initialised; /* pci_bus_init() succeeded */
};

/*
 * Fill @dev's config header (type 0, single function): ids, class (24-bit,
 * e.g. 0x010000), subsystem ids, revision, interrupt pin INTA; all BARs
 * unused, no capabilities (pci_dev_add_cap() sets the status bit). Clears
 * all of *@dev first (set ops and opaque afterwards). Writable by the
 * guest: COMMAND (I/O, memory, bus master, INTx disable), cache line size,
 * interrupt line, and the address bits of BARs. 0/-errno.
 */
int pci_dev_init(struct pci_dev *dev, const char *name, uint16_t vendor,
		 uint16_t device, uint32_t class_code, uint16_t subsys_vendor,
		 uint16_t subsys_id, uint8_t revision);
/* Free what pci_dev_init*() allocated (not @dev itself). */
void pci_dev_destroy(struct pci_dev *dev);

/*
 * Describe BAR @bar: @size (power of two; I/O 4..256, MMIO >= 4096),
 * PCI_BAR_* @flags, handler (may be NULL for a BAR that only holds the
 * MSI-X table: other offsets then read 0). A 64-bit BAR also uses slot
 * @bar + 1. Before pci_bus_add() only. 0, -EINVAL or -EBUSY (slot taken).
 */
int pci_dev_set_bar(struct pci_dev *dev, unsigned int bar, uint64_t size,
		    unsigned int flags, const struct bus_ops *ops,
		    void *opaque);

/*
 * Append a capability: @data[0] is its ID; the core fills the next
 * pointer (@data[1]) and links it. Capabilities start at 0x40, 4-byte
 * aligned, and must end by 0x100. They are read-only to the guest unless
 * the device sets bits in dev->wmask (at the returned offset) afterwards.
 * Returns its config offset, -EINVAL (@len < 2) or -ENOSPC.
 */
int pci_dev_add_cap(struct pci_dev *dev, const void *data, size_t len);

/*
 * Add MSI-X with @nvec (1..2048) vectors whose table and PBA live in BAR
 * @bar (set before) at the given 8-byte aligned offsets (the core serves
 * those ranges: an access that starts inside one goes there; other offsets
 * of the BAR go to the BAR's ops). Vectors start masked, MSI-X disabled.
 * 0, -EINVAL or -ENOMEM.
 */
int pci_dev_init_msix(struct pci_dev *dev, unsigned int nvec, unsigned int bar,
		      uint32_t table_off, uint32_t pba_off);

/*
 * True while the guest has MSI-X enabled (message control bit 15), even if
 * it set the function mask: the device then uses pci_dev_notify() (the
 * message stays pending until unmasked), never INTx.
 */
bool pci_msix_enabled(struct pci_dev *dev);

/*
 * Signal vector @vec: with MSI-X enabled, send its message (vm_msi, under
 * dev->lock) or, if the vector or the function is masked, set its pending
 * bit (sent on unmask); an out-of-range @vec (e.g. VIRTIO_MSI_NO_VECTOR)
 * then does nothing. Without MSI-X enabled: raise INTx whatever @vec (the
 * device lowers it with pci_intx_set(dev, false), e.g. on ISR read). Safe
 * from any thread; the caller must not hold dev->lock.
 */
void pci_dev_notify(struct pci_dev *dev, unsigned int vec);

/*
 * Set this device's INTx level (legacy interrupts). Status bit 3 follows
 * @level; the shared line (LAYOUT_PCI_INTX_IRQ) is the OR over the devices
 * whose level is high, COMMAND.INTx-disable clear and MSI-X disabled. Safe
 * from any thread; the caller must not hold dev->lock.
 */
void pci_intx_set(struct pci_dev *dev, bool level);

/*
 * Create the host bridge and claim 0xCF8-0xCFF (port 0xCF9 is the reset
 * control register: bit 2 resets the VM) and the ECAM window
 * (LAYOUT_PCI_ECAM) on @vm's buses. 0/-errno.
 */
int pci_bus_init(struct pci_bus *bus, struct vm *vm);
/*
 * Plug @dev into the next free slot: assign BAR addresses (MMIO from
 * LAYOUT_PCI_MMIO, I/O from LAYOUT_PCI_IO, naturally aligned), enable
 * decoding and bus mastering, set the interrupt line, wire dev->intx and
 * register the BARs, as firmware would. Before the vCPUs run. -EBUSY if
 * @dev is on a bus already, -ENOSPC when the bus or a window is full,
 * -EEXIST when a BAR would overlap a range on the vm's buses (all logged);
 * the bus is unchanged on failure, the device is not to be reused.
 */
int pci_bus_add(struct pci_bus *bus, struct pci_dev *dev);
/*
 * Unregister everything (after the vCPUs stopped) and unplug the devices,
 * which stay the caller's: call it before destroying them. Does nothing on
 * a zeroed bus or a second call.
 */
void pci_bus_destroy(struct pci_bus *bus);

/*
 * Config-space access as the guest makes it (tests and the ECAM path), at
 * any offset and length (bytes past PCI_CFG_SIZE read all-ones). A write
 * may move BARs: the caller must not hold dev->lock or a vm bus lock.
 */
void pci_cfg_read(struct pci_dev *dev, uint32_t off, uint8_t *data,
		  uint32_t len);
void pci_cfg_write(struct pci_dev *dev, uint32_t off, const uint8_t *data,
		   uint32_t len);

#endif
