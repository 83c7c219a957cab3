/* SPDX-License-Identifier: MIT */
/*
 * virtio-rng (virtio 1.x, 5.4): the guest's hw_random source, fed from
 * the host's getrandom(), so guest boots never wait for entropy.
 */
#ifndef VIRTIO_RNG_H
#define VIRTIO_RNG_H

#include <stdint.h>

struct vm;
struct pci_bus;
struct virtq;
struct rng;

/* Plug a virtio-rng device into @bus. 0/-errno, logged. */
int rng_create(struct vm *vm, struct pci_bus *bus, struct rng **out);
/*
 * Stop and free the device (after the vCPUs stopped); the bytes the guest
 * took in all go to @bytes unless NULL.
 */
void rng_destroy(struct rng *r, uint64_t *bytes);

/*
 * Serve every chain available on @vq with random bytes in its writable
 * part; returns chains served, or -EIO if the queue is broken.
 */
int rng_serve(struct virtq *vq, uint64_t *bytes);

#endif
