/* SPDX-License-Identifier: MIT */
/* Shared between the virtio-pci transport files only. */
#ifndef VIRTIO_PCI_INTERNAL_H
#define VIRTIO_PCI_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "pci/pci.h"
#include "virtio/pci.h"

/* The one BAR: every structure at a fixed offset, MSI-X at the end. */
#define VP_BAR 0
#define VP_COMMON_OFF 0x0000
#define VP_COMMON_LEN 0x40
#define VP_ISR_OFF 0x1000
#define VP_ISR_LEN 4
#define VP_DEVICE_OFF 0x2000
#define VP_DEVICE_MAX 0x1000
#define VP_NOTIFY_OFF 0x3000
#define VP_NOTIFY_MULT 4 /* bytes between queue notify addresses */
#define VP_MSIX_TABLE 0x4000
#define VP_MSIX_PBA 0x5000
#define VP_BAR_SIZE 0x8000

/* ISR bits. */
#define VP_ISR_QUEUE 1
#define VP_ISR_CONFIG 2

struct vp_queue_regs {
	uint16_t size, msix;
	bool enabled;
	uint64_t desc, driver, device;
};

struct virtio_pci {
	struct virtio_dev vdev;
	struct pci_dev pci;
	/* Common config state; taken after io_lock when both are needed. */
	pthread_mutex_t lock;
	/* Held by the I/O thread while the device runs; reset waits on it. */
	pthread_mutex_t io_lock;
	uint32_t dfselect, gfselect;
	uint16_t queue_sel, msix_config;
	uint8_t isr, config_gen;
	struct vp_queue_regs q[VIRTIO_MAX_QUEUES];
	bool warned; /* NEEDS_RESET logged */
	bool raise_config; /* config interrupt owed once the lock is dropped */
	bool kick_all; /* DRIVER_OK came: look at every queue once */

	int kick_fd[VIRTIO_MAX_QUEUES]; /* eventfd per queue */
	uint64_t ioeventfd_base; /* notify area where KVM signals, 0: none */
	int stop_fd;
	pthread_t thread;
	bool thread_started;
};

/* Common configuration structure (virtio 1.x 4.1.4.3), BAR-relative. */
void vp_common_read(struct virtio_pci *vp, uint32_t off, uint8_t *data,
		    uint32_t len);
void vp_common_write(struct virtio_pci *vp, uint32_t off, const uint8_t *data,
		     uint32_t len);
/* Device reset: quiesce the I/O thread, then return to the initial state. */
void vp_reset(struct virtio_pci *vp);
/* Wake the I/O thread for queue @q (what a notify write does). */
void vp_kick(struct virtio_pci *vp, unsigned int q);
/* Raise an interrupt: MSI-X vector @vec, or INTx with @isr_bit. */
void vp_interrupt(struct virtio_pci *vp, uint16_t vec, uint8_t isr_bit);

#endif
