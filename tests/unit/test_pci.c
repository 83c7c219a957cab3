// SPDX-License-Identifier: MIT
/*
 * The PCI core as the guest sees it: config mechanism #1 and ECAM on a real
 * struct vm's buses, BAR sizing and relocation, capabilities, MSI-X, INTx,
 * slot and window allocation.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "pci/pci.h"
#include "tests/unit/fake_capture.h"
#include "tests/unit/fake_dev.h"
#include "vmm/layout_x86_64.h"
#include "vmm/le.h"
#include "vmm/vm.h"

#define CF8 0xcf8
#define CFC 0xcfc
#define INTX LAYOUT_PCI_INTX_IRQ

/* One VM and bus per test; the hooks record what the core sent. */
static struct vm vm;
static struct pci_bus pbus;
static size_t pio_ranges, mmio_ranges; /* before pci_bus_init() */

static struct {
	unsigned int count;
	uint64_t addr;
	uint32_t data;
} msis;

static struct {
	unsigned int calls;
	unsigned int irq;
	bool level;
} irqs;

static int fake_msi(struct vm *v, uint64_t addr, uint32_t data)
{
	__atomic_add_fetch(&msis.count, 1, __ATOMIC_RELAXED);
	msis.addr = addr;
	msis.data = data;
	return 0;
}

static int fake_irq_line(struct vm *v, unsigned int irq, bool level)
{
	irqs.calls++;
	irqs.irq = irq;
	irqs.level = level;
	return 0;
}

/* A test device: PCI state, a recording BAR handler, bar_update calls. */
struct tdev {
	struct pci_dev pci;
	struct fake_dev fd;
	unsigned int updates;
	unsigned int up_bar;
	uint64_t up_addr;
	bool up_enabled;
};

static void tdev_bar_update(struct pci_dev *dev, unsigned int bar,
			    uint64_t addr, bool enabled)
{
	struct tdev *t = dev->opaque;

	t->updates++;
	t->up_bar = bar;
	t->up_addr = addr;
	t->up_enabled = enabled;
}

static const struct pci_dev_ops tdev_ops = { .bar_update = tdev_bar_update };

static void tdev_init(struct tdev *t, uint16_t device)
{
	memset(t, 0, sizeof(*t));
	assert_int_equal(pci_dev_init(&t->pci, "tdev", 0x1af4, device, 0x010000,
				      0x1af4, 0x0002, 0x01),
			 0);
	t->pci.ops = &tdev_ops;
	t->pci.opaque = t;
	t->fd.id = 1;
}

static int setup(void **state)
{
	memset(&msis, 0, sizeof(msis));
	memset(&irqs, 0, sizeof(irqs));
	if (vm_init(&vm, 16 << 20))
		return -1;
	vm.msi = fake_msi;
	vm.irq_line = fake_irq_line;
	pio_ranges = vm.pio.nr;
	mmio_ranges = vm.mmio.nr;
	return pci_bus_init(&pbus, &vm);
}

static int teardown(void **state)
{
	pci_bus_destroy(&pbus);
	/* Everything the core registered is gone again. */
	assert_int_equal(vm.pio.nr, pio_ranges);
	assert_int_equal(vm.mmio.nr, mmio_ranges);
	vm_destroy(&vm);
	return 0;
}

/* Little-endian value of @len bytes at @addr on @bus; true if claimed. */
static uint64_t rd(struct bus *bus, uint64_t addr, uint32_t len)
{
	uint8_t d[8] = { 0 };
	uint64_t v = 0;

	bus_access(bus, addr, d, len, false);
	for (uint32_t i = 0; i < len; i++)
		v |= (uint64_t)d[i] << (8 * i);
	return v;
}

static bool wr(struct bus *bus, uint64_t addr, uint32_t len, uint64_t v)
{
	uint8_t d[8];

	for (uint32_t i = 0; i < len; i++)
		d[i] = (uint8_t)(v >> (8 * i));
	return bus_access(bus, addr, d, len, true);
}

static bool claimed(struct bus *bus, uint64_t addr)
{
	uint8_t d[4];

	return bus_access(bus, addr, d, 4, false);
}

static uint32_t cf8_addr(unsigned int bus, unsigned int slot, unsigned int fn,
			 unsigned int reg)
{
	return 0x80000000u | bus << 16 | slot << 11 | fn << 8 | (reg & 0xfc);
}

/* Mechanism #1, as Linux's pci_conf1_read/write do it. */
static uint32_t cfg1_read(unsigned int slot, unsigned int fn, unsigned int reg,
			  uint32_t len)
{
	wr(&vm.pio, CF8, 4, cf8_addr(0, slot, fn, reg));
	return (uint32_t)rd(&vm.pio, CFC + (reg & 3), len);
}

static void cfg1_write(unsigned int slot, unsigned int fn, unsigned int reg,
		       uint32_t len, uint32_t v)
{
	wr(&vm.pio, CF8, 4, cf8_addr(0, slot, fn, reg));
	wr(&vm.pio, CFC + (reg & 3), len, v);
}

static uint64_t ecam(unsigned int slot, unsigned int fn, unsigned int reg)
{
	return LAYOUT_PCI_ECAM + ((uint64_t)slot << 15) + (fn << 12) + reg;
}

static uint64_t ecam_read(unsigned int slot, unsigned int fn, unsigned int reg,
			  uint32_t len)
{
	return rd(&vm.mmio, ecam(slot, fn, reg), len);
}

static void ecam_write(unsigned int slot, unsigned int fn, unsigned int reg,
		       uint32_t len, uint64_t v)
{
	wr(&vm.mmio, ecam(slot, fn, reg), len, v);
}

static void test_host_bridge(void **state)
{
	assert_int_equal(cfg1_read(0, 0, 0, 4), 0x00081b36);
	assert_int_equal(ecam_read(0, 0, 0, 4), 0x00081b36);
	assert_int_equal(cfg1_read(0, 0, 0x08, 4) >> 8, 0x060000);
	assert_int_equal(cfg1_read(0, 0, 0x0e, 1), 0); /* single function */
	assert_int_equal(cfg1_read(0, 0, 0x3d, 1), 0); /* no interrupt */
	for (unsigned int reg = 0x10; reg < 0x28; reg += 4)
		assert_int_equal(ecam_read(0, 0, reg, 4), 0);
	assert_int_equal(pbus.nr_slots, 1);
}

/* Linux's pci_check_type1() and what CONFIG_ADDRESS keeps. */
static void test_cf8_latch(void **state)
{
	uint32_t tmp;

	wr(&vm.pio, CF8, 4, 0x12345678);
	wr(&vm.pio, CF8 + 3, 1, 0x01); /* outb(0x01, 0xCFB) */
	tmp = (uint32_t)rd(&vm.pio, CF8, 4);
	assert_int_equal(tmp, 0x12345678 & 0x80fffffc);
	wr(&vm.pio, CF8, 4, 0x80000000);
	assert_int_equal(rd(&vm.pio, CF8, 4), 0x80000000);
	wr(&vm.pio, CF8, 4, tmp);
	assert_int_equal(rd(&vm.pio, CF8, 4), tmp);

	/* Only dword accesses reach the latch. */
	wr(&vm.pio, CF8, 4, 0x80000000);
	wr(&vm.pio, CF8, 1, 0x44);
	wr(&vm.pio, CF8, 2, 0x4444);
	wr(&vm.pio, CF8 + 2, 2, 0x4444);
	wr(&vm.pio, CF8 + 3, 1, 0x44);
	assert_int_equal(rd(&vm.pio, CF8, 4), 0x80000000);
	assert_int_equal(rd(&vm.pio, CF8, 1), 0xff);
	assert_int_equal(rd(&vm.pio, CF8, 2), 0xffff);
	assert_int_equal(rd(&vm.pio, CF8 + 2, 2), 0xffff);
	assert_int_equal(rd(&vm.pio, CF8 + 3, 1), 0xff);
	assert_int_equal(rd(&vm.pio, CF8 + 1, 1), 0); /* 0xCF9: reset control */
	wr(&vm.pio, CF8, 4, 0xffffffff);
	assert_int_equal(rd(&vm.pio, CF8, 4), 0x80fffffc);

	/* The latch selects the dword; the data port offset the byte. */
	wr(&vm.pio, CF8, 4, cf8_addr(0, 0, 0, 0));
	assert_int_equal(rd(&vm.pio, CFC, 4), 0x00081b36);
	assert_int_equal(rd(&vm.pio, CFC + 1, 1), 0x1b);
	assert_int_equal(rd(&vm.pio, CFC + 2, 2), 0x0008);
	assert_int_equal(rd(&vm.pio, CFC + 3, 1), 0x00);
	/* Enable bit clear, other buses: all-ones, writes dropped. */
	wr(&vm.pio, CF8, 4, 0x00000000);
	assert_int_equal(rd(&vm.pio, CFC, 4), 0xffffffff);
	wr(&vm.pio, CF8, 4, cf8_addr(1, 0, 0, 0));
	assert_int_equal(rd(&vm.pio, CFC, 4), 0xffffffff);
	wr(&vm.pio, CF8, 4, cf8_addr(255, 31, 7, 0xfc));
	assert_int_equal(rd(&vm.pio, CFC, 4), 0xffffffff);
	assert_int_equal(vm.stop_reason, VM_STOP_NONE);
}

/* A byte at 0xCF9 with RST_CPU resets, as reboot=pci does it. */
static void test_cf9_reset(void **state)
{
	wr(&vm.pio, CF8 + 1, 1, 0x02);
	assert_int_equal(rd(&vm.pio, CF8 + 1, 1), 0x02);
	assert_int_equal(vm.stop_reason, VM_STOP_NONE);
	wr(&vm.pio, CF8 + 1, 1, 0x06);
	assert_int_equal(vm.stop_reason, VM_STOP_REBOOT);
}

static void test_absent_functions(void **state)
{
	struct tdev t;

	tdev_init(&t, 0x1042);
	assert_int_equal(pci_bus_add(&pbus, &t.pci), 0);
	assert_int_equal(t.pci.slot, 1);
	for (unsigned int slot = 0; slot < PCI_MAX_SLOTS; slot++) {
		for (unsigned int fn = 0; fn < 8; fn++) {
			bool there = slot <= 1 && fn == 0;
			uint32_t want =
				there ? (slot ? 0x10421af4 : 0x00081b36) :
					0xffffffff;

			assert_int_equal(cfg1_read(slot, fn, 0, 4), want);
			assert_int_equal(ecam_read(slot, fn, 0, 4), want);
			assert_int_equal(ecam_read(slot, fn, 0, 8) >> 32,
					 there ? cfg1_read(slot, fn, 4, 4) :
						 0xffffffff);
			assert_int_equal(ecam_read(slot, fn, 0xffc, 4),
					 there ? 0 : 0xffffffff);
			if (there)
				assert_int_equal(
					ecam_read(slot, fn, 0x0e, 1) & 0x80, 0);
		}
	}
	/* Writes to nothing go nowhere. */
	cfg1_write(2, 0, 0x3c, 1, 0x55);
	ecam_write(1, 3, 0x3c, 1, 0x55);
	assert_int_equal(ecam_read(2, 0, 0x3c, 1), 0xff);
	assert_int_equal(ecam_read(1, 0, 0x3c, 1), INTX);
	pci_bus_destroy(&pbus);
	pci_dev_destroy(&t.pci);
}

/* Config bytes 0x40.. of @t hold a pattern; ids and class are fixed. */
static void fill_pattern(struct tdev *t)
{
	for (unsigned int i = 0x40; i < 0x100; i++)
		t->pci.cfg[i] = (uint8_t)(i * 13 + 7);
}

static bool cf8_width_ok(unsigned int off, unsigned int w)
{
	return (off & 3) + w <= 4;
}

/* Every width at every offset reads the image, through both mechanisms. */
static void test_cfg_reads(void **state)
{
	static const unsigned int widths[] = { 1, 2, 4 };
	struct tdev t;
	uint8_t img[256];

	tdev_init(&t, 0x1042);
	assert_int_equal(pci_bus_add(&pbus, &t.pci), 0);
	fill_pattern(&t);
	memcpy(img, t.pci.cfg, sizeof(img));
	for (unsigned int off = 0; off < 256; off++) {
		for (unsigned int k = 0; k < 3; k++) {
			unsigned int w = widths[k];
			uint32_t want = 0;

			if (off + w > 256)
				continue;
			for (unsigned int i = 0; i < w; i++)
				want |= (uint32_t)img[off + i] << (8 * i);
			assert_int_equal(ecam_read(1, 0, off, w), want);
			if (cf8_width_ok(off, w))
				assert_int_equal(cfg1_read(1, 0, off, w), want);
		}
	}
	pci_bus_destroy(&pbus);
	pci_dev_destroy(&t.pci);
}

/*
 * Every width at every offset writes only the writable bits, through both
 * mechanisms; a shadow image applies the same rule to check the result.
 */
static void write_sweep(bool use_ecam)
{
	static const unsigned int widths[] = { 1, 2, 4 };
	struct tdev t;
	uint8_t shadow[256];
	uint8_t cap[8] = { 0x09, 0, 8, 0, 0, 0, 0, 0 };
	int at;

	tdev_init(&t, 0x1042);
	at = pci_dev_add_cap(&t.pci, cap, sizeof(cap));
	assert_int_equal(at, 0x40);
	/* The device lets the guest write one dword of its capability. */
	memset(t.pci.wmask + at + 4, 0xff, 4);
	assert_int_equal(pci_bus_add(&pbus, &t.pci), 0);
	memcpy(shadow, t.pci.cfg, sizeof(shadow));
	for (unsigned int pass = 0; pass < 3; pass++) {
		for (unsigned int off = 0; off < 256; off++) {
			for (unsigned int k = 0; k < 3; k++) {
				unsigned int w = widths[k];
				uint32_t v = pass == 0 ? 0xffffffff :
					     pass == 1 ? 0 :
							 off * 0x01010101u + w;

				if (off + w > 256 || !cf8_width_ok(off, w))
					continue;
				for (unsigned int i = 0; i < w; i++) {
					uint8_t m = t.pci.wmask[off + i];
					uint8_t b = (uint8_t)(v >> (8 * i));

					shadow[off + i] =
						(uint8_t)((shadow[off + i] &
							   ~m) |
							  (b & m));
				}
				if (use_ecam)
					ecam_write(1, 0, off, w, v);
				else
					cfg1_write(1, 0, off, w, v);
				assert_memory_equal(t.pci.cfg, shadow, 256);
			}
		}
	}
	/* The read-only fields kept their values. */
	assert_int_equal(cfg1_read(1, 0, 0, 4), 0x10421af4);
	assert_int_equal(cfg1_read(1, 0, 0x08, 4), 0x01000001);
	assert_int_equal(cfg1_read(1, 0, 0x2c, 4), 0x00021af4);
	assert_int_equal(cfg1_read(1, 0, 0x34, 1), 0x40);
	assert_int_equal(cfg1_read(1, 0, 0x3d, 1), 1);
	assert_int_equal(cfg1_read(1, 0, 0x06, 2) & 0x10, 0x10);
	assert_int_equal(cfg1_read(1, 0, 0x40, 4), 0x00080009);
	pci_bus_destroy(&pbus);
	pci_dev_destroy(&t.pci);
}

static void test_cfg_writes_cf8(void **state)
{
	write_sweep(false);
}

static void test_cfg_writes_ecam(void **state)
{
	write_sweep(true);
}

/* The writable header bits: COMMAND, cache line, interrupt line. */
static void test_cfg_writable_fields(void **state)
{
	struct tdev t;

	tdev_init(&t, 0x1042);
	assert_int_equal(pci_bus_add(&pbus, &t.pci), 0);
	assert_int_equal(cfg1_read(1, 0, 0x04, 2), 0x0004); /* master only */
	cfg1_write(1, 0, 0x04, 4, 0xffffffff);
	assert_int_equal(cfg1_read(1, 0, 0x04, 4), 0x00000407);
	cfg1_write(1, 0, 0x0c, 4, 0xffffffff);
	assert_int_equal(cfg1_read(1, 0, 0x0c, 4), 0x000000ff);
	assert_int_equal(cfg1_read(1, 0, 0x3c, 2), 0x0100 | INTX);
	cfg1_write(1, 0, 0x3c, 4, 0xffffffff);
	assert_int_equal(cfg1_read(1, 0, 0x3c, 4), 0x000001ff);
	/* Nothing past the header or in the extended space is writable. */
	ecam_write(1, 0, 0x100, 4, 0xffffffff);
	assert_int_equal(ecam_read(1, 0, 0x100, 4), 0);
	pci_bus_destroy(&pbus);
	pci_dev_destroy(&t.pci);
}

/* BAR0 32-bit 4K, BAR1 I/O 32 bytes, BAR2+3 64-bit 16K, BAR4 prefetch 1M. */
static void bars_init(struct tdev *t)
{
	tdev_init(t, 0x1042);
	assert_int_equal(pci_dev_set_bar(&t->pci, 0, 0x1000, 0, &fake_dev_ops,
					 &t->fd),
			 0);
	assert_int_equal(pci_dev_set_bar(&t->pci, 1, 0x20, PCI_BAR_IO,
					 &fake_dev_ops, &t->fd),
			 0);
	assert_int_equal(pci_dev_set_bar(&t->pci, 2, 0x4000, PCI_BAR_MEM64,
					 &fake_dev_ops, &t->fd),
			 0);
	assert_int_equal(pci_dev_set_bar(&t->pci, 4, 0x100000, PCI_BAR_PREFETCH,
					 &fake_dev_ops, &t->fd),
			 0);
	assert_int_equal(pci_bus_add(&pbus, &t->pci), 0);
}

static void test_bar_assignment(void **state)
{
	struct tdev t;

	bars_init(&t);
	/* Naturally aligned, in BAR order, from the windows' bases. */
	assert_int_equal(cfg1_read(1, 0, 0x10, 4), 0xc0000000);
	assert_int_equal(cfg1_read(1, 0, 0x14, 4), 0x0000c001);
	assert_int_equal(cfg1_read(1, 0, 0x18, 4), 0xc0004004);
	assert_int_equal(cfg1_read(1, 0, 0x1c, 4), 0);
	assert_int_equal(cfg1_read(1, 0, 0x20, 4), 0xc0100008);
	assert_int_equal(cfg1_read(1, 0, 0x24, 4), 0);
	assert_int_equal(cfg1_read(1, 0, 0x04, 2), 0x0007);
	assert_int_equal(t.pci.bar[0].addr, 0xc0000000);
	assert_int_equal(t.pci.bar[1].addr, 0xc000);
	assert_int_equal(t.pci.bar[2].addr, 0xc0004000);
	assert_int_equal(t.pci.bar[4].addr, 0xc0100000);
	assert_true(t.pci.bar[0].registered && t.pci.bar[1].registered &&
		    t.pci.bar[2].registered && t.pci.bar[4].registered);
	assert_int_equal(t.updates, 0); /* pci_bus_add() does not call it */
	/* The BARs reach the device with offsets from their bases. */
	assert_int_equal(rd(&vm.mmio, 0xc0000010, 1), 16 + 0x10);
	assert_int_equal(t.fd.off, 0x10);
	assert_true(wr(&vm.pio, 0xc01f, 1, 0x5a));
	assert_int_equal(t.fd.off, 0x1f);
	assert_int_equal(t.fd.data[0], 0x5a);
	assert_int_equal(rd(&vm.mmio, 0xc0007ffc, 4), 0x0f0e0d0c);
	assert_int_equal(t.fd.off, 0x3ffc);
	assert_false(claimed(&vm.mmio, 0xc0008000));
	pci_bus_destroy(&pbus);
	pci_dev_destroy(&t.pci);
}

/* Write all-ones, read the mask and type bits, write the address back. */
static uint32_t size_bar(unsigned int reg)
{
	uint32_t old = cfg1_read(1, 0, reg, 4), mask;

	cfg1_write(1, 0, reg, 4, 0xffffffff);
	mask = cfg1_read(1, 0, reg, 4);
	cfg1_write(1, 0, reg, 4, old);
	return mask;
}

static void test_bar_sizing(void **state)
{
	struct tdev t;

	bars_init(&t);
	assert_int_equal(size_bar(0x10), 0xfffff000);
	assert_int_equal(size_bar(0x14), 0xffffffe1);
	assert_int_equal(size_bar(0x18), 0xffffc004);
	assert_int_equal(size_bar(0x1c), 0xffffffff);
	assert_int_equal(size_bar(0x20), 0xfff00008);
	assert_int_equal(size_bar(0x24), 0);
	/* Restored: registered where they were, no net change reported. */
	assert_true(claimed(&vm.mmio, 0xc0000000));
	assert_true(claimed(&vm.pio, 0xc000));
	assert_true(claimed(&vm.mmio, 0xc0004000));
	assert_true(claimed(&vm.mmio, 0xc0100000));

	/* Being sized with decoding on: off the bus meanwhile. */
	t.updates = 0;
	cfg1_write(1, 0, 0x10, 4, 0xffffffff);
	assert_false(claimed(&vm.mmio, 0xc0000000));
	assert_false(claimed(&vm.mmio, 0xfffff000));
	assert_int_equal(t.updates, 1);
	assert_false(t.up_enabled);
	cfg1_write(1, 0, 0x1c, 4, 0xffffffff); /* high dword of BAR2 */
	assert_false(claimed(&vm.mmio, 0xc0004000));
	cfg1_write(1, 0, 0x14, 4, 0xffffffff);
	assert_false(claimed(&vm.pio, 0xc000));
	assert_false(claimed(&vm.pio, 0xffe0));
	cfg1_write(1, 0, 0x10, 4, 0xc0000000);
	cfg1_write(1, 0, 0x1c, 4, 0);
	cfg1_write(1, 0, 0x14, 4, 0xc000);
	assert_true(claimed(&vm.mmio, 0xc0000000));
	assert_true(claimed(&vm.mmio, 0xc0004000));
	assert_true(claimed(&vm.pio, 0xc000));
	assert_int_equal(t.updates, 6);
	assert_true(t.up_enabled);
	pci_bus_destroy(&pbus);
	pci_dev_destroy(&t.pci);
}

static void test_bar_relocation(void **state)
{
	struct tdev t;

	bars_init(&t);
	/* 32-bit MMIO through mechanism #1. */
	cfg1_write(1, 0, 0x10, 4, 0xc8000000);
	assert_int_equal(t.updates, 1);
	assert_int_equal(t.up_bar, 0);
	assert_int_equal(t.up_addr, 0xc8000000);
	assert_true(t.up_enabled);
	assert_int_equal(t.pci.bar[0].addr, 0xc8000000);
	assert_false(claimed(&vm.mmio, 0xc0000000));
	t.fd.reads = 0;
	assert_int_equal(rd(&vm.mmio, 0xc8000123, 1), (16 + 0x123) & 0xff);
	assert_int_equal(t.fd.reads, 1);
	assert_int_equal(t.fd.off, 0x123);

	/* 64-bit, both dwords in one 8-byte ECAM write: one move. */
	ecam_write(1, 0, 0x18, 8, 0x1000000000ULL);
	assert_int_equal(t.updates, 2);
	assert_int_equal(t.up_bar, 2);
	assert_int_equal(t.up_addr, 0x1000000000ULL);
	assert_false(claimed(&vm.mmio, 0xc0004000));
	assert_true(claimed(&vm.mmio, 0x1000003ffcULL));
	assert_int_equal(t.fd.off, 0x3ffc);
	/* Dword by dword, as Linux does it: moves twice. */
	ecam_write(1, 0, 0x18, 4, 0xd0000000);
	ecam_write(1, 0, 0x1c, 4, 0);
	assert_int_equal(t.pci.bar[2].addr, 0xd0000000);
	assert_true(claimed(&vm.mmio, 0xd0000000));
	assert_false(claimed(&vm.mmio, 0x1000000000ULL));

	/* I/O through the data port: the port bus itself changes. */
	cfg1_write(1, 0, 0x14, 4, 0xd000);
	assert_false(claimed(&vm.pio, 0xc000));
	assert_true(wr(&vm.pio, 0xd004, 2, 0x1234));
	assert_int_equal(t.fd.off, 4);
	assert_int_equal(get_le16(t.fd.data), 0x1234);
	/* An I/O BAR past 64K or at 0 is not decoded. */
	cfg1_write(1, 0, 0x14, 4, 0x10000);
	assert_false(claimed(&vm.pio, 0xd000));
	assert_false(t.pci.bar[1].registered);
	cfg1_write(1, 0, 0x14, 4, 0);
	assert_false(t.pci.bar[1].registered);
	cfg1_write(1, 0, 0x14, 4, 0xd000);
	assert_true(claimed(&vm.pio, 0xd000));

	/* Decoding off in COMMAND takes the BARs off; on puts them back. */
	t.updates = 0;
	cfg1_write(1, 0, 0x04, 2, 0x0005); /* I/O and master, no memory */
	assert_int_equal(t.updates, 3);
	assert_false(t.up_enabled);
	assert_false(claimed(&vm.mmio, 0xc8000000));
	assert_false(claimed(&vm.mmio, 0xd0000000));
	assert_false(claimed(&vm.mmio, 0xc0100000));
	assert_true(claimed(&vm.pio, 0xd000));
	cfg1_write(1, 0, 0x04, 2, 0x0002); /* memory only */
	assert_int_equal(t.updates, 7);
	assert_false(claimed(&vm.pio, 0xd000));
	assert_true(claimed(&vm.mmio, 0xc8000000));
	assert_true(claimed(&vm.mmio, 0xd0000000));
	assert_true(claimed(&vm.mmio, 0xc0100000));
	/* A write that changes nothing reports nothing. */
	cfg1_write(1, 0, 0x10, 4, 0xc8000000);
	assert_int_equal(t.updates, 7);
	pci_bus_destroy(&pbus);
	pci_dev_destroy(&t.pci);
}

/* A BAR moved onto another range stays off the bus, once logged. */
static void test_bar_overlap(void **state)
{
	struct tdev t;

	bars_init(&t);
	capture_start();
	cfg1_write(1, 0, 0x10, 4, (uint32_t)LAYOUT_PCI_ECAM);
	assert_logged("overlaps pci-ecam");
	assert_false(t.pci.bar[0].registered);
	assert_true(t.pci.bar[0].enabled);
	assert_int_equal(t.updates, 1);
	assert_false(t.up_enabled);
	/* ECAM still works, and the old address is free. */
	assert_int_equal(ecam_read(1, 0, 0, 2), 0x1af4);
	assert_false(claimed(&vm.mmio, 0xc0000000));
	/* Same address again: nothing new to try or to log. */
	capture_start();
	cfg1_write(1, 0, 0x10, 4, (uint32_t)LAYOUT_PCI_ECAM);
	assert_string_equal(capture_stop(), "");
	/* Onto its own BAR4: the same. Then somewhere free: back. */
	capture_start();
	cfg1_write(1, 0, 0x10, 4, 0xc0100000);
	assert_logged("overlaps tdev");
	cfg1_write(1, 0, 0x10, 4, 0xc0001000);
	assert_true(t.pci.bar[0].registered);
	assert_true(claimed(&vm.mmio, 0xc0001000));
	assert_true(t.up_enabled);
	pci_bus_destroy(&pbus);
	pci_dev_destroy(&t.pci);
}

static void test_capabilities(void **state)
{
	static const uint8_t ids[] = { 0x09, 0x09, 0x05, 0x09 };
	static const size_t lens[] = { 16, 5, 10, 20 };
	struct tdev t;
	uint8_t cap[256] = { 0 };
	unsigned int ptr, n = 0;

	tdev_init(&t, 0x1042);
	assert_int_equal(t.pci.cfg[0x34], 0);
	assert_int_equal(t.pci.cfg[0x06] & 0x10, 0);
	for (unsigned int i = 0; i < 4; i++) {
		memset(cap, 0xee, sizeof(cap));
		cap[0] = ids[i];
		cap[2] = (uint8_t)lens[i];
		assert_true(pci_dev_add_cap(&t.pci, cap, lens[i]) >= 0x40);
	}
	assert_int_equal(pci_dev_add_cap(&t.pci, cap, 1), -EINVAL);
	assert_int_equal(pci_bus_add(&pbus, &t.pci), 0);
	/* The guest walks the list. */
	assert_int_equal(cfg1_read(1, 0, 0x06, 2) & 0x10, 0x10);
	ptr = cfg1_read(1, 0, 0x34, 1);
	assert_int_equal(ptr, 0x40);
	while (ptr) {
		assert_int_equal(ptr % 4, 0);
		assert_true(ptr >= 0x40 && ptr < 0x100);
		assert_int_equal(cfg1_read(1, 0, ptr, 1), ids[n]);
		assert_int_equal(ecam_read(1, 0, ptr + 2, 1), lens[n]);
		assert_int_equal(ecam_read(1, 0, ptr + 4, 1), 0xee);
		ptr = cfg1_read(1, 0, ptr + 1, 1);
		n++;
	}
	assert_int_equal(n, 4);
	assert_int_equal(t.pci.last_cap, 0x40 + 16 + 8 + 12);
	/* Read-only: neither id, next pointer nor body change. */
	cfg1_write(1, 0, 0x40, 4, 0);
	ecam_write(1, 0, 0x44, 8, 0);
	assert_int_equal(cfg1_read(1, 0, 0x40, 4), 0xee105009);
	assert_int_equal(cfg1_read(1, 0, 0x44, 4), 0xeeeeeeee);
	/* Unless the device opened bits in wmask. */
	t.pci.wmask[0x45] = 0x0f;
	cfg1_write(1, 0, 0x44, 4, 0);
	assert_int_equal(cfg1_read(1, 0, 0x44, 4), 0xeeeee0ee);
	/* Full: the rest of the 256 bytes. */
	assert_int_equal(pci_dev_add_cap(&t.pci, cap, 0x100 - 0x78 + 1),
			 -ENOSPC);
	assert_int_equal(pci_dev_add_cap(&t.pci, cap, 0x100 - 0x78), 0x78);
	assert_int_equal(pci_dev_add_cap(&t.pci, cap, 2), -ENOSPC);
	pci_bus_destroy(&pbus);
	pci_dev_destroy(&t.pci);
}

/* MSI-X: 4 vectors in BAR0 (4K): table at 0x800, PBA at 0xc00. */
#define MSIX_BAR_ADDR 0xc0000000ULL
#define TABLE (MSIX_BAR_ADDR + 0x800)
#define PBA (MSIX_BAR_ADDR + 0xc00)

static int msix_init(struct tdev *t)
{
	tdev_init(t, 0x1042);
	assert_int_equal(pci_dev_set_bar(&t->pci, 0, 0x1000, PCI_BAR_MEM64,
					 &fake_dev_ops, &t->fd),
			 0);
	assert_int_equal(pci_dev_init_msix(&t->pci, 4, 0, 0x800, 0xc00), 0);
	assert_int_equal(pci_bus_add(&pbus, &t->pci), 0);
	return t->pci.msix_cap;
}

static void msix_vector(unsigned int vec, uint64_t addr, uint32_t data)
{
	wr(&vm.mmio, TABLE + 16 * vec, 4, (uint32_t)addr);
	wr(&vm.mmio, TABLE + 16 * vec + 4, 4, (uint32_t)(addr >> 32));
	wr(&vm.mmio, TABLE + 16 * vec + 8, 4, data);
}

static void msix_mask(unsigned int vec, bool masked)
{
	wr(&vm.mmio, TABLE + 16 * vec + 12, 4, masked);
}

static void test_msix_capability(void **state)
{
	struct tdev t;
	int cap = msix_init(&t);

	assert_int_equal(cap, 0x40);
	assert_int_equal(cfg1_read(1, 0, 0x34, 1), 0x40);
	assert_int_equal(cfg1_read(1, 0, cap, 4), 0x00030011); /* N-1 = 3 */
	assert_int_equal(cfg1_read(1, 0, cap + 4, 4), 0x800); /* BIR 0 */
	assert_int_equal(cfg1_read(1, 0, cap + 8, 4), 0xc00);
	/* Only enable and function mask are writable. */
	cfg1_write(1, 0, cap, 4, 0xffffffff);
	assert_int_equal(cfg1_read(1, 0, cap, 4), 0xc0030011);
	cfg1_write(1, 0, cap + 4, 4, 0xffffffff);
	assert_int_equal(cfg1_read(1, 0, cap + 4, 4), 0x800);
	assert_true(pci_msix_enabled(&t.pci)); /* even function-masked */
	cfg1_write(1, 0, cap + 2, 2, 0);
	assert_false(pci_msix_enabled(&t.pci));
	pci_bus_destroy(&pbus);
	pci_dev_destroy(&t.pci);
}

static void test_msix_table(void **state)
{
	struct tdev t;

	msix_init(&t);
	/* Vectors start masked, zeroed. */
	for (unsigned int v = 0; v < 4; v++) {
		assert_int_equal(rd(&vm.mmio, TABLE + 16 * v, 8), 0);
		assert_int_equal(rd(&vm.mmio, TABLE + 16 * v + 8, 4), 0);
		assert_int_equal(rd(&vm.mmio, TABLE + 16 * v + 12, 4), 1);
	}
	msix_vector(2, 0x00000001fee01000ULL, 0x4041);
	assert_int_equal(rd(&vm.mmio, TABLE + 32, 8), 0x00000001fee01000ULL);
	assert_int_equal(rd(&vm.mmio, TABLE + 36, 4), 1);
	assert_int_equal(rd(&vm.mmio, TABLE + 40, 4), 0x4041);
	assert_int_equal(rd(&vm.mmio, TABLE + 40, 2), 0x4041);
	assert_int_equal(rd(&vm.mmio, TABLE + 41, 1), 0x40);
	wr(&vm.mmio, TABLE + 32, 8, 0xfee02000ULL);
	assert_int_equal(rd(&vm.mmio, TABLE + 32, 4), 0xfee02000);
	assert_int_equal(rd(&vm.mmio, TABLE + 36, 4), 0);
	/* Vector control: only the mask bit is kept. */
	wr(&vm.mmio, TABLE + 44, 4, 0xfffffffe);
	assert_int_equal(rd(&vm.mmio, TABLE + 44, 4), 0);
	wr(&vm.mmio, TABLE + 44, 4, 0xffffffff);
	assert_int_equal(rd(&vm.mmio, TABLE + 44, 4), 1);
	/* The other vectors are untouched. */
	assert_int_equal(rd(&vm.mmio, TABLE + 16, 8), 0);
	/* The rest of the BAR is the device's, BAR-relative. */
	t.fd.reads = 0;
	assert_int_equal(rd(&vm.mmio, MSIX_BAR_ADDR + 0x7f0, 1),
			 (16 + 0x7f0) & 0xff);
	assert_int_equal(t.fd.off, 0x7f0);
	assert_int_equal(rd(&vm.mmio, MSIX_BAR_ADDR + 0x840, 1),
			 (16 + 0x840) & 0xff);
	assert_int_equal(t.fd.off, 0x840);
	assert_true(wr(&vm.mmio, MSIX_BAR_ADDR + 0xc08, 4, 0x11223344));
	assert_int_equal(t.fd.off, 0xc08);
	assert_int_equal(t.fd.reads, 2);
	assert_int_equal(msis.count, 0);
	pci_bus_destroy(&pbus);
	pci_dev_destroy(&t.pci);
}

static void test_msix_mask_pending(void **state)
{
	struct tdev t;
	int cap = msix_init(&t);

	msix_vector(0, 0xfee00000, 0x30);
	msix_vector(1, 0xfee01000, 0x31);
	cfg1_write(1, 0, cap + 2, 2, 0x8000); /* enable */
	assert_true(pci_msix_enabled(&t.pci));

	/* Masked vector: pending, sent on unmask, pending cleared. */
	pci_dev_notify(&t.pci, 0);
	assert_int_equal(msis.count, 0);
	assert_int_equal(rd(&vm.mmio, PBA, 8), 0x1);
	wr(&vm.mmio, PBA, 8, 0); /* read-only */
	assert_int_equal(rd(&vm.mmio, PBA, 8), 0x1);
	msix_mask(0, false);
	assert_int_equal(msis.count, 1);
	assert_int_equal(msis.addr, 0xfee00000);
	assert_int_equal(msis.data, 0x30);
	assert_int_equal(rd(&vm.mmio, PBA, 8), 0);
	/* Unmasked: straight out. */
	pci_dev_notify(&t.pci, 0);
	assert_int_equal(msis.count, 2);
	/* Unmasking without anything pending sends nothing. */
	msix_mask(1, false);
	assert_int_equal(msis.count, 2);

	/* Function mask: everything pends, sent when it clears. */
	cfg1_write(1, 0, cap + 2, 2, 0xc000);
	assert_true(pci_msix_enabled(&t.pci));
	pci_dev_notify(&t.pci, 1);
	pci_dev_notify(&t.pci, 0);
	pci_dev_notify(&t.pci, 2); /* masked itself too */
	assert_int_equal(msis.count, 2);
	assert_int_equal(rd(&vm.mmio, PBA, 1), 0x7);
	msix_mask(2, false); /* still function-masked */
	assert_int_equal(msis.count, 2);
	msix_mask(2, true);
	cfg1_write(1, 0, cap + 2, 2, 0x8000);
	assert_int_equal(msis.count, 4);
	assert_int_equal(rd(&vm.mmio, PBA, 1), 0x4);

	/* Out of range: nothing at all. */
	pci_dev_notify(&t.pci, 4);
	pci_dev_notify(&t.pci, 0xffff);
	assert_int_equal(msis.count, 4);
	assert_int_equal(rd(&vm.mmio, PBA, 1), 0x4);
	assert_int_equal(irqs.calls, 0);
	pci_bus_destroy(&pbus);
	pci_dev_destroy(&t.pci);
}

/* Without MSI-X enabled, notify raises INTx; the device lowers it. */
static void test_intx(void **state)
{
	struct tdev t;
	int cap = msix_init(&t);

	msix_vector(0, 0xfee00000, 0x30);
	msix_mask(0, false);
	pci_dev_notify(&t.pci, 0xffff); /* any vector, e.g. none */
	assert_int_equal(msis.count, 0);
	assert_int_equal(irqs.calls, 1);
	assert_int_equal(irqs.irq, INTX);
	assert_true(irqs.level);
	assert_int_equal(cfg1_read(1, 0, 0x06, 2) & 0x08, 0x08);
	assert_int_equal(rd(&vm.mmio, PBA, 1), 0);
	pci_intx_set(&t.pci, false);
	assert_int_equal(irqs.calls, 2);
	assert_false(irqs.level);
	assert_int_equal(cfg1_read(1, 0, 0x06, 2) & 0x08, 0);

	/* INTx disable: the status bit follows, the line does not. */
	cfg1_write(1, 0, 0x04, 2, 0x0406);
	pci_intx_set(&t.pci, true);
	assert_int_equal(irqs.calls, 2);
	assert_int_equal(cfg1_read(1, 0, 0x06, 2) & 0x08, 0x08);
	cfg1_write(1, 0, 0x04, 2, 0x0006);
	assert_int_equal(irqs.calls, 3);
	assert_true(irqs.level);
	/* Enabling MSI-X takes the device off the line. */
	cfg1_write(1, 0, cap + 2, 2, 0x8000);
	assert_int_equal(irqs.calls, 4);
	assert_false(irqs.level);
	pci_dev_notify(&t.pci, 0);
	assert_int_equal(msis.count, 1);
	assert_int_equal(irqs.calls, 4);
	cfg1_write(1, 0, cap + 2, 2, 0);
	assert_int_equal(irqs.calls, 5); /* still high: back on the line */
	assert_true(irqs.level);
	pci_intx_set(&t.pci, false);
	assert_false(irqs.level);
	pci_bus_destroy(&pbus);
	pci_dev_destroy(&t.pci);
}

/* One line for all slots: the OR of the devices' levels. */
static void test_intx_shared(void **state)
{
	struct tdev a, b;

	tdev_init(&a, 0x1042);
	tdev_init(&b, 0x1041);
	assert_int_equal(pci_bus_add(&pbus, &a.pci), 0);
	assert_int_equal(pci_bus_add(&pbus, &b.pci), 0);
	assert_int_equal(cfg1_read(2, 0, 0x3c, 1), INTX);
	pci_intx_set(&a.pci, true);
	assert_int_equal(irqs.calls, 1);
	assert_true(irqs.level);
	pci_intx_set(&b.pci, true);
	pci_intx_set(&a.pci, false);
	assert_int_equal(irqs.calls, 1); /* b still holds it */
	assert_int_equal(cfg1_read(1, 0, 0x06, 2) & 0x08, 0);
	assert_int_equal(cfg1_read(2, 0, 0x06, 2) & 0x08, 0x08);
	pci_intx_set(&b.pci, false);
	assert_int_equal(irqs.calls, 2);
	assert_false(irqs.level);
	pci_bus_destroy(&pbus);
	pci_dev_destroy(&a.pci);
	pci_dev_destroy(&b.pci);
}

static void test_slots(void **state)
{
	static struct tdev t[PCI_MAX_SLOTS];

	for (unsigned int i = 1; i < PCI_MAX_SLOTS; i++) {
		tdev_init(&t[i], (uint16_t)(0x1000 + i));
		assert_int_equal(pci_dev_set_bar(&t[i].pci, 0, 0x2000, 0,
						 &fake_dev_ops, &t[i].fd),
				 0);
		assert_int_equal(pci_bus_add(&pbus, &t[i].pci), 0);
		assert_int_equal(t[i].pci.slot, i);
		assert_int_equal(t[i].pci.bar[0].addr,
				 LAYOUT_PCI_MMIO + (i - 1) * 0x2000);
		assert_int_equal(pci_bus_add(&pbus, &t[i].pci), -EBUSY);
	}
	for (unsigned int i = 1; i < PCI_MAX_SLOTS; i++)
		assert_int_equal(ecam_read(i, 0, 2, 2), 0x1000 + i);
	tdev_init(&t[0], 0x1000);
	capture_start();
	assert_int_equal(pci_bus_add(&pbus, &t[0].pci), -ENOSPC);
	assert_logged("no free slot");
	assert_null(t[0].pci.bus);
	pci_bus_destroy(&pbus);
	for (unsigned int i = 0; i < PCI_MAX_SLOTS; i++)
		pci_dev_destroy(&t[i].pci);
}

static void test_windows_full(void **state)
{
	struct tdev big, huge, io[12];
	unsigned int i;

	tdev_init(&big, 0x1042);
	assert_int_equal(pci_dev_set_bar(&big.pci, 0, 256 << 20, PCI_BAR_MEM64,
					 NULL, NULL),
			 0);
	assert_int_equal(pci_bus_add(&pbus, &big.pci), 0);
	/* 512 MiB would need the whole window, aligned. */
	tdev_init(&huge, 0x1042);
	assert_int_equal(
		pci_dev_set_bar(&huge.pci, 0, 512 << 20, 0, NULL, NULL), 0);
	capture_start();
	assert_int_equal(pci_bus_add(&pbus, &huge.pci), -ENOSPC);
	assert_logged("no room for BAR 0");
	assert_null(huge.pci.bus);
	/* BARs without ops read 0. */
	assert_int_equal(rd(&vm.mmio, LAYOUT_PCI_MMIO + 8, 4), 0);

	/* I/O: 16K from 0xc000, six 256-byte BARs a device. */
	for (i = 0; i < 12; i++) {
		int ret;

		tdev_init(&io[i], 0x1042);
		for (unsigned int b = 0; b < 6; b++)
			assert_int_equal(pci_dev_set_bar(&io[i].pci, b, 256,
							 PCI_BAR_IO, NULL,
							 NULL),
					 0);
		capture_start();
		ret = pci_bus_add(&pbus, &io[i].pci);
		capture_stop();
		if (ret) {
			assert_int_equal(ret, -ENOSPC);
			break;
		}
		assert_int_equal(io[i].pci.bar[5].addr,
				 LAYOUT_PCI_IO + i * 0x600 + 0x500);
	}
	assert_int_equal(i, 0x4000 / 0x600);
	/* A failed add took nothing: the last 1K still fits, to 0x10000. */
	pci_dev_destroy(&io[i].pci);
	tdev_init(&io[i], 0x1042);
	for (unsigned int b = 0; b < 4; b++)
		assert_int_equal(pci_dev_set_bar(&io[i].pci, b, 256, PCI_BAR_IO,
						 NULL, NULL),
				 0);
	assert_int_equal(pci_bus_add(&pbus, &io[i].pci), 0);
	assert_int_equal(io[i].pci.bar[3].addr, 0xff00);
	assert_true(claimed(&vm.pio, 0xfffc));
	pci_bus_destroy(&pbus);
	for (unsigned int k = 0; k <= i; k++)
		pci_dev_destroy(&io[k].pci);
	pci_dev_destroy(&big.pci);
	pci_dev_destroy(&huge.pci);
}

static void test_bad_arguments(void **state)
{
	struct tdev t;
	uint8_t cap[4] = { 9 };

	tdev_init(&t, 0x1042);
	assert_int_equal(pci_dev_set_bar(&t.pci, 6, 4096, 0, NULL, NULL),
			 -EINVAL);
	assert_int_equal(pci_dev_set_bar(&t.pci, 0, 4096 + 1, 0, NULL, NULL),
			 -EINVAL);
	assert_int_equal(pci_dev_set_bar(&t.pci, 0, 2048, 0, NULL, NULL),
			 -EINVAL);
	assert_int_equal(pci_dev_set_bar(&t.pci, 0, 512, PCI_BAR_IO, NULL,
					 NULL),
			 -EINVAL);
	assert_int_equal(pci_dev_set_bar(&t.pci, 0, 16,
					 PCI_BAR_IO | PCI_BAR_MEM64, NULL,
					 NULL),
			 -EINVAL);
	assert_int_equal(pci_dev_set_bar(&t.pci, 5, 4096, PCI_BAR_MEM64, NULL,
					 NULL),
			 -EINVAL);
	assert_int_equal(
		pci_dev_set_bar(&t.pci, 1, 4096, PCI_BAR_MEM64, NULL, NULL), 0);
	assert_int_equal(pci_dev_set_bar(&t.pci, 2, 4096, 0, NULL, NULL),
			 -EBUSY);
	assert_int_equal(pci_dev_set_bar(&t.pci, 0, 4096, PCI_BAR_MEM64, NULL,
					 NULL),
			 -EBUSY);
	/* MSI-X: the BAR must exist and hold both structures apart. */
	assert_int_equal(pci_dev_init_msix(&t.pci, 4, 0, 0, 0x800), -EINVAL);
	assert_int_equal(pci_dev_init_msix(&t.pci, 0, 1, 0, 0x800), -EINVAL);
	assert_int_equal(pci_dev_init_msix(&t.pci, 4, 1, 0, 0x20), -EINVAL);
	assert_int_equal(pci_dev_init_msix(&t.pci, 4, 1, 4, 0x800), -EINVAL);
	assert_int_equal(pci_dev_init_msix(&t.pci, 300, 1, 0, 0xff8), -EINVAL);
	assert_int_equal(pci_dev_init_msix(&t.pci, 2048, 2, 0, 0x800), -EINVAL);
	assert_int_equal(pci_dev_init_msix(&t.pci, 4, 1, 0, 0x40), 0);
	assert_int_equal(pci_dev_init_msix(&t.pci, 4, 1, 0, 0x40), -EINVAL);
	assert_int_equal(pci_bus_add(&pbus, &t.pci), 0);
	assert_int_equal(pci_dev_set_bar(&t.pci, 3, 4096, 0, NULL, NULL),
			 -EINVAL);
	assert_int_equal(pci_dev_add_cap(&t.pci, cap, sizeof(cap)), 0x4c);
	pci_bus_destroy(&pbus);
	pci_dev_destroy(&t.pci);
}

/*
 * An I/O thread notifies while a "vCPU" moves the BAR (through ECAM and
 * the data port) and masks and unmasks the vector: no deadlock, and the
 * last unmask delivers what is pending.
 */
static struct tdev race_dev;
static atomic_bool race_stop;
static atomic_uint race_notifies;

static void *notifier(void *arg)
{
	while (!atomic_load(&race_stop)) {
		pci_dev_notify(&race_dev.pci, 0);
		atomic_fetch_add(&race_notifies, 1);
	}
	return NULL;
}

static void test_threads(void **state)
{
	uint64_t base[2] = { 0xc0000000, 0xc8000000 };
	pthread_t th;
	int cap = msix_init(&race_dev);

	msix_vector(0, 0xfee00000, 0x30);
	cfg1_write(1, 0, cap + 2, 2, 0x8000);
	atomic_store(&race_stop, false);
	atomic_store(&race_notifies, 0);
	assert_int_equal(pthread_create(&th, NULL, notifier, NULL), 0);
	/* At least 300 rounds, and until the notifier ran a while too. */
	for (unsigned int i = 0; i < 300 || atomic_load(&race_notifies) < 2000;
	     i++) {
		uint64_t at = base[(i + 1) % 2];

		if (i % 2)
			ecam_write(1, 0, 0x10, 4, at | 4);
		else
			cfg1_write(1, 0, 0x10, 4, (uint32_t)at | 4);
		wr(&vm.mmio, at + 0x800 + 12, 4, i % 3 == 0);
		rd(&vm.mmio, at + 0xc00, 8);
	}
	cfg1_write(1, 0, 0x10, 4, (uint32_t)MSIX_BAR_ADDR);
	msix_mask(0, true);
	atomic_store(&race_stop, true);
	pthread_join(th, NULL);
	pci_dev_notify(&race_dev.pci, 0);
	assert_int_equal(rd(&vm.mmio, PBA, 1), 1);
	msix_mask(0, false);
	assert_int_equal(rd(&vm.mmio, PBA, 1), 0);
	pci_bus_destroy(&pbus);
	pci_dev_destroy(&race_dev.pci);
}

/*
 * Two "vCPUs" move BARs at once, one through the data port (an MMIO BAR),
 * the other through ECAM (an I/O BAR) while also using the MMIO BAR: each
 * needs the other's bus for writing while inside its own.
 */
static struct tdev race_bars;
static struct fake_dev race_io = { .id = 2 }; /* one handler a thread */

static void *ecam_vcpu(void *arg)
{
	for (unsigned int i = 0; i < 2000; i++) {
		ecam_write(1, 0, 0x14, 4, i % 2 ? 0xd000 : 0xc000);
		rd(&vm.mmio, 0xc0000000, 4);
		rd(&vm.mmio, 0xc8000000, 4);
	}
	return NULL;
}

static void test_two_vcpus(void **state)
{
	pthread_t th;

	tdev_init(&race_bars, 0x1042);
	assert_int_equal(pci_dev_set_bar(&race_bars.pci, 0, 0x1000, 0,
					 &fake_dev_ops, &race_bars.fd),
			 0);
	assert_int_equal(pci_dev_set_bar(&race_bars.pci, 1, 0x20, PCI_BAR_IO,
					 &fake_dev_ops, &race_io),
			 0);
	assert_int_equal(pci_bus_add(&pbus, &race_bars.pci), 0);
	assert_int_equal(pthread_create(&th, NULL, ecam_vcpu, NULL), 0);
	for (unsigned int i = 0; i < 2000; i++) {
		cfg1_write(1, 0, 0x10, 4, i % 2 ? 0xc0000000 : 0xc8000000);
		rd(&vm.pio, 0xc000, 1);
		rd(&vm.pio, 0xd000, 1);
	}
	pthread_join(th, NULL);
	assert_true(claimed(&vm.mmio, 0xc0000000));
	assert_false(claimed(&vm.mmio, 0xc8000000));
	assert_true(claimed(&vm.pio, 0xd000));
	assert_false(claimed(&vm.pio, 0xc000));
	pci_bus_destroy(&pbus);
	pci_dev_destroy(&race_bars.pci);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_host_bridge),
		T(test_cf8_latch),
		T(test_cf9_reset),
		T(test_absent_functions),
		T(test_cfg_reads),
		T(test_cfg_writes_cf8),
		T(test_cfg_writes_ecam),
		T(test_cfg_writable_fields),
		T(test_bar_assignment),
		T(test_bar_sizing),
		T(test_bar_relocation),
		T(test_bar_overlap),
		T(test_capabilities),
		T(test_msix_capability),
		T(test_msix_table),
		T(test_msix_mask_pending),
		T(test_intx),
		T(test_intx_shared),
		T(test_slots),
		T(test_windows_full),
		T(test_bad_arguments),
		T(test_threads),
		T(test_two_vcpus),
	};

	return cmocka_run_group_tests_name("pci", tests, NULL, NULL);
}
