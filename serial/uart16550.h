/* SPDX-License-Identifier: MIT */
/*
 * A 16550A UART (8 registers) behind the generic bus_ops, so it serves x86
 * ports and MMIO alike. Linux drives it with interrupts: RX data and THR
 * empty raise the pin given at creation (level semantics: the pin is high
 * while IIR reports a pending interrupt).
 */
#ifndef SERIAL_UART16550_H
#define SERIAL_UART16550_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/irq.h"

#define UART_NR_REGS 8
#define UART_FIFO_SIZE 16

/* Where transmitted bytes go; write == NULL discards them (unwired port). */
struct uart_sink {
	void (*write)(void *opaque, const uint8_t *buf, size_t len);
	void *opaque;
};

struct uart;

/* Bus handlers; the opaque pointer is the struct uart. */
extern const struct bus_ops uart_bus_ops;

/* Create a UART in its power-on state. Returns 0 or -errno. */
int uart_create(struct uart **out, const char *name, struct irq_pin irq,
		struct uart_sink sink);
/* Free a UART created by uart_create(). NULL is allowed. */
void uart_destroy(struct uart *uart);
/*
 * Host to guest: queue up to @len received bytes in the RX FIFO and raise
 * the interrupt if enabled. Returns how many were accepted (0 when full);
 * the caller retries the rest later, nothing is dropped silently.
 */
size_t uart_receive(struct uart *uart, const uint8_t *buf, size_t len);
/* Free space in the RX FIFO, for a caller that wants to wait for room. */
size_t uart_rx_space(struct uart *uart);
/* Signal a break condition (LSR.BI), which Linux turns into Magic SysRq. */
void uart_send_break(struct uart *uart);

#endif
