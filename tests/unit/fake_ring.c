// SPDX-License-Identifier: MIT
/* Hand-built split virtqueue rings for unit tests (see fake_ring.h). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "tests/unit/fake_ring.h"
#include "virtio/virtqueue.h"
#include "vmm/le.h"
#include "vmm/vm.h"

uint8_t *ring_mem(struct vm *vm, uint64_t gpa)
{
	uint8_t *p = vm_gpa_to_hva(vm, gpa, 1);

	assert_non_null(p);
	return p;
}

void ring_desc(struct vm *vm, uint64_t table, unsigned int i, uint64_t addr,
	       uint32_t len, uint16_t flags, uint16_t next)
{
	uint8_t *d = ring_mem(vm, table + 16 * i);

	put_le64(d, addr);
	put_le32(d + 8, len);
	put_le16(d + 12, flags);
	put_le16(d + 14, next);
}

void ring_avail_add(struct virtq *q, uint16_t head)
{
	uint8_t *idx_p = ring_mem(q->vm, q->avail_gpa + 2);
	uint16_t idx = get_le16(idx_p);

	put_le16(ring_mem(q->vm, q->avail_gpa + 4 + 2 * (idx & (q->size - 1))),
		 head);
	put_le16(idx_p, idx + 1);
}

uint32_t ring_used_id(struct virtq *q, unsigned int slot)
{
	return get_le32(ring_mem(q->vm, q->used_gpa + 4 + 8 * slot));
}

uint32_t ring_used_len(struct virtq *q, unsigned int slot)
{
	return get_le32(ring_mem(q->vm, q->used_gpa + 4 + 8 * slot + 4));
}
