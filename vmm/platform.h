/* SPDX-License-Identifier: MIT */
/* The legacy PC devices every x86 Linux guest touches, wired to a VM. */
#ifndef VMM_PLATFORM_H
#define VMM_PLATFORM_H

#include "serial/uart16550.h"

struct vm;
struct platform;

/*
 * Create and register COM1 (0x3f8, IRQ 4, output to @sink), COM2-4 (present
 * but not wired), the i8042, the CMOS RTC, the POST/delay ports and the
 * ACPI PM1 blocks.
 */
int platform_create(struct vm *vm, struct uart_sink sink,
		    struct platform **out);
/* Free the devices (after the vCPUs have stopped). NULL is allowed. */
void platform_destroy(struct platform *p);
/* COM1, where console input goes. */
struct uart *platform_console_uart(struct platform *p);

#endif
