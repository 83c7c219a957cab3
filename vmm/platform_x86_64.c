// SPDX-License-Identifier: MIT
#include <errno.h>
#include <stdlib.h>

#include "vmm/acpi_pm.h"
#include "vmm/cmos.h"
#include "vmm/i8042.h"
#include "vmm/layout_x86_64.h"
#include "vmm/log.h"
#include "vmm/platform.h"
#include "vmm/vm.h"

#define PORT_POST 0x80 /* POST codes, and Linux's io_delay */
#define PORT_SYSCTL_A 0x92 /* fast A20 and fast reset */
#define SYSCTL_A20 0x02
#define SYSCTL_RESET 0x01

static const struct {
	uint16_t base;
	uint8_t irq;
	const char *name;
} com_ports[] = {
	{ 0x3f8, 4, "COM1" },
	{ 0x2f8, 3, "COM2" },
	{ 0x3e8, 4, "COM3" },
	{ 0x2e8, 3, "COM4" },
};
#define NR_COM (sizeof(com_ports) / sizeof(com_ports[0]))

struct platform {
	struct vm *vm;
	struct uart *com[NR_COM];
	struct i8042 *kbc;
	struct cmos *rtc;
	struct acpi_pm *pm;
};

static void null_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++)
		data[i] = 0xff;
}

static void null_write(void *opaque, uint64_t off, const uint8_t *data,
		       uint32_t len)
{
}

/* Writes go nowhere, by design (POST codes, delays). */
static const struct bus_ops null_ops = { null_read, null_write };

static void sysctl_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	data[0] = SYSCTL_A20;
	for (uint32_t i = 1; i < len; i++)
		data[i] = 0xff;
}

static void sysctl_write(void *opaque, uint64_t off, const uint8_t *data,
			 uint32_t len)
{
	if (data[0] & SYSCTL_RESET)
		vm_guest_reset(opaque);
}

static const struct bus_ops sysctl_ops = { sysctl_read, sysctl_write };

/* The guest's own verdict: a byte, which becomes the VMM's exit status. */
static void debug_exit_write(void *opaque, uint64_t off, const uint8_t *data,
			     uint32_t len)
{
	log_info("guest wrote exit status %u to the debug-exit port", data[0]);
	vm_request_exit(opaque, data[0]);
}

static const struct bus_ops debug_exit_ops = { null_read, debug_exit_write };

static void boot_timer_write(void *opaque, uint64_t off, const uint8_t *data,
			     uint32_t len)
{
	struct vm *vm = opaque;

	vm_mark_time(&vm->marker_seen, &vm->t_marker);
}

static const struct bus_ops boot_timer_ops = { null_read, boot_timer_write };

/* COM1 gets the console and IRQ 4; the others exist but are not wired. */
static int platform_add_uarts(struct platform *p, struct uart_sink sink)
{
	for (size_t i = 0; i < NR_COM; i++) {
		struct irq_pin none = { 0 };
		struct uart_sink nowhere = { 0 };
		int ret = uart_create(
			&p->com[i], com_ports[i].name,
			i == 0 ? vm_isa_irq(p->vm, com_ports[i].irq) : none,
			i == 0 ? sink : nowhere);

		if (!ret)
			ret = bus_register(&p->vm->pio, com_ports[i].base,
					   UART_NR_REGS, &uart_bus_ops,
					   p->com[i], com_ports[i].name);
		if (ret)
			return ret;
	}
	return 0;
}

static int platform_add_legacy(struct platform *p)
{
	struct bus *pio = &p->vm->pio;
	int ret = i8042_create(p->vm, &p->kbc);

	if (!ret)
		ret = bus_register(pio, I8042_BASE, I8042_LEN, &i8042_bus_ops,
				   p->kbc, "i8042");
	if (!ret)
		ret = cmos_create(p->vm->ram_size, &p->rtc);
	if (!ret)
		ret = bus_register(pio, CMOS_BASE, CMOS_LEN, &cmos_bus_ops,
				   p->rtc, "cmos");
	if (!ret)
		ret = bus_register(pio, PORT_POST, 1, &null_ops, NULL, "post");
	if (!ret)
		ret = bus_register(pio, PORT_SYSCTL_A, 1, &sysctl_ops, p->vm,
				   "sysctl-a");
	if (!ret)
		ret = bus_register(pio, LAYOUT_DEBUG_EXIT_PORT, 1,
				   &debug_exit_ops, p->vm, "debug-exit");
	if (!ret)
		ret = bus_register(pio, LAYOUT_BOOT_TIMER_PORT, 1,
				   &boot_timer_ops, p->vm, "boot-timer");
	return ret;
}

/* The PM1 blocks the FADT names: how an ACPI guest powers off. */
static int platform_add_acpi_pm(struct platform *p)
{
	struct bus *pio = &p->vm->pio;
	int ret = acpi_pm_create(p->vm, &p->pm);

	if (!ret)
		ret = bus_register(pio, LAYOUT_PM1_EVT, LAYOUT_PM1_EVT_LEN,
				   &acpi_pm_evt_ops, p->pm, "pm1a-evt");
	if (!ret)
		ret = bus_register(pio, LAYOUT_PM1_CNT, LAYOUT_PM1_CNT_LEN,
				   &acpi_pm_cnt_ops, p->pm, "pm1a-cnt");
	return ret;
}

int platform_create(struct vm *vm, struct uart_sink sink, struct platform **out)
{
	struct platform *p = calloc(1, sizeof(*p));
	int ret;

	if (!p)
		return -ENOMEM;
	p->vm = vm;
	ret = platform_add_uarts(p, sink);
	if (!ret)
		ret = platform_add_legacy(p);
	if (!ret)
		ret = platform_add_acpi_pm(p);
	if (ret) {
		log_err("cannot set up the PC platform devices: %d", ret);
		platform_destroy(p);
		return ret;
	}
	*out = p;
	return 0;
}

void platform_destroy(struct platform *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < NR_COM; i++)
		uart_destroy(p->com[i]);
	i8042_destroy(p->kbc);
	cmos_destroy(p->rtc);
	acpi_pm_destroy(p->pm);
	free(p);
}

struct uart *platform_console_uart(struct platform *p)
{
	return p->com[0];
}
