// SPDX-License-Identifier: MIT
/*
 * Benchmark of the virtio-net data path on the host, without a guest:
 * virtqueues in guest RAM, the driver simulated here (buffers posted, the
 * used ring consumed after each batch), the device side the VMM's code
 * (net_rx_put; virtq_pop, net_tx_check, writev, virtq_push). Baselines in
 * the same run: plain memcpy of the same bytes into the same buffers,
 * plain writev of the same iovecs to the same sink (/dev/null; as root
 * also a tap, up in a private network namespace, whose kernel drops the
 * frames as not for this host). Reports Mpps, GB/s, the ratio and the
 * VMM's cost per packet (vmm path minus baseline); asserts nothing.
 *
 * Usage: bench_net [SECONDS_PER_RUN]   (default 0.4; median of 5 runs)
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "virtio/net.h"
#include "virtio/virtqueue.h"
#include "vmm/le.h"
#include "vmm/vm.h"

#define QSIZE 256
#define RXQ 0x100000ULL /* descriptors, avail +4 KiB, used +8 KiB */
#define TXQ 0x110000ULL
#define TXHDR 0x120000ULL /* QSIZE / 2 transmit headers, 16 bytes each */
#define RXBUF 0x200000ULL /* QSIZE receive buffers of BUFSZ */
#define TXBUF 0x400000ULL /* QSIZE / 2 transmit frames of 2 KiB */
#define BUFSZ 4096
#define RUNS 5
#define ETH_FRAME 1514
#define GSO_FRAME 65226

struct bench {
	struct virtq q;
	uint8_t *avail, *used;
	uint16_t avail_idx, used_seen;
	uint64_t used_bytes; /* what the driver reads from the used ring */
	unsigned int batch; /* frames per batch */
	size_t len; /* frame bytes, header not included */
	uint8_t *frame; /* receive: 12-byte header, then the frame */
	int fd; /* transmit sink */
	struct iovec txiov[QSIZE / 2][2];
};

static struct iovec scratch[NET_MAX_IOV];

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static void ring_init(struct bench *b, struct vm *vm, uint64_t gpa)
{
	b->q = (struct virtq){ .vm = vm,
			       .size = QSIZE,
			       .desc_gpa = gpa,
			       .avail_gpa = gpa + 0x1000,
			       .used_gpa = gpa + 0x2000 };
	b->avail = vm_gpa_to_hva(vm, gpa + 0x1000, 0x1000);
	b->used = vm_gpa_to_hva(vm, gpa + 0x2000, 0x1000);
}

/* Driver: descriptor @i of the table at @d. */
static void desc(uint8_t *d, unsigned int i, uint64_t gpa, uint32_t len,
		 uint16_t flags)
{
	put_le64(d + 16 * i, gpa);
	put_le32(d + 16 * i + 8, len);
	put_le16(d + 16 * i + 12, flags);
	put_le16(d + 16 * i + 14, (uint16_t)(i + 1));
}

/* Driver: make chain @head available (published by recycle()). */
static void post(struct bench *b, uint16_t head)
{
	put_le16(b->avail + 4 + 2 * (b->avail_idx++ % QSIZE), head);
}

/* Driver: take back every used chain, read its length, post it again. */
static void recycle(struct bench *b)
{
	uint16_t idx =
		__atomic_load_n((uint16_t *)(b->used + 2), __ATOMIC_ACQUIRE);

	while (b->used_seen != idx) {
		uint8_t *e = b->used + 4 + 8 * (b->used_seen++ % QSIZE);

		b->used_bytes += get_le32(e + 4);
		post(b, (uint16_t)get_le32(e));
	}
	__atomic_store_n((uint16_t *)(b->avail + 2), b->avail_idx,
			 __ATOMIC_RELEASE);
}

/* Device: one batch of frames into the receive queue, as net_rx() does. */
static long rx_vmm(struct bench *b)
{
	struct iovec src = { b->frame + VNET_HDR_LEN, b->len };

	for (unsigned int i = 0; i < b->batch; i++)
		if (net_rx_put(&b->q, true, b->frame, &src, 1, b->len,
			       scratch) < 1)
			return -1;
	virtq_should_notify(&b->q);
	recycle(b);
	return b->batch;
}

/* Baseline: memcpy the same bytes into the same buffers. */
static long rx_copy(struct bench *b)
{
	uint8_t *dst = vm_gpa_to_hva(b->q.vm, RXBUF, QSIZE * BUFSZ);
	size_t total = VNET_HDR_LEN + b->len;

	for (unsigned int i = 0; i < b->batch; i++) {
		for (size_t off = 0; off < total; off += BUFSZ, dst += BUFSZ)
			memcpy(dst, b->frame + off,
			       total - off < BUFSZ ? total - off : BUFSZ);
	}
	return b->batch;
}

/* Device: pop every posted chain, check, writev, push, as net_tx() does. */
static long tx_vmm(struct bench *b)
{
	struct virtq_elem e;
	long n = 0;
	int r;

	while ((r = virtq_pop(&b->q, &e, scratch, NET_MAX_IOV)) > 0) {
		if (net_tx_check(&e, 1ULL << VIRTIO_NET_F_CSUM) ||
		    writev(b->fd, e.iov, (int)e.out_num) != (ssize_t)e.out_len)
			return -1;
		virtq_push(&b->q, e.head, 0);
		n++;
	}
	virtq_should_notify(&b->q);
	recycle(b);
	return r < 0 ? -1 : n;
}

/* Baseline: writev the same iovecs to the same sink. */
static long tx_raw(struct bench *b)
{
	for (unsigned int i = 0; i < QSIZE / 2; i++)
		if (writev(b->fd, b->txiov[i], 2) !=
		    (ssize_t)(VNET_HDR_LEN + b->len))
			return -1;
	return QSIZE / 2;
}

/* Packets per second of @fn over @secs; 0 if it failed. */
static double run(long (*fn)(struct bench *), struct bench *b, double secs)
{
	double t0 = now(), t;
	long pkts = 0, n;

	do {
		n = fn(b);
		if (n < 0) {
			perror("bench_net: batch failed");
			return 0;
		}
		pkts += n;
		t = now();
	} while (t - t0 < secs);
	return pkts / (t - t0);
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Median of RUNS alternating runs of the vmm path and its baseline. */
static void report(const char *what, struct bench *b, double secs,
		   long (*vmm)(struct bench *), long (*base)(struct bench *))
{
	double v[RUNS], r[RUNS], gb = (VNET_HDR_LEN + b->len) / 1e9;

	for (int i = 0; i < RUNS; i++) {
		v[i] = run(vmm, b, secs);
		r[i] = run(base, b, secs);
	}
	qsort(v, RUNS, sizeof(*v), cmp);
	qsort(r, RUNS, sizeof(*r), cmp);
	printf("%-24s %7.3f Mpps %6.2f GB/s  baseline %7.3f Mpps %6.2f GB/s  ratio %.2f  %+7.1f ns/pkt\n",
	       what, v[RUNS / 2] / 1e6, v[RUNS / 2] * gb, r[RUNS / 2] / 1e6,
	       r[RUNS / 2] * gb, v[RUNS / 2] / r[RUNS / 2],
	       1e9 / v[RUNS / 2] - 1e9 / r[RUNS / 2]);
}

/* A tap up in a network namespace of our own; -1 if not root or no tun. */
static int tap_sink(void)
{
	struct ifreq ifr = { .ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR };
	int hdr = VNET_HDR_LEN, fd, s;

	if (geteuid() || unshare(CLONE_NEWNET))
		return -1;
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	snprintf(ifr.ifr_name, IFNAMSIZ, "vmmbench0");
	/* A down tap fails writes with EIO: bring it up. */
	if (fd < 0 || s < 0 || ioctl(fd, TUNSETIFF, &ifr) ||
	    ioctl(fd, TUNSETVNETHDRSZ, &hdr) || ioctl(s, SIOCGIFFLAGS, &ifr) ||
	    (ifr.ifr_flags |= IFF_UP, ioctl(s, SIOCSIFFLAGS, &ifr))) {
		close(fd);
		fd = -1;
	}
	close(s);
	return fd;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? strtod(argv[1], NULL) : 0.4;
	static struct bench rx, tx;
	uint8_t *frame = calloc(1, VNET_HDR_LEN + GSO_FRAME), *d;
	int tap = tap_sink();
	struct vm vm;

	if (!frame || vm_init(&vm, 64 << 20))
		return 1;
	ring_init(&rx, &vm, RXQ);
	ring_init(&tx, &vm, TXQ);
	d = vm_gpa_to_hva(&vm, RXQ, 16 * QSIZE);
	for (unsigned int i = 0; i < QSIZE; i++) {
		desc(d, i, RXBUF + (uint64_t)i * BUFSZ, BUFSZ,
		     VIRTQ_DESC_F_WRITE);
		post(&rx, (uint16_t)i);
	}
	/* Transmit chains: header, then an Ethernet frame to another host. */
	d = vm_gpa_to_hva(&vm, TXQ, 16 * QSIZE);
	for (unsigned int i = 0; i < QSIZE / 2; i++) {
		uint8_t *f = vm_gpa_to_hva(&vm, TXBUF + i * 2048ULL, 2048);

		memcpy(f, "\x02\0\0\0\0\x01\x52\x54\0\0\0\x02\x08\0", 14);
		desc(d, 2 * i, TXHDR + 16 * i, VNET_HDR_LEN, VIRTQ_DESC_F_NEXT);
		desc(d, 2 * i + 1, TXBUF + i * 2048ULL, ETH_FRAME, 0);
		tx.txiov[i][0] =
			(struct iovec){ vm_gpa_to_hva(&vm, TXHDR + 16 * i, 16),
					VNET_HDR_LEN };
		tx.txiov[i][1] = (struct iovec){ f, ETH_FRAME };
		post(&tx, (uint16_t)(2 * i));
	}
	recycle(&rx);
	recycle(&tx);
	tx.len = ETH_FRAME;
	if (virtq_start(&rx.q) || virtq_start(&tx.q))
		return 1;
	printf("virtio-net data path vs plain memcpy/writev, median of %d runs of %.2g s\n",
	       RUNS, secs);
	rx.frame = frame;
	for (int gso = 0; gso < 2; gso++) {
		rx.len = gso ? GSO_FRAME : ETH_FRAME;
		rx.batch =
			QSIZE / ((VNET_HDR_LEN + rx.len + BUFSZ - 1) / BUFSZ);
		frame[0] = gso ? VNET_HDR_F_NEEDS_CSUM : 0;
		frame[1] = gso ? VNET_HDR_GSO_TCPV4 : 0;
		report(gso ? "RX 65226 B GSO (16 buf)" : "RX 1514 B (1 buffer)",
		       &rx, secs, rx_vmm, rx_copy);
	}
	tx.fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	report("TX 1514 B -> /dev/null", &tx, secs, tx_vmm, tx_raw);
	close(tx.fd);
	tx.fd = tap;
	if (tap >= 0)
		report("TX 1514 B -> tap (up)", &tx, secs, tx_vmm, tx_raw);
	else
		printf("TX to a tap: skipped (needs root and /dev/net/tun)\n");
	vm_destroy(&vm);
	return 0;
}
