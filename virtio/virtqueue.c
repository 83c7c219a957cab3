// SPDX-License-Identifier: MIT
/*
 * Split virtqueues, device side (virtio 1.x, 2.7). The guest writes the
 * rings while we read them, so every guest-owned field is read exactly
 * once (an atomic load for ring fields, a volatile copy for descriptors)
 * and only the local copy is checked and used: a racing guest can make us
 * see a wrong value, never pass a check with one value and use another.
 */
#include "virtio/virtqueue.h"

#include <endian.h>
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>

#include "vmm/le.h"
#include "vmm/log.h"
#include "vmm/vm.h"

#define DESC_SIZE 16

/* Byte offsets into the rings (spec 2.7.5, 2.7.6, 2.7.8). */
#define AVAIL_FLAGS 0
#define AVAIL_IDX 2
#define AVAIL_RING(i) (4 + 2 * (size_t)(i)) /* ring[size] is used_event */
#define USED_FLAGS 0
#define USED_IDX 2
#define USED_RING(i) (4 + 8 * (size_t)(i)) /* ring[size] is avail_event */

/* One descriptor, copied out of guest memory. */
struct desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags, next;
};

/* What one virtq_pop() collects while it walks a chain. */
struct walk {
	struct virtq *q;
	struct virtq_elem *elem;
	unsigned int max_iov;
	unsigned int n; /* buffers seen; iov[] is filled while n <= max_iov */
};

/*
 * Ring fields are naturally aligned: virtq_start() checked the ring
 * addresses, and guest RAM regions start page-aligned in one mapping, so
 * host pointers share the guest alignment and atomic accesses are legal.
 */
static uint16_t ring_get16(const void *ring, size_t off)
{
	const uint16_t *p = (const uint16_t *)((const uint8_t *)ring + off);

	return le16toh(__atomic_load_n(p, __ATOMIC_RELAXED));
}

static void ring_put16(void *ring, size_t off, uint16_t v)
{
	uint16_t *p = (uint16_t *)((uint8_t *)ring + off);

	__atomic_store_n(p, htole16(v), __ATOMIC_RELAXED);
}

static void ring_put32(void *ring, size_t off, uint32_t v)
{
	uint32_t *p = (uint32_t *)((uint8_t *)ring + off);

	__atomic_store_n(p, htole32(v), __ATOMIC_RELAXED);
}

/* Linux's vring_need_event(): did [old, new) pass @event? (mod 2^16) */
static bool need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx)
{
	return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_idx);
}

/* Mark @q broken; only the first reason is logged. Returns -EIO. */
static int virtq_fail(struct virtq *q, const char *why)
{
	if (!q->broken)
		log_warn("virtqueue: %s (avail index %u, queue size %u); "
			 "queue stopped until the driver resets it",
			 why, q->last_avail, q->size);
	q->broken = true;
	return -EIO;
}

/* Check the ring layout and take host pointers; NULL or why not. */
static const char *rings_map(struct virtq *q)
{
	uint64_t n = q->size;

	if (!n || n > VIRTQ_MAX_SIZE || (n & (n - 1)))
		return "queue size is not a power of two up to 32768";
	if (q->desc_gpa % 16 || q->avail_gpa % 2 || q->used_gpa % 4)
		return "misaligned ring address";
	/* Whole rings, event fields included, whatever was negotiated. */
	q->desc = vm_gpa_to_hva(q->vm, q->desc_gpa, DESC_SIZE * n);
	q->avail = vm_gpa_to_hva(q->vm, q->avail_gpa, AVAIL_RING(n) + 2);
	q->used = vm_gpa_to_hva(q->vm, q->used_gpa, USED_RING(n) + 2);
	if (!q->desc || !q->avail || !q->used)
		return "ring outside guest RAM";
	return NULL;
}

int virtq_start(struct virtq *q)
{
	const char *err;

	if (q->broken)
		return -EIO;
	err = rings_map(q);
	if (err) {
		virtq_fail(q, err);
		return -EINVAL;
	}
	q->ready = true;
	return 0;
}

void virtq_reset(struct virtq *q)
{
	q->ready = false;
	q->broken = false;
	q->last_avail = 0;
	q->used_idx = 0;
	q->signalled_used = 0;
	q->signalled_used_valid = false;
	q->no_notify = false;
	q->desc = q->avail = q->used = NULL;
}

/*
 * Copy descriptor @i of @table byte by byte through a volatile pointer:
 * the compiler may not fetch guest memory again after our checks, and an
 * indirect table need not be aligned.
 */
static void desc_read(struct desc *d, const uint8_t *table, uint32_t i)
{
	const volatile uint8_t *src = table + (size_t)i * DESC_SIZE;
	uint8_t b[DESC_SIZE];

	for (size_t k = 0; k < DESC_SIZE; k++)
		b[k] = src[k];
	d->addr = get_le64(b);
	d->len = get_le32(b + 8);
	d->flags = get_le16(b + 12);
	d->next = get_le16(b + 14);
}

/* Append buffer @d to the request as the next iovec; NULL or why not. */
static const char *walk_buffer(struct walk *w, const struct desc *d)
{
	struct virtq_elem *e = w->elem;
	bool writable = d->flags & VIRTQ_DESC_F_WRITE;
	void *hva;

	/* Only an indirect table can get here: a longer direct chain loops. */
	if (++w->n > w->q->size)
		return "chain longer than queue";
	if (!writable && e->in_num)
		return "readable descriptor after a writable one";
	hva = vm_gpa_to_hva(w->q->vm, d->addr, d->len);
	if (!hva)
		return "buffer outside guest RAM";
	/* Past max_iov we keep walking, so a loop is still named a loop. */
	if (w->n <= w->max_iov)
		e->iov[w->n - 1] = (struct iovec){ hva, d->len };
	if (writable) {
		e->in_num++;
		e->in_len += d->len;
	} else {
		e->out_num++;
		e->out_len += d->len;
	}
	/* used.len is 32 bits, and the spec caps a chain below 4 GiB. */
	if (e->in_len > UINT32_MAX || e->out_len > UINT32_MAX)
		return "total length overflows 32 bits";
	return NULL;
}

/* Check indirect descriptor @d and find its table; NULL or why not. */
static const char *walk_indirect(struct walk *w, const struct desc *d,
				 bool nested, const uint8_t **table,
				 uint32_t *entries)
{
	if (!w->q->indirect)
		return "indirect descriptor without VIRTIO_F_INDIRECT_DESC";
	if (nested)
		return "nested indirect table";
	/* The spec forbids INDIRECT with NEXT (2.7.5.3.1): no guessing. */
	if (d->flags & VIRTQ_DESC_F_NEXT)
		return "indirect descriptor with NEXT set";
	if (!d->len)
		return "zero-length indirect table";
	if (d->len % DESC_SIZE)
		return "indirect table length not a multiple of 16";
	*table = vm_gpa_to_hva(w->q->vm, d->addr, d->len);
	if (!*table)
		return "indirect table outside guest RAM";
	*entries = d->len / DESC_SIZE;
	return NULL;
}

/*
 * Walk the chain from @head through the ring's table and, at its end, at
 * most one indirect table. Each table walk stops after as many steps as
 * the table has entries, so a loop cannot hang us.
 */
static const char *walk_chain(struct walk *w, uint16_t head)
{
	const uint8_t *table = w->q->desc;
	uint32_t entries = w->q->size, i = head, seen = 0;
	bool nested = false;
	const char *err;
	struct desc d;

	for (;;) {
		if (i >= entries)
			return "descriptor index out of range";
		if (seen++ == entries)
			return "descriptor loop";
		desc_read(&d, table, i);
		if (d.flags & VIRTQ_DESC_F_INDIRECT) {
			err = walk_indirect(w, &d, nested, &table, &entries);
			if (err)
				return err;
			nested = true;
			i = seen = 0;
			continue;
		}
		err = walk_buffer(w, &d);
		if (err || !(d.flags & VIRTQ_DESC_F_NEXT))
			return err;
		i = d.next;
	}
}

/* The next head the driver made available: 1, 0 if none, or -EIO. */
static int avail_next(struct virtq *q, uint16_t *head)
{
	uint16_t idx = ring_get16(q->avail, AVAIL_IDX);

	if ((uint16_t)(idx - q->last_avail) > q->size)
		return virtq_fail(
			q, "avail index jumped by more than the queue size");
	if (idx == q->last_avail)
		return 0;
	/* Read the ring entry only after the index that published it. */
	atomic_thread_fence(memory_order_acquire);
	*head = ring_get16(q->avail, AVAIL_RING(q->last_avail & (q->size - 1)));
	return 1;
}

/*
 * With EVENT_IDX, tell the driver how far we got so it kicks for the next
 * buffer (as QEMU does). The fence orders this store before our next read
 * of avail->idx; the driver does the mirror image, so one of us sees the
 * other and no kick is lost.
 */
static void avail_event_publish(struct virtq *q)
{
	if (!q->event_idx || q->no_notify)
		return;
	ring_put16(q->used, USED_RING(q->size), q->last_avail);
	atomic_thread_fence(memory_order_seq_cst);
}

int virtq_pop(struct virtq *q, struct virtq_elem *elem, struct iovec *iov,
	      unsigned int max_iov)
{
	struct walk w = { .q = q, .elem = elem, .max_iov = max_iov };
	const char *err;
	uint16_t head;
	int r;

	if (q->broken)
		return -EIO;
	if (!q->ready)
		return 0;
	r = avail_next(q, &head);
	if (r <= 0)
		return r;
	*elem = (struct virtq_elem){ .head = head, .iov = iov };
	err = walk_chain(&w, head);
	if (!err && w.n > max_iov)
		err = "too many descriptors for the request (max_iov)";
	if (err)
		return virtq_fail(q, err);
	q->last_avail++;
	avail_event_publish(q);
	return 1;
}

void virtq_push(struct virtq *q, uint16_t head, uint32_t len)
{
	size_t slot;
	uint16_t next;

	if (!q->ready || q->broken)
		return;
	slot = USED_RING(q->used_idx & (q->size - 1));
	ring_put32(q->used, slot, head);
	ring_put32(q->used, slot + 4, len);
	next = q->used_idx + 1;
	/* The driver may read the element as soon as it sees the index. */
	__atomic_store_n((uint16_t *)((uint8_t *)q->used + USED_IDX),
			 htole16(next), __ATOMIC_RELEASE);
	/*
	 * 2^15 pushes without virtq_should_notify() make signalled_used
	 * ambiguous mod 2^16: notify unconditionally next time (QEMU's rule).
	 */
	if ((uint16_t)(next - q->signalled_used) == 0 ||
	    (uint16_t)(next - q->signalled_used) >= 0x8000)
		q->signalled_used_valid = false;
	q->used_idx = next;
}

bool virtq_should_notify(struct virtq *q)
{
	uint16_t old = q->signalled_used, new_idx = q->used_idx;
	bool valid = q->signalled_used_valid;

	if (!q->ready || q->broken)
		return false;
	/*
	 * Our used->idx store before our read of the driver's flags or
	 * used_event; the driver writes those before it reads used->idx.
	 */
	atomic_thread_fence(memory_order_seq_cst);
	if (!q->event_idx)
		return !(ring_get16(q->avail, AVAIL_FLAGS) &
			 VIRTQ_AVAIL_F_NO_INTERRUPT);
	q->signalled_used = new_idx;
	q->signalled_used_valid = true;
	return !valid || need_event(ring_get16(q->avail, AVAIL_RING(q->size)),
				    new_idx, old);
}

bool virtq_set_notify(struct virtq *q, bool enable)
{
	if (!q->ready || q->broken)
		return false;
	q->no_notify = !enable;
	if (!q->event_idx)
		ring_put16(q->used, USED_FLAGS,
			   enable ? 0 : VIRTQ_USED_F_NO_NOTIFY);
	else if (enable)
		/*
		 * The driver's current index, not ours: after virtq_unpop()
		 * we are behind it, and the driver kicks only when it passes
		 * avail_event (QEMU does the same).
		 */
		ring_put16(q->used, USED_RING(q->size),
			   ring_get16(q->avail, AVAIL_IDX));
	/*
	 * Disabling with EVENT_IDX leaves avail_event where it is: the driver
	 * kicks at most once more. The fence orders our store before the
	 * avail->idx read below (the driver: idx store, fence, our field).
	 */
	atomic_thread_fence(memory_order_seq_cst);
	return virtq_has_avail(q);
}

bool virtq_has_avail(struct virtq *q)
{
	if (!q->ready || q->broken)
		return false;
	return ring_get16(q->avail, AVAIL_IDX) != q->last_avail;
}

void virtq_unpop(struct virtq *q, uint16_t n)
{
	q->last_avail -= n;
}

uint16_t virtq_avail_idx(struct virtq *q)
{
	if (!q->ready || q->broken)
		return q->last_avail;
	return ring_get16(q->avail, AVAIL_IDX);
}
