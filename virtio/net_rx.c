// SPDX-License-Identifier: MIT
/*
 * virtio-net's data path without threads or backends, so unit tests and
 * fuzzers can drive it: receive frames spread over the driver's buffers
 * (one chain, or several with mergeable buffers) and transmit headers
 * checked against the negotiated features.
 */
#include <errno.h>
#include <string.h>

#include "virtio/net.h"
#include "vmm/le.h"

#define NUM_BUFFERS_OFF 10 /* in struct virtio_net_hdr */
#define MAX_CHAINS 256 /* per frame; more is a driver that posts crumbs */

/* The bytes a frame becomes in the guest: header, then the payload. */
struct rx_stream {
	const uint8_t *hdr;
	const struct iovec *src;
	unsigned int nsrc;
	size_t total;
};

/* Copy @n bytes of @st from offset @pos to @dst. */
static void stream_read(const struct rx_stream *st, size_t pos, uint8_t *dst,
			size_t n)
{
	size_t base = VNET_HDR_LEN;

	while (n && pos < VNET_HDR_LEN) {
		*dst++ = st->hdr[pos++];
		n--;
	}
	for (unsigned int i = 0; n && i < st->nsrc; i++) {
		size_t l = st->src[i].iov_len;

		if (pos < base + l) {
			size_t off = pos - base, c = l - off < n ? l - off : n;

			memcpy(dst, (const uint8_t *)st->src[i].iov_base + off,
			       c);
			dst += c;
			pos += c;
			n -= c;
		}
		base += l;
	}
}

/* Fill one chain's writable iovecs from @pos on; bytes written. */
static size_t fill_chain(const struct rx_stream *st, size_t pos,
			 const struct iovec *w, unsigned int nw)
{
	size_t done = 0;

	for (unsigned int i = 0; i < nw && pos + done < st->total; i++) {
		size_t c = st->total - pos - done;

		if (c > w[i].iov_len)
			c = w[i].iov_len;
		stream_read(st, pos + done, w[i].iov_base, c);
		done += c;
	}
	return done;
}

int net_rx_put(struct virtq *vq, bool mrg, const uint8_t hdr[VNET_HDR_LEN],
	       const struct iovec *src, unsigned int nsrc, size_t len,
	       struct iovec *scratch)
{
	uint8_t h[VNET_HDR_LEN];
	struct rx_stream st = { h, src, nsrc, VNET_HDR_LEN + len };
	uint16_t heads[MAX_CHAINS];
	uint32_t lens[MAX_CHAINS];
	unsigned int chains = 0, max = mrg ? MAX_CHAINS : 1;
	uint8_t *num_buffers = NULL;
	size_t done = 0;

	memcpy(h, hdr, VNET_HDR_LEN);
	put_le16(h + NUM_BUFFERS_OFF, 1);
	while (done < st.total) {
		struct virtq_elem e;
		struct iovec *w;
		int r;

		if (chains == max) {
			virtq_unpop(vq, (uint16_t)chains);
			return -EMSGSIZE;
		}
		r = virtq_pop(vq, &e, scratch, NET_MAX_IOV);
		if (r < 0)
			return -EIO;
		if (r == 0) {
			virtq_unpop(vq, (uint16_t)chains);
			/* A full ring: the driver cannot add any more. */
			return chains == vq->size ? -EMSGSIZE : -ENOBUFS;
		}
		w = scratch + e.out_num;
		/* num_buffers is patched in later: it must be in one place. */
		if (mrg && chains == 0 &&
		    (!e.in_num || w[0].iov_len < VNET_HDR_LEN)) {
			virtq_unpop(vq, 1);
			return -EMSGSIZE;
		}
		if (mrg && chains == 0)
			num_buffers =
				(uint8_t *)w[0].iov_base + NUM_BUFFERS_OFF;
		heads[chains] = e.head;
		lens[chains] = (uint32_t)fill_chain(&st, done, w, e.in_num);
		done += lens[chains++];
	}
	if (mrg)
		put_le16(num_buffers, (uint16_t)chains);
	for (unsigned int i = 0; i < chains; i++)
		virtq_push(vq, heads[i], lens[i]);
	return (int)chains;
}

/* The first @n bytes of a chain's readable part, wherever they lie. */
static void chain_head(const struct virtq_elem *e, uint8_t *out, size_t n)
{
	for (unsigned int i = 0; n && i < e->out_num; i++) {
		size_t c = e->iov[i].iov_len < n ? e->iov[i].iov_len : n;

		memcpy(out, e->iov[i].iov_base, c);
		out += c;
		n -= c;
	}
}

int net_tx_check(const struct virtq_elem *e, uint64_t features)
{
	uint8_t h[VNET_HDR_LEN];
	uint8_t gso, ecn;

	if (e->in_num || e->out_len < VNET_HDR_LEN + 14 ||
	    e->out_len > VNET_HDR_LEN + NET_MAX_FRAME)
		return -EINVAL;
	chain_head(e, h, sizeof(h));
	if ((h[0] & VNET_HDR_F_NEEDS_CSUM) &&
	    !(features & (1ULL << VIRTIO_NET_F_CSUM)))
		return -EINVAL;
	gso = h[1] & ~VNET_HDR_GSO_ECN;
	ecn = h[1] & VNET_HDR_GSO_ECN;
	if (gso == VNET_HDR_GSO_NONE)
		return ecn ? -EINVAL : 0;
	if (ecn && !(features & (1ULL << VIRTIO_NET_F_HOST_ECN)))
		return -EINVAL;
	if (gso == VNET_HDR_GSO_TCPV4)
		return features & (1ULL << VIRTIO_NET_F_HOST_TSO4) ? 0 :
								     -EINVAL;
	if (gso == VNET_HDR_GSO_TCPV6)
		return features & (1ULL << VIRTIO_NET_F_HOST_TSO6) ? 0 :
								     -EINVAL;
	return -EINVAL;
}
