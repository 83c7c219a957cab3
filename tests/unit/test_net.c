// SPDX-License-Identifier: MIT
/*
 * virtio-net without threads or backends: receive frames put into rings
 * built by hand in real guest RAM (one chain, mergeable buffers, every
 * way to fail), transmit headers checked against the negotiated
 * features, and the --net parser with the default MAC.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/backend.h"
#include "tests/unit/fake_capture.h"
#include "tests/unit/fake_ring.h"
#include "virtio/net.h"
#include "virtio/virtqueue.h"
#include "vmm/le.h"
#include "vmm/vm.h"

#define RAM_SIZE (16ULL << 20)

/* Guest-physical layout of the test rings and buffers. */
#define DESC 0x10000ULL
#define AVAIL 0x11000ULL
#define USED 0x12000ULL
#define BUF 0x100000ULL
#define BUF_STEP 0x1000ULL /* buffer i of a test lives at BUF + i * STEP */

#define W VIRTQ_DESC_F_WRITE
#define N VIRTQ_DESC_F_NEXT

struct fx {
	struct vm vm;
	struct virtq q;
	struct iovec scratch[NET_MAX_IOV];
	uint8_t hdr[VNET_HDR_LEN];
	uint8_t frame[8192];
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f || vm_init(&f->vm, RAM_SIZE)) {
		free(f);
		return -1;
	}
	f->q.vm = &f->vm;
	f->q.desc_gpa = DESC;
	f->q.avail_gpa = AVAIL;
	f->q.used_gpa = USED;
	/* A header with every field set, num_buffers to be overwritten. */
	for (unsigned int i = 0; i < VNET_HDR_LEN; i++)
		f->hdr[i] = (uint8_t)(0xa0 + i);
	for (size_t i = 0; i < sizeof(f->frame); i++)
		f->frame[i] = (uint8_t)(i * 7 + i / 251);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	vm_destroy(&f->vm);
	free(f);
	return 0;
}

/* Descriptor @i is a single writable buffer of @len at BUF + i * STEP. */
static void post_buf(struct fx *f, unsigned int i, uint32_t len)
{
	ring_desc(&f->vm, DESC, i, BUF + i * BUF_STEP, len, W, 0);
	ring_avail_add(&f->q, (uint16_t)i);
}

/* A fresh, started queue over zeroed rings and buffers. */
static void fresh(struct fx *f, uint16_t size, bool event_idx)
{
	virtq_reset(&f->q);
	memset(ring_mem(&f->vm, DESC), 0, 0x3000);
	memset(ring_mem(&f->vm, BUF), 0xee, 64 * BUF_STEP);
	f->q.size = size;
	f->q.indirect = false;
	f->q.event_idx = event_idx;
	assert_int_equal(virtq_start(&f->q), 0);
}

static uint16_t used_idx(struct fx *f)
{
	return get_le16(ring_mem(&f->vm, USED + 2));
}

/* Put frame[0 .. len) as one source iovec. */
static int put(struct fx *f, bool mrg, size_t len)
{
	struct iovec src = { f->frame, len };

	return net_rx_put(&f->q, mrg, f->hdr, &src, 1, len, f->scratch);
}

/* What the guest must see: our header with @nbuf, then the frame. */
static void expect_stream(struct fx *f, uint16_t nbuf, uint8_t *out, size_t len)
{
	memcpy(out, f->hdr, VNET_HDR_LEN);
	put_le16(out + 10, nbuf);
	memcpy(out + VNET_HDR_LEN, f->frame, len);
}

/* Nothing popped, nothing pushed. */
static void assert_untouched(struct fx *f)
{
	assert_int_equal(f->q.last_avail, 0);
	assert_int_equal(f->q.used_idx, 0);
	assert_int_equal(used_idx(f), 0);
	assert_false(f->q.broken);
}

/* One chain of two descriptors, the header split across them. */
static void test_rx_one_chain(void **state)
{
	struct fx *f = *state;
	uint8_t want[VNET_HDR_LEN + 100];

	fresh(f, 8, false);
	ring_desc(&f->vm, DESC, 3, BUF, 8, W | N, 5);
	ring_desc(&f->vm, DESC, 5, BUF + BUF_STEP, 200, W, 0);
	ring_avail_add(&f->q, 3);
	assert_int_equal(put(f, false, 100), 1);
	expect_stream(f, 1, want, 100);
	assert_memory_equal(ring_mem(&f->vm, BUF), want, 8);
	assert_memory_equal(ring_mem(&f->vm, BUF + BUF_STEP), want + 8,
			    sizeof(want) - 8);
	/* Not a byte past the frame. */
	assert_int_equal(*ring_mem(&f->vm, BUF + 8), 0xee);
	assert_int_equal(*ring_mem(&f->vm, BUF + BUF_STEP + sizeof(want) - 8),
			 0xee);
	assert_int_equal(used_idx(f), 1);
	assert_int_equal(ring_used_id(&f->q, 0), 3);
	assert_int_equal(ring_used_len(&f->q, 0), VNET_HDR_LEN + 100);
	assert_int_equal(f->q.last_avail, 1);
	/* The caller's header is left alone. */
	assert_int_equal(f->hdr[10], 0xaa);
}

/* A frame filling the chain exactly fits; one byte more never will. */
static void test_rx_chain_too_small(void **state)
{
	struct fx *f = *state;
	uint8_t want[VNET_HDR_LEN + 30];

	fresh(f, 8, false);
	ring_desc(&f->vm, DESC, 0, BUF, 20, W | N, 1);
	ring_desc(&f->vm, DESC, 1, BUF + BUF_STEP, 30, W, 0);
	ring_avail_add(&f->q, 0);
	assert_int_equal(put(f, false, 39), -EMSGSIZE);
	assert_untouched(f);
	assert_true(virtq_has_avail(&f->q));
	/* The same chain takes the next, smaller frame. */
	assert_int_equal(put(f, false, 38), 1);
	assert_int_equal(used_idx(f), 1);
	assert_int_equal(ring_used_id(&f->q, 0), 0);
	assert_int_equal(ring_used_len(&f->q, 0), 50);
	expect_stream(f, 1, want, 30);
	assert_memory_equal(ring_mem(&f->vm, BUF), want, 20);
	assert_memory_equal(ring_mem(&f->vm, BUF + BUF_STEP), want + 20, 22);
}

/* Without mergeable buffers a second chain is never used. */
static void test_rx_no_merge_one_chain_only(void **state)
{
	struct fx *f = *state;

	fresh(f, 8, false);
	post_buf(f, 0, 1000);
	post_buf(f, 1, 1000);
	assert_int_equal(put(f, false, 1500), -EMSGSIZE);
	assert_untouched(f);
}

static void test_rx_mergeable(void **state)
{
	struct fx *f = *state;
	static uint8_t want[VNET_HDR_LEN + 4000], got[sizeof(want)];

	fresh(f, 8, false);
	for (unsigned int i = 0; i < 4; i++)
		post_buf(f, i, 1500);
	assert_int_equal(put(f, true, 4000), 3);
	assert_int_equal(used_idx(f), 3);
	assert_int_equal(ring_used_id(&f->q, 0), 0);
	assert_int_equal(ring_used_id(&f->q, 1), 1);
	assert_int_equal(ring_used_id(&f->q, 2), 2);
	assert_int_equal(ring_used_len(&f->q, 0), 1500);
	assert_int_equal(ring_used_len(&f->q, 1), 1500);
	assert_int_equal(ring_used_len(&f->q, 2), 1012);
	assert_int_equal(get_le16(ring_mem(&f->vm, BUF + 10)), 3);
	expect_stream(f, 3, want, 4000);
	for (unsigned int i = 0; i < 3; i++)
		memcpy(got + 1500 * i, ring_mem(&f->vm, BUF + i * BUF_STEP),
		       ring_used_len(&f->q, i));
	assert_memory_equal(got, want, sizeof(want));
	assert_int_equal(*ring_mem(&f->vm, BUF + 2 * BUF_STEP + 1012), 0xee);
	/* The fourth buffer is still the driver's. */
	assert_int_equal(f->q.last_avail, 3);
	assert_true(virtq_has_avail(&f->q));
	assert_int_equal(*ring_mem(&f->vm, BUF + 3 * BUF_STEP), 0xee);
}

/* A small frame with mergeable buffers: one chain, num_buffers 1. */
static void test_rx_mergeable_single(void **state)
{
	struct fx *f = *state;
	uint8_t want[VNET_HDR_LEN + 64];

	fresh(f, 8, false);
	post_buf(f, 0, 1500);
	post_buf(f, 1, 1500);
	assert_int_equal(put(f, true, 64), 1);
	expect_stream(f, 1, want, 64);
	assert_memory_equal(ring_mem(&f->vm, BUF), want, sizeof(want));
	assert_int_equal(ring_used_len(&f->q, 0), sizeof(want));
	assert_int_equal(f->q.last_avail, 1);
}

static void test_rx_mergeable_nobufs(void **state)
{
	struct fx *f = *state;

	fresh(f, 8, false);
	post_buf(f, 0, 1500);
	post_buf(f, 1, 1500);
	assert_int_equal(put(f, true, 4000), -ENOBUFS);
	assert_untouched(f);
	assert_int_equal(virtq_avail_idx(&f->q), 2);
	/* Still nothing to take, still nothing consumed. */
	assert_int_equal(put(f, true, 4000), -ENOBUFS);
	assert_untouched(f);
	/* The driver adds one: the same frame now goes in. */
	post_buf(f, 2, 1500);
	assert_int_equal(put(f, true, 4000), 3);
	assert_int_equal(used_idx(f), 3);
	assert_int_equal(ring_used_len(&f->q, 2), 1012);
	assert_int_equal(get_le16(ring_mem(&f->vm, BUF + 10)), 3);
	assert_int_equal(f->q.last_avail, 3);
}

/*
 * Every slot of the ring is posted and the frame still does not fit: the
 * driver cannot add another buffer until we use one, so waiting for more
 * (-ENOBUFS) would stall receive for good.
 */
static void test_rx_mergeable_ring_full(void **state)
{
	struct fx *f = *state;

	fresh(f, 4, false);
	for (unsigned int i = 0; i < 4; i++)
		post_buf(f, i, 100);
	assert_int_equal(put(f, true, 1000), -EMSGSIZE);
	assert_untouched(f);
	/* A frame that fits still does. */
	assert_int_equal(put(f, true, 300), 4);
	assert_int_equal(ring_used_len(&f->q, 3), 12);
}

/* num_buffers must lie in the first buffer, whole. */
static void test_rx_mergeable_first_too_small(void **state)
{
	struct fx *f = *state;

	fresh(f, 8, false);
	ring_desc(&f->vm, DESC, 0, BUF, 11, W | N, 1);
	ring_desc(&f->vm, DESC, 1, BUF + BUF_STEP, 1500, W, 0);
	ring_avail_add(&f->q, 0);
	post_buf(f, 2, 1500);
	assert_int_equal(put(f, true, 100), -EMSGSIZE);
	assert_untouched(f);
	assert_int_equal(*ring_mem(&f->vm, BUF), 0xee);
	/* A chain with no writable part at all is as bad. */
	fresh(f, 8, false);
	ring_desc(&f->vm, DESC, 0, BUF, 100, 0, 0);
	ring_avail_add(&f->q, 0);
	assert_int_equal(put(f, true, 10), -EMSGSIZE);
	assert_untouched(f);
}

static void test_rx_broken_chain(void **state)
{
	struct fx *f = *state;

	fresh(f, 8, false);
	ring_desc(&f->vm, DESC, 0, BUF, 4, W | N, 1);
	ring_desc(&f->vm, DESC, 1, BUF + BUF_STEP, 4, W | N, 0);
	ring_avail_add(&f->q, 0);
	capture_start();
	assert_int_equal(put(f, false, 100), -EIO);
	assert_logged("descriptor loop");
	assert_true(f->q.broken);
	assert_int_equal(used_idx(f), 0);
	/* Broken stays broken, with mergeable buffers too. */
	assert_int_equal(put(f, true, 10), -EIO);
}

/* A loop in a later chain of a mergeable frame. */
static void test_rx_mergeable_broken_later(void **state)
{
	struct fx *f = *state;

	fresh(f, 8, false);
	post_buf(f, 0, 1500);
	ring_desc(&f->vm, DESC, 1, BUF + BUF_STEP, 4, W | N, 1);
	ring_avail_add(&f->q, 1);
	capture_start();
	assert_int_equal(put(f, true, 4000), -EIO);
	assert_logged("descriptor loop");
	assert_true(f->q.broken);
	assert_int_equal(used_idx(f), 0);
}

/* Source pieces and guest buffers that never line up. */
static void test_rx_src_pieces(void **state)
{
	struct fx *f = *state;
	struct iovec src[4] = {
		{ f->frame + 1000, 5 },
		{ f->frame + 2000, 0 },
		{ f->frame + 3000, 40 },
		{ f->frame + 4000, 11 },
	};
	uint8_t want[VNET_HDR_LEN + 56], got[sizeof(want)];

	memcpy(want, f->hdr, VNET_HDR_LEN);
	memcpy(want + 12, f->frame + 1000, 5);
	memcpy(want + 17, f->frame + 3000, 40);
	memcpy(want + 57, f->frame + 4000, 11);

	/* One chain of three descriptors. */
	fresh(f, 8, false);
	ring_desc(&f->vm, DESC, 0, BUF, 7, W | N, 1);
	ring_desc(&f->vm, DESC, 1, BUF + BUF_STEP, 13, W | N, 2);
	ring_desc(&f->vm, DESC, 2, BUF + 2 * BUF_STEP, 100, W, 0);
	ring_avail_add(&f->q, 0);
	assert_int_equal(
		net_rx_put(&f->q, false, f->hdr, src, 4, 56, f->scratch), 1);
	assert_int_equal(ring_used_len(&f->q, 0), sizeof(want));
	put_le16(want + 10, 1);
	memcpy(got, ring_mem(&f->vm, BUF), 7);
	memcpy(got + 7, ring_mem(&f->vm, BUF + BUF_STEP), 13);
	memcpy(got + 20, ring_mem(&f->vm, BUF + 2 * BUF_STEP),
	       sizeof(want) - 20);
	assert_memory_equal(got, want, sizeof(want));

	/* Mergeable, over chains of 17, 33 and plenty. */
	fresh(f, 8, false);
	post_buf(f, 0, 17);
	post_buf(f, 1, 33);
	post_buf(f, 2, 1000);
	assert_int_equal(
		net_rx_put(&f->q, true, f->hdr, src, 4, 56, f->scratch), 3);
	assert_int_equal(ring_used_len(&f->q, 0), 17);
	assert_int_equal(ring_used_len(&f->q, 1), 33);
	assert_int_equal(ring_used_len(&f->q, 2), sizeof(want) - 50);
	put_le16(want + 10, 3);
	memcpy(got, ring_mem(&f->vm, BUF), 17);
	memcpy(got + 17, ring_mem(&f->vm, BUF + BUF_STEP), 33);
	memcpy(got + 50, ring_mem(&f->vm, BUF + 2 * BUF_STEP),
	       sizeof(want) - 50);
	assert_memory_equal(got, want, sizeof(want));
}

/*
 * No writable part at all, in a chain as long as the scratch array: the
 * frame never fits, and nothing past the chain's iovecs is looked at
 * (scratch on the heap, exactly NET_MAX_IOV long, so ASan would see it).
 */
static void test_rx_readable_only_chain(void **state)
{
	struct fx *f = *state;
	struct iovec *scratch = calloc(NET_MAX_IOV, sizeof(*scratch));
	struct iovec src = { f->frame, 10 };

	assert_non_null(scratch);
	fresh(f, 256, false);
	for (unsigned int i = 0; i < 256; i++)
		ring_desc(&f->vm, DESC, i, BUF + i, 1, i < 255 ? N : 0,
			  (uint16_t)(i + 1));
	ring_avail_add(&f->q, 0);
	for (int mrg = 0; mrg < 2; mrg++) {
		assert_int_equal(net_rx_put(&f->q, mrg, f->hdr, &src, 1, 10,
					    scratch),
				 -EMSGSIZE);
		assert_untouched(f);
	}
	free(scratch);
}

/* A readable descriptor in front of the writable ones is skipped. */
static void test_rx_readable_prefix(void **state)
{
	struct fx *f = *state;
	uint8_t want[VNET_HDR_LEN + 20];

	fresh(f, 8, false);
	ring_desc(&f->vm, DESC, 0, BUF, 64, N, 1);
	ring_desc(&f->vm, DESC, 1, BUF + BUF_STEP, 64, W, 0);
	ring_avail_add(&f->q, 0);
	assert_int_equal(put(f, true, 20), 1);
	expect_stream(f, 1, want, 20);
	assert_memory_equal(ring_mem(&f->vm, BUF + BUF_STEP), want,
			    sizeof(want));
	assert_int_equal(*ring_mem(&f->vm, BUF), 0xee);
	assert_int_equal(ring_used_len(&f->q, 0), sizeof(want));
}

/* Linux's vring_need_event(): does the driver kick going old -> new? */
static bool driver_kicks(uint16_t event, uint16_t new_idx, uint16_t old_idx)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_idx);
}

/*
 * EVENT_IDX: after -ENOBUFS the device asks for a kick; the driver adding
 * one buffer must then kick (avail_event not left behind the chains we
 * gave back), and the device sees it.
 */
static void test_rx_event_idx_after_nobufs(void **state)
{
	struct fx *f = *state;
	uint16_t blocked_at, avail_event;

	fresh(f, 8, true);
	post_buf(f, 0, 1500);
	post_buf(f, 1, 1500);
	/* What virtio-net does: notifications off while it has buffers. */
	assert_true(virtq_set_notify(&f->q, false));
	assert_int_equal(put(f, true, 4000), -ENOBUFS);
	assert_untouched(f);
	blocked_at = virtq_avail_idx(&f->q);
	assert_int_equal(blocked_at, 2);
	/* Buffers are there but too few: has_avail alone cannot tell. */
	assert_true(virtq_set_notify(&f->q, true));
	assert_int_equal(virtq_avail_idx(&f->q), blocked_at);
	/* The driver adds a buffer: it must see it has to kick. */
	avail_event = get_le16(ring_mem(&f->vm, USED + 4 + 8 * 8));
	post_buf(f, 2, 1500);
	assert_true(driver_kicks(avail_event, 3, 2));
	assert_true(virtq_has_avail(&f->q));
	assert_int_not_equal(virtq_avail_idx(&f->q), blocked_at);
	assert_int_equal(put(f, true, 4000), 3);
	assert_false(virtq_has_avail(&f->q));
}

/* A queue not started takes nothing. */
static void test_rx_not_started(void **state)
{
	struct fx *f = *state;

	fresh(f, 8, false);
	post_buf(f, 0, 1500);
	virtq_reset(&f->q);
	assert_int_equal(put(f, true, 10), -ENOBUFS);
	assert_int_equal(put(f, false, 10), -ENOBUFS);
}

/* ---- net_tx_check ---- */

#define F(bit) (1ULL << (bit))

struct tx {
	uint8_t hdr[VNET_HDR_LEN];
	uint8_t data[2048];
	struct iovec iov[4];
	struct virtq_elem e;
};

/* One readable header iovec then @len data bytes, a plain frame. */
static struct virtq_elem *tx_elem(struct tx *t, uint8_t flags, uint8_t gso,
				  size_t len)
{
	memset(t->hdr, 0, sizeof(t->hdr));
	t->hdr[0] = flags;
	t->hdr[1] = gso;
	t->iov[0] = (struct iovec){ t->hdr, VNET_HDR_LEN };
	t->iov[1] = (struct iovec){ t->data, len };
	t->e = (struct virtq_elem){ .out_num = 2,
				    .out_len = VNET_HDR_LEN + len,
				    .iov = t->iov };
	return &t->e;
}

static int tx_check(uint8_t flags, uint8_t gso, uint64_t features)
{
	struct tx t;

	return net_tx_check(tx_elem(&t, flags, gso, 60), features);
}

static void test_tx_plain(void **state)
{
	struct tx t;

	assert_int_equal(net_tx_check(tx_elem(&t, 0, 0, 60), 0), 0);
	assert_int_equal(net_tx_check(tx_elem(&t, 0, 0, 14), 0), 0);
	/* DATA_VALID means nothing on transmit: ignored. */
	assert_int_equal(tx_check(VNET_HDR_F_DATA_VALID, 0, 0), 0);
}

static void test_tx_lengths(void **state)
{
	struct tx t;
	struct virtq_elem *e;

	/* Shorter than header + Ethernet header. */
	assert_int_equal(net_tx_check(tx_elem(&t, 0, 0, 13), 0), -EINVAL);
	assert_int_equal(net_tx_check(tx_elem(&t, 0, 0, 0), 0), -EINVAL);
	e = tx_elem(&t, 0, 0, 0);
	e->out_num = 1;
	e->out_len = 5;
	t.iov[0].iov_len = 5;
	assert_int_equal(net_tx_check(e, 0), -EINVAL);
	/* The largest frame a backend takes, and one byte more. */
	e = tx_elem(&t, 0, 0, 60);
	e->out_len = VNET_HDR_LEN + NET_MAX_FRAME;
	assert_int_equal(net_tx_check(e, 0), 0);
	e->out_len++;
	assert_int_equal(net_tx_check(e, 0), -EINVAL);
}

static void test_tx_writable(void **state)
{
	struct tx t;
	struct virtq_elem *e = tx_elem(&t, 0, 0, 60);
	uint8_t status;

	t.iov[2] = (struct iovec){ &status, 1 };
	e->in_num = 1;
	e->in_len = 1;
	assert_int_equal(net_tx_check(e, 0), -EINVAL);
	/* Even a zero-length writable part. */
	t.iov[2].iov_len = 0;
	e->in_len = 0;
	assert_int_equal(net_tx_check(e, 0), -EINVAL);
}

static void test_tx_csum(void **state)
{
	uint64_t all = ~F(VIRTIO_NET_F_CSUM);

	assert_int_equal(tx_check(VNET_HDR_F_NEEDS_CSUM, 0, 0), -EINVAL);
	assert_int_equal(tx_check(VNET_HDR_F_NEEDS_CSUM, 0, all), -EINVAL);
	assert_int_equal(
		tx_check(VNET_HDR_F_NEEDS_CSUM, 0, F(VIRTIO_NET_F_CSUM)), 0);
}

static void test_tx_gso(void **state)
{
	uint64_t csum = F(VIRTIO_NET_F_CSUM), tso4 = F(VIRTIO_NET_F_HOST_TSO4),
		 tso6 = F(VIRTIO_NET_F_HOST_TSO6);
	uint8_t nc = VNET_HDR_F_NEEDS_CSUM;

	assert_int_equal(tx_check(nc, VNET_HDR_GSO_TCPV4, csum), -EINVAL);
	assert_int_equal(tx_check(nc, VNET_HDR_GSO_TCPV4, csum | tso6),
			 -EINVAL);
	assert_int_equal(tx_check(nc, VNET_HDR_GSO_TCPV4, csum | tso4), 0);
	assert_int_equal(tx_check(nc, VNET_HDR_GSO_TCPV6, csum | tso4),
			 -EINVAL);
	assert_int_equal(tx_check(nc, VNET_HDR_GSO_TCPV6, csum | tso6), 0);
	/* UDP fragmentation offload is never offered. */
	assert_int_equal(tx_check(nc, VNET_HDR_GSO_UDP, ~0ULL), -EINVAL);
	/* Nor any other GSO type. */
	assert_int_equal(tx_check(nc, 2, ~0ULL), -EINVAL);
	assert_int_equal(tx_check(nc, 5, ~0ULL), -EINVAL);
	assert_int_equal(tx_check(nc, 0x7f, ~0ULL), -EINVAL);
}

static void test_tx_ecn(void **state)
{
	uint64_t f4 = F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_HOST_TSO4);
	uint64_t ecn = F(VIRTIO_NET_F_HOST_ECN);
	uint8_t nc = VNET_HDR_F_NEEDS_CSUM;
	uint8_t e4 = VNET_HDR_GSO_TCPV4 | VNET_HDR_GSO_ECN;
	uint8_t e6 = VNET_HDR_GSO_TCPV6 | VNET_HDR_GSO_ECN;

	assert_int_equal(tx_check(nc, e4, f4), -EINVAL);
	assert_int_equal(tx_check(nc, e4, f4 | ecn), 0);
	assert_int_equal(tx_check(nc, e6, f4 | ecn), -EINVAL);
	assert_int_equal(
		tx_check(nc, e6, F(VIRTIO_NET_F_HOST_TSO6) | F(0) | ecn), 0);
	/* ECN without GSO means nothing: refused whatever was agreed. */
	assert_int_equal(tx_check(0, VNET_HDR_GSO_ECN, ~0ULL), -EINVAL);
	assert_int_equal(tx_check(nc, VNET_HDR_GSO_UDP | VNET_HDR_GSO_ECN,
				  ~0ULL),
			 -EINVAL);
}

/* The header read across descriptors: flags in one, gso_type in the next. */
static void test_tx_header_split(void **state)
{
	uint8_t a[1], b[3], c[200];
	struct iovec iov[4] = {
		{ a, 0 }, /* zero-length first */
		{ a, 1 },
		{ b, 3 },
		{ c, 8 + 60 },
	};
	struct virtq_elem e = { .out_num = 4, .out_len = 72, .iov = iov };
	uint64_t tso6 = F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_HOST_TSO6);

	memset(c, 0, sizeof(c));
	a[0] = VNET_HDR_F_NEEDS_CSUM;
	b[0] = VNET_HDR_GSO_TCPV6;
	b[1] = b[2] = 0;
	assert_int_equal(net_tx_check(&e, tso6), 0);
	assert_int_equal(net_tx_check(&e, F(VIRTIO_NET_F_CSUM)), -EINVAL);
	assert_int_equal(net_tx_check(&e, F(VIRTIO_NET_F_HOST_TSO6)), -EINVAL);
	b[0] = VNET_HDR_GSO_NONE;
	assert_int_equal(net_tx_check(&e, F(VIRTIO_NET_F_CSUM)), 0);
	a[0] = 0;
	assert_int_equal(net_tx_check(&e, 0), 0);
	b[0] = VNET_HDR_GSO_ECN;
	assert_int_equal(net_tx_check(&e, 0), -EINVAL);
}

/* ---- net_parse and net_default_mac ---- */

static int parse(const char *arg, struct net_spec *s)
{
	char err[256] = "";
	int r = net_parse(arg, s, err, sizeof(err));

	if (r)
		assert_true(err[0] != '\0');
	else
		assert_string_equal(err, "");
	return r;
}

static void test_parse_none_user(void **state)
{
	struct net_spec s;

	memset(&s, 0x55, sizeof(s));
	assert_int_equal(parse("none", &s), 0);
	assert_int_equal(s.kind, NET_NONE);
	assert_false(s.mac_set);
	assert_int_equal(s.nr_hostfwd, 0);
	memset(&s, 0x55, sizeof(s));
	assert_int_equal(parse("user", &s), 0);
	assert_int_equal(s.kind, NET_USER);
	assert_false(s.mac_set);
	assert_int_equal(s.nr_hostfwd, 0);
	assert_string_equal(s.ifname, "");
}

static void test_parse_hostfwd(void **state)
{
	struct net_spec s;

	assert_int_equal(
		parse("user,hostfwd=tcp::8080-:80,"
		      "hostfwd=udp:127.0.0.2:53-10.0.2.15:53,mac=52:54:00:01:02:03",
		      &s),
		0);
	assert_int_equal(s.kind, NET_USER);
	assert_int_equal(s.nr_hostfwd, 2);
	assert_false(s.hostfwd[0].udp);
	assert_int_equal(s.hostfwd[0].host_addr, 0x7f000001);
	assert_int_equal(s.hostfwd[0].host_port, 8080);
	assert_int_equal(s.hostfwd[0].guest_addr, 0);
	assert_int_equal(s.hostfwd[0].guest_port, 80);
	assert_true(s.hostfwd[1].udp);
	assert_int_equal(s.hostfwd[1].host_addr, 0x7f000002);
	assert_int_equal(s.hostfwd[1].host_port, 53);
	assert_int_equal(s.hostfwd[1].guest_addr, 0x0a00020f);
	assert_int_equal(s.hostfwd[1].guest_port, 53);
	assert_true(s.mac_set);
	assert_memory_equal(s.mac, ((uint8_t[]){ 0x52, 0x54, 0, 1, 2, 3 }), 6);
	/* Port limits. */
	assert_int_equal(parse("user,hostfwd=tcp::1-:65535", &s), 0);
	assert_int_equal(s.hostfwd[0].host_port, 1);
	assert_int_equal(s.hostfwd[0].guest_port, 65535);
}

static void test_parse_tap(void **state)
{
	static const uint8_t mac[6] = { 0x52, 0x54, 0x00, 0xaa, 0xbb, 0xcc };
	struct net_spec s;

	assert_int_equal(parse("tap,ifname=tap0,mac=52:54:00:aa:bb:cc", &s), 0);
	assert_int_equal(s.kind, NET_TAP);
	assert_string_equal(s.ifname, "tap0");
	assert_true(s.mac_set);
	assert_memory_equal(s.mac, mac, 6);
	assert_int_equal(s.nr_hostfwd, 0);
	/* Upper-case hex, and a 15-character name. */
	assert_int_equal(
		parse("tap,mac=02:AB:cd:EF:00:01,ifname=abcdefghijklmno", &s),
		0);
	assert_string_equal(s.ifname, "abcdefghijklmno");
	assert_memory_equal(s.mac, ((uint8_t[]){ 2, 0xab, 0xcd, 0xef, 0, 1 }),
			    6);
	assert_int_equal(parse("tap", &s), 0);
	assert_int_equal(s.kind, NET_TAP);
	assert_string_equal(s.ifname, "");
	assert_false(s.mac_set);
}

static void test_parse_errors(void **state)
{
	static const char *const bad[] = {
		"",
		",",
		"bogus",
		"Tap",
		"tap0",
		"none,mac=52:54:00:aa:bb:cc",
		"tap,hostfwd=tcp::8080-:80",
		"user,ifname=x",
		"tap,ifname",
		"tap,ifname=",
		"tap,ifname=a/b",
		"tap,bogus=1",
		"user,mac=01:54:00:aa:bb:cc", /* multicast */
		"user,mac=ff:ff:ff:ff:ff:ff",
		"user,mac=52:54:00:aa:bb", /* short */
		"user,mac=52:54:00:aa:bb:cc:dd",
		"user,mac=52:54:00:aa:bb:c",
		"user,mac=52:54:00:aa:bb:ccc",
		"user,mac=52-54-00-aa-bb-cc",
		"user,mac=zz:54:00:aa:bb:cc", /* garbage */
		"user,mac=",
		"user,mac",
		"user,hostfwd=tcp::0-:80", /* ports */
		"user,hostfwd=tcp::8080-:0",
		"user,hostfwd=tcp::65536-:80",
		"user,hostfwd=tcp::8080-:65536",
		"user,hostfwd=tcp::abc-:80",
		"user,hostfwd=tcp::8080-:",
		"user,hostfwd=tcp::-:80",
		"user,hostfwd=tcp:8080-:80",
		"user,hostfwd=tcp::8080",
		"user,hostfwd=tcp::8080:80",
		"user,hostfwd=sctp::8080-:80",
		"user,hostfwd=tcp:1.2.3:8080-:80",
		"user,hostfwd=tcp::8080-999.0.0.1:80",
		"user,hostfwd=",
		"tap,ifname=abcdefghijklmnop", /* 16 characters */
	};
	struct net_spec s;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char err[256] = "";

		if (net_parse(bad[i], &s, err, sizeof(err)) != -EINVAL)
			fail_msg("'%s' accepted", bad[i]);
		if (!err[0])
			fail_msg("'%s': no message", bad[i]);
	}
	/* NULL and too long for the buffer. */
	{
		char err[256] = "";
		static char huge[4096];

		assert_int_equal(net_parse(NULL, &s, err, sizeof(err)),
				 -EINVAL);
		assert_true(err[0] != '\0');
		memset(huge, 'a', sizeof(huge) - 1);
		memcpy(huge, "user,", 5);
		err[0] = '\0';
		assert_int_equal(net_parse(huge, &s, err, sizeof(err)),
				 -EINVAL);
		assert_true(err[0] != '\0');
	}
}

/* A MAC must be exactly six pairs of hex digits: no signs, no spaces. */
static void test_parse_mac_strict(void **state)
{
	static const char *const bad[] = {
		"tap,mac=52:54:00:aa:bb:-1",
		"tap,mac=52:54:00:aa:bb:+c",
		"tap,mac=52:54:00:aa:bb: c",
		"tap,mac=52:54:00:0x:bb:cc",
	};
	struct net_spec s;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char err[256] = "";

		if (net_parse(bad[i], &s, err, sizeof(err)) != -EINVAL)
			fail_msg("'%s' accepted", bad[i]);
	}
}

/* The messages name what was wrong. */
static void test_parse_messages(void **state)
{
	struct net_spec s;
	char err[256];

	net_parse("tap,hostfwd=tcp::1-:1", &s, err, sizeof(err));
	assert_non_null(strstr(err, "hostfwd"));
	net_parse("user,mac=01:00:00:00:00:01", &s, err, sizeof(err));
	assert_non_null(strstr(err, "01:00:00:00:00:01"));
	net_parse("none,mac=52:54:00:aa:bb:cc", &s, err, sizeof(err));
	assert_non_null(strstr(err, "none"));
	net_parse("tap,ifname=abcdefghijklmnop", &s, err, sizeof(err));
	assert_non_null(strstr(err, "abcdefghijklmnop"));
	/* A short buffer gets a truncated, terminated message. */
	memset(err, 'x', sizeof(err));
	net_parse("bogus", &s, err, 8);
	assert_int_equal(strlen(err), 7);
}

static void test_parse_hostfwd_limit(void **state)
{
	char arg[1024] = "user";
	struct net_spec s;
	char err[256] = "";

	for (unsigned int i = 0; i < NET_MAX_HOSTFWD; i++)
		snprintf(arg + strlen(arg), sizeof(arg) - strlen(arg),
			 ",hostfwd=tcp::%u-:%u", 2000 + i, 80 + i);
	assert_int_equal(parse(arg, &s), 0);
	assert_int_equal(s.nr_hostfwd, NET_MAX_HOSTFWD);
	assert_int_equal(s.hostfwd[15].host_port, 2015);
	assert_int_equal(s.hostfwd[15].guest_port, 95);
	strcat(arg, ",hostfwd=tcp::3000-:22");
	assert_int_equal(net_parse(arg, &s, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "16"));
}

static void assert_local_unicast(const uint8_t mac[6])
{
	assert_int_equal(mac[0], 0x52);
	assert_int_equal(mac[1], 0x54);
	assert_int_equal(mac[2], 0x00);
	assert_int_equal(mac[0] & 1, 0);
}

static void test_default_mac(void **state)
{
	struct net_spec s;
	uint8_t a[6], b[6], c[6];

	/* mac= wins over name and index. */
	assert_int_equal(parse("tap,ifname=tap0,mac=02:00:00:00:00:07", &s), 0);
	net_default_mac(&s, 3, a);
	assert_memory_equal(a, ((uint8_t[]){ 2, 0, 0, 0, 0, 7 }), 6);

	/* A tap's MAC follows its name, not the index. */
	assert_int_equal(parse("tap,ifname=tap0", &s), 0);
	net_default_mac(&s, 0, a);
	net_default_mac(&s, 5, b);
	assert_memory_equal(a, b, 6);
	assert_local_unicast(a);
	assert_int_equal(parse("tap,ifname=tap1", &s), 0);
	net_default_mac(&s, 0, c);
	assert_local_unicast(c);
	assert_memory_not_equal(a, c, 6);
	/* Stable: the same name again gives the same MAC. */
	assert_int_equal(parse("tap,ifname=tap0", &s), 0);
	net_default_mac(&s, 1, b);
	assert_memory_equal(a, b, 6);

	/* User mode: by index. */
	assert_int_equal(parse("user", &s), 0);
	net_default_mac(&s, 0, a);
	net_default_mac(&s, 1, b);
	assert_local_unicast(a);
	assert_local_unicast(b);
	assert_memory_not_equal(a, b, 6);
	net_default_mac(&s, 0, c);
	assert_memory_equal(a, c, 6);
	/* A tap without a name as well. */
	assert_int_equal(parse("tap", &s), 0);
	net_default_mac(&s, 1, c);
	assert_local_unicast(c);
	assert_memory_equal(b, c, 6);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_rx_one_chain),
		T(test_rx_chain_too_small),
		T(test_rx_no_merge_one_chain_only),
		T(test_rx_mergeable),
		T(test_rx_mergeable_single),
		T(test_rx_mergeable_nobufs),
		T(test_rx_mergeable_ring_full),
		T(test_rx_mergeable_first_too_small),
		T(test_rx_broken_chain),
		T(test_rx_mergeable_broken_later),
		T(test_rx_src_pieces),
		T(test_rx_readable_only_chain),
		T(test_rx_readable_prefix),
		T(test_rx_event_idx_after_nobufs),
		T(test_rx_not_started),
		cmocka_unit_test(test_tx_plain),
		cmocka_unit_test(test_tx_lengths),
		cmocka_unit_test(test_tx_writable),
		cmocka_unit_test(test_tx_csum),
		cmocka_unit_test(test_tx_gso),
		cmocka_unit_test(test_tx_ecn),
		cmocka_unit_test(test_tx_header_split),
		cmocka_unit_test(test_parse_none_user),
		cmocka_unit_test(test_parse_hostfwd),
		cmocka_unit_test(test_parse_tap),
		cmocka_unit_test(test_parse_errors),
		cmocka_unit_test(test_parse_mac_strict),
		cmocka_unit_test(test_parse_messages),
		cmocka_unit_test(test_parse_hostfwd_limit),
		cmocka_unit_test(test_default_mac),
	};

	return cmocka_run_group_tests_name("net", tests, NULL, NULL);
}
