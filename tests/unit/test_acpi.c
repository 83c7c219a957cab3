// SPDX-License-Identifier: MIT
/* ACPI and MP tables, the PM1 device, and writing both into a VM. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <string.h>

#include "boot/acpi.h"
#include "boot/mptable.h"
#include "boot/x86_tables.h"
#include "vmm/acpi_pm.h"
#include "vmm/layout_x86_64.h"
#include "vmm/le.h"
#include "vmm/vm.h"

#define GPA 0xe0000ULL
#define BUF_LEN 8192

static uint8_t buf[BUF_LEN];

static uint8_t sum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	for (size_t i = 0; i < len; i++)
		s += p[i];
	return s;
}

/* The bytes at guest address @gpa, which must lie in [buf, buf + used). */
static const uint8_t *at(uint64_t gpa, size_t need, int used)
{
	assert_true(gpa >= GPA);
	assert_true(gpa - GPA + need <= (size_t)used);
	return buf + (gpa - GPA);
}

/* A table at @gpa with signature @sig, correct length and checksum. */
static const uint8_t *table(uint64_t gpa, const char *sig, int used)
{
	const uint8_t *t = at(gpa, 36, used);
	uint32_t len = get_le32(t + 4);

	assert_memory_equal(t, sig, 4);
	assert_true(len >= 36);
	at(gpa, len, used);
	assert_int_equal(sum(t, len), 0);
	return t;
}

static const uint8_t *xsdt_of(int used)
{
	const uint8_t *rsdp = at(GPA, 36, used);

	assert_memory_equal(rsdp, "RSD PTR ", 8);
	assert_int_equal(rsdp[15], 2);
	assert_int_equal(get_le32(rsdp + 20), 36);
	assert_int_equal(sum(rsdp, 20), 0);
	assert_int_equal(sum(rsdp, 36), 0);
	return table(get_le64(rsdp + 24), "XSDT", used);
}

/* Follow RSDP -> XSDT to the table with signature @sig. */
static const uint8_t *find(const char *sig, int used)
{
	const uint8_t *xsdt = xsdt_of(used);
	uint32_t n = (get_le32(xsdt + 4) - 36) / 8;

	for (uint32_t i = 0; i < n; i++) {
		const uint8_t *t = at(get_le64(xsdt + 36 + 8 * i), 36, used);

		if (!memcmp(t, sig, 4))
			return table(get_le64(xsdt + 36 + 8 * i), sig, used);
	}
	fail_msg("no %s in the XSDT", sig);
	return NULL;
}

static int build(unsigned int nr_cpus)
{
	int used;

	memset(buf, 0xa5, sizeof(buf)); /* stale bytes must not matter */
	used = acpi_build(buf, sizeof(buf), GPA, nr_cpus);
	assert_true(used > 0);
	return used;
}

static void test_acpi_roots(void **state)
{
	int used = build(2);
	const uint8_t *rsdp = buf, *xsdt = xsdt_of(used), *rsdt;

	assert_int_equal(get_le32(xsdt + 4), 36 + 3 * 8);
	assert_memory_equal(table(get_le64(xsdt + 36), "FACP", used), "FACP",
			    4);
	assert_memory_equal(table(get_le64(xsdt + 44), "APIC", used), "APIC",
			    4);
	assert_memory_equal(table(get_le64(xsdt + 52), "MCFG", used), "MCFG",
			    4);
	/* The RSDT lists the same tables with 32-bit pointers. */
	rsdt = table(get_le32(rsdp + 16), "RSDT", used);
	assert_int_equal(get_le32(rsdt + 4), 36 + 3 * 4);
	for (int i = 0; i < 3; i++)
		assert_int_equal(get_le32(rsdt + 36 + 4 * i),
				 get_le64(xsdt + 36 + 8 * i));
	assert_memory_equal(rsdp + 9, "VMM   ", 6);
	assert_memory_equal(xsdt + 10, "VMM   ", 6);
}

static void test_acpi_fadt(void **state)
{
	int used = build(1);
	const uint8_t *fadt = find("FACP", used), *facs, *dsdt;

	assert_int_equal(get_le32(fadt + 4), 276);
	assert_int_equal(fadt[8], 6);
	assert_int_equal(get_le32(fadt + 40), get_le64(fadt + 140));
	dsdt = table(get_le64(fadt + 140), "DSDT", used);
	assert_int_equal(get_le64(fadt + 132), 0); /* only FIRMWARE_CTRL */
	assert_int_equal(get_le32(fadt + 36) % 64, 0);
	facs = at(get_le32(fadt + 36), 64, used);
	assert_memory_equal(facs, "FACS", 4);
	assert_int_equal(get_le32(facs + 4), 64);
	assert_int_equal(facs[32], 2);
	assert_non_null(dsdt);
	assert_int_equal(get_le16(fadt + 46), LAYOUT_SCI_IRQ);
	assert_int_equal(get_le32(fadt + 48), 0); /* SMI_CMD */
	assert_int_equal(get_le32(fadt + 56), LAYOUT_PM1_EVT);
	assert_int_equal(get_le32(fadt + 64), LAYOUT_PM1_CNT);
	assert_int_equal(fadt[88], 4);
	assert_int_equal(fadt[89], 2);
	assert_int_equal(get_le32(fadt + 76), 0); /* no PM timer */
	assert_int_equal(get_le32(fadt + 80), 0); /* no GPE0 */
	assert_int_equal(get_le16(fadt + 96), 101);
	assert_int_equal(get_le16(fadt + 98), 1001);
	assert_int_equal(get_le16(fadt + 109), 0x0006); /* 8042, no VGA */
	assert_int_equal(get_le32(fadt + 112), 0x35);
	for (int i = 148; i < 184; i++) /* X_PM1a/b_EVT, X_PM1a_CNT */
		assert_int_equal(fadt[i], 0);
}

/* \_S5, then Device (\_SB.PCI0): the bytes iasl makes of the ASL. */
static void test_acpi_dsdt(void **state)
{
	static const uint8_t aml[] = {
		0x08, '_',  'S',  '5',	'_',  0x12, 0x08,
		0x04, 0x0a, 0x05, 0x0a, 0x05, 0x00, 0x00
	};
	/*
	 * Device (_SB.PCI0) { Name (_HID, EisaId ("PNP0A08")), _CID
	 * EisaId ("PNP0A03"), _UID 0, _SEG 0, _BBN 0, _CRS: WordBusNumber
	 * 0-0, IO (Decode16, 0xCF8, 0xCF8, 1, 8), WordIO 0-0xCF7 and
	 * 0xD00-0xFFFF, DWordMemory 0xC0000000-0xDFFFFFFF }: iasl 20200925
	 * output for that ASL.
	 */
	static const uint8_t pci0[] = {
		0x5b, 0x82, 0x4f, 0x08, 0x2e, 0x5f, 0x53, 0x42, 0x5f, 0x50,
		0x43, 0x49, 0x30, 0x08, 0x5f, 0x48, 0x49, 0x44, 0x0c, 0x41,
		0xd0, 0x0a, 0x08, 0x08, 0x5f, 0x43, 0x49, 0x44, 0x0c, 0x41,
		0xd0, 0x0a, 0x03, 0x08, 0x5f, 0x55, 0x49, 0x44, 0x00, 0x08,
		0x5f, 0x53, 0x45, 0x47, 0x00, 0x08, 0x5f, 0x42, 0x42, 0x4e,
		0x00, 0x08, 0x5f, 0x43, 0x52, 0x53, 0x11, 0x48, 0x05, 0x0a,
		0x54, 0x88, 0x0d, 0x00, 0x02, 0x0c, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x47, 0x01, 0xf8,
		0x0c, 0xf8, 0x0c, 0x01, 0x08, 0x88, 0x0d, 0x00, 0x01, 0x0c,
		0x03, 0x00, 0x00, 0x00, 0x00, 0xf7, 0x0c, 0x00, 0x00, 0xf8,
		0x0c, 0x88, 0x0d, 0x00, 0x01, 0x0c, 0x03, 0x00, 0x00, 0x00,
		0x0d, 0xff, 0xff, 0x00, 0x00, 0x00, 0xf3, 0x87, 0x17, 0x00,
		0x00, 0x0c, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0xc0, 0xff, 0xff, 0xff, 0xdf, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x20, 0x79, 0x00,
	};
	int used = build(1);
	const uint8_t *fadt = find("FACP", used);
	const uint8_t *dsdt = table(get_le64(fadt + 140), "DSDT", used);

	assert_int_equal(get_le32(dsdt + 4), 36 + sizeof(aml) + sizeof(pci0));
	assert_memory_equal(dsdt + 36, aml, sizeof(aml));
	assert_memory_equal(dsdt + 36 + sizeof(aml), pci0, sizeof(pci0));
	assert_int_equal(aml[9], ACPI_PM_SLP_TYP_S5);
	/* The memory window, before the end tag, is the layout's. */
	assert_int_equal(get_le32(pci0 + sizeof(pci0) - 2 - 16),
			 LAYOUT_PCI_MMIO);
	assert_int_equal(get_le32(pci0 + sizeof(pci0) - 2 - 4),
			 LAYOUT_PCI_MMIO_SIZE);
}

static void test_acpi_mcfg(void **state)
{
	int used = build(2);
	const uint8_t *mcfg = find("MCFG", used);

	assert_int_equal(get_le32(mcfg + 4), 60);
	assert_int_equal(mcfg[8], 1);
	assert_int_equal(get_le64(mcfg + 36), 0); /* reserved */
	assert_int_equal(get_le64(mcfg + 44), LAYOUT_PCI_ECAM);
	assert_int_equal(get_le16(mcfg + 52), 0); /* segment */
	assert_int_equal(mcfg[54], 0); /* buses 0..0 */
	assert_int_equal(mcfg[55], 0);
	assert_int_equal(get_le32(mcfg + 56), 0);
	assert_int_equal(LAYOUT_PCI_ECAM_SIZE, 1 << 20); /* one bus */
}

/* Walk the MADT entries; check LAPIC ids 0..n-1 and the rest. */
static void check_madt(unsigned int n)
{
	int used = build(n);
	const uint8_t *madt = find("APIC", used);
	uint32_t len = get_le32(madt + 4), off = 44;
	unsigned int lapics = 0, ioapics = 0, isos = 0, nmis = 0;

	assert_int_equal(get_le32(madt + 36), LAYOUT_LAPIC);
	assert_int_equal(get_le32(madt + 40), 1); /* PCAT_COMPAT */
	while (off < len) {
		const uint8_t *e = madt + off;

		assert_true(e[1] >= 2 && off + e[1] <= len);
		switch (e[0]) {
		case 0:
			assert_int_equal(e[1], 8);
			assert_int_equal(e[2], lapics);
			assert_int_equal(e[3], lapics);
			assert_int_equal(get_le32(e + 4), 1);
			lapics++;
			break;
		case 1:
			assert_int_equal(e[2], n);
			assert_int_equal(get_le32(e + 4), LAYOUT_IOAPIC);
			assert_int_equal(get_le32(e + 8), 0);
			ioapics++;
			break;
		case 2: /* the SCI, then the PCI INTx line: level, high */
			assert_int_equal(e[2], 0);
			assert_int_equal(e[3], isos ? LAYOUT_PCI_INTX_IRQ :
						      LAYOUT_SCI_IRQ);
			assert_int_equal(get_le32(e + 4), e[3]);
			assert_int_equal(get_le16(e + 8), 0x000d);
			isos++;
			break;
		case 4:
			assert_int_equal(e[2], 0xff);
			assert_int_equal(e[5], 1);
			nmis++;
			break;
		default:
			fail_msg("unexpected MADT entry type %u", e[0]);
		}
		off += e[1];
	}
	assert_int_equal(off, len);
	assert_int_equal(lapics, n);
	assert_int_equal(ioapics, 1);
	assert_int_equal(isos, 2);
	assert_int_equal(nmis, 1);
}

static void test_acpi_madt(void **state)
{
	check_madt(1);
	check_madt(2);
	check_madt(64);
	check_madt(254);
}

static void test_acpi_errors(void **state)
{
	int used = acpi_build(buf, sizeof(buf), GPA, 1);

	assert_true(used > 0);
	for (int len = 0; len < used; len += 7)
		assert_int_equal(acpi_build(buf, len, GPA, 1), -ENOSPC);
	assert_int_equal(acpi_build(buf, used - 1, GPA, 1), -ENOSPC);
	assert_int_equal(acpi_build(buf, used, GPA, 1), used);
	assert_int_equal(acpi_build(buf, sizeof(buf), GPA, 0), -EINVAL);
	assert_int_equal(acpi_build(buf, sizeof(buf), GPA, 255), -EINVAL);
	assert_int_equal(acpi_build(buf, sizeof(buf), GPA + 8, 1), -EINVAL);
	assert_int_equal(acpi_build(buf, sizeof(buf), 1ULL << 32, 1), -EINVAL);
}

/* The same tables wherever they land, as long as the FACS stays aligned. */
static void test_acpi_other_gpa(void **state)
{
	int used = acpi_build(buf, sizeof(buf), 0x1010, 3);
	uint64_t xsdt = get_le64(buf + 24), fadt, facs;

	assert_true(used > 0);
	assert_int_equal(sum(buf, 36), 0);
	fadt = get_le64(buf + (xsdt - 0x1010) + 36);
	facs = get_le32(buf + (fadt - 0x1010) + 36);
	assert_int_equal(facs % 64, 0);
	assert_memory_equal(buf + (facs - 0x1010), "FACS", 4);
}

static void check_mptable(unsigned int n)
{
	int used = mptable_build(buf, sizeof(buf), 0xf0000, n);
	const uint8_t *mpf = buf, *mpc;
	unsigned int count, cpus = 0, ioints = 0, lints = 0, off = 44;

	assert_true(used > 0);
	assert_memory_equal(mpf, "_MP_", 4);
	assert_int_equal(mpf[8], 1);
	assert_int_equal(mpf[9], 4);
	assert_int_equal(mpf[11], 0);
	assert_int_equal(mpf[12], 0);
	assert_int_equal(sum(mpf, 16), 0);
	assert_int_equal(get_le32(mpf + 4), 0xf0010);
	mpc = buf + 16;
	assert_memory_equal(mpc, "PCMP", 4);
	assert_int_equal(get_le16(mpc + 4), used - 16);
	assert_int_equal(mpc[6], 4);
	assert_int_equal(sum(mpc, get_le16(mpc + 4)), 0);
	assert_int_equal(get_le32(mpc + 36), LAYOUT_LAPIC);
	count = get_le16(mpc + 34);
	assert_int_equal(count, n + 1 + 1 + 15 + 2);
	for (unsigned int i = 0; i < count; i++) {
		const uint8_t *e = mpc + off;

		switch (e[0]) {
		case 0:
			assert_int_equal(e[1], cpus);
			assert_int_equal(e[3], cpus == 0 ? 0x03 : 0x01);
			cpus++;
			off += 20;
			continue;
		case 1:
			assert_memory_equal(e + 2, "ISA   ", 6);
			break;
		case 2:
			assert_int_equal(e[1], n);
			assert_int_equal(e[3], 1);
			assert_int_equal(get_le32(e + 4), LAYOUT_IOAPIC);
			break;
		case 3:
			assert_int_not_equal(e[5], 2);
			assert_int_equal(e[5], e[7]);
			assert_int_equal(e[6], n);
			ioints++;
			break;
		case 4:
			assert_int_equal(e[6], 0xff);
			assert_int_equal(e[7], e[1] == 3 ? 0 : 1);
			lints++;
			break;
		default:
			fail_msg("unexpected MP entry type %u", e[0]);
		}
		off += 8;
	}
	assert_int_equal(off + 16, used);
	assert_int_equal(cpus, n);
	assert_int_equal(ioints, 15);
	assert_int_equal(lints, 2);
}

static void test_mptable(void **state)
{
	check_mptable(1);
	check_mptable(2);
	check_mptable(64);
	check_mptable(254);
	assert_int_equal(mptable_build(buf, 16, 0xf0000, 1), -ENOSPC);
	assert_int_equal(mptable_build(buf, 231, 0xf0000, 1), -ENOSPC);
	assert_int_equal(mptable_build(buf, 232, 0xf0000, 1), 232);
	assert_int_equal(mptable_build(buf, sizeof(buf), 0xf0000, 0), -EINVAL);
	assert_int_equal(mptable_build(buf, sizeof(buf), 0xf0000, 255),
			 -EINVAL);
	assert_int_equal(mptable_build(buf, sizeof(buf), 0xf0004, 1), -EINVAL);
}

static void pm_write16(const struct bus_ops *ops, void *pm, uint64_t off,
		       uint16_t v)
{
	uint8_t d[2];

	put_le16(d, v);
	ops->write(pm, off, d, 2);
}

static uint16_t pm_read16(const struct bus_ops *ops, void *pm, uint64_t off)
{
	uint8_t d[2];

	ops->read(pm, off, d, 2);
	return get_le16(d);
}

#define SLP_EN 0x2000
#define SLP_TYP(n) ((n) << 10)

static struct vm *pm_vm;

static int pm_setup_vm(void **state)
{
	static struct vm vm;
	struct acpi_pm *pm;

	if (vm_init(&vm, 32 << 20) || acpi_pm_create(&vm, &pm))
		return -1;
	pm_vm = &vm;
	*state = pm;
	return 0;
}

static int pm_teardown(void **state)
{
	acpi_pm_destroy(*state);
	vm_destroy(pm_vm);
	return 0;
}

static void test_pm_s5_word_write(void **state)
{
	pm_write16(&acpi_pm_cnt_ops, *state, 0, SLP_TYP(5) | SLP_EN | 1);
	assert_int_equal(pm_vm->stop_reason, VM_STOP_POWEROFF);
}

static void test_pm_no_stop_without_slp_en_or_s5(void **state)
{
	pm_write16(&acpi_pm_cnt_ops, *state, 0, SLP_TYP(5));
	assert_int_equal(pm_vm->stop_reason, VM_STOP_NONE);
	assert_int_equal(pm_read16(&acpi_pm_cnt_ops, *state, 0),
			 SLP_TYP(5) | 1);
	pm_write16(&acpi_pm_cnt_ops, *state, 0, SLP_TYP(1) | SLP_EN);
	assert_int_equal(pm_vm->stop_reason, VM_STOP_NONE);
	/* A low-byte write alone must not replay an earlier SLP_EN. */
	pm_write16(&acpi_pm_cnt_ops, *state, 0, SLP_TYP(5));
	acpi_pm_cnt_ops.write(*state, 0, (uint8_t[]){ 0x01 }, 1);
	assert_int_equal(pm_vm->stop_reason, VM_STOP_NONE);
	assert_false(atomic_load(&pm_vm->stopping));
}

static void test_pm_s5_byte_writes(void **state)
{
	uint16_t v = SLP_TYP(5) | SLP_EN | 1;

	acpi_pm_cnt_ops.write(*state, 0, (uint8_t[]){ (uint8_t)v }, 1);
	assert_int_equal(pm_vm->stop_reason, VM_STOP_NONE);
	acpi_pm_cnt_ops.write(*state, 1, (uint8_t[]){ (uint8_t)(v >> 8) }, 1);
	assert_int_equal(pm_vm->stop_reason, VM_STOP_POWEROFF);
}

static void test_pm_reads_and_enable(void **state)
{
	uint8_t d[4];

	assert_int_equal(pm_read16(&acpi_pm_cnt_ops, *state, 0) & 1, 1);
	acpi_pm_cnt_ops.read(*state, 0, d, 1);
	assert_int_equal(d[0] & 1, 1); /* SCI_EN */
	assert_int_equal(pm_read16(&acpi_pm_evt_ops, *state, 0), 0);
	pm_write16(&acpi_pm_evt_ops, *state, 2, 0x0121);
	assert_int_equal(pm_read16(&acpi_pm_evt_ops, *state, 2), 0x0121);
	pm_write16(&acpi_pm_evt_ops, *state, 0, 0xffff); /* W1C: stays 0 */
	assert_int_equal(pm_read16(&acpi_pm_evt_ops, *state, 0), 0);
	acpi_pm_evt_ops.read(*state, 0, d, 4);
	assert_int_equal(get_le32(d), 0x01210000);
	acpi_pm_evt_ops.write(*state, 3, (uint8_t[]){ 0x80 }, 1);
	assert_int_equal(pm_read16(&acpi_pm_evt_ops, *state, 2), 0x8021);
}

static void test_pm_odd_accesses(void **state)
{
	uint8_t d[4] = { 0xff, 0xff, 0xff, 0xff };

	/* Offsets past the block read 0xff and writes there vanish. */
	acpi_pm_cnt_ops.read(*state, 1, d, 4);
	assert_int_equal(d[0], SLP_TYP(0) >> 8);
	assert_int_equal(d[1], 0xff);
	assert_int_equal(d[3], 0xff);
	acpi_pm_cnt_ops.read(*state, UINT64_MAX, d, 4);
	assert_int_equal(get_le32(d), 0xffffffff);
	acpi_pm_evt_ops.read(*state, 3, d, 4);
	assert_int_equal(d[1], 0xff);
	acpi_pm_cnt_ops.write(*state, 2, (uint8_t[]){ 0xff, 0xff }, 2);
	acpi_pm_cnt_ops.write(*state, UINT64_MAX, (uint8_t[]){ 0xff }, 1);
	acpi_pm_evt_ops.write(*state, 5, d, 4);
	acpi_pm_cnt_ops.write(*state, 0, d, 0);
	assert_int_equal(pm_read16(&acpi_pm_cnt_ops, *state, 0), 1);
	assert_int_equal(pm_vm->stop_reason, VM_STOP_NONE);
	/* A 32-bit write at 0 covers the block; its upper half is dropped. */
	put_le32(d, SLP_TYP(5) | SLP_EN);
	acpi_pm_cnt_ops.write(*state, 0, d, 4);
	assert_int_equal(pm_vm->stop_reason, VM_STOP_POWEROFF);
}

static void test_x86_tables_write(void **state)
{
	struct vm vm;
	uint64_t rsdp = 0;
	const uint8_t *p;

	assert_int_equal(vm_init(&vm, 32 << 20), 0);
	assert_int_equal(x86_tables_write(&vm, 2, &rsdp), 0);
	assert_int_equal(rsdp, LAYOUT_ACPI);
	p = vm_gpa_to_hva(&vm, LAYOUT_ACPI, 36);
	assert_memory_equal(p, "RSD PTR ", 8);
	assert_int_equal(sum(p, 36), 0);
	assert_true(get_le64(p + 24) > LAYOUT_ACPI);
	assert_true(get_le64(p + 24) < LAYOUT_ACPI + LAYOUT_ACPI_MAX);
	p = vm_gpa_to_hva(&vm, LAYOUT_MPTABLE, 16);
	assert_memory_equal(p, "_MP_", 4);
	assert_int_equal(get_le32(p + 4), LAYOUT_MPTABLE + 16);
	assert_int_equal(sum(p, 16), 0);
	assert_int_equal(x86_tables_write(&vm, 0, &rsdp), -EINVAL);
	vm_destroy(&vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_acpi_roots),
		cmocka_unit_test(test_acpi_fadt),
		cmocka_unit_test(test_acpi_dsdt),
		cmocka_unit_test(test_acpi_mcfg),
		cmocka_unit_test(test_acpi_madt),
		cmocka_unit_test(test_acpi_errors),
		cmocka_unit_test(test_acpi_other_gpa),
		cmocka_unit_test(test_mptable),
		cmocka_unit_test_setup_teardown(test_pm_s5_word_write,
						pm_setup_vm, pm_teardown),
		cmocka_unit_test_setup_teardown(
			test_pm_no_stop_without_slp_en_or_s5, pm_setup_vm,
			pm_teardown),
		cmocka_unit_test_setup_teardown(test_pm_s5_byte_writes,
						pm_setup_vm, pm_teardown),
		cmocka_unit_test_setup_teardown(test_pm_reads_and_enable,
						pm_setup_vm, pm_teardown),
		cmocka_unit_test_setup_teardown(test_pm_odd_accesses,
						pm_setup_vm, pm_teardown),
		cmocka_unit_test(test_x86_tables_write),
	};

	return cmocka_run_group_tests_name("acpi", tests, NULL, NULL);
}
