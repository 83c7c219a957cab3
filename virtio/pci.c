// SPDX-License-Identifier: MIT
/*
 * virtio-pci transport: the PCI function, its BAR, interrupts, reset and
 * the per-device I/O thread. The common configuration registers are in
 * pci_common.c.
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "virtio/pci_internal.h"
#include "vmm/le.h"
#include "vmm/log.h"
#include "vmm/pollset.h"
#include "vmm/vm.h"

/* Vendor capability types (virtio 1.x 4.1.4). */
#define CAP_COMMON 1
#define CAP_NOTIFY 2
#define CAP_ISR 3
#define CAP_DEVICE 4
#define PCI_CAP_VENDOR 0x09
#define PCI_REVISION_MODERN 1

void vp_kick(struct virtio_pci *vp, unsigned int q)
{
	uint64_t one = 1;

	if (q < vp->vdev.ops->nr_queues &&
	    write(vp->kick_fd[q], &one, sizeof(one)) < 0)
		log_debug("%s: kick: %s", vp->vdev.ops->name, strerror(errno));
}

void vp_interrupt(struct virtio_pci *vp, uint16_t vec, uint8_t isr_bit)
{
	if (pci_msix_enabled(&vp->pci)) {
		pci_dev_notify(&vp->pci, vec);
		return;
	}
	pthread_mutex_lock(&vp->lock);
	vp->isr |= isr_bit;
	pthread_mutex_unlock(&vp->lock);
	pci_intx_set(&vp->pci, true);
}

static void vp_signal_queue(struct virtio_dev *vdev, unsigned int q)
{
	struct virtio_pci *vp = vdev->transport;
	uint16_t vec;

	pthread_mutex_lock(&vp->lock);
	vec = vp->q[q].msix;
	pthread_mutex_unlock(&vp->lock);
	vp_interrupt(vp, vec, VP_ISR_QUEUE);
}

void virtio_queue_done(struct virtio_dev *vdev, unsigned int q)
{
	if (virtq_should_notify(&vdev->vq[q]))
		vdev->signal_queue(vdev, q);
}

bool virtio_queue_live(const struct virtio_dev *vdev, unsigned int q)
{
	return (vdev->status & VIRTIO_STATUS_DRIVER_OK) &&
	       !(vdev->status & VIRTIO_STATUS_NEEDS_RESET) &&
	       q < vdev->ops->nr_queues && vdev->vq[q].ready;
}

void virtio_queue_kick(struct virtio_dev *vdev, unsigned int q)
{
	vp_kick(vdev->transport, q);
}

void virtio_needs_reset(struct virtio_dev *vdev, const char *why)
{
	struct virtio_pci *vp = vdev->transport;
	bool first;

	pthread_mutex_lock(&vp->lock);
	first = !vp->warned;
	vp->warned = true;
	vdev->status |= VIRTIO_STATUS_NEEDS_RESET;
	pthread_mutex_unlock(&vp->lock);
	if (first)
		log_err("%s: %s; the device needs a reset by its driver",
			vdev->ops->name, why);
	vp_interrupt(vp, vp->msix_config, VP_ISR_CONFIG);
}

/* Back to the state after creation; the I/O thread is held off. */
void vp_reset(struct virtio_pci *vp)
{
	struct virtio_dev *vdev = &vp->vdev;

	pthread_mutex_lock(&vp->io_lock);
	pthread_mutex_lock(&vp->lock);
	if (vdev->ops->reset)
		vdev->ops->reset(vdev);
	for (unsigned int i = 0; i < vdev->ops->nr_queues; i++) {
		virtq_reset(&vdev->vq[i]);
		vp->q[i] =
			(struct vp_queue_regs){ .size = vdev->ops->queue_size,
						.msix = VIRTIO_NO_VECTOR };
	}
	vdev->features = 0;
	vdev->status = 0;
	vp->dfselect = vp->gfselect = 0;
	vp->queue_sel = 0;
	vp->msix_config = VIRTIO_NO_VECTOR;
	vp->isr = 0;
	vp->config_gen++;
	vp->warned = false;
	pthread_mutex_unlock(&vp->lock);
	pthread_mutex_unlock(&vp->io_lock);
	pci_intx_set(&vp->pci, false);
}

/* Reading the ISR returns and clears it, and lowers INTx. */
static uint8_t vp_isr_read(struct virtio_pci *vp)
{
	uint8_t v;

	pthread_mutex_lock(&vp->lock);
	v = vp->isr;
	vp->isr = 0;
	pthread_mutex_unlock(&vp->lock);
	pci_intx_set(&vp->pci, false);
	return v;
}

static void vp_device_access(struct virtio_pci *vp, uint32_t off, uint8_t *data,
			     uint32_t len, bool write)
{
	const struct virtio_dev_ops *ops = vp->vdev.ops;

	if (off > ops->config_size || len > ops->config_size - off) {
		if (!write)
			memset(data, 0, len);
		return;
	}
	if (write && ops->config_write)
		ops->config_write(&vp->vdev, off, data, len);
	else if (!write)
		ops->config_read(&vp->vdev, off, data, len);
}

static void vp_bar_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	struct virtio_pci *vp = opaque;

	memset(data, 0, len);
	if (off < VP_COMMON_OFF + VP_COMMON_LEN)
		vp_common_read(vp, (uint32_t)off, data, len);
	else if (off == VP_ISR_OFF)
		data[0] = vp_isr_read(vp);
	else if (off >= VP_DEVICE_OFF && off < VP_DEVICE_OFF + VP_DEVICE_MAX)
		vp_device_access(vp, (uint32_t)(off - VP_DEVICE_OFF), data, len,
				 false);
}

static void vp_bar_write(void *opaque, uint64_t off, const uint8_t *data,
			 uint32_t len)
{
	struct virtio_pci *vp = opaque;

	if (off < VP_COMMON_OFF + VP_COMMON_LEN)
		vp_common_write(vp, (uint32_t)off, data, len);
	else if (off >= VP_DEVICE_OFF && off < VP_DEVICE_OFF + VP_DEVICE_MAX)
		vp_device_access(vp, (uint32_t)(off - VP_DEVICE_OFF),
				 (uint8_t *)data, len, true);
	else if (off >= VP_NOTIFY_OFF && off < VP_MSIX_TABLE)
		/* Without ioeventfd the notify lands here: same eventfd. */
		vp_kick(vp,
			(unsigned int)((off - VP_NOTIFY_OFF) / VP_NOTIFY_MULT));
}

static const struct bus_ops vp_bar_ops = { vp_bar_read, vp_bar_write };

/* Let KVM signal the queue eventfds itself for notifies at @base. */
static void vp_ioeventfds(struct virtio_pci *vp, uint64_t base, bool enabled)
{
	unsigned int nq = vp->vdev.ops->nr_queues;

	for (unsigned int q = 0; vp->ioeventfd_base && q < nq; q++)
		vm_ioeventfd(vp->vdev.vm,
			     vp->ioeventfd_base + VP_NOTIFY_OFF +
				     q * VP_NOTIFY_MULT,
			     2, vp->kick_fd[q], false);
	vp->ioeventfd_base = 0;
	if (!enabled)
		return;
	for (unsigned int q = 0; q < nq; q++) {
		int ret = vm_ioeventfd(
			vp->vdev.vm, base + VP_NOTIFY_OFF + q * VP_NOTIFY_MULT,
			2, vp->kick_fd[q], true);

		if (ret) {
			/* The MMIO handler still kicks: slower, same result. */
			log_debug("%s: no ioeventfd (%s); notifies exit",
				  vp->vdev.ops->name, strerror(-ret));
			vp_ioeventfds(vp, 0, false);
			return;
		}
		vp->ioeventfd_base = base;
	}
}

static void vp_bar_update(struct pci_dev *dev, unsigned int bar, uint64_t addr,
			  bool enabled)
{
	if (bar == VP_BAR)
		vp_ioeventfds(dev->opaque, addr, enabled);
}

static const struct pci_dev_ops vp_pci_ops = { .bar_update = vp_bar_update };

static int vp_add_cap(struct virtio_pci *vp, uint8_t type, uint32_t off,
		      uint32_t len)
{
	uint8_t cap[20] = { PCI_CAP_VENDOR, 0, 16, type, VP_BAR };
	size_t size = 16;

	put_le32(cap + 8, off);
	put_le32(cap + 12, len);
	if (type == CAP_NOTIFY) {
		cap[2] = 20;
		put_le32(cap + 16, VP_NOTIFY_MULT);
		size = 20;
	}
	return pci_dev_add_cap(&vp->pci, cap, size) < 0 ? -ENOSPC : 0;
}

static int vp_init_pci(struct virtio_pci *vp)
{
	const struct virtio_dev_ops *ops = vp->vdev.ops;
	struct pci_dev *d = &vp->pci;
	int ret = pci_dev_init(d, ops->name, VIRTIO_PCI_VENDOR,
			       VIRTIO_PCI_DEVICE_BASE + ops->device_id,
			       ops->pci_class, VIRTIO_PCI_VENDOR,
			       ops->device_id, PCI_REVISION_MODERN);

	d->ops = &vp_pci_ops;
	d->opaque = vp;
	if (!ret)
		ret = pci_dev_set_bar(d, VP_BAR, VP_BAR_SIZE, PCI_BAR_MEM64,
				      &vp_bar_ops, vp);
	if (!ret)
		ret = vp_add_cap(vp, CAP_COMMON, VP_COMMON_OFF, VP_COMMON_LEN);
	if (!ret)
		ret = vp_add_cap(vp, CAP_ISR, VP_ISR_OFF, VP_ISR_LEN);
	/* Linux refuses a zero-length device capability: leave it out. */
	if (!ret && ops->config_size)
		ret = vp_add_cap(vp, CAP_DEVICE, VP_DEVICE_OFF,
				 ops->config_size);
	if (!ret)
		ret = vp_add_cap(vp, CAP_NOTIFY, VP_NOTIFY_OFF,
				 ops->nr_queues * VP_NOTIFY_MULT);
	if (!ret)
		ret = pci_dev_init_msix(d, ops->nr_queues + 1, VP_BAR,
					VP_MSIX_TABLE, VP_MSIX_PBA);
	return ret;
}

/* Run the device for queue @q if the driver has it live. */
static void vp_service(struct virtio_pci *vp, unsigned int q)
{
	struct virtio_dev *vdev = &vp->vdev;

	pthread_mutex_lock(&vp->io_lock);
	if (virtio_queue_live(vdev, q))
		vdev->ops->queue_notify(vdev, q);
	pthread_mutex_unlock(&vp->io_lock);
}

/* The fds of one round: kicks, stop, then whatever the device adds. */
static int vp_fill(struct virtio_pci *vp, struct pollset *ps)
{
	unsigned int nq = vp->vdev.ops->nr_queues;

	pollset_reset(ps);
	for (unsigned int q = 0; q < nq; q++)
		if (pollset_add(ps, vp->kick_fd[q], POLLIN) < 0)
			return -ENOMEM;
	if (pollset_add(ps, vp->stop_fd, POLLIN) < 0)
		return -ENOMEM;
	if (vp->vdev.ops->poll_fill)
		return vp->vdev.ops->poll_fill(&vp->vdev, ps);
	return 0;
}

static void *vp_thread(void *arg)
{
	struct virtio_pci *vp = arg;
	const struct virtio_dev_ops *ops = vp->vdev.ops;
	unsigned int nq = ops->nr_queues;
	struct pollset ps = { 0 };

	for (;;) {
		if (vp_fill(vp, &ps) < 0) {
			log_err("%s: I/O thread out of memory", ops->name);
			break;
		}
		if (poll(ps.fds, ps.n, ps.timeout_ms) < 0 && errno != EINTR)
			break;
		if (pollset_revents(&ps, nq))
			break;
		for (unsigned int q = 0; q < nq; q++) {
			uint64_t n;

			if (!(ps.fds[q].revents & POLLIN) ||
			    read(vp->kick_fd[q], &n, sizeof(n)) != sizeof(n))
				continue;
			vp_service(vp, q);
		}
		if (ops->poll_done) {
			pthread_mutex_lock(&vp->io_lock);
			ops->poll_done(&vp->vdev, &ps);
			pthread_mutex_unlock(&vp->io_lock);
		}
	}
	pollset_free(&ps);
	return NULL;
}

static int vp_open_fds(struct virtio_pci *vp)
{
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++)
		vp->kick_fd[q] = -1;
	vp->stop_fd = eventfd(0, EFD_CLOEXEC);
	if (vp->stop_fd < 0)
		return -errno;
	for (unsigned int q = 0; q < vp->vdev.ops->nr_queues; q++) {
		vp->kick_fd[q] = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (vp->kick_fd[q] < 0)
			return -errno;
	}
	return 0;
}

static struct virtio_pci *vp_alloc(struct vm *vm,
				   const struct virtio_dev_ops *ops, void *priv,
				   uint64_t features)
{
	struct virtio_pci *vp = calloc(1, sizeof(*vp));

	if (!vp)
		return NULL;
	vp->vdev = (struct virtio_dev){
		.ops = ops,
		.priv = priv,
		.vm = vm,
		.host_features = features | (1ULL << VIRTIO_F_VERSION_1) |
				 (1ULL << VIRTIO_F_INDIRECT_DESC) |
				 (1ULL << VIRTIO_F_EVENT_IDX),
		.signal_queue = vp_signal_queue,
		.transport = vp,
	};
	for (unsigned int i = 0; i < VIRTIO_MAX_QUEUES; i++) {
		vp->vdev.vq[i].vm = vm;
		vp->q[i] = (struct vp_queue_regs){ .size = ops->queue_size,
						   .msix = VIRTIO_NO_VECTOR };
	}
	vp->msix_config = VIRTIO_NO_VECTOR;
	pthread_mutex_init(&vp->lock, NULL);
	pthread_mutex_init(&vp->io_lock, NULL);
	return vp;
}

int virtio_pci_create(struct vm *vm, struct pci_bus *bus,
		      const struct virtio_dev_ops *ops, void *priv,
		      uint64_t features, struct virtio_pci **out)
{
	struct virtio_pci *vp;
	int ret;

	if (ops->nr_queues == 0 || ops->nr_queues > VIRTIO_MAX_QUEUES ||
	    ops->config_size > VP_DEVICE_MAX)
		return -EINVAL;
	vp = vp_alloc(vm, ops, priv, features);
	if (!vp)
		return -ENOMEM;
	ret = vp_open_fds(vp);
	if (!ret)
		ret = vp_init_pci(vp);
	if (!ret) {
		ret = -pthread_create(&vp->thread, NULL, vp_thread, vp);
		vp->thread_started = !ret;
	}
	/* Last, as nothing takes a device off the bus again. */
	if (!ret)
		ret = pci_bus_add(bus, &vp->pci);
	if (!ret)
		vp_ioeventfds(vp, vp->pci.bar[VP_BAR].addr, true);
	if (ret) {
		log_err("%s: cannot create the device: %s", ops->name,
			strerror(-ret));
		virtio_pci_destroy(vp);
		return ret;
	}
	*out = vp;
	return 0;
}

void virtio_pci_destroy(struct virtio_pci *vp)
{
	uint64_t one = 1;

	if (!vp)
		return;
	if (vp->thread_started) {
		if (write(vp->stop_fd, &one, sizeof(one)) < 0)
			log_debug("stop: %s", strerror(errno));
		pthread_join(vp->thread, NULL);
	}
	vp_ioeventfds(vp, 0, false);
	for (unsigned int q = 0; q < VIRTIO_MAX_QUEUES; q++)
		if (vp->kick_fd[q] >= 0)
			close(vp->kick_fd[q]);
	if (vp->stop_fd >= 0)
		close(vp->stop_fd);
	pci_dev_destroy(&vp->pci);
	pthread_mutex_destroy(&vp->lock);
	pthread_mutex_destroy(&vp->io_lock);
	free(vp);
}
