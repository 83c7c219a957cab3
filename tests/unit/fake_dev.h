/* SPDX-License-Identifier: MIT */
/* A bus device for unit tests that records its last access. */
#ifndef TESTS_UNIT_FAKE_DEV_H
#define TESTS_UNIT_FAKE_DEV_H

#include <stdint.h>

#include "vmm/bus.h"

struct fake_dev {
	int id;
	unsigned int reads, writes;
	uint64_t off;
	uint32_t len;
	uint8_t data[8]; /* the last bytes written */
};

/* Reads return id * 16 + offset + i; writes are recorded. */
extern const struct bus_ops fake_dev_ops;

#endif
