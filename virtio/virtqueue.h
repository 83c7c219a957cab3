/* SPDX-License-Identifier: MIT */
/*
 * Split virtqueues (virtio 1.x, section 2.7) on the device side: chains of
 * descriptors turned into iovecs through the checked gpa->hva translation,
 * used-ring updates, and notification suppression (EVENT_IDX or flags).
 *
 * The guest is hostile: a loop, a chain longer than the queue, nested
 * indirect tables, a readable descriptor after a writable one, an address
 * outside RAM or a length that overflows makes the queue *broken*: the
 * reason is logged once, virtq_pop() and virtq_start() fail with -EIO, the
 * other calls do nothing, and the transport sets NEEDS_RESET. Only
 * virtq_reset() clears it.
 *
 * A chain is zero or more direct descriptors, optionally ending in one
 * INDIRECT descriptor (without NEXT) whose table holds the rest (spec
 * 2.7.5.3.2). Every buffer descriptor becomes one iovec, zero-length ones
 * included; each must lie inside one RAM region.
 *
 * One device thread per queue; the guest is the only concurrent party.
 */
#ifndef VIRTIO_VIRTQUEUE_H
#define VIRTIO_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

struct vm;

#define VIRTQ_MAX_SIZE 32768 /* the spec's limit for split queues */

/* Descriptor flags and ring flags from the spec. */
#define VIRTQ_DESC_F_NEXT 1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_DESC_F_INDIRECT 4
#define VIRTQ_USED_F_NO_NOTIFY 1
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1

struct virtq {
	struct vm *vm;
	/* Set by the transport from the guest's queue registers. */
	uint16_t size; /* power of two, <= VIRTQ_MAX_SIZE */
	uint64_t desc_gpa, avail_gpa, used_gpa;
	bool event_idx; /* VIRTIO_F_EVENT_IDX negotiated */
	bool indirect; /* VIRTIO_F_INDIRECT_DESC negotiated */
	/* Device state. */
	bool ready; /* virtq_start() succeeded */
	bool broken;
	uint16_t last_avail; /* next avail index to take */
	uint16_t used_idx; /* next used index to write (shadow) */
	uint16_t signalled_used; /* used_idx at the last interrupt (EVENT_IDX) */
	bool signalled_used_valid;
	bool no_notify; /* virtq_set_notify(false) in force */
	/* Host pointers to the rings, checked once at virtq_start(). */
	void *desc, *avail, *used;
};

/* One popped request: device-readable iovecs first, then writable ones. */
struct virtq_elem {
	uint16_t head; /* descriptor index to hand back in virtq_push() */
	unsigned int out_num; /* iov[0 .. out_num) readable by the device */
	unsigned int in_num; /* iov[out_num .. out_num + in_num) writable */
	uint64_t out_len, in_len; /* total bytes of each part */
	struct iovec *iov; /* caller's array, see virtq_pop() */
};

/*
 * Check the ring addresses (alignment, inside RAM for @q->size entries)
 * and take host pointers to them. -EINVAL (queue broken) if they are bad,
 * -EIO if the queue already is. Indices start from where virtq_reset() or
 * a zeroed struct left them.
 */
int virtq_start(struct virtq *q);

/*
 * Forget all device state (guest reset or queue reset): not ready, not
 * broken, indices 0. Keeps @q->vm and the fields the transport sets.
 */
void virtq_reset(struct virtq *q);

/*
 * Take the next available chain into @elem, using at most @max_iov
 * entries of @iov (a chain needing more is an error, as is a chain of
 * more descriptors than the queue size). Returns 1 with a request, 0 when
 * the ring is empty or the queue not started, -EIO when the queue is
 * (now) broken; the first breakage is logged once with the reason. @elem
 * is only meaningful after 1. With EVENT_IDX (and notifications on) it
 * also moves avail_event past the popped chain, so the driver keeps
 * kicking even if the device never calls virtq_set_notify().
 */
int virtq_pop(struct virtq *q, struct virtq_elem *elem, struct iovec *iov,
	      unsigned int max_iov);

/*
 * Return chain @head with @len bytes written into its writable part: one
 * used-ring entry, published with a release barrier before the index.
 * @len must not exceed the chain's in_len (the driver trusts it).
 */
void virtq_push(struct virtq *q, uint16_t head, uint32_t len);

/*
 * Whether the driver wants an interrupt for what was pushed since the last
 * time this returned true (EVENT_IDX: used_event; else NO_INTERRUPT flag).
 * Call after virtq_push()es, before signalling. Full barrier inside.
 */
bool virtq_should_notify(struct virtq *q);

/*
 * Ask the driver for notifications (true) or not (false): VIRTQ_USED_F_
 * NO_NOTIFY, or avail_event with EVENT_IDX. After enabling, the caller
 * must check for available buffers again (returns virtq_has_avail(), with
 * a full barrier before it) to close the race with a driver that added
 * one meanwhile.
 */
bool virtq_set_notify(struct virtq *q, bool enable);

/*
 * Give the last @n popped chains back unused, to be popped again: for a
 * device that needs several chains at once and found too few. Nothing
 * may have been pushed for them.
 */
void virtq_unpop(struct virtq *q, uint16_t n);

/* The driver's avail->idx now (to see whether it added buffers since). */
uint16_t virtq_avail_idx(struct virtq *q);

/* True if the driver has made buffers available we have not popped. */
bool virtq_has_avail(struct virtq *q);

#endif
