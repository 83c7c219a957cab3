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
	 * when @enabled. Devices use it to move ioeventfds.
	 */
	void (*bar_update)(struct pci_dev *dev, unsigned int bar, uint64_t addr,
			   bool enabled);
};

struct pci_bar {
	uint64_t size; /* power of two >= 16 (MMIO: >= 4096); 0 = unused */
	uint64_t addr; /* current base in guest space */
	unsigned int flags;
	const struct bus_ops *ops; /* device handler; offsets from the base */
	void *opaque;
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

	pthread_mutex_t lock; /* config space, BARs, MSI-X state */
	const struct pci_dev_ops *ops;
	void *opaque; /* the device's own state, for its hooks */
};

/* The host bridge and bus 0. */
struct pci_bus {
	struct vm *vm;
	struct pci_dev bridge; /* slot 0 */
	struct pci_dev *slots[PCI_MAX_SLOTS];
	unsigned int nr_slots;
	uint32_t cf8; /* CONFIG_ADDRESS latch */
	uint64_t next_mmio; /* BAR allocation cursor in the PCI window */
	uint16_t next_io;
	pthread_mutex_t lock; /* cf8 and slots */
};

/*
 * Fill @dev's config header (type 0): ids, class (24-bit, e.g. 0x010000),
 * subsystem ids, revision, interrupt pin INTA, capability list bit; all
 * BARs unused. 0/-errno.
 */
int pci_dev_init(struct pci_dev *dev, const char *name, uint16_t vendor,
		 uint16_t device, uint32_t class_code, uint16_t subsys_vendor,
		 uint16_t subsys_id, uint8_t revision);
/* Free what pci_dev_init*() allocated (not @dev itself). */
void pci_dev_destroy(struct pci_dev *dev);

/*
 * Describe BAR @bar: @size (power of two), PCI_BAR_* @flags, handler. A
 * 64-bit BAR also uses slot @bar + 1. Before pci_bus_add() only.
 */
int pci_dev_set_bar(struct pci_dev *dev, unsigned int bar, uint64_t size,
		    unsigned int flags, const struct bus_ops *ops,
		    void *opaque);

/*
 * Append a capability: @data[0] is its ID; the core fills the next
 * pointer (@data[1]) and links it. Returns its config offset or -ENOSPC.
 */
int pci_dev_add_cap(struct pci_dev *dev, const void *data, size_t len);

/*
 * Add MSI-X with @nvec vectors whose table and PBA live in BAR @bar at the
 * given offsets (the core serves those ranges; other offsets of the BAR go
 * to the BAR's ops). Vectors start masked, MSI-X disabled.
 */
int pci_dev_init_msix(struct pci_dev *dev, unsigned int nvec, unsigned int bar,
		      uint32_t table_off, uint32_t pba_off);

/* True once the guest enabled MSI-X (and did not set function mask). */
bool pci_msix_enabled(struct pci_dev *dev);

/*
 * Signal vector @vec: with MSI-X enabled, send its message (vm_msi) or, if
 * the vector or the function is masked, set its pending bit (sent on
 * unmask). Without MSI-X: raise INTx (the device lowers it on ISR read).
 * Safe from any thread. An out-of-range @vec (e.g. VIRTIO_MSI_NO_VECTOR)
 * does nothing.
 */
void pci_dev_notify(struct pci_dev *dev, unsigned int vec);

/* Set the INTx level (legacy interrupts, when MSI-X is off). */
void pci_intx_set(struct pci_dev *dev, bool level);

/*
 * Create the host bridge and claim 0xCF8-0xCFF and the ECAM window
 * (LAYOUT_PCI_ECAM) on @vm's buses. 0/-errno.
 */
int pci_bus_init(struct pci_bus *bus, struct vm *vm);
/*
 * Plug @dev into the next free slot: assign BAR addresses (MMIO from
 * LAYOUT_PCI_MMIO, I/O from LAYOUT_PCI_IO), enable decoding and register
 * the BARs, as firmware would. -ENOSPC when the bus is full.
 */
int pci_bus_add(struct pci_bus *bus, struct pci_dev *dev);
/* Unregister everything (after the vCPUs stopped); devices are the caller's. */
void pci_bus_destroy(struct pci_bus *bus);

/* Config-space access as the guest makes it (tests and the ECAM path). */
void pci_cfg_read(struct pci_dev *dev, uint32_t off, uint8_t *data,
		  uint32_t len);
void pci_cfg_write(struct pci_dev *dev, uint32_t off, const uint8_t *data,
		   uint32_t len);

#endif
