// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: a hostile driver's split virtqueue. The input is a
 * 4-byte header (queue size, features, max_iov, ring shift) and then
 * the bytes of the descriptor table, the avail ring and any indirect
 * tables, copied into guest RAM at RING_BASE (seed_virtqueue.py shows the
 * layout). The device pops until the ring is empty or broken, pushing
 * every request back and asking whether to notify, like virtio-blk does.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "virtio/virtqueue.h"
#include "vmm/log.h"
#include "vmm/vm.h"

#define RAM_SIZE (16 << 20) /* the smallest VM vm_init() allows */
#define RING_BASE 0x1000 /* descriptor table, then avail ring, then tables */
#define RING_AREA 0x10000 /* input bytes copied there, at most */
#define USED_BASE 0x20000 /* device-written only: not from the input */

#define F_INDIRECT 1
#define F_EVENT_IDX 2
#define F_TOGGLE_NOTIFY 4 /* disable/enable notifications between pops */
#define F_MOVE_RINGS 8 /* misplace the rings by header byte 3 */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Place the rings as seed_virtqueue.py does, or misplaced on request. */
static void rings_place(struct virtq *q, uint8_t flags, uint8_t shift)
{
	q->desc_gpa = RING_BASE;
	q->avail_gpa = RING_BASE + 16 * (uint64_t)q->size;
	q->used_gpa = USED_BASE;
	if (!(flags & F_MOVE_RINGS))
		return;
	q->desc_gpa += shift & 15;
	q->avail_gpa += (shift >> 4) & 1;
	q->used_gpa = RAM_SIZE - (uint64_t)shift * 8;
}

/* What virtq_pop() promised: iovecs inside RAM, counts and sums right. */
static void elem_check(const struct vm *vm, const struct virtq_elem *e,
		       unsigned int max_iov)
{
	uint64_t out = 0, in = 0;

	if (e->out_num + e->in_num > max_iov || e->out_len > UINT32_MAX ||
	    e->in_len > UINT32_MAX)
		__builtin_trap();
	for (unsigned int i = 0; i < e->out_num + e->in_num; i++) {
		const uint8_t *p = e->iov[i].iov_base;
		size_t len = e->iov[i].iov_len;

		if (p < vm->ram || len > RAM_SIZE ||
		    (size_t)(p - vm->ram) > RAM_SIZE - len)
			__builtin_trap();
		*(i < e->out_num ? &out : &in) += len;
	}
	if (out != e->out_len || in != e->in_len)
		__builtin_trap();
}

/* The device side: pop everything, push it back, decide on interrupts. */
static void device_run(struct vm *vm, struct virtq *q, uint8_t flags,
		       unsigned int max_iov)
{
	struct iovec *iov = calloc(max_iov ? max_iov : 1, sizeof(*iov));
	struct virtq_elem e;
	unsigned int n = 0;

	if (!iov)
		return;
	while (virtq_pop(q, &e, iov, max_iov) > 0) {
		elem_check(vm, &e, max_iov);
		virtq_push(q, e.head, (uint32_t)e.in_len);
		if (flags & F_TOGGLE_NOTIFY)
			virtq_set_notify(q, n & 1);
		virtq_should_notify(q);
		/* At most one pop per ring slot before the ring is empty. */
		if (++n > q->size)
			__builtin_trap();
	}
	virtq_set_notify(q, true);
	virtq_has_avail(q);
	free(iov);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vm vm;
	static bool ready;
	struct virtq q = { .vm = &vm };
	size_t body;

	if (!ready) {
		log_set_level(LOG_OFF);
		if (vm_init(&vm, RAM_SIZE))
			return 0;
		ready = true;
	}
	if (size < 4)
		return 0;
	body = size - 4 < RING_AREA ? size - 4 : RING_AREA;
	memset(vm.ram + RING_BASE, 0, RING_AREA);
	memcpy(vm.ram + RING_BASE, data + 4, body);
	/* A power of two up to 256, or (rarely) any size below 16. */
	q.size = data[0] < 0xf0 ? (uint16_t)(1u << (data[0] % 9)) :
				  data[0] & 15;
	q.indirect = data[1] & F_INDIRECT;
	q.event_idx = data[1] & F_EVENT_IDX;
	rings_place(&q, data[1], data[3]);
	if (virtq_start(&q) == 0)
		device_run(&vm, &q, data[1], data[2]);
	virtq_reset(&q);
	if (virtq_pop(&q, &(struct virtq_elem){ 0 }, NULL, 0) != 0)
		__builtin_trap(); /* not started after a reset */
	return 0;
}
