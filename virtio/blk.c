// SPDX-License-Identifier: MIT
/*
 * virtio-blk, the device: its queue runs on the transport's I/O thread and
 * hands each chain to blk_execute() (blk_req.c); config space and features.
 */
#include "virtio/blk.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "virtio/pci.h"
#include "vmm/le.h"
#include "vmm/log.h"

#define SECTOR 512ULL
#define QUEUE_SIZE 256
#define SEG_MAX (BLK_MAX_IOV - 2)

/* Feature bits (5.2.3). */
#define VIRTIO_BLK_F_SIZE_MAX 1
#define VIRTIO_BLK_F_SEG_MAX 2
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_BLK_SIZE 6
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_F_DISCARD 13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

/* Config layout (5.2.4). */
#define CFG_CAPACITY 0
#define CFG_SIZE_MAX 8
#define CFG_SEG_MAX 12
#define CFG_BLK_SIZE 20
#define CFG_MAX_DISCARD_SECTORS 36
#define CFG_MAX_DISCARD_SEG 40
#define CFG_DISCARD_ALIGN 44
#define CFG_MAX_WZ_SECTORS 48
#define CFG_MAX_WZ_SEG 52
#define CFG_WZ_MAY_UNMAP 56
#define CFG_SIZE 60

struct blk {
	struct disk disk;
	struct disk_spec spec;
	struct virtio_pci *vp;
	uint8_t config[CFG_SIZE];
};

static void blk_queue_notify(struct virtio_dev *vdev, unsigned int q)
{
	struct blk *b = vdev->priv;
	struct virtq *vq = &vdev->vq[q];
	struct iovec iov[BLK_MAX_IOV];
	struct virtq_elem e;
	int r;

	do {
		while ((r = virtq_pop(vq, &e, iov, BLK_MAX_IOV)) > 0) {
			uint32_t written;

			if (blk_execute(&b->disk, iov, e.out_num, e.in_num,
					&written) < 0) {
				virtio_needs_reset(
					vdev,
					"request without a header or a status byte");
				return;
			}
			virtq_push(vq, e.head, written);
		}
		if (r < 0) {
			virtio_needs_reset(vdev, "broken virtqueue");
			return;
		}
		virtio_queue_done(vdev, q);
		/* Re-arm, then look again: closes the race with the driver. */
	} while (virtq_set_notify(vq, true));
}

static void blk_config_read(struct virtio_dev *vdev, uint32_t off,
			    uint8_t *data, uint32_t len)
{
	struct blk *b = vdev->priv;

	memcpy(data, b->config + off, len);
}

static void blk_fill_config(struct blk *b)
{
	uint8_t *c = b->config;

	put_le64(c + CFG_CAPACITY, b->disk.size / SECTOR);
	put_le32(c + CFG_SIZE_MAX, 1u << 20);
	put_le32(c + CFG_SEG_MAX, SEG_MAX);
	put_le32(c + CFG_BLK_SIZE, SECTOR);
	put_le32(c + CFG_MAX_DISCARD_SECTORS, BLK_MAX_DISCARD_SECTORS);
	put_le32(c + CFG_MAX_DISCARD_SEG, 1);
	put_le32(c + CFG_DISCARD_ALIGN, 8); /* 4 KiB, the host page */
	put_le32(c + CFG_MAX_WZ_SECTORS, BLK_MAX_DISCARD_SECTORS);
	put_le32(c + CFG_MAX_WZ_SEG, 1);
	c[CFG_WZ_MAY_UNMAP] = 1;
}

const struct virtio_dev_ops virtio_blk_ops = {
	.name = "virtio-blk",
	.device_id = 2,
	.pci_class = 0x018000, /* mass storage, other */
	.nr_queues = 1,
	.queue_size = QUEUE_SIZE,
	.config_size = CFG_SIZE,
	.config_read = blk_config_read,
	.queue_notify = blk_queue_notify,
};

static uint64_t blk_features(const struct disk *d)
{
	uint64_t f = (1ULL << VIRTIO_BLK_F_SIZE_MAX) |
		     (1ULL << VIRTIO_BLK_F_SEG_MAX) |
		     (1ULL << VIRTIO_BLK_F_BLK_SIZE) |
		     (1ULL << VIRTIO_BLK_F_FLUSH);

	if (d->ro)
		return f | (1ULL << VIRTIO_BLK_F_RO);
	return f | (1ULL << VIRTIO_BLK_F_DISCARD) |
	       (1ULL << VIRTIO_BLK_F_WRITE_ZEROES);
}

int blk_create(struct vm *vm, struct pci_bus *bus, const struct disk_spec *spec,
	       struct blk **out)
{
	struct blk *b = calloc(1, sizeof(*b));
	int ret;

	if (!b)
		return -ENOMEM;
	b->spec = *spec;
	b->disk.fd = -1;
	ret = disk_open(&b->disk, &b->spec);
	if (ret) {
		free(b);
		return ret;
	}
	blk_fill_config(b);
	ret = virtio_pci_create(vm, bus, &virtio_blk_ops, b,
				blk_features(&b->disk), &b->vp);
	if (ret) {
		disk_close(&b->disk);
		free(b);
		return ret;
	}
	log_debug("disk %s: %llu sectors%s", b->disk.path,
		  (unsigned long long)(b->disk.size / SECTOR),
		  b->disk.ro ? ", read-only" : "");
	*out = b;
	return 0;
}

void blk_destroy(struct blk *b)
{
	if (!b)
		return;
	virtio_pci_destroy(b->vp);
	disk_close(&b->disk);
	free(b);
}
