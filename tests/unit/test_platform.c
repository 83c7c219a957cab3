// SPDX-License-Identifier: MIT
/* i8042, CMOS RTC, command-line building and value parsers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "vmm/cmos.h"
#include "vmm/i8042.h"
#include "vmm/machine.h"
#include "vmm/parse.h"
#include "vmm/vm.h"

static uint8_t rd(const struct bus_ops *ops, void *dev, uint64_t off)
{
	uint8_t v = 0;

	ops->read(dev, off, &v, 1);
	return v;
}

static void wr(const struct bus_ops *ops, void *dev, uint64_t off, uint8_t v)
{
	ops->write(dev, off, &v, 1);
}

static void test_i8042_self_test_and_ctr(void **state)
{
	struct vm vm;
	struct i8042 *kbc;

	assert_int_equal(vm_init(&vm, 32 << 20), 0);
	assert_int_equal(i8042_create(&vm, &kbc), 0);
	assert_int_equal(rd(&i8042_bus_ops, kbc, 4) & 0x01, 0); /* empty */
	wr(&i8042_bus_ops, kbc, 4, 0xaa);
	assert_int_equal(rd(&i8042_bus_ops, kbc, 4) & 0x01, 1);
	assert_int_equal(rd(&i8042_bus_ops, kbc, 0), 0x55);
	assert_int_equal(rd(&i8042_bus_ops, kbc, 4) & 0x01, 0);
	wr(&i8042_bus_ops, kbc, 4, 0x60); /* write CTR */
	wr(&i8042_bus_ops, kbc, 0, 0x47);
	wr(&i8042_bus_ops, kbc, 4, 0x20); /* read CTR */
	assert_int_equal(rd(&i8042_bus_ops, kbc, 0), 0x47);
	assert_false(atomic_load(&vm.stopping));
	i8042_destroy(kbc);
	vm_destroy(&vm);
}

static void test_i8042_reset_pulse_reboots(void **state)
{
	struct vm vm;
	struct i8042 *kbc;

	assert_int_equal(vm_init(&vm, 32 << 20), 0);
	assert_int_equal(i8042_create(&vm, &kbc), 0);
	wr(&i8042_bus_ops, kbc, 4, 0xfe);
	assert_int_equal(vm_wait_stop(&vm), VM_STOP_REBOOT);
	i8042_destroy(kbc);
	vm_destroy(&vm);
}

static void test_i8042_reset_after_panic_is_panic(void **state)
{
	struct vm vm;
	struct i8042 *kbc;

	assert_int_equal(vm_init(&vm, 32 << 20), 0);
	assert_int_equal(i8042_create(&vm, &kbc), 0);
	atomic_store(&vm.guest_panicked, true);
	wr(&i8042_bus_ops, kbc, 4, 0xd1); /* write output port: reset low */
	wr(&i8042_bus_ops, kbc, 0, 0x00);
	assert_int_equal(vm_wait_stop(&vm), VM_STOP_PANIC);
	i8042_destroy(kbc);
	vm_destroy(&vm);
}

static unsigned int last_irq;
static bool last_level;

static int record_irq_line(struct vm *vm, unsigned int irq, bool level)
{
	last_irq = irq;
	last_level = level;
	return 0;
}

static void test_isa_irq_pin_drives_line_and_counts_edges(void **state)
{
	struct vm vm;
	struct irq_pin pin;

	assert_int_equal(vm_init(&vm, 32 << 20), 0);
	assert_int_equal(irq_pin_set(&(struct irq_pin){ 0 }, true), 0);
	pin = vm_isa_irq(&vm, 4);
	assert_int_equal(irq_pin_set(&pin, true), -ENODEV); /* no backend */
	vm.irq_line = record_irq_line;
	assert_int_equal(irq_pin_set(&pin, true), 0);
	assert_int_equal(last_irq, 4);
	assert_true(last_level);
	assert_int_equal(irq_pin_set(&pin, false), 0);
	assert_false(last_level);
	assert_int_equal(atomic_load(&vm.stats.irq_raised[4]), 1);
	vm_destroy(&vm);
}

static time_t fixed_clock(void)
{
	return 1764097445; /* 2025-11-25 19:04:05 UTC, a Tuesday */
}

static uint8_t cmos_reg(struct cmos *c, uint8_t reg)
{
	wr(&cmos_bus_ops, c, 0, reg | 0x80); /* NMI-mask bit is ignored */
	return rd(&cmos_bus_ops, c, 1);
}

static void test_cmos_time_is_bcd_host_time(void **state)
{
	struct cmos *c;

	assert_int_equal(cmos_create(256 << 20, &c), 0);
	cmos_set_clock(c, fixed_clock);
	assert_int_equal(cmos_reg(c, 0x00), 0x05);
	assert_int_equal(cmos_reg(c, 0x02), 0x04);
	assert_int_equal(cmos_reg(c, 0x04), 0x19);
	assert_int_equal(cmos_reg(c, 0x07), 0x25);
	assert_int_equal(cmos_reg(c, 0x08), 0x11);
	assert_int_equal(cmos_reg(c, 0x09), 0x25);
	assert_int_equal(cmos_reg(c, 0x32), 0x20);
	assert_int_equal(cmos_reg(c, 0x06), 0x03); /* Tuesday = 3 */
	assert_int_equal(cmos_reg(c, 0x0a) & 0x80, 0); /* no update */
	assert_int_equal(cmos_reg(c, 0x0b) & 0x06, 0x02); /* BCD, 24h */
	assert_int_equal(cmos_reg(c, 0x0d), 0x80); /* battery ok */
	cmos_destroy(c);
}

static void test_cmos_memory_and_size(void **state)
{
	struct cmos *c;

	assert_int_equal(cmos_create(256 << 20, &c), 0);
	/* 256 MiB - 16 MiB in 64 KiB units = 3840 = 0x0f00 */
	assert_int_equal(cmos_reg(c, 0x34), 0x00);
	assert_int_equal(cmos_reg(c, 0x35), 0x0f);
	wr(&cmos_bus_ops, c, 0, 0x40);
	wr(&cmos_bus_ops, c, 1, 0xab);
	assert_int_equal(cmos_reg(c, 0x40), 0xab);
	cmos_destroy(c);
}

/*
 * Spelled out as README.md documents them ("The default command line is",
 * "PVM-based nested hosts"), not taken from machine.h: a wrong macro must
 * fail here.
 */
#define README_DEFAULT_CMDLINE                                                 \
	"console=ttyS0 reboot=k panic=-1 i8042.noaux i8042.nomux i8042.nopnp " \
	"i8042.dumbkbd"
#define README_PVM_CMDLINE                                                     \
	"noxsave clearcpuid=smap,smep,popcnt,rdrand,rdseed,clflushopt,clwb,"   \
	"movbe,bmi1,bmi2,sse4_2,sse4_1,ssse3,aes,pclmulqdq,avx,avx2,fma,f16c," \
	"erms,fsrm,movdiri,movdir64b,invpcid,pcid,fsgsbase,rdpid,umip,pku,"    \
	"xsave,avx512f"

static void test_cmdline_default_quirks_append(void **state)
{
	struct machine_config cfg = { .host_quirks = true, .append = "x=1" };
	char buf[4096];

	assert_int_equal(machine_cmdline(&cfg, false, buf, sizeof(buf)), 0);
	assert_string_equal(buf, README_DEFAULT_CMDLINE " x=1");
	assert_int_equal(machine_cmdline(&cfg, true, buf, sizeof(buf)), 0);
	assert_string_equal(buf, README_DEFAULT_CMDLINE " " README_PVM_CMDLINE
							" x=1");
	cfg.host_quirks = false;
	assert_int_equal(machine_cmdline(&cfg, true, buf, sizeof(buf)), 0);
	assert_string_equal(buf, README_DEFAULT_CMDLINE " x=1");
	/* No append: exactly the default, no trailing space. */
	cfg.append = NULL;
	assert_int_equal(machine_cmdline(&cfg, false, buf, sizeof(buf)), 0);
	assert_string_equal(buf, README_DEFAULT_CMDLINE);
	/* --cmdline replaces the default, not the options PVM needs. */
	cfg.host_quirks = true;
	cfg.cmdline = "root=/dev/vda";
	assert_int_equal(machine_cmdline(&cfg, true, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "root=/dev/vda " README_PVM_CMDLINE);
}

static void test_cmdline_replace_and_limits(void **state)
{
	struct machine_config cfg = { .cmdline = "root=/dev/vda" };
	char buf[16];

	assert_int_equal(machine_cmdline(&cfg, false, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "root=/dev/vda");
	cfg.cmdline = "";
	cfg.append = "a";
	assert_int_equal(machine_cmdline(&cfg, false, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "a");
	cfg.cmdline = "0123456789abcdef"; /* 16 chars + NUL > 16 */
	assert_int_equal(machine_cmdline(&cfg, false, buf, sizeof(buf)),
			 -E2BIG);
}

/* The guest shell must see the argv given after "--", quotes and all. */
static void test_cmdline_run_keeps_argv(void **state)
{
	const char *argv[] = { "sh", "-c", "uname -r; exit 3", "it's" };
	struct machine_config cfg = { .cmdline = "",
				      .run_argv = argv,
				      .run_argc = 4 };
	char buf[256];

	assert_int_equal(machine_cmdline(&cfg, false, buf, sizeof(buf)), 0);
	/* 'sh' '-c' 'uname -r; exit 3' 'it'\''s', %XX-encoded */
	assert_string_equal(
		buf,
		"vmm.run=%27sh%27%20%27-c%27%20%27uname%20-r%3B%20exit%203%27"
		"%20%27it%27%5C%27%27s%27");
	/* One word is a shell command line, passed as it is. */
	cfg.run_argc = 1;
	argv[0] = "echo a; exit 7";
	assert_int_equal(machine_cmdline(&cfg, false, buf, sizeof(buf)), 0);
	assert_string_equal(buf, "vmm.run=echo%20a%3B%20exit%207");
	/* Too long for the buffer: an error, never a cut command. */
	cfg.run_argc = 4;
	assert_int_equal(machine_cmdline(&cfg, false, buf, 40), -E2BIG);
}

static void test_parse_mem_size(void **state)
{
	uint64_t v;

	assert_int_equal(parse_mem_size("512M", &v), 0);
	assert_int_equal(v, 512ULL << 20);
	assert_int_equal(parse_mem_size("2G", &v), 0);
	assert_int_equal(v, 2ULL << 30);
	assert_int_equal(parse_mem_size("2gib", &v), 0);
	assert_int_equal(v, 2ULL << 30);
	assert_int_equal(parse_mem_size("256", &v), 0);
	assert_int_equal(v, 256ULL << 20);
	assert_int_equal(parse_mem_size("4096K", &v), 0);
	assert_int_equal(v, 4ULL << 20);
	assert_int_equal(parse_mem_size("", &v), -EINVAL);
	assert_int_equal(parse_mem_size("-1G", &v), -EINVAL);
	assert_int_equal(parse_mem_size("12X", &v), -EINVAL);
	assert_int_equal(parse_mem_size("1Gx", &v), -EINVAL);
	assert_int_equal(parse_mem_size("99999999999T", &v), -ERANGE);
}

static void test_parse_uint(void **state)
{
	unsigned int v;

	assert_int_equal(parse_uint("1", 1, 4, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(parse_uint("0", 1, 4, &v), -ERANGE);
	assert_int_equal(parse_uint("5", 1, 4, &v), -ERANGE);
	assert_int_equal(parse_uint("2x", 1, 4, &v), -EINVAL);
	assert_int_equal(parse_uint("", 1, 4, &v), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_i8042_self_test_and_ctr),
		cmocka_unit_test(test_i8042_reset_pulse_reboots),
		cmocka_unit_test(test_i8042_reset_after_panic_is_panic),
		cmocka_unit_test(test_isa_irq_pin_drives_line_and_counts_edges),
		cmocka_unit_test(test_cmos_time_is_bcd_host_time),
		cmocka_unit_test(test_cmos_memory_and_size),
		cmocka_unit_test(test_cmdline_default_quirks_append),
		cmocka_unit_test(test_cmdline_replace_and_limits),
		cmocka_unit_test(test_cmdline_run_keeps_argv),
		cmocka_unit_test(test_parse_mem_size),
		cmocka_unit_test(test_parse_uint),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
