/* SPDX-License-Identifier: MIT */
/*
 * The modern virtio-pci transport (virtio 1.x, 4.1): common, notify, ISR
 * and device config in one 64-bit memory BAR described by vendor
 * capabilities, MSI-X in the same BAR, INTx as the fallback. Queue
 * notifications reach the device's I/O thread through one eventfd per
 * queue, signalled by KVM itself (ioeventfd) where the backend offers it.
 */
#ifndef VIRTIO_PCI_H
#define VIRTIO_PCI_H

#include <stdint.h>

#include "virtio/virtio.h"

struct pci_bus;
struct virtio_pci;

/* PCI ids: modern virtio devices are 0x1040 + the virtio device type. */
#define VIRTIO_PCI_VENDOR 0x1af4
#define VIRTIO_PCI_DEVICE_BASE 0x1040

/*
 * Create a virtio-pci device of type @ops offering @features (device bits;
 * VERSION_1, INDIRECT_DESC and EVENT_IDX are added), plug it into @bus and
 * start its I/O thread. @priv is the device state (vdev->priv). 0/-errno.
 */
int virtio_pci_create(struct vm *vm, struct pci_bus *bus,
		      const struct virtio_dev_ops *ops, void *priv,
		      uint64_t features, struct virtio_pci **out);

/* Stop the I/O thread and free the transport (after the vCPUs stopped). */
void virtio_pci_destroy(struct virtio_pci *vp);

#endif
