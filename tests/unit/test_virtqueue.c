// SPDX-License-Identifier: MIT
/*
 * Split virtqueues against rings built by hand in real guest RAM: good
 * chains, every kind of hostile chain, the broken state, the used ring
 * and notification suppression (flags and EVENT_IDX across wraparound).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/fake_capture.h"
#include "tests/unit/fake_ring.h"
#include "virtio/virtqueue.h"
#include "vmm/le.h"
#include "vmm/vm.h"

#define MIB (1ULL << 20)
#define GIB (1ULL << 30)
#define RAM_SIZE (16 * MIB)

/* Guest-physical layout of the test rings and buffers. */
#define DESC 0x10000ULL
#define AVAIL 0x11000ULL
#define USED 0x12000ULL
#define IND 0x20000ULL
#define BUF 0x100000ULL

struct fx {
	struct vm vm;
	struct virtq q;
	struct virtq_elem e;
	struct iovec iov[64];
};

static struct fx *fx_new(uint64_t ram)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f || vm_init(&f->vm, ram)) {
		free(f);
		return NULL;
	}
	f->q.vm = &f->vm;
	f->q.size = 8;
	f->q.desc_gpa = DESC;
	f->q.avail_gpa = AVAIL;
	f->q.used_gpa = USED;
	return f;
}

static int setup(void **state)
{
	*state = fx_new(RAM_SIZE);
	return *state ? 0 : -1;
}

/* MAP_NORESERVE: 4 GiB of guest RAM costs only the pages we touch. */
static int setup_4g(void **state)
{
	*state = fx_new(4 * GIB);
	return *state ? 0 : -1;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	vm_destroy(&f->vm);
	free(f);
	return 0;
}

/* A fresh, started queue over zeroed rings with @size entries. */
static void fresh(struct fx *f, uint16_t size, bool indirect, bool event_idx)
{
	virtq_reset(&f->q);
	memset(ring_mem(&f->vm, DESC), 0, 0x3000);
	f->q.size = size;
	f->q.indirect = indirect;
	f->q.event_idx = event_idx;
	assert_int_equal(virtq_start(&f->q), 0);
}

static int pop(struct fx *f, unsigned int max_iov)
{
	return virtq_pop(&f->q, &f->e, f->iov, max_iov);
}

/* Pop into a heap array of exactly @max_iov: ASan sees any overrun. */
static int pop_small(struct fx *f, unsigned int max_iov)
{
	struct iovec *iov = calloc(max_iov, sizeof(*iov));
	int r;

	assert_non_null(iov);
	r = virtq_pop(&f->q, &f->e, iov, max_iov);
	free(iov);
	return r;
}

/* The next pop must break the queue and log @why. */
static void expect_broken(struct fx *f, unsigned int max_iov, const char *why)
{
	capture_start();
	assert_int_equal(pop(f, max_iov), -EIO);
	assert_logged(why);
	assert_true(f->q.broken);
}

static void assert_iov(struct fx *f, unsigned int i, uint64_t gpa, uint64_t len)
{
	assert_ptr_equal(f->iov[i].iov_base, ring_mem(&f->vm, gpa));
	assert_int_equal(f->iov[i].iov_len, len);
}

/* virtio-blk's shape: readable header, writable data, writable status. */
static void test_good_chain(void **state)
{
	struct fx *f = *state;

	fresh(f, 8, false, false);
	ring_desc(&f->vm, DESC, 4, BUF, 16, VIRTQ_DESC_F_NEXT, 6);
	ring_desc(&f->vm, DESC, 6, BUF + 0x1000, 512,
		  VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
	ring_desc(&f->vm, DESC, 1, BUF + 0x2000, 1, VIRTQ_DESC_F_WRITE, 0);
	ring_avail_add(&f->q, 4);
	assert_true(virtq_has_avail(&f->q));
	assert_int_equal(pop(f, 64), 1);
	assert_int_equal(f->e.head, 4);
	assert_ptr_equal(f->e.iov, f->iov);
	assert_int_equal(f->e.out_num, 1);
	assert_int_equal(f->e.in_num, 2);
	assert_int_equal(f->e.out_len, 16);
	assert_int_equal(f->e.in_len, 513);
	assert_iov(f, 0, BUF, 16);
	assert_iov(f, 1, BUF + 0x1000, 512);
	assert_iov(f, 2, BUF + 0x2000, 1);
	assert_int_equal(f->q.last_avail, 1);
	assert_false(virtq_has_avail(&f->q));
	assert_int_equal(pop(f, 64), 0);
	/* Exactly max_iov descriptors is fine. */
	ring_avail_add(&f->q, 4);
	assert_int_equal(pop(f, 3), 1);
	assert_false(f->q.broken);
}

/* One indirect descriptor; its WRITE flag is ignored (spec 2.7.5.3.2). */
static void test_indirect_chain(void **state)
{
	struct fx *f = *state;

	fresh(f, 8, true, false);
	ring_desc(&f->vm, IND, 0, BUF, 16, VIRTQ_DESC_F_NEXT, 2);
	ring_desc(&f->vm, IND, 2, BUF + 0x1000, 4096,
		  VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
	ring_desc(&f->vm, IND, 1, BUF + 0x3000, 1, VIRTQ_DESC_F_WRITE, 0);
	ring_desc(&f->vm, DESC, 3, IND, 48,
		  VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_WRITE, 0);
	ring_avail_add(&f->q, 3);
	assert_int_equal(pop(f, 64), 1);
	assert_int_equal(f->e.head, 3);
	assert_int_equal(f->e.out_num, 1);
	assert_int_equal(f->e.in_num, 2);
	assert_int_equal(f->e.in_len, 4097);
	assert_iov(f, 0, BUF, 16);
	assert_iov(f, 1, BUF + 0x1000, 4096);
	assert_iov(f, 2, BUF + 0x3000, 1);
}

/* Direct descriptors, then one indirect at the end: valid per the spec. */
static void test_direct_then_indirect(void **state)
{
	struct fx *f = *state;

	fresh(f, 8, true, false);
	ring_desc(&f->vm, DESC, 0, BUF, 16, VIRTQ_DESC_F_NEXT, 1);
	ring_desc(&f->vm, DESC, 1, IND, 32, VIRTQ_DESC_F_INDIRECT, 0);
	ring_desc(&f->vm, IND, 0, BUF + 0x1000, 8, VIRTQ_DESC_F_NEXT, 1);
	ring_desc(&f->vm, IND, 1, BUF + 0x2000, 1, VIRTQ_DESC_F_WRITE, 0);
	ring_avail_add(&f->q, 0);
	assert_int_equal(pop(f, 64), 1);
	assert_int_equal(f->e.out_num, 2);
	assert_int_equal(f->e.in_num, 1);
	assert_iov(f, 1, BUF + 0x1000, 8);
	assert_iov(f, 2, BUF + 0x2000, 1);
}

/* Indirect followed by more direct descriptors: INDIRECT with NEXT. */
static void test_indirect_then_direct(void **state)
{
	struct fx *f = *state;

	fresh(f, 8, true, false);
	ring_desc(&f->vm, DESC, 0, IND, 16,
		  VIRTQ_DESC_F_INDIRECT | VIRTQ_DESC_F_NEXT, 1);
	ring_desc(&f->vm, DESC, 1, BUF, 1, VIRTQ_DESC_F_WRITE, 0);
	ring_desc(&f->vm, IND, 0, BUF, 16, 0, 0);
	ring_avail_add(&f->q, 0);
	expect_broken(f, 64, "virtqueue: indirect descriptor with NEXT set");
}

static void test_loop(void **state)
{
	struct fx *f = *state;

	fresh(f, 8, false, false);
	ring_desc(&f->vm, DESC, 0, BUF, 16, VIRTQ_DESC_F_NEXT, 1);
	ring_desc(&f->vm, DESC, 1, BUF, 16, VIRTQ_DESC_F_NEXT, 0);
	ring_avail_add(&f->q, 0);
	expect_broken(f, 64, "virtqueue: descriptor loop");
}

/* Running out of iovecs first must not hide the loop. */
static void test_loop_past_max_iov(void **state)
{
	struct fx *f = *state;

	fresh(f, 8, false, false);
	ring_desc(&f->vm, DESC, 5, BUF, 16, VIRTQ_DESC_F_NEXT, 5);
	ring_avail_add(&f->q, 5);
	capture_start();
	assert_int_equal(pop_small(f, 1), -EIO);
	assert_logged("virtqueue: descriptor loop");
}

static void test_indirect_loop(void **state)
{
	struct fx *f = *state;

	fresh(f, 8, true, false);
	ring_desc(&f->vm, DESC, 0, IND, 32, VIRTQ_DESC_F_INDIRECT, 0);
	ring_desc(&f->vm, IND, 0, BUF, 16, VIRTQ_DESC_F_NEXT, 1);
	ring_desc(&f->vm, IND, 1, BUF, 16, VIRTQ_DESC_F_NEXT, 1);
	ring_avail_add(&f->q, 0);
	expect_broken(f, 64, "virtqueue: descriptor loop");
}

/* An indirect table may hold more entries than the queue, not the chain. */
static void test_chain_longer_than_queue(void **state)
{
	struct fx *f = *state;

	fresh(f, 4, true, false);
	for (unsigned int i = 0; i < 5; i++)
		ring_desc(&f->vm, IND, i, BUF, 16, VIRTQ_DESC_F_NEXT, i + 1);
	ring_desc(&f->vm, IND, 3, BUF, 16, 0, 0); /* 4 descriptors: fits */
	ring_desc(&f->vm, DESC, 0, IND, 5 * 16, VIRTQ_DESC_F_INDIRECT, 0);
	ring_avail_add(&f->q, 0);
	assert_int_equal(pop(f, 64), 1);
	assert_int_equal(f->e.out_num, 4);
	ring_desc(&f->vm, IND, 3, BUF, 16, VIRTQ_DESC_F_NEXT, 4); /* now 5 */
	ring_avail_add(&f->q, 0);
	expect_broken(f, 64, "virtqueue: chain longer than queue");
}

static void test_next_out_of_range(void **state)
{
	struct fx *f = *state;

	fresh(f, 8, false, false);
	ring_desc(&f->vm, DESC, 0, BUF, 16, VIRTQ_DESC_F_NEXT, 8);
	ring_avail_add(&f->q, 0);
	expect_broken(f, 64, "virtqueue: descriptor index out of range");
}

static void test_head_out_of_range(void **state)
{
	struct fx *f = *state;

	fresh(f, 8, false, false);
	ring_avail_add(&f->q, 0xffff);
	expect_broken(f, 64, "virtqueue: descriptor index out of range");
}

static void test_indirect_next_out_of_range(void **state)
{
	struct fx *f = *state;

	fresh(f, 8, true, false);
	ring_desc(&f->vm, DESC, 0, IND, 32, VIRTQ_DESC_F_INDIRECT, 0);
	ring_desc(&f->vm, IND, 0, BUF, 16, VIRTQ_DESC_F_NEXT, 2);
	ring_avail_add(&f->q, 0);
	expect_broken(f, 64, "virtqueue: descriptor index out of range");
}

struct buf_case {
	uint64_t addr;
	uint32_t len;
	bool ok;
};

/* One single-descriptor chain per case, each on a fresh queue. */
static void test_buffer_bounds(void **state)
{
	static const struct buf_case cases[] = {
		{ 0, 0, true }, /* zero-length: a zero-length iovec */
		{ RAM_SIZE - 4, 4, true }, /* the last bytes of RAM */
		{ RAM_SIZE, 0, true }, /* empty, at the end: like C */
		{ BUF, 15 * MIB, true }, /* large, inside RAM */
		{ RAM_SIZE, 1, false }, /* just past the end */
		{ RAM_SIZE - 1, 2, false }, /* straddles the end */
		{ RAM_SIZE + 4096, 0, false }, /* empty but nowhere */
		{ BUF, 1U << 30, false }, /* 1 GiB into a 16 MiB VM */
		{ UINT64_MAX - 10, 100, false }, /* addr + len wraps */
		{ UINT64_MAX, 1, false },
		{ 0xfee00000, 4, false }, /* the LAPIC, not RAM */
	};
	struct fx *f = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct buf_case *c = &cases[i];

		fresh(f, 8, false, false);
		ring_desc(&f->vm, DESC, 0, c->addr, c->len, VIRTQ_DESC_F_WRITE,
			  0);
		ring_avail_add(&f->q, 0);
		if (!c->ok) {
			expect_broken(f, 64,
				      "virtqueue: buffer outside guest RAM");
			continue;
		}
		assert_int_equal(pop(f, 64), 1);
		assert_int_equal(f->e.in_num, 1);
		assert_int_equal(f->e.in_len, c->len);
		assert_ptr_equal(f->iov[0].iov_base, f->vm.ram + c->addr);
		assert_int_equal(f->iov[0].iov_len, c->len);
	}
}

/* A zero-length descriptor mid-chain keeps its place as an empty iovec. */
static void test_zero_length_in_chain(void **state)
{
	struct fx *f = *state;

	fresh(f, 8, false, false);
	ring_desc(&f->vm, DESC, 0, BUF, 16, VIRTQ_DESC_F_NEXT, 1);
	ring_desc(&f->vm, DESC, 1, BUF + 16, 0, VIRTQ_DESC_F_NEXT, 2);
	ring_desc(&f->vm, DESC, 2, BUF + 32, 1, VIRTQ_DESC_F_WRITE, 0);
	ring_avail_add(&f->q, 0);
	assert_int_equal(pop(f, 64), 1);
	assert_int_equal(f->e.out_num, 2);
	assert_int_equal(f->e.out_len, 16);
	assert_iov(f, 1, BUF + 16, 0);
	assert_iov(f, 2, BUF + 32, 1);
}

/* 3 GiB low + 1 GiB high RAM: room for parts near 4 GiB. */
static void test_total_length_limit(void **state)
{
	struct fx *f = *state;
	uint64_t high = 1ULL << 32;

	fresh(f, 8, false, false);
	ring_desc(&f->vm, DESC, 0, 0, 0xc0000000,
		  VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
	ring_desc(&f->vm, DESC, 1, high, 0x3fffffff, VIRTQ_DESC_F_WRITE, 0);
	ring_avail_add(&f->q, 0);
	assert_int_equal(pop(f, 64), 1);
	assert_int_equal(f->e.in_len, UINT32_MAX);
	assert_ptr_equal(f->iov[1].iov_base, f->vm.ram + 0xc0000000);

	ring_desc(&f->vm, DESC, 1, high, 0x40000000, VIRTQ_DESC_F_WRITE, 0);
	ring_avail_add(&f->q, 0);
	expect_broken(f, 64, "virtqueue: total length overflows 32 bits");

	fresh(f, 8, false, false);
	ring_desc(&f->vm, DESC, 0, 0, 0xc0000000, VIRTQ_DESC_F_NEXT, 1);
	ring_desc(&f->vm, DESC, 1, high, 0x40000000, 0, 0);
	ring_avail_add(&f->q, 0);
	expect_broken(f, 64, "virtqueue: total length overflows 32 bits");

	/* A buffer running from low RAM into the 32-bit hole. */
	fresh(f, 8, false, false);
	ring_desc(&f->vm, DESC, 0, 0xc0000000 - 8, 16, 0, 0);
	ring_avail_add(&f->q, 0);
	expect_broken(f, 64, "virtqueue: buffer outside guest RAM");
}

static void test_readable_after_writable(void **state)
{
	struct fx *f = *state;

	fresh(f, 8, false, false);
	ring_desc(&f->vm, DESC, 0, BUF, 16,
		  VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
	ring_desc(&f->vm, DESC, 1, BUF, 16, 0, 0);
	ring_avail_add(&f->q, 0);
	expect_broken(f, 64,
		      "virtqueue: readable descriptor after a writable one");
}

/* The order rule spans the direct part and the indirect table. */
static void test_readable_after_writable_indirect(void **state)
{
	struct fx *f = *state;

	fresh(f, 8, true, false);
	ring_desc(&f->vm, DESC, 0, BUF, 16,
		  VIRTQ_DESC_F_NEXT | VIRTQ_DESC_F_WRITE, 1);
	ring_desc(&f->vm, DESC, 1, IND, 16, VIRTQ_DESC_F_INDIRECT, 0);
	ring_desc(&f->vm, IND, 0, BUF, 16, 0, 0);
	ring_avail_add(&f->q, 0);
	expect_broken(f, 64,
		      "virtqueue: readable descriptor after a writable one");
}

static void test_indirect_not_negotiated(void **state)
{
	struct fx *f = *state;

	fresh(f, 8, false, false);
	ring_desc(&f->vm, DESC, 0, IND, 16, VIRTQ_DESC_F_INDIRECT, 0);
	ring_desc(&f->vm, IND, 0, BUF, 16, 0, 0);
	ring_avail_add(&f->q, 0);
	expect_broken(f, 64,
		      "virtqueue: indirect descriptor without "
		      "VIRTIO_F_INDIRECT_DESC");
}

static void test_nested_indirect(void **state)
{
	struct fx *f = *state;

	fresh(f, 8, true, false);
	ring_desc(&f->vm, DESC, 0, IND, 32, VIRTQ_DESC_F_INDIRECT, 0);
	ring_desc(&f->vm, IND, 0, BUF, 16, VIRTQ_DESC_F_NEXT, 1);
	ring_desc(&f->vm, IND, 1, IND + 0x100, 16, VIRTQ_DESC_F_INDIRECT, 0);
	ring_desc(&f->vm, IND + 0x100, 0, BUF, 16, 0, 0);
	ring_avail_add(&f->q, 0);
	expect_broken(f, 64, "virtqueue: nested indirect table");
}

struct ind_case {
	uint64_t addr;
	uint32_t len;
	const char *why;
};

static void test_indirect_table_bad(void **state)
{
	static const struct ind_case cases[] = {
		{ IND, 24, "indirect table length not a multiple of 16" },
		{ IND, 8, "indirect table length not a multiple of 16" },
		{ IND, 0, "zero-length indirect table" },
		{ RAM_SIZE - 16, 32, "indirect table outside guest RAM" },
		{ UINT64_MAX - 15, 32, "indirect table outside guest RAM" },
	};
	struct fx *f = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		fresh(f, 8, true, false);
		ring_desc(&f->vm, DESC, 0, cases[i].addr, cases[i].len,
			  VIRTQ_DESC_F_INDIRECT, 0);
		ring_avail_add(&f->q, 0);
		expect_broken(f, 64, cases[i].why);
	}
	/* An unaligned table right at the end of RAM is fine. */
	fresh(f, 8, true, false);
	ring_desc(&f->vm, DESC, 0, RAM_SIZE - 17, 16, VIRTQ_DESC_F_INDIRECT, 0);
	memset(ring_mem(&f->vm, RAM_SIZE - 17), 0, 16);
	put_le32(ring_mem(&f->vm, RAM_SIZE - 17 + 8), 7);
	ring_avail_add(&f->q, 0);
	assert_int_equal(pop(f, 64), 1);
	assert_int_equal(f->e.out_len, 7);
}

static void test_max_iov(void **state)
{
	struct fx *f = *state;

	fresh(f, 8, false, false);
	ring_desc(&f->vm, DESC, 0, BUF, 16, VIRTQ_DESC_F_NEXT, 1);
	ring_desc(&f->vm, DESC, 1, BUF, 16, VIRTQ_DESC_F_NEXT, 2);
	ring_desc(&f->vm, DESC, 2, BUF, 16, 0, 0);
	ring_avail_add(&f->q, 0);
	assert_int_equal(pop(f, 3), 1);
	ring_avail_add(&f->q, 0);
	capture_start();
	assert_int_equal(pop_small(f, 2), -EIO);
	assert_logged("virtqueue: too many descriptors for the request "
		      "(max_iov)");
	fresh(f, 8, false, false);
	ring_avail_add(&f->q, 2);
	capture_start();
	assert_int_equal(virtq_pop(&f->q, &f->e, NULL, 0), -EIO);
	assert_logged("(max_iov)");
}

/* Broken until reset, logged once, every other call a harmless no-op. */
static void test_broken_sticks(void **state)
{
	struct fx *f = *state;
	const char *log;
	uint8_t used[64];

	fresh(f, 8, true, true);
	ring_desc(&f->vm, DESC, 0, BUF, 16, VIRTQ_DESC_F_NEXT, 1);
	ring_desc(&f->vm, DESC, 1, BUF, 16, VIRTQ_DESC_F_NEXT, 0);
	ring_avail_add(&f->q, 0);
	memcpy(used, ring_mem(&f->vm, USED), sizeof(used));
	expect_broken(f, 64, "virtqueue: descriptor loop");

	capture_start();
	assert_int_equal(pop(f, 64), -EIO);
	assert_int_equal(pop(f, 64), -EIO);
	virtq_push(&f->q, 0, 16);
	assert_false(virtq_should_notify(&f->q));
	assert_false(virtq_set_notify(&f->q, true));
	assert_false(virtq_set_notify(&f->q, false));
	assert_false(virtq_has_avail(&f->q));
	assert_int_equal(virtq_start(&f->q), -EIO);
	log = capture_stop();
	assert_string_equal(log, "");
	assert_memory_equal(ring_mem(&f->vm, USED), used, sizeof(used));
	assert_true(f->q.broken);

	virtq_reset(&f->q);
	assert_false(f->q.broken);
	assert_false(f->q.ready);
	assert_int_equal(f->q.last_avail, 0);
	assert_int_equal(pop(f, 64), 0); /* not started */
	ring_desc(&f->vm, DESC, 1, BUF, 16, 0, 0);
	assert_int_equal(virtq_start(&f->q), 0);
	assert_int_equal(pop(f, 64), 1);
	assert_int_equal(f->e.out_num, 2);
}

static void test_avail_jump(void **state)
{
	struct fx *f = *state;

	fresh(f, 8, false, false);
	put_le16(ring_mem(&f->vm, AVAIL + 2), 9);
	expect_broken(f, 64,
		      "virtqueue: avail index jumped by more than the queue "
		      "size");
}

/* A full ring, and the 16-bit avail index wrapping around. */
static void test_avail_full_and_wrap(void **state)
{
	struct fx *f = *state;

	fresh(f, 4, false, false);
	for (uint16_t i = 0; i < 4; i++) {
		ring_desc(&f->vm, DESC, i, BUF + i, 1, 0, 0);
		ring_avail_add(&f->q, 3 - i);
	}
	for (uint16_t i = 0; i < 4; i++) {
		assert_int_equal(pop(f, 64), 1);
		assert_int_equal(f->e.head, 3 - i);
	}
	assert_int_equal(pop(f, 64), 0);

	fresh(f, 4, false, false);
	f->q.last_avail = 65534;
	put_le16(ring_mem(&f->vm, AVAIL + 2), 65534);
	for (uint16_t i = 0; i < 3; i++)
		ring_avail_add(&f->q, i);
	assert_int_equal(get_le16(ring_mem(&f->vm, AVAIL + 2)), 1);
	for (uint16_t i = 0; i < 3; i++) {
		assert_int_equal(pop(f, 64), 1);
		assert_int_equal(f->e.head, i);
	}
	assert_int_equal(f->q.last_avail, 1);
	assert_int_equal(pop(f, 64), 0);
}

struct ring_case {
	uint16_t size;
	uint64_t desc, avail, used;
	bool ok;
};

static void test_start_rings(void **state)
{
	static const struct ring_case cases[] = {
		{ 8, DESC, AVAIL, USED, true },
		{ 0, DESC, AVAIL, USED, false },
		{ 3, DESC, AVAIL, USED, false },
		{ 48, DESC, AVAIL, USED, false },
		{ 32768, 1 * MIB, 2 * MIB, 3 * MIB, true },
		{ 8, DESC + 8, AVAIL, USED, false },
		{ 8, DESC, AVAIL + 1, USED, false },
		{ 8, DESC, AVAIL + 2, USED + 2, false },
		{ 8, DESC, AVAIL + 2, USED + 4, true },
		{ 8, RAM_SIZE - 128, AVAIL, USED, true },
		{ 8, RAM_SIZE - 112, AVAIL, USED, false },
		/* avail: 4 + 2 * 8 + used_event; used: 4 + 8 * 8 + avail_event */
		{ 8, DESC, RAM_SIZE - 22, USED, true },
		{ 8, DESC, RAM_SIZE - 20, USED, false },
		{ 8, DESC, AVAIL, RAM_SIZE - 72, true },
		{ 8, DESC, AVAIL, RAM_SIZE - 68, false },
		{ 8, UINT64_MAX - 15, AVAIL, USED, false },
		{ 8, DESC, AVAIL, 0xfee00000, false },
	};
	struct fx *f = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct ring_case *c = &cases[i];

		virtq_reset(&f->q);
		f->q.size = c->size;
		f->q.desc_gpa = c->desc;
		f->q.avail_gpa = c->avail;
		f->q.used_gpa = c->used;
		capture_start();
		assert_int_equal(virtq_start(&f->q), c->ok ? 0 : -EINVAL);
		if (c->ok) {
			assert_string_equal(capture_stop(), "");
			assert_true(f->q.ready);
			assert_ptr_equal(f->q.desc, f->vm.ram + c->desc);
			continue;
		}
		assert_logged("virtqueue: ");
		assert_true(f->q.broken);
		assert_false(f->q.ready);
	}
	f->q.desc_gpa = DESC;
	f->q.avail_gpa = AVAIL;
	f->q.used_gpa = USED;
}

static void test_push(void **state)
{
	struct fx *f = *state;

	fresh(f, 4, false, false);
	virtq_push(&f->q, 2, 100);
	assert_int_equal(ring_used_id(&f->q, 0), 2);
	assert_int_equal(ring_used_len(&f->q, 0), 100);
	assert_int_equal(get_le16(ring_mem(&f->vm, USED + 2)), 1);
	for (uint16_t i = 1; i < 5; i++)
		virtq_push(&f->q, i, 1000 + i);
	assert_int_equal(get_le16(ring_mem(&f->vm, USED + 2)), 5);
	assert_int_equal(ring_used_id(&f->q, 0), 4); /* slot 0 again */
	assert_int_equal(ring_used_len(&f->q, 0), 1004);
	assert_int_equal(ring_used_id(&f->q, 3), 3);
	assert_int_equal(get_le16(ring_mem(&f->vm, USED)),
			 0); /* flags untouched */
}

/* Before virtq_start() nothing touches guest memory. */
static void test_not_started(void **state)
{
	struct fx *f = *state;

	virtq_reset(&f->q);
	ring_avail_add(&f->q, 0);
	assert_int_equal(pop(f, 64), 0);
	assert_false(virtq_has_avail(&f->q));
	virtq_push(&f->q, 1, 1);
	assert_int_equal(get_le16(ring_mem(&f->vm, USED + 2)), 0);
	assert_false(virtq_should_notify(&f->q));
	assert_false(virtq_set_notify(&f->q, false));
	assert_int_equal(get_le16(ring_mem(&f->vm, USED)), 0);
}

static void test_notify_flags(void **state)
{
	struct fx *f = *state;

	fresh(f, 8, false, false);
	assert_true(virtq_should_notify(&f->q));
	virtq_push(&f->q, 0, 0);
	put_le16(ring_mem(&f->vm, AVAIL), VIRTQ_AVAIL_F_NO_INTERRUPT);
	assert_false(virtq_should_notify(&f->q));
	put_le16(ring_mem(&f->vm, AVAIL), 0);
	assert_true(virtq_should_notify(&f->q));
}

/* should_notify after @pushes pushes from used index @old (signalled). */
static bool notify_case(struct fx *f, uint16_t old, unsigned int pushes,
			uint16_t used_event)
{
	f->q.used_idx = old;
	f->q.signalled_used = old;
	f->q.signalled_used_valid = true;
	for (unsigned int i = 0; i < pushes; i++)
		virtq_push(&f->q, 0, 0);
	put_le16(ring_mem(&f->vm, AVAIL + 4 + 2 * f->q.size), used_event);
	return virtq_should_notify(&f->q);
}

static void test_notify_event_idx(void **state)
{
	struct fx *f = *state;

	fresh(f, 8, false, true);
	/* The flags do not count with EVENT_IDX. */
	put_le16(ring_mem(&f->vm, AVAIL), VIRTQ_AVAIL_F_NO_INTERRUPT);
	assert_true(virtq_should_notify(&f->q)); /* nothing signalled yet */
	assert_false(virtq_should_notify(&f->q)); /* nothing new */
	virtq_push(&f->q, 0, 0);
	assert_true(virtq_should_notify(&f->q)); /* used_event 0 passed */
	virtq_push(&f->q, 0, 0);
	assert_false(virtq_should_notify(&f->q)); /* 0 was passed before */
	put_le16(ring_mem(&f->vm, AVAIL + 4 + 16), 2);
	virtq_push(&f->q, 0, 0);
	assert_true(virtq_should_notify(&f->q)); /* 2 -> 3 passes 2 */

	/* used_idx 65534 -> 1 across the wrap: is used_event in [65534, 1)? */
	assert_true(notify_case(f, 65534, 3, 65534));
	assert_true(notify_case(f, 65534, 3, 65535));
	assert_true(notify_case(f, 65534, 3, 0));
	assert_false(notify_case(f, 65534, 3, 1));
	assert_false(notify_case(f, 65534, 3, 2));
	assert_false(notify_case(f, 65534, 3, 65533));
	assert_false(notify_case(f, 65535, 0, 65535)); /* nothing pushed */
	/* After 2^15 pushes without a check, the old index is ambiguous. */
	assert_false(notify_case(f, 0, 32767, 40000));
	assert_true(notify_case(f, 0, 32768, 40000));
}

static void test_set_notify_flags(void **state)
{
	struct fx *f = *state;

	fresh(f, 8, false, false);
	assert_false(virtq_set_notify(&f->q, false));
	assert_int_equal(get_le16(ring_mem(&f->vm, USED)),
			 VIRTQ_USED_F_NO_NOTIFY);
	assert_false(virtq_set_notify(&f->q, true));
	assert_int_equal(get_le16(ring_mem(&f->vm, USED)), 0);
	ring_avail_add(&f->q, 0);
	assert_true(virtq_set_notify(&f->q, true));
	assert_int_equal(get_le16(ring_mem(&f->vm, USED + 4 + 8 * 8)), 0);
}

static void test_set_notify_event_idx(void **state)
{
	struct fx *f = *state;
	uint8_t *avail_event = ring_mem(&f->vm, USED + 4 + 8 * 8);

	fresh(f, 8, false, true);
	ring_desc(&f->vm, DESC, 0, BUF, 1, 0, 0);
	ring_avail_add(&f->q, 0);
	ring_avail_add(&f->q, 0);
	assert_int_equal(pop(f, 64), 1);
	assert_int_equal(pop(f, 64), 1);
	assert_int_equal(get_le16(avail_event), 2); /* pop moves it */
	assert_false(virtq_set_notify(&f->q, false));
	assert_int_equal(get_le16(ring_mem(&f->vm, USED)),
			 0); /* flags unused */
	assert_int_equal(get_le16(avail_event), 2);
	ring_avail_add(&f->q, 0);
	assert_int_equal(pop(f, 64), 1);
	assert_int_equal(get_le16(avail_event), 2); /* off: left behind */
	ring_avail_add(&f->q, 0);
	assert_true(virtq_set_notify(&f->q, true)); /* one is waiting */
	assert_int_equal(get_le16(avail_event), 4); /* the driver's index */
	assert_int_equal(pop(f, 64), 1);
	assert_int_equal(get_le16(avail_event), 4);
	assert_false(virtq_set_notify(&f->q, true));
	assert_int_equal(get_le16(ring_mem(&f->vm, USED)), 0);
}

static void test_has_avail(void **state)
{
	struct fx *f = *state;

	fresh(f, 8, false, false);
	assert_false(virtq_has_avail(&f->q));
	ring_desc(&f->vm, DESC, 0, BUF, 1, 0, 0);
	ring_avail_add(&f->q, 0);
	assert_true(virtq_has_avail(&f->q));
	assert_true(virtq_has_avail(&f->q)); /* looking does not take */
	assert_int_equal(pop(f, 64), 1);
	assert_false(virtq_has_avail(&f->q));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_good_chain),
		T(test_indirect_chain),
		T(test_direct_then_indirect),
		T(test_indirect_then_direct),
		T(test_loop),
		T(test_loop_past_max_iov),
		T(test_indirect_loop),
		T(test_chain_longer_than_queue),
		T(test_next_out_of_range),
		T(test_head_out_of_range),
		T(test_indirect_next_out_of_range),
		T(test_buffer_bounds),
		T(test_zero_length_in_chain),
		cmocka_unit_test_setup_teardown(test_total_length_limit,
						setup_4g, teardown),
		T(test_readable_after_writable),
		T(test_readable_after_writable_indirect),
		T(test_indirect_not_negotiated),
		T(test_nested_indirect),
		T(test_indirect_table_bad),
		T(test_max_iov),
		T(test_broken_sticks),
		T(test_avail_jump),
		T(test_avail_full_and_wrap),
		T(test_start_rings),
		T(test_push),
		T(test_not_started),
		T(test_notify_flags),
		T(test_notify_event_idx),
		T(test_set_notify_flags),
		T(test_set_notify_event_idx),
		T(test_has_avail),
	};

	return cmocka_run_group_tests_name("virtqueue", tests, NULL, NULL);
}
