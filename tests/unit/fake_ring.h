/* SPDX-License-Identifier: MIT */
/*
 * The driver's side of a split virtqueue, built by hand in real guest RAM
 * for unit tests of the device side (virtqueues, virtio-net, virtio-rng).
 */
#ifndef TESTS_UNIT_FAKE_RING_H
#define TESTS_UNIT_FAKE_RING_H

#include <stdint.h>

struct vm;
struct virtq;

/* Host pointer to guest-physical @gpa; fails the test if outside RAM. */
uint8_t *ring_mem(struct vm *vm, uint64_t gpa);
/* Write descriptor @i of the table at @table. */
void ring_desc(struct vm *vm, uint64_t table, unsigned int i, uint64_t addr,
	       uint32_t len, uint16_t flags, uint16_t next);
/* Publish chain @head in @q's avail ring, as a driver would. */
void ring_avail_add(struct virtq *q, uint16_t head);
/* The device's used-ring entry @slot of @q: the chain's head and length. */
uint32_t ring_used_id(struct virtq *q, unsigned int slot);
uint32_t ring_used_len(struct virtq *q, unsigned int slot);

#endif
