/* SPDX-License-Identifier: MIT */
/*
 * A PS/2 controller with no keyboard or mouse behind it: enough for Linux's
 * i8042 driver to probe quickly, and the 0xFE pulse that resets the machine
 * (reboot=k). Registered as ports 0x60..0x64 (0x61 belongs to the PIT).
 */
#ifndef VMM_I8042_H
#define VMM_I8042_H

#include <stdint.h>

#include "vmm/bus.h"

#define I8042_BASE 0x60
#define I8042_LEN 5

struct vm;
struct i8042;

extern const struct bus_ops i8042_bus_ops;

/* Create a controller whose reset line calls vm_guest_reset(@vm). */
int i8042_create(struct vm *vm, struct i8042 **out);
/* Free it. NULL is allowed. */
void i8042_destroy(struct i8042 *kbc);

#endif
