/* SPDX-License-Identifier: MIT */
/* Shared between the PCI core files only (pci.c, msix.c, host.c). */
#ifndef PCI_INTERNAL_H
#define PCI_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "pci/pci.h"

/* Type 0 configuration header offsets. */
#define CFG_VENDOR 0x00
#define CFG_DEVICE 0x02
#define CFG_COMMAND 0x04
#define CFG_STATUS 0x06
#define CFG_REVISION 0x08
#define CFG_CLASS 0x09 /* prog-if, subclass, base class */
#define CFG_CACHE_LINE 0x0c
#define CFG_HEADER_TYPE 0x0e
#define CFG_BAR0 0x10
#define CFG_BAR_END 0x28
#define CFG_SUBSYS_VENDOR 0x2c
#define CFG_SUBSYS_ID 0x2e
#define CFG_CAP_PTR 0x34
#define CFG_INT_LINE 0x3c
#define CFG_INT_PIN 0x3d
#define CFG_CAP_START 0x40
#define CFG_STD_SIZE 0x100 /* what port 0xCFC reaches; caps live here */

#define CMD_IO 0x0001
#define CMD_MEM 0x0002
#define CMD_MASTER 0x0004
#define CMD_INTX_DISABLE 0x0400

#define STATUS_INTX 0x0008
#define STATUS_CAP_LIST 0x0010

#define BAR_IO_SPACE 0x1
#define BAR_MEM_TYPE64 0x4
#define BAR_MEM_PREFETCH 0x8

/* pci_bar.flags, core only: the upper half of the 64-bit BAR below it. */
#define PCI_BAR_UPPER 0x100

/* MSI-X capability (PCI 3.0, 6.8.2). */
#define CAP_ID_MSIX 0x11
#define MSIX_CAP_LEN 12
#define MSIX_CTRL 2 /* offset of message control in the capability */
#define MSIX_CTRL_MASKALL 0x4000
#define MSIX_CTRL_ENABLE 0x8000
#define MSIX_MAX_VECTORS 2048
#define MSIX_ENTRY_SIZE 16

/* pci.c: with dev->lock held, drive INTx from the device's state. */
void pci_intx_update_locked(struct pci_dev *dev);
/*
 * pci.c: bring the bus registrations of @dev's BARs in line with its
 * config space; the bus's map_lock must be held, no dev->lock. Calls
 * bar_update for each change when @notify.
 */
void pci_bars_sync_locked(struct pci_dev *dev, bool notify);
/* pci.c: take every BAR of @dev off the bus (map_lock held). */
void pci_bars_unregister_locked(struct pci_dev *dev);

/* msix.c: with dev->lock held, react to a config write that may have
 * changed the message control word (was @old_ctrl). */
void pci_msix_ctrl_written(struct pci_dev *dev, uint16_t old_ctrl);
/* msix.c: true if MSI-X exists and is enabled; dev->lock held. */
bool pci_msix_enabled_locked(const struct pci_dev *dev);
/* msix.c: the handler of the BAR holding the MSI-X table (opaque: dev). */
extern const struct bus_ops pci_msix_bar_ops;

#endif
