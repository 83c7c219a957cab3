// SPDX-License-Identifier: MIT
/*
 * virtio-net, the device: config space, features matched to what the
 * backend can take, the transmit queue, and the glue that lets the
 * backend's fds share the transport's I/O thread. Receive filling is in
 * net_rx.c.
 */
#include "virtio/net.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "virtio/pci.h"
#include "vmm/le.h"
#include "vmm/log.h"

#define QUEUE_SIZE 256
#define TX_BUDGET 256 /* chains per turn, so RX and timers get theirs */
#define S_LINK_UP 1

/* Config layout (5.1.4): mac, status, max_virtqueue_pairs, mtu. */
#define CFG_MAC 0
#define CFG_STATUS 6
#define CFG_MAX_PAIRS 8
#define CFG_MTU 10
#define CFG_SIZE 12

struct net {
	struct virtio_dev *vdev; /* set by each entry from the transport */
	struct virtio_pci *vp;
	struct net_backend *be;
	uint8_t config[CFG_SIZE];
	bool offload_set; /* features passed to the backend since reset */
	bool rx_ready; /* what poll_fill told the backend this round */
	bool rx_blocked; /* a frame found too few buffers ... */
	uint16_t rx_blocked_at; /* ... when avail->idx was this */
	bool rx_pushed; /* chains pushed this round: signal once */
	struct net_stats st;
	/* Apart: a backend may deliver a frame while we transmit (slirp). */
	struct iovec tx_iov[NET_MAX_IOV], rx_iov[NET_MAX_IOV];
};

static uint64_t iov_len(const struct iovec *iov, unsigned int n)
{
	uint64_t l = 0;

	for (unsigned int i = 0; i < n; i++)
		l += iov[i].iov_len;
	return l;
}

/* @iov without its first @skip bytes, into @out (at most @max). */
static unsigned int iov_skip(const struct iovec *iov, unsigned int n,
			     size_t skip, struct iovec *out, unsigned int max)
{
	unsigned int k = 0;

	for (unsigned int i = 0; i < n && k < max; i++) {
		if (skip >= iov[i].iov_len) {
			skip -= iov[i].iov_len;
			continue;
		}
		out[k++] = (struct iovec){ (uint8_t *)iov[i].iov_base + skip,
					   iov[i].iov_len - skip };
		skip = 0;
	}
	return k;
}

/* The backend hands over one frame (see net_backend.rx). */
static int net_rx(void *opaque, const struct iovec *iov, unsigned int n)
{
	static const uint8_t zero_hdr[VNET_HDR_LEN];
	struct net *nd = opaque;
	struct virtio_dev *vdev = nd->vdev;
	struct iovec payload[8];
	const uint8_t *hdr = zero_hdr;
	unsigned int np = n;
	size_t len;
	int r;

	/* The backend drops it or holds it, and counts a drop. */
	if (!virtio_queue_live(vdev, NET_RXQ))
		return -ENOBUFS;
	if (nd->be->vnet_hdr) {
		/* The tap puts the header in one piece at the front. */
		if (!n || iov[0].iov_len < VNET_HDR_LEN) {
			nd->st.rx_dropped++;
			return 0;
		}
		hdr = iov[0].iov_base;
		np = iov_skip(iov, n, VNET_HDR_LEN, payload, 8);
		iov = payload;
	}
	len = iov_len(iov, np);
	r = net_rx_put(&vdev->vq[NET_RXQ],
		       virtio_has(vdev, VIRTIO_NET_F_MRG_RXBUF), hdr, iov, np,
		       len, nd->rx_iov);
	if (r == -ENOBUFS) {
		nd->rx_blocked = true;
		nd->rx_blocked_at = virtq_avail_idx(&vdev->vq[NET_RXQ]);
		return -ENOBUFS;
	}
	if (r == -EIO) {
		virtio_needs_reset(vdev, "broken receive virtqueue");
	} else if (r < 0) {
		nd->st.rx_dropped++;
	} else {
		nd->st.rx_packets++;
		nd->st.rx_bytes += len;
		/* Above the MTU only with offloads (GSO frames). */
		if (len > nd->st.rx_largest)
			nd->st.rx_largest = len;
		nd->rx_pushed = true;
	}
	return 0;
}

/* Send one chain; false if the queue broke. */
static void net_tx_one(struct net *nd, const struct virtq_elem *e)
{
	struct iovec frame[NET_MAX_IOV];
	const struct iovec *iov = e->iov;
	unsigned int n = e->out_num;

	if (net_tx_check(e, nd->vdev->features)) {
		nd->st.tx_dropped++;
		return;
	}
	if (!nd->be->vnet_hdr) {
		n = iov_skip(e->iov, e->out_num, VNET_HDR_LEN, frame,
			     NET_MAX_IOV);
		iov = frame;
	}
	if (nd->be->ops->send(nd->be, iov, n)) {
		nd->st.tx_dropped++;
		return;
	}
	nd->st.tx_packets++;
	nd->st.tx_bytes += e->out_len - VNET_HDR_LEN;
	if (e->out_len - VNET_HDR_LEN > nd->st.tx_largest)
		nd->st.tx_largest = e->out_len - VNET_HDR_LEN;
}

/* Interrupt the driver once for what arrived since the last time. */
static void net_rx_done(struct net *nd)
{
	if (nd->rx_pushed) {
		nd->rx_pushed = false;
		virtio_queue_done(nd->vdev, NET_RXQ);
	}
}

static void net_tx(struct net *nd)
{
	struct virtio_dev *vdev = nd->vdev;
	struct virtq *vq = &vdev->vq[NET_TXQ];
	struct virtq_elem e;
	int r, budget = TX_BUDGET;

	do {
		while (budget > 0 &&
		       (r = virtq_pop(vq, &e, nd->tx_iov, NET_MAX_IOV)) > 0) {
			net_tx_one(nd, &e);
			virtq_push(vq, e.head, 0);
			budget--;
		}
		if (budget > 0 && r < 0) {
			virtio_needs_reset(vdev, "broken transmit virtqueue");
			return;
		}
		virtio_queue_done(vdev, NET_TXQ);
		/* A flood yields to the poll loop and comes back. */
		if (budget == 0) {
			virtq_set_notify(vq, false);
			virtio_queue_kick(vdev, NET_TXQ);
			return;
		}
	} while (virtq_set_notify(vq, true));
}

static void net_queue_notify(struct virtio_dev *vdev, unsigned int q)
{
	struct net *nd = vdev->priv;

	nd->vdev = vdev;
	/* RX: the driver added buffers; poll_fill looks at them. */
	if (q == NET_TXQ)
		net_tx(nd);
	/* Replies a backend made while we sent (slirp's ARP, DHCP). */
	net_rx_done(nd);
}

/* False while a frame waits for buffers the driver has not added yet. */
static bool net_rx_unblocked(struct net *nd, struct virtq *vq)
{
	if (nd->rx_blocked && virtq_avail_idx(vq) != nd->rx_blocked_at)
		nd->rx_blocked = false;
	return !nd->rx_blocked;
}

/* May the backend hand us frames this round? */
static bool net_rx_ready(struct net *nd)
{
	struct virtq *vq = &nd->vdev->vq[NET_RXQ];

	if (!virtio_queue_live(nd->vdev, NET_RXQ))
		return false;
	if (net_rx_unblocked(nd, vq) && virtq_has_avail(vq)) {
		virtq_set_notify(vq, false);
		return true;
	}
	/*
	 * Out of buffers: ask for a kick when the driver adds some, then
	 * look again, for buffers it added meanwhile.
	 */
	return virtq_set_notify(vq, true) && net_rx_unblocked(nd, vq);
}

static int net_poll_fill(struct virtio_dev *vdev, struct pollset *ps)
{
	struct net *nd = vdev->priv;

	/* The transport's thread may run before virtio_pci_create returns. */
	nd->vdev = vdev;
	nd->rx_ready = net_rx_ready(nd);
	return nd->be->ops->poll_fill(nd->be, ps, nd->rx_ready);
}

static void net_poll_done(struct virtio_dev *vdev, struct pollset *ps)
{
	struct net *nd = vdev->priv;

	nd->vdev = vdev;
	if (!nd->offload_set && (vdev->status & VIRTIO_STATUS_DRIVER_OK)) {
		nd->offload_set = true;
		if (nd->be->ops->set_offload)
			nd->be->ops->set_offload(nd->be, vdev->features);
	}
	nd->be->ops->poll_done(nd->be, ps, nd->rx_ready);
	net_rx_done(nd);
}

static void net_reset(struct virtio_dev *vdev)
{
	struct net *nd = vdev->priv;

	nd->offload_set = false;
	nd->rx_blocked = false;
	if (nd->be->ops->set_offload)
		nd->be->ops->set_offload(nd->be, 0);
}

static void net_config_read(struct virtio_dev *vdev, uint32_t off,
			    uint8_t *data, uint32_t len)
{
	struct net *nd = vdev->priv;

	memcpy(data, nd->config + off, len);
}

const struct virtio_dev_ops virtio_net_ops = {
	.name = "virtio-net",
	.device_id = 1,
	.pci_class = 0x020000, /* network, ethernet */
	.nr_queues = 2,
	.queue_size = QUEUE_SIZE,
	.config_size = CFG_SIZE,
	.config_read = net_config_read,
	.queue_notify = net_queue_notify,
	.reset = net_reset,
	.poll_fill = net_poll_fill,
	.poll_done = net_poll_done,
};

static int net_open_backend(const struct net_spec *spec,
			    struct net_backend **be)
{
	switch (spec->kind) {
	case NET_TAP:
		return net_tap_open(spec, be);
	case NET_USER:
		return net_user_open(spec, be);
	default:
		return -EINVAL;
	}
}

int net_create(struct vm *vm, struct pci_bus *bus, const struct net_spec *spec,
	       unsigned int index, struct net **out)
{
	struct net *nd = calloc(1, sizeof(*nd));
	uint64_t features =
		(1ULL << VIRTIO_NET_F_MAC) | (1ULL << VIRTIO_NET_F_STATUS) |
		(1ULL << VIRTIO_NET_F_MTU) | (1ULL << VIRTIO_NET_F_MRG_RXBUF);
	int ret;

	if (!nd)
		return -ENOMEM;
	ret = net_open_backend(spec, &nd->be);
	if (ret) {
		free(nd);
		return ret;
	}
	nd->be->rx = net_rx;
	nd->be->rx_opaque = nd;
	net_default_mac(spec, index, nd->config + CFG_MAC);
	put_le16(nd->config + CFG_STATUS, S_LINK_UP);
	put_le16(nd->config + CFG_MAX_PAIRS, 1);
	put_le16(nd->config + CFG_MTU, NET_MTU);
	ret = virtio_pci_create(vm, bus, &virtio_net_ops, nd,
				features | nd->be->features, &nd->vp);
	if (ret) {
		nd->be->ops->destroy(nd->be);
		free(nd);
		return ret;
	}
	*out = nd;
	return 0;
}

void net_destroy(struct net *nd, struct net_stats *final)
{
	if (!nd)
		return;
	virtio_pci_destroy(nd->vp);
	if (final) {
		*final = nd->st;
		final->rx_dropped += nd->be->rx_dropped;
	}
	nd->be->ops->destroy(nd->be);
	free(nd);
}
