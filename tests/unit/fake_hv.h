/* SPDX-License-Identifier: MIT */
/* The fake backend's controls and records, for unit tests. */
#ifndef TESTS_UNIT_FAKE_HV_H
#define TESTS_UNIT_FAKE_HV_H

#include <stdbool.h>
#include <stddef.h>

#include "vmm/hv.h"
#include "vmm/regs_x86_64.h"

#define FAKE_HV_MAX_EXITS 16
#define FAKE_HV_IRQS 24
#define FAKE_HV_VCPUS 4

struct fake_hv_state {
	struct vm_exit exits[FAKE_HV_MAX_EXITS]; /* script for every vCPU */
	size_t nr_exits;
	int fail_vm_create;
	bool pvm;
	/* records */
	unsigned int runs, kicks, dumps, maps, boot_set, msis;
	bool irq_level[FAKE_HV_IRQS];
	/* guest debugging (gdb stub tests): caps offered, last setting */
	unsigned int debug_caps;
	unsigned int debug_sets;
	struct x86_debug debug[FAKE_HV_VCPUS];
};

extern struct fake_hv_state fake_hv;

/* Clear the script and the records. */
void fake_hv_reset(void);

#endif
