// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: virtio-net's data path against a hostile driver, and
 * the --net parser. The input is an 8-byte header, then a string for
 * net_parse(), then the bytes copied into guest RAM at RING_BASE: one
 * descriptor table shared by both queues, the receive avail ring at
 * RX_AVAIL, the transmit avail ring at TX_AVAIL, then whatever the
 * descriptors point to (seed_net.py shows the layout).
 *
 * Header: [0] log2 receive queue size, [1] flags (F_*), [2..3] frame
 * length (LE), [4] transmit features (T_*), [5] log2 transmit queue
 * size, [6..7] length of the net_parse() strings (LE), one per line.
 *
 * Frames go into the receive queue until it is out of buffers, full or
 * broken; every transmit chain is checked like virtio-net does. Results
 * must keep their promises (nothing consumed on -ENOBUFS/-EMSGSIZE, used
 * lengths adding up to the frame), else we trap.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "net/backend.h"
#include "virtio/net.h"
#include "virtio/virtqueue.h"
#include "vmm/le.h"
#include "vmm/log.h"
#include "vmm/vm.h"

#define RAM_SIZE (16 << 20) /* the smallest VM vm_init() allows */
#define RING_BASE 0x1000 /* input bytes copied there ... */
#define RING_AREA 0x10000 /* ... at most this many */
#define RX_AVAIL (RING_BASE + 0x1000) /* desc table before: 256 * 16 */
#define TX_AVAIL (RING_BASE + 0x1400)
#define RX_USED 0x20000 /* device-written only: not from the input */
#define TX_USED 0x21000
#define HDR_LEN 8
#define MAX_PARSE 4096 /* longer than net_parse()'s buffer */
#define MAX_FRAMES 64

#define F_MRG 1
#define F_EVENT_IDX 2
#define F_INDIRECT 4
#define F_NOTIFY_OFF 8 /* notifications off while filling, as net.c does */
#define F_SPLIT_SRC 16 /* the frame in several source iovecs */

#define T_CSUM 1
#define T_TSO4 2
#define T_TSO6 4
#define T_ECN 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vm vm;
static uint8_t frame[NET_MAX_FRAME];
static struct iovec scratch[NET_MAX_IOV];

static uint16_t qsize(uint8_t b)
{
	return (uint16_t)(1u << (b % 9));
}

/* used->idx as the driver sees it. */
static uint16_t used_idx(const struct virtq *q)
{
	return get_le16(vm.ram + q->used_gpa + 2);
}

/* Sum of the used lengths of entries [from, to). */
static uint64_t used_sum(const struct virtq *q, uint16_t from, uint16_t to)
{
	uint64_t sum = 0;

	for (uint16_t i = from; i != to; i++)
		sum += get_le32(vm.ram + q->used_gpa + 4 +
				8 * (size_t)(i & (q->size - 1)) + 4);
	return sum;
}

static void rx_run(struct virtq *q, uint8_t flags, size_t len)
{
	static const uint8_t hdr[VNET_HDR_LEN] = { 1, 0, 0, 0, 0,    0,
						   0, 0, 0, 0, 0xff, 0xff };
	bool mrg = flags & F_MRG;
	struct iovec src[4];
	unsigned int nsrc = 1;

	src[0] = (struct iovec){ frame, len };
	if (flags & F_SPLIT_SRC) {
		src[0].iov_len = len / 3;
		src[1] = (struct iovec){ frame + len / 3, 0 };
		src[2] = (struct iovec){ frame + len / 3, len / 3 };
		src[3] = (struct iovec){ frame + 2 * (len / 3),
					 len - 2 * (len / 3) };
		nsrc = 4;
	}
	if (flags & F_NOTIFY_OFF)
		virtq_set_notify(q, false);
	for (int n = 0; n < MAX_FRAMES; n++) {
		uint16_t last = q->last_avail, used = q->used_idx;
		int r = net_rx_put(q, mrg, hdr, src, nsrc, len, scratch);

		if (r == -EIO) {
			if (!q->broken)
				__builtin_trap();
			break;
		}
		if (r == -ENOBUFS || r == -EMSGSIZE) {
			/*
			 * Nothing consumed, nothing pushed. (used->idx in
			 * guest RAM is not looked at: the frame may have been
			 * copied over it by a buffer placed on the used ring.)
			 */
			if (q->last_avail != last || q->used_idx != used)
				__builtin_trap();
			break;
		}
		if (r <= 0 || r > (mrg ? 256 : 1) ||
		    (uint16_t)(q->used_idx - used) != r ||
		    (uint16_t)(q->last_avail - last) != r ||
		    used_idx(q) != q->used_idx)
			__builtin_trap();
		/* The used lengths add up to header and frame, exactly. */
		if (used_sum(q, used, q->used_idx) != VNET_HDR_LEN + len)
			__builtin_trap();
		virtq_should_notify(q);
	}
	/* What net.c does when blocked: ask for a kick, look again. */
	virtq_set_notify(q, true);
	virtq_avail_idx(q);
	virtq_has_avail(q);
}

static void tx_run(struct virtq *q, uint8_t tf)
{
	uint64_t features = 0;
	struct virtq_elem e;
	unsigned int n = 0;

	if (tf & T_CSUM)
		features |= 1ULL << VIRTIO_NET_F_CSUM;
	if (tf & T_TSO4)
		features |= 1ULL << VIRTIO_NET_F_HOST_TSO4;
	if (tf & T_TSO6)
		features |= 1ULL << VIRTIO_NET_F_HOST_TSO6;
	if (tf & T_ECN)
		features |= 1ULL << VIRTIO_NET_F_HOST_ECN;
	while (virtq_pop(q, &e, scratch, NET_MAX_IOV) > 0) {
		int r = net_tx_check(&e, features);

		if (r != 0 && r != -EINVAL)
			__builtin_trap();
		if (!r && (e.in_num || e.out_len < VNET_HDR_LEN + 14 ||
			   e.out_len > VNET_HDR_LEN + NET_MAX_FRAME))
			__builtin_trap();
		virtq_push(q, e.head, 0);
		if (++n > q->size)
			__builtin_trap();
	}
	virtq_should_notify(q);
	virtq_set_notify(q, true);
}

/* The parser must answer 0 with a sane spec, or -EINVAL with a reason. */
static void parse_one(const char *arg, unsigned int index)
{
	struct net_spec spec;
	uint8_t mac[6];
	char err[128] = "";
	int r = net_parse(arg, &spec, err, sizeof(err));

	if (r == -EINVAL) {
		if (!err[0])
			__builtin_trap();
		return;
	}
	if (r != 0 || spec.kind > NET_USER ||
	    spec.nr_hostfwd > NET_MAX_HOSTFWD ||
	    memchr(spec.ifname, 0, sizeof(spec.ifname)) == NULL ||
	    (spec.kind != NET_TAP && spec.ifname[0]) ||
	    (spec.kind != NET_USER && spec.nr_hostfwd) ||
	    (spec.mac_set && (spec.mac[0] & 1)))
		__builtin_trap();
	for (unsigned int i = 0; i < spec.nr_hostfwd; i++)
		if (!spec.hostfwd[i].host_port || !spec.hostfwd[i].guest_port)
			__builtin_trap();
	net_default_mac(&spec, index, mac);
	if (mac[0] & 1 ||
	    (!spec.mac_set && (mac[0] != 0x52 || mac[1] != 0x54 || mac[2])))
		__builtin_trap();
}

/* @n bytes of input: one --net value per line (the seed has several). */
static void parse_run(const uint8_t *s, size_t n)
{
	char *arg = malloc(n + 1), *line, *save = NULL;
	unsigned int index = 0;

	if (!arg)
		return;
	memcpy(arg, s, n);
	arg[n] = '\0';
	/* The whole string too: a line may be empty, or n is 0. */
	if (!memchr(arg, '\n', n))
		parse_one(arg, 0);
	else
		for (line = strtok_r(arg, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save))
			parse_one(line, index++);
	free(arg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct virtq rx = { .vm = &vm }, tx = { .vm = &vm };
	const uint8_t *h = data;
	size_t plen, body;

	if (!ready) {
		log_set_level(LOG_OFF);
		if (vm_init(&vm, RAM_SIZE))
			return 0;
		for (size_t i = 0; i < sizeof(frame); i++)
			frame[i] = (uint8_t)(i ^ (i >> 8));
		ready = true;
	}
	if (size < HDR_LEN)
		return 0;
	plen = get_le16(h + 6) % (MAX_PARSE + 1);
	if (plen > size - HDR_LEN)
		plen = size - HDR_LEN;
	parse_run(h + HDR_LEN, plen);

	body = size - HDR_LEN - plen;
	if (body > RING_AREA)
		body = RING_AREA;
	memset(vm.ram + RING_BASE, 0, RING_AREA);
	memcpy(vm.ram + RING_BASE, h + HDR_LEN + plen, body);
	memset(vm.ram + RX_USED, 0, 0x2000);

	rx.size = qsize(h[0]);
	rx.event_idx = h[1] & F_EVENT_IDX;
	rx.indirect = h[1] & F_INDIRECT;
	rx.desc_gpa = RING_BASE;
	rx.avail_gpa = RX_AVAIL;
	rx.used_gpa = RX_USED;
	if (virtq_start(&rx) == 0)
		rx_run(&rx, h[1], get_le16(h + 2));

	tx.size = qsize(h[5]);
	tx.event_idx = rx.event_idx;
	tx.indirect = rx.indirect;
	tx.desc_gpa = RING_BASE;
	tx.avail_gpa = TX_AVAIL;
	tx.used_gpa = TX_USED;
	if (virtq_start(&tx) == 0)
		tx_run(&tx, h[4]);
	return 0;
}
