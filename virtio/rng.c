// SPDX-License-Identifier: MIT
/* virtio-rng: fills the driver's buffers from getrandom(). */
#include "virtio/rng.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/random.h>

#include "virtio/pci.h"
#include "virtio/virtio.h"
#include "vmm/log.h"

#define QUEUE_SIZE 64
#define MAX_IOV 64
#define MAX_CHUNK (64 * 1024) /* per chain: a guest asks again for more */

struct rng {
	struct virtio_pci *vp;
	uint64_t bytes;
};

/* Fill @iov with random bytes, at most MAX_CHUNK; bytes written. */
static uint32_t fill_random(const struct iovec *iov, unsigned int n)
{
	uint32_t done = 0;

	for (unsigned int i = 0; i < n && done < MAX_CHUNK; i++) {
		size_t want = iov[i].iov_len;

		if (want > MAX_CHUNK - done)
			want = MAX_CHUNK - done;
		/* Up to 256 bytes never short-read; loop for the rest. */
		for (size_t off = 0; off < want;) {
			ssize_t r = getrandom((char *)iov[i].iov_base + off,
					      want - off, 0);

			if (r <= 0)
				return done + (uint32_t)off;
			off += (size_t)r;
		}
		done += (uint32_t)want;
	}
	return done;
}

int rng_serve(struct virtq *vq, uint64_t *bytes)
{
	struct iovec iov[MAX_IOV];
	struct virtq_elem e;
	int r, served = 0;

	while ((r = virtq_pop(vq, &e, iov, MAX_IOV)) > 0) {
		uint32_t len = fill_random(iov + e.out_num, e.in_num);

		*bytes += len;
		virtq_push(vq, e.head, len);
		served++;
	}
	return r < 0 ? -EIO : served;
}

static void rng_queue_notify(struct virtio_dev *vdev, unsigned int q)
{
	struct rng *rg = vdev->priv;

	do {
		if (rng_serve(&vdev->vq[q], &rg->bytes) < 0) {
			virtio_needs_reset(vdev, "broken virtqueue");
			return;
		}
		virtio_queue_done(vdev, q);
	} while (virtq_set_notify(&vdev->vq[q], true));
}

static const struct virtio_dev_ops virtio_rng_ops = {
	.name = "virtio-rng",
	.device_id = 4,
	.pci_class = 0x00ff00, /* unclassified */
	.nr_queues = 1,
	.queue_size = QUEUE_SIZE,
	.config_size = 0,
	.queue_notify = rng_queue_notify,
};

int rng_create(struct vm *vm, struct pci_bus *bus, struct rng **out)
{
	struct rng *rg = calloc(1, sizeof(*rg));
	int ret;

	if (!rg)
		return -ENOMEM;
	ret = virtio_pci_create(vm, bus, &virtio_rng_ops, rg, 0, &rg->vp);
	if (ret) {
		free(rg);
		return ret;
	}
	*out = rg;
	return 0;
}

void rng_destroy(struct rng *rg, uint64_t *bytes)
{
	if (!rg)
		return;
	virtio_pci_destroy(rg->vp);
	if (bytes)
		*bytes = rg->bytes;
	free(rg);
}
