/* SPDX-License-Identifier: MIT */
/* virtio-blk (virtio 1.x, 5.2) over a struct disk. */
#ifndef VIRTIO_BLK_H
#define VIRTIO_BLK_H

#include <stdint.h>
#include <sys/uio.h>

#include "virtio/disk.h"
#include "virtio/virtio.h"

struct vm;
struct pci_bus;
struct virtio_pci;
struct blk;

/* Request types and status values. */
#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_T_DISCARD 11
#define VIRTIO_BLK_T_WRITE_ZEROES 13
#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2

#define BLK_MAX_IOV 130 /* seg_max 128, plus header and status */
#define BLK_MAX_DISCARD_SECTORS (1u << 22) /* 2 GiB per discard request */

/* The device type, for the transport. */
extern const struct virtio_dev_ops virtio_blk_ops;

/*
 * Open the disk of @spec and plug a virtio-blk device for it into @bus.
 * 0/-errno (logged, naming the path).
 */
int blk_create(struct vm *vm, struct pci_bus *bus, const struct disk_spec *spec,
	       struct blk **out);
/* Stop and free the device and close its disk (after the vCPUs stopped). */
void blk_destroy(struct blk *b);

/*
 * Execute one request whose chain is @iov: @out_num device-readable
 * entries (header first), then @in_num writable ones (status byte last).
 * Returns the status written and sets *@written to the bytes the device
 * wrote into the chain (data + status), or -EINVAL if the chain is not a
 * request at all (no header or no status byte: a driver bug).
 */
int blk_execute(struct disk *d, struct iovec *iov, unsigned int out_num,
		unsigned int in_num, uint32_t *written);

#endif
