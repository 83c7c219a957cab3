// SPDX-License-Identifier: MIT
/*
 * virtio-rng's queue service against rings built by hand in real guest
 * RAM: writable buffers filled with random bytes, used lengths, the byte
 * counter, chains with nothing to fill and a broken queue.
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
#include "virtio/rng.h"
#include "virtio/virtqueue.h"
#include "vmm/le.h"
#include "vmm/vm.h"

#define RAM_SIZE (16ULL << 20)
#define DESC 0x10000ULL
#define AVAIL 0x11000ULL
#define USED 0x12000ULL
#define BUF 0x100000ULL

#define W VIRTQ_DESC_F_WRITE
#define N VIRTQ_DESC_F_NEXT

struct fx {
	struct vm vm;
	struct virtq q;
};

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f || vm_init(&f->vm, RAM_SIZE)) {
		free(f);
		return -1;
	}
	f->q.vm = &f->vm;
	f->q.size = 8;
	f->q.desc_gpa = DESC;
	f->q.avail_gpa = AVAIL;
	f->q.used_gpa = USED;
	assert_int_equal(virtq_start(&f->q), 0);
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

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* Two writable descriptors in one chain, both filled. */
static void test_fill_chain(void **state)
{
	struct fx *f = *state;
	uint64_t bytes = 5;

	ring_desc(&f->vm, DESC, 2, BUF, 100, W | N, 6);
	ring_desc(&f->vm, DESC, 6, BUF + 0x1000, 300, W, 0);
	memset(ring_mem(&f->vm, BUF + 100), 0xaa, 16);
	memset(ring_mem(&f->vm, BUF + 0x1000 + 300), 0xaa, 16);
	ring_avail_add(&f->q, 2);
	assert_int_equal(rng_serve(&f->q, &bytes), 1);
	assert_int_equal(bytes, 5 + 400);
	assert_int_equal(get_le16(ring_mem(&f->vm, USED + 2)), 1);
	assert_int_equal(ring_used_id(&f->q, 0), 2);
	assert_int_equal(ring_used_len(&f->q, 0), 400);
	/* 100 and 300 random bytes are not all zero (2^-800, 2^-2400). */
	assert_false(all_zero(ring_mem(&f->vm, BUF), 100));
	assert_false(all_zero(ring_mem(&f->vm, BUF + 0x1000), 300));
	/* Nothing written past the buffers. */
	assert_true(ring_mem(&f->vm, BUF + 100)[0] == 0xaa);
	assert_true(ring_mem(&f->vm, BUF + 0x1000 + 300)[15] == 0xaa);
	/* Nothing more to serve. */
	assert_int_equal(rng_serve(&f->q, &bytes), 0);
	assert_int_equal(bytes, 405);
}

/* Every available chain is served in one call; two fills differ. */
static void test_several_chains(void **state)
{
	struct fx *f = *state;
	uint64_t bytes = 0;

	ring_desc(&f->vm, DESC, 0, BUF, 64, W, 0);
	ring_desc(&f->vm, DESC, 1, BUF + 0x1000, 64, W, 0);
	ring_desc(&f->vm, DESC, 2, BUF + 0x2000, 1, W, 0);
	ring_avail_add(&f->q, 0);
	ring_avail_add(&f->q, 1);
	ring_avail_add(&f->q, 2);
	assert_int_equal(rng_serve(&f->q, &bytes), 3);
	assert_int_equal(bytes, 129);
	assert_int_equal(get_le16(ring_mem(&f->vm, USED + 2)), 3);
	assert_int_equal(ring_used_len(&f->q, 0), 64);
	assert_int_equal(ring_used_len(&f->q, 1), 64);
	assert_int_equal(ring_used_len(&f->q, 2), 1);
	assert_memory_not_equal(ring_mem(&f->vm, BUF),
				ring_mem(&f->vm, BUF + 0x1000), 64);
	assert_false(virtq_has_avail(&f->q));
}

/* A readable part is left alone; only the writable part counts. */
static void test_readable_prefix(void **state)
{
	struct fx *f = *state;
	uint64_t bytes = 0;

	memset(ring_mem(&f->vm, BUF), 0x11, 32);
	ring_desc(&f->vm, DESC, 0, BUF, 32, N, 1);
	ring_desc(&f->vm, DESC, 1, BUF + 0x1000, 48, W, 0);
	ring_avail_add(&f->q, 0);
	assert_int_equal(rng_serve(&f->q, &bytes), 1);
	assert_int_equal(bytes, 48);
	assert_int_equal(ring_used_len(&f->q, 0), 48);
	for (unsigned int i = 0; i < 32; i++)
		assert_int_equal(ring_mem(&f->vm, BUF)[i], 0x11);
}

/* Nothing writable: served with length 0, nothing written. */
static void test_readable_only(void **state)
{
	struct fx *f = *state;
	uint64_t bytes = 7;

	memset(ring_mem(&f->vm, BUF), 0x11, 64);
	ring_desc(&f->vm, DESC, 4, BUF, 64, 0, 0);
	ring_avail_add(&f->q, 4);
	/* A zero-length writable buffer is no different. */
	ring_desc(&f->vm, DESC, 5, BUF + 0x1000, 0, W, 0);
	ring_avail_add(&f->q, 5);
	assert_int_equal(rng_serve(&f->q, &bytes), 2);
	assert_int_equal(bytes, 7);
	assert_int_equal(get_le16(ring_mem(&f->vm, USED + 2)), 2);
	assert_int_equal(ring_used_id(&f->q, 0), 4);
	assert_int_equal(ring_used_len(&f->q, 0), 0);
	assert_int_equal(ring_used_id(&f->q, 1), 5);
	assert_int_equal(ring_used_len(&f->q, 1), 0);
	for (unsigned int i = 0; i < 64; i++)
		assert_int_equal(ring_mem(&f->vm, BUF)[i], 0x11);
}

/* A huge buffer gets at most 64 KiB per chain. */
static void test_chunk_limit(void **state)
{
	struct fx *f = *state;
	uint64_t bytes = 0;

	memset(ring_mem(&f->vm, BUF + 0x10000), 0xaa, 0x10000);
	ring_desc(&f->vm, DESC, 0, BUF, 0x8000, W | N, 1);
	ring_desc(&f->vm, DESC, 1, BUF + 0x8000, 0x20000, W, 0);
	ring_avail_add(&f->q, 0);
	assert_int_equal(rng_serve(&f->q, &bytes), 1);
	assert_int_equal(bytes, 0x10000);
	assert_int_equal(ring_used_len(&f->q, 0), 0x10000);
	/* The rest of the second buffer is untouched. */
	for (unsigned int i = 0; i < 0x10000; i++)
		if (ring_mem(&f->vm, BUF + 0x10000)[i] != 0xaa)
			fail_msg("byte %u past the 64 KiB limit written", i);
}

/* A loop breaks the queue: -EIO, now and later. */
static void test_broken(void **state)
{
	struct fx *f = *state;
	uint64_t bytes = 0;

	ring_desc(&f->vm, DESC, 0, BUF, 16, W, 0);
	ring_desc(&f->vm, DESC, 1, BUF, 16, W | N, 1);
	ring_avail_add(&f->q, 0);
	ring_avail_add(&f->q, 1);
	capture_start();
	assert_int_equal(rng_serve(&f->q, &bytes), -EIO);
	assert_logged("descriptor loop");
	/* The good chain before it was served. */
	assert_int_equal(bytes, 16);
	assert_int_equal(get_le16(ring_mem(&f->vm, USED + 2)), 1);
	assert_true(f->q.broken);
	assert_int_equal(rng_serve(&f->q, &bytes), -EIO);
	assert_int_equal(bytes, 16);
}

/* A queue never started serves nothing. */
static void test_not_started(void **state)
{
	struct fx *f = *state;
	uint64_t bytes = 0;

	ring_desc(&f->vm, DESC, 0, BUF, 16, W, 0);
	ring_avail_add(&f->q, 0);
	virtq_reset(&f->q);
	assert_int_equal(rng_serve(&f->q, &bytes), 0);
	assert_int_equal(bytes, 0);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_fill_chain),	 T(test_several_chains),
		T(test_readable_prefix), T(test_readable_only),
		T(test_chunk_limit),	 T(test_broken),
		T(test_not_started),
	};

	return cmocka_run_group_tests_name("rng", tests, NULL, NULL);
}
