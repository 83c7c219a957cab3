// SPDX-License-Identifier: MIT
/*
 * The common configuration registers of virtio-pci: feature negotiation,
 * device status, queue set-up. Reads come from an image rebuilt under the
 * lock, so any width at any offset works; writes are decoded per field
 * (64-bit fields may be written as two 32-bit halves, as Linux does).
 */
#include <string.h>

#include "virtio/pci_internal.h"
#include "vmm/le.h"
#include "vmm/log.h"

enum {
	CC_DFSELECT = 0x00,
	CC_DF = 0x04,
	CC_GFSELECT = 0x08,
	CC_GF = 0x0c,
	CC_MSIX_CONFIG = 0x10,
	CC_NUM_QUEUES = 0x12,
	CC_STATUS = 0x14,
	CC_CONFIG_GEN = 0x15,
	CC_QUEUE_SEL = 0x16,
	CC_QUEUE_SIZE = 0x18,
	CC_QUEUE_MSIX = 0x1a,
	CC_QUEUE_ENABLE = 0x1c,
	CC_QUEUE_NOTIFY_OFF = 0x1e,
	CC_QUEUE_DESC = 0x20,
	CC_QUEUE_DRIVER = 0x28,
	CC_QUEUE_DEVICE = 0x30,
	CC_QUEUE_NOTIFY_DATA = 0x38,
	CC_QUEUE_RESET = 0x3a,
};

static struct vp_queue_regs *sel_queue(struct virtio_pci *vp)
{
	return vp->queue_sel < vp->vdev.ops->nr_queues ? &vp->q[vp->queue_sel] :
							 NULL;
}

static void common_image(struct virtio_pci *vp, uint8_t *img)
{
	struct virtio_dev *vdev = &vp->vdev;
	struct vp_queue_regs *q = sel_queue(vp);

	memset(img, 0, VP_COMMON_LEN);
	put_le32(img + CC_DFSELECT, vp->dfselect);
	if (vp->dfselect < 2)
		put_le32(img + CC_DF, (uint32_t)(vdev->host_features >>
						 (32 * vp->dfselect)));
	put_le32(img + CC_GFSELECT, vp->gfselect);
	if (vp->gfselect < 2)
		put_le32(img + CC_GF,
			 (uint32_t)(vdev->features >> (32 * vp->gfselect)));
	put_le16(img + CC_MSIX_CONFIG, vp->msix_config);
	put_le16(img + CC_NUM_QUEUES, (uint16_t)vdev->ops->nr_queues);
	img[CC_STATUS] = vdev->status;
	img[CC_CONFIG_GEN] = vp->config_gen;
	put_le16(img + CC_QUEUE_SEL, vp->queue_sel);
	put_le16(img + CC_QUEUE_MSIX, VIRTIO_NO_VECTOR);
	if (!q)
		return;
	put_le16(img + CC_QUEUE_SIZE, q->size);
	put_le16(img + CC_QUEUE_MSIX, q->msix);
	put_le16(img + CC_QUEUE_ENABLE, q->enabled);
	put_le16(img + CC_QUEUE_NOTIFY_OFF, vp->queue_sel);
	put_le64(img + CC_QUEUE_DESC, q->desc);
	put_le64(img + CC_QUEUE_DRIVER, q->driver);
	put_le64(img + CC_QUEUE_DEVICE, q->device);
	put_le16(img + CC_QUEUE_NOTIFY_DATA, vp->queue_sel);
}

void vp_common_read(struct virtio_pci *vp, uint32_t off, uint8_t *data,
		    uint32_t len)
{
	uint8_t img[VP_COMMON_LEN];

	pthread_mutex_lock(&vp->lock);
	common_image(vp, img);
	pthread_mutex_unlock(&vp->lock);
	for (uint32_t i = 0; i < len; i++)
		data[i] = off + i < VP_COMMON_LEN ? img[off + i] : 0;
}

/* A vector the driver may use: one of ours, or "none". */
static uint16_t valid_vector(struct virtio_pci *vp, uint16_t vec)
{
	return vec < vp->pci.msix_nvec ? vec : VIRTIO_NO_VECTOR;
}

/* Features may change until FEATURES_OK; only offered bits stick. */
static void write_driver_features(struct virtio_pci *vp, uint32_t v)
{
	struct virtio_dev *vdev = &vp->vdev;
	unsigned int shift = 32 * vp->gfselect;

	if (vp->gfselect > 1 || (vdev->status & VIRTIO_STATUS_FEATURES_OK))
		return;
	vdev->features &= ~(0xffffffffULL << shift);
	vdev->features |= ((uint64_t)v << shift) & vdev->host_features;
}

/*
 * FEATURES_OK only if the driver accepted a subset of our offer that
 * includes VERSION_1 (we offer no legacy interface); otherwise the bit
 * does not stick and the driver sees it clear, as the spec says.
 */
static uint8_t check_features_ok(struct virtio_pci *vp, uint8_t v)
{
	struct virtio_dev *vdev = &vp->vdev;

	if (!(v & VIRTIO_STATUS_FEATURES_OK) ||
	    (vdev->status & VIRTIO_STATUS_FEATURES_OK))
		return v;
	if (!virtio_has(vdev, VIRTIO_F_VERSION_1)) {
		log_info(
			"%s: driver did not accept VERSION_1; refusing FEATURES_OK",
			vdev->ops->name);
		return v & ~VIRTIO_STATUS_FEATURES_OK;
	}
	return v;
}

static void write_status(struct virtio_pci *vp, uint8_t v)
{
	struct virtio_dev *vdev = &vp->vdev;

	v = check_features_ok(vp, v);
	/* A driver may queue buffers before DRIVER_OK: look once it comes. */
	if ((v & VIRTIO_STATUS_DRIVER_OK) &&
	    !(vdev->status & VIRTIO_STATUS_DRIVER_OK))
		vp->kick_all = true;
	/* NEEDS_RESET is the device's to set; only a reset clears it. */
	vdev->status = v | (vdev->status & VIRTIO_STATUS_NEEDS_RESET);
}

/* Queue addresses and size are fixed once the queue is enabled. */
static void write_queue_addr(struct vp_queue_regs *q, uint32_t off, uint32_t v)
{
	uint64_t *field = off < CC_QUEUE_DRIVER ? &q->desc :
			  off < CC_QUEUE_DEVICE ? &q->driver :
						  &q->device;
	unsigned int shift = (off & 4) ? 32 : 0;

	if (q->enabled)
		return;
	*field = (*field & ~(0xffffffffULL << shift)) | ((uint64_t)v << shift);
}

static void enable_queue(struct virtio_pci *vp, struct vp_queue_regs *q)
{
	struct virtio_dev *vdev = &vp->vdev;
	struct virtq *vq = &vdev->vq[vp->queue_sel];

	if (q->enabled)
		return;
	vq->size = q->size;
	vq->desc_gpa = q->desc;
	vq->avail_gpa = q->driver;
	vq->used_gpa = q->device;
	vq->event_idx = virtio_has(vdev, VIRTIO_F_EVENT_IDX);
	vq->indirect = virtio_has(vdev, VIRTIO_F_INDIRECT_DESC);
	q->enabled = true;
	if (virtq_start(vq)) {
		/* Logged by virtq_start(); the driver learns it from status. */
		vdev->status |= VIRTIO_STATUS_NEEDS_RESET;
		vp->raise_config = true;
	}
}

static void write_queue_size(struct virtio_pci *vp, struct vp_queue_regs *q,
			     uint16_t v)
{
	/* A power of two no larger than we offer; others are ignored. */
	if (!q->enabled && v && !(v & (v - 1)) && v <= vp->vdev.ops->queue_size)
		q->size = v;
}

static void write_queue_field(struct virtio_pci *vp, uint32_t off, uint32_t v)
{
	struct vp_queue_regs *q = sel_queue(vp);

	if (!q)
		return;
	if (off == CC_QUEUE_SIZE)
		write_queue_size(vp, q, (uint16_t)v);
	else if (off == CC_QUEUE_MSIX)
		q->msix = valid_vector(vp, (uint16_t)v);
	else if (off == CC_QUEUE_ENABLE && (v & 1))
		enable_queue(vp, q);
	else if (off >= CC_QUEUE_DESC && off < CC_QUEUE_NOTIFY_DATA)
		write_queue_addr(q, off, v);
}

static void write_field(struct virtio_pci *vp, uint32_t off, uint32_t v)
{
	switch (off) {
	case CC_DFSELECT:
		vp->dfselect = v;
		break;
	case CC_GFSELECT:
		vp->gfselect = v;
		break;
	case CC_GF:
		write_driver_features(vp, v);
		break;
	case CC_MSIX_CONFIG:
		vp->msix_config = valid_vector(vp, (uint16_t)v);
		break;
	case CC_STATUS:
		write_status(vp, (uint8_t)v);
		break;
	case CC_QUEUE_SEL:
		vp->queue_sel = (uint16_t)v;
		break;
	default:
		write_queue_field(vp, off, v);
	}
}

void vp_common_write(struct virtio_pci *vp, uint32_t off, const uint8_t *data,
		     uint32_t len)
{
	bool raise, kick;
	uint32_t v = 0;

	/* A 64-bit write of a queue address is its two halves in order. */
	if (len == 8 && off >= CC_QUEUE_DESC && off < CC_QUEUE_NOTIFY_DATA &&
	    !(off & 7)) {
		vp_common_write(vp, off, data, 4);
		vp_common_write(vp, off + 4, data + 4, 4);
		return;
	}
	if (len > 4 || off >= VP_COMMON_LEN)
		return;
	for (uint32_t i = 0; i < len; i++)
		v |= (uint32_t)data[i] << (8 * i);
	/* Writing 0 to status resets; that waits for the I/O thread. */
	if (off == CC_STATUS && v == 0) {
		vp_reset(vp);
		return;
	}
	pthread_mutex_lock(&vp->lock);
	write_field(vp, off, v);
	raise = vp->raise_config;
	kick = vp->kick_all;
	vp->raise_config = vp->kick_all = false;
	pthread_mutex_unlock(&vp->lock);
	/* Interrupts and kicks go out without the lock held. */
	if (raise)
		vp_interrupt(vp, vp->msix_config, VP_ISR_CONFIG);
	for (unsigned int q = 0; kick && q < vp->vdev.ops->nr_queues; q++)
		vp_kick(vp, q);
}
