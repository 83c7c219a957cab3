/* SPDX-License-Identifier: MIT */
/*
 * virtio-net (virtio 1.x, 5.1) over a network backend (net/backend.h):
 * one receive and one transmit queue, both served on the transport's I/O
 * thread together with the backend's fds, so no packet work runs on a
 * vCPU thread. Bad transmit chains and receive buffers too small for a
 * frame drop that frame and are counted; the device keeps running.
 */
#ifndef VIRTIO_NET_H
#define VIRTIO_NET_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "net/backend.h"
#include "virtio/virtio.h"

struct vm;
struct pci_bus;
struct net;

/* Feature bits (5.1.3). */
#define VIRTIO_NET_F_CSUM 0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_MTU 3
#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_GUEST_TSO4 7
#define VIRTIO_NET_F_GUEST_TSO6 8
#define VIRTIO_NET_F_GUEST_ECN 9
#define VIRTIO_NET_F_HOST_TSO4 11
#define VIRTIO_NET_F_HOST_TSO6 12
#define VIRTIO_NET_F_HOST_ECN 13
#define VIRTIO_NET_F_MRG_RXBUF 15
#define VIRTIO_NET_F_STATUS 16

#define NET_RXQ 0
#define NET_TXQ 1
#define NET_MTU 1500
#define NET_MAX_IOV 256 /* one chain; longer ones break the queue */

/* Counters, written by the I/O thread only; read after it stopped. */
struct net_stats {
	uint64_t rx_packets, rx_bytes, rx_dropped, rx_largest;
	uint64_t tx_packets, tx_bytes, tx_dropped, tx_largest;
};

/*
 * Open the backend of @spec and plug virtio-net device number @index
 * (for the default MAC) into @bus. 0/-errno, logged.
 */
int net_create(struct vm *vm, struct pci_bus *bus, const struct net_spec *spec,
	       unsigned int index, struct net **out);
/*
 * Stop and free the device and its backend (after the vCPUs stopped);
 * its final counters go to @final unless NULL.
 */
void net_destroy(struct net *n, struct net_stats *final);

/*
 * Put one received frame into receive queue @vq: the 12-byte header @hdr
 * (num_buffers is filled in here) then @len bytes of @src. With @mrg it
 * may span several chains (VIRTIO_NET_F_MRG_RXBUF), else one chain must
 * hold it. @scratch holds NET_MAX_IOV iovecs. Returns the number of
 * chains pushed (the caller signals the driver), -ENOBUFS when too few
 * buffers are available now (none consumed: try again when the driver
 * adds some), -EMSGSIZE when the driver's buffers can never hold it (the
 * frame is to be dropped, none consumed) or -EIO (queue broken).
 */
int net_rx_put(struct virtq *vq, bool mrg, const uint8_t hdr[VNET_HDR_LEN],
	       const struct iovec *src, unsigned int nsrc, size_t len,
	       struct iovec *scratch);

/*
 * Check one transmit chain's header against the @features the driver
 * negotiated: 0 if the frame may go out, -EINVAL if it is to be dropped
 * (shorter than the header, writable parts, or offloads never agreed).
 */
int net_tx_check(const struct virtq_elem *e, uint64_t features);

#endif
