// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: a guest hammering the UART registers while the host
 * feeds input and breaks. Each input byte pair is one operation.
 */
#include <stddef.h>
#include <stdint.h>

#include "serial/uart16550.h"
#include "vmm/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int fake_irq(void *opaque, unsigned int irq, bool level)
{
	return 0;
}

static void fake_sink(void *opaque, const uint8_t *buf, size_t len)
{
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct irq_pin pin = { fake_irq, NULL, 4 };
	struct uart_sink sink = { fake_sink, NULL };
	struct uart *uart;

	log_set_level(LOG_OFF);
	if (uart_create(&uart, "fuzz", pin, sink))
		return 0;
	for (size_t i = 0; i + 1 < size; i += 2) {
		uint8_t op = data[i], val = data[i + 1];
		uint8_t buf[8] = { val, val, val, val, val, val, val, val };
		uint32_t len = 1u << ((op >> 4) & 3);

		switch (op >> 6) {
		case 0:
			uart_bus_ops.read(uart, op & 7, buf, len);
			break;
		case 1:
			uart_bus_ops.write(uart, op & 7, buf, len);
			break;
		case 2:
			uart_receive(uart, &val, 1);
			break;
		default:
			uart_send_break(uart);
		}
	}
	uart_destroy(uart);
	return 0;
}
