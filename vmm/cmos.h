/* SPDX-License-Identifier: MIT */
/*
 * MC146818 CMOS RTC at ports 0x70/0x71: the host's wall-clock time in BCD,
 * 24-hour mode, plus 128 bytes of CMOS memory. No alarms, no periodic IRQ.
 */
#ifndef VMM_CMOS_H
#define VMM_CMOS_H

#include <stdint.h>
#include <time.h>

#include "vmm/bus.h"

#define CMOS_BASE 0x70
#define CMOS_LEN 2

struct cmos;

extern const struct bus_ops cmos_bus_ops;

/* Create the RTC; @ram_size fills the memory-size bytes firmware would. */
int cmos_create(uint64_t ram_size, struct cmos **out);
/* Free it. NULL is allowed. */
void cmos_destroy(struct cmos *cmos);
/* Test hook: use @clock instead of time(NULL) (NULL restores it). */
void cmos_set_clock(struct cmos *cmos, time_t (*clock)(void));

#endif
