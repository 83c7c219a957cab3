/* SPDX-License-Identifier: MIT */
/* The fake backend's controls and records, for unit tests. */
#ifndef TESTS_UNIT_FAKE_HV_H
#define TESTS_UNIT_FAKE_HV_H

#include <stdbool.h>
#include <stddef.h>

#include "vmm/hv.h"

#define FAKE_HV_MAX_EXITS 16
#define FAKE_HV_IRQS 24

struct fake_hv_state {
	struct vm_exit exits[FAKE_HV_MAX_EXITS]; /* script for every vCPU */
	size_t nr_exits;
	int fail_vm_create;
	bool pvm;
	/* records */
	unsigned int runs, kicks, dumps, maps, boot_set, msis;
	bool irq_level[FAKE_HV_IRQS];
};

extern struct fake_hv_state fake_hv;

/* Clear the script and the records. */
void fake_hv_reset(void);

#endif
