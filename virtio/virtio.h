/* SPDX-License-Identifier: MIT */
/*
 * The virtio device model, independent of the transport: a device type is
 * a static const struct virtio_dev_ops (bhyve's shape); the transport
 * (virtio/pci.c) owns status, feature negotiation, queue registers and
 * interrupts, and runs each device's queues on one I/O thread.
 */
#ifndef VIRTIO_VIRTIO_H
#define VIRTIO_VIRTIO_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "virtio/virtqueue.h"

struct vm;
struct virtio_dev;
struct pollset;

/* Device status bits (virtio 1.x, 2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER 2
#define VIRTIO_STATUS_DRIVER_OK 4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED 128

/* Transport feature bits every device gets. */
#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX 29
#define VIRTIO_F_VERSION_1 32

#define VIRTIO_MAX_QUEUES 8
#define VIRTIO_NO_VECTOR 0xffff

/* What a device type provides; everything else is the transport's. */
struct virtio_dev_ops {
	const char *name; /* "virtio-blk" */
	uint16_t device_id; /* virtio device type (2 = block) */
	uint32_t pci_class; /* PCI class code for the transport */
	unsigned int nr_queues;
	uint16_t queue_size; /* maximum per queue, power of two */
	uint32_t config_size; /* bytes of device-specific config */
	/* Read/write device config at @off (bounds already checked). */
	void (*config_read)(struct virtio_dev *vdev, uint32_t off,
			    uint8_t *data, uint32_t len);
	void (*config_write)(struct virtio_dev *vdev, uint32_t off,
			     const uint8_t *data, uint32_t len);
	/* Queue @q has new buffers; runs on the device's I/O thread. */
	void (*queue_notify)(struct virtio_dev *vdev, unsigned int q);
	/* The driver reset the device; I/O is quiesced while this runs. */
	void (*reset)(struct virtio_dev *vdev);
	/*
	 * Optional, for devices with their own input (a network backend):
	 * add fds and a timeout to the I/O thread's poll every round
	 * (0/-errno), then handle what poll() saw. poll_done runs on the
	 * I/O thread with resets held off, whatever the device status.
	 */
	int (*poll_fill)(struct virtio_dev *vdev, struct pollset *ps);
	void (*poll_done)(struct virtio_dev *vdev, struct pollset *ps);
};

/* One device instance; the transport fills it, the device reads it. */
struct virtio_dev {
	const struct virtio_dev_ops *ops;
	void *priv; /* the device's own state */
	struct vm *vm;
	uint64_t host_features; /* offered: the device's | transport bits */
	uint64_t features; /* negotiated, valid once FEATURES_OK */
	uint8_t status;
	struct virtq vq[VIRTIO_MAX_QUEUES];
	/* Set by the transport: interrupt the driver for queue @q. */
	void (*signal_queue)(struct virtio_dev *vdev, unsigned int q);
	void *transport;
};

/* True if feature bit @bit was negotiated. */
static inline bool virtio_has(const struct virtio_dev *vdev, unsigned int bit)
{
	return (vdev->features >> bit) & 1;
}

/*
 * Hand back what was pushed on queue @q and interrupt the driver if it
 * asked for it (EVENT_IDX or flags).
 */
void virtio_queue_done(struct virtio_dev *vdev, unsigned int q);

/* True if the driver has queue @q running (DRIVER_OK, no NEEDS_RESET). */
bool virtio_queue_live(const struct virtio_dev *vdev, unsigned int q);

/*
 * Have the I/O thread call queue_notify for @q again after one poll
 * round: a device that stops early to stay fair uses it to come back.
 */
void virtio_queue_kick(struct virtio_dev *vdev, unsigned int q);

/*
 * The driver broke the device's rules (a broken virtqueue): set
 * NEEDS_RESET, tell the driver with a config interrupt, log @why once.
 * The VMM keeps running; the driver must reset the device.
 */
void virtio_needs_reset(struct virtio_dev *vdev, const char *why);

#endif
