// SPDX-License-Identifier: MIT
/*
 * Field offsets follow ACPI 6.x. The FADT is a full (not hardware-reduced)
 * one because Linux on x86 wants the PM1 blocks to power off through \_S5;
 * SMI_CMD is 0, so the guest finds ACPI already enabled.
 */
#include "boot/acpi.h"

#include <errno.h>
#include <string.h>

#include "vmm/acpi_pm.h"
#include "vmm/layout_x86_64.h"
#include "vmm/le.h"

#define OEM_ID "VMM   " /* 6 bytes */
#define OEM_TABLE_ID "VMMTABLE" /* 8 bytes */
#define OEM_REVISION 1
#define CREATOR_ID "VMM " /* 4 bytes */
#define CREATOR_REVISION 1

#define HDR_LEN 36 /* every table but the RSDP and FACS */
#define HDR_CSUM 9
#define RSDP_LEN 36
#define RSDP_V1_LEN 20 /* what the first checksum covers */
#define FACS_LEN 64
#define FADT_LEN 276 /* revision 6 */
#define MADT_LAPIC_LEN 8
#define MADT_IOAPIC_LEN 12
#define MADT_ISO_LEN 10
#define MADT_NMI_LEN 6
#define MADT_FIXED_LEN (44 + MADT_IOAPIC_LEN + 2 * MADT_ISO_LEN + MADT_NMI_LEN)
#define MCFG_LEN (HDR_LEN + 8 + 16) /* reserved, one allocation */

/* Tables the XSDT and RSDT list: FADT, MADT, MCFG; room for more. */
#define MAX_TABLES 8

#define FADT_WBINVD (1u << 0)
#define FADT_PROC_C1 (1u << 2)
#define FADT_PWR_BUTTON (1u << 4) /* no fixed power button */
#define FADT_SLP_BUTTON (1u << 5) /* no fixed sleep button */
#define BOOT_ARCH_8042 (1u << 1)
#define BOOT_ARCH_NO_VGA (1u << 2)
#define CMOS_CENTURY 0x32 /* our CMOS keeps the century there */

#define MADT_PCAT_COMPAT 1
#define MADT_ENABLED 1
#define ISO_LEVEL_HIGH 0x000d /* active high (01), level triggered (11) */

/* Little-endian bytes of a constant, for AML and resource templates. */
#define LE16(x) (uint8_t)(x), (uint8_t)((x) >> 8)
#define LE32(x) LE16((x)&0xffff), LE16(((x) >> 16) & 0xffff)

/*
 * The DSDT's AML, hand-assembled (iasl -d turns it back into the ASL in
 * the comments). Every byte is interpreted by the guest, so nothing more:
 *
 * \_S5 as Package (4) { 5, 5, 0, 0 }: SLP_TYPa, SLP_TYPb, reserved.
 *
 * Device (\_SB.PCI0): the host bridge, without which an ACPI Linux never
 * scans PCI. No _PRT: Linux then uses the interrupt line register (ISA
 * IRQ LAYOUT_PCI_INTX_IRQ, level-triggered by the MADT override); no
 * _OSC: there is no native PCIe hotplug, AER or PME to hand over. _CRS:
 * bus 0, the config ports, all other I/O ports, and the BAR window
 * (LAYOUT_PCI_MMIO).
 */
static const uint8_t dsdt_aml[] = {
	/* Name (_S5, Package (4) { 5, 5, Zero, Zero }): PkgLength 8 */
	0x08, '_', 'S', '5', '_', 0x12, 0x08, 0x04, 0x0a, ACPI_PM_SLP_TYP_S5,
	0x0a, ACPI_PM_SLP_TYP_S5, 0x00, 0x00,

	/* Device (_SB.PCI0) {: PkgLength 0x8f, a name path from the root */
	0x5b, 0x82, 0x4f, 0x08, 0x2e, '_', 'S', 'B', '_', 'P', 'C', 'I', '0',
	/* Name (_HID, EisaId ("PNP0A08")) */
	0x08, '_', 'H', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0a, 0x08,
	/* Name (_CID, EisaId ("PNP0A03")) */
	0x08, '_', 'C', 'I', 'D', 0x0c, 0x41, 0xd0, 0x0a, 0x03,
	/* Name (_UID, Zero), Name (_SEG, Zero), Name (_BBN, Zero) */
	0x08, '_', 'U', 'I', 'D', 0x00, 0x08, '_', 'S', 'E', 'G', 0x00, 0x08,
	'_', 'B', 'B', 'N', 0x00,
	/* Name (_CRS, ResourceTemplate () {: a Buffer, PkgLength 0x58, of
	 * 84 bytes */
	0x08, '_', 'C', 'R', 'S', 0x11, 0x48, 0x05, 0x0a, 0x54,
	/* WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode,
	 * 0, 0, 0, 0, 1) */
	0x88, LE16(13), 0x02, 0x0c, 0x00, LE16(0), LE16(0), LE16(0), LE16(0),
	LE16(1),
	/* IO (Decode16, 0x0CF8, 0x0CF8, 1, 8) */
	0x47, 0x01, LE16(0xcf8), LE16(0xcf8), 0x01, 0x08,
	/* WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode,
	 * EntireRange, 0, 0x0000, 0x0CF7, 0, 0x0CF8) */
	0x88, LE16(13), 0x01, 0x0c, 0x03, LE16(0), LE16(0), LE16(0xcf7),
	LE16(0), LE16(0xcf8),
	/* WordIO (the same, 0, 0x0D00, 0xFFFF, 0, 0xF300) */
	0x88, LE16(13), 0x01, 0x0c, 0x03, LE16(0), LE16(0xd00), LE16(0xffff),
	LE16(0), LE16(0xf300),
	/* DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed,
	 * NonCacheable, ReadWrite, 0, LAYOUT_PCI_MMIO, + SIZE - 1, 0, SIZE) */
	0x87, LE16(23), 0x00, 0x0c, 0x01, LE32(0), LE32(LAYOUT_PCI_MMIO),
	LE32(LAYOUT_PCI_MMIO + LAYOUT_PCI_MMIO_SIZE - 1), LE32(0),
	LE32(LAYOUT_PCI_MMIO_SIZE),
	/* EndTag }) } */
	0x79, 0x00
};
/* The hand-computed PkgLengths above: _S5 14 bytes, Device 2 + 0x8f. */
_Static_assert(sizeof(dsdt_aml) == 14 + 2 + 0x8f, "DSDT PkgLength");

struct acpi_builder {
	uint8_t *buf;
	size_t len, used;
	uint64_t gpa; /* where buf[0] is in the guest */
	uint64_t tables[MAX_TABLES]; /* for the XSDT and RSDT */
	unsigned int nr_tables;
};

static uint8_t acpi_checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum += p[i];
	return (uint8_t)-sum;
}

/* Take @size zeroed bytes at the next @align-aligned guest address. */
static uint8_t *acpi_alloc(struct acpi_builder *b, size_t size, size_t align,
			   uint64_t *gpa)
{
	size_t off = b->used + (-(b->gpa + b->used) & (align - 1));

	if (off > b->len || size > b->len - off)
		return NULL;
	/* Padding too, so the result never depends on the buffer's history. */
	memset(b->buf + b->used, 0, off + size - b->used);
	b->used = off + size;
	*gpa = b->gpa + off;
	return b->buf + off;
}

/* A table of @size bytes with its header filled in but no checksum yet. */
static uint8_t *acpi_table_new(struct acpi_builder *b, const char *sig,
			       size_t size, uint8_t rev, uint64_t *gpa)
{
	uint8_t *t = acpi_alloc(b, size, 16, gpa);

	if (!t)
		return NULL;
	memcpy(t, sig, 4);
	put_le32(t + 4, (uint32_t)size);
	t[8] = rev;
	memcpy(t + 10, OEM_ID, 6);
	memcpy(t + 16, OEM_TABLE_ID, 8);
	put_le32(t + 24, OEM_REVISION);
	memcpy(t + 28, CREATOR_ID, 4);
	put_le32(t + 32, CREATOR_REVISION);
	return t;
}

/* The checksum goes last: it covers every other byte of the table. */
static void acpi_table_done(uint8_t *t)
{
	t[HDR_CSUM] = 0;
	t[HDR_CSUM] = acpi_checksum(t, get_le32(t + 4));
}

/* Have the XSDT and RSDT list the table at @gpa. */
static int acpi_list(struct acpi_builder *b, uint64_t gpa)
{
	if (b->nr_tables == MAX_TABLES)
		return -ENOSPC;
	b->tables[b->nr_tables++] = gpa;
	return 0;
}

/* Version 2, no waking vector: we never resume from sleep. No checksum. */
static int build_facs(struct acpi_builder *b, uint64_t *gpa)
{
	uint8_t *t = acpi_alloc(b, FACS_LEN, 64, gpa);

	if (!t)
		return -ENOSPC;
	memcpy(t, "FACS", 4);
	put_le32(t + 4, FACS_LEN);
	t[32] = 2;
	return 0;
}

/* Revision 2: 64-bit AML integers. */
static int build_dsdt(struct acpi_builder *b, uint64_t *gpa)
{
	uint8_t *t =
		acpi_table_new(b, "DSDT", HDR_LEN + sizeof(dsdt_aml), 2, gpa);

	if (!t)
		return -ENOSPC;
	memcpy(t + HDR_LEN, dsdt_aml, sizeof(dsdt_aml));
	acpi_table_done(t);
	return 0;
}

/* The fixed hardware: PM1a event and control blocks, and the SCI. */
static void fadt_pm(uint8_t *t)
{
	put_le16(t + 46, LAYOUT_SCI_IRQ); /* SCI_INT */
	put_le32(t + 48, 0); /* SMI_CMD: no SMM, ACPI is always on */
	put_le32(t + 56, LAYOUT_PM1_EVT); /* PM1a_EVT_BLK */
	put_le32(t + 64, LAYOUT_PM1_CNT); /* PM1a_CNT_BLK */
	t[88] = LAYOUT_PM1_EVT_LEN;
	t[89] = LAYOUT_PM1_CNT_LEN;
	/* No PM timer, no GPE blocks; C2 and C3 unsupported (> 100, > 1000). */
	put_le16(t + 96, 101); /* P_LVL2_LAT */
	put_le16(t + 98, 1001); /* P_LVL3_LAT */
	t[108] = CMOS_CENTURY;
	put_le16(t + 109,
		 BOOT_ARCH_8042 | BOOT_ARCH_NO_VGA); /* IAPC_BOOT_ARCH */
	put_le32(t + 112, FADT_WBINVD | FADT_PROC_C1 | FADT_PWR_BUTTON |
				  FADT_SLP_BUTTON);
}

/*
 * DSDT: both pointers, equal, for old and new readers. FACS: only the
 * 32-bit one, as the spec wants one of the two (ACPICA installs the FACS
 * twice when both are set). X_PM1a_* stay zero: ACPICA derives them from
 * the 32-bit fields.
 */
static int build_fadt(struct acpi_builder *b, uint64_t facs, uint64_t dsdt)
{
	uint64_t gpa;
	uint8_t *t = acpi_table_new(b, "FACP", FADT_LEN, 6, &gpa);

	if (!t)
		return -ENOSPC;
	put_le32(t + 36, (uint32_t)facs); /* FIRMWARE_CTRL */
	put_le32(t + 40, (uint32_t)dsdt); /* DSDT */
	fadt_pm(t);
	t[131] = 0; /* FADT minor version: ACPI 6.0 */
	put_le64(t + 132, 0); /* X_FIRMWARE_CTRL: FIRMWARE_CTRL suffices */
	put_le64(t + 140, dsdt); /* X_DSDT */
	acpi_table_done(t);
	return acpi_list(b, gpa);
}

static uint8_t *madt_lapic(uint8_t *p, uint8_t id)
{
	p[0] = 0; /* Processor Local APIC */
	p[1] = MADT_LAPIC_LEN;
	p[2] = id; /* ACPI processor UID */
	p[3] = id; /* APIC id: KVM's default is the vCPU index */
	put_le32(p + 4, MADT_ENABLED);
	return p + MADT_LAPIC_LEN;
}

/* ISA IRQ @irq is level-triggered, active high, on the same GSI. */
static uint8_t *madt_iso_level(uint8_t *p, uint8_t irq)
{
	p[0] = 2; /* Interrupt Source Override */
	p[1] = MADT_ISO_LEN;
	p[2] = 0; /* ISA */
	p[3] = irq;
	put_le32(p + 4, irq);
	put_le16(p + 8, ISO_LEVEL_HIGH);
	return p + MADT_ISO_LEN;
}

/*
 * The IOAPIC takes GSIs 0..23 from pin 0. Two lines need an override
 * (level, active high): the SCI and the shared PCI INTx line, which Linux
 * uses through the interrupt line register as there is no _PRT (as QEMU's
 * tables do for its PCI IRQs). ISA IRQ 0 stays identity-mapped, as KVM
 * routes it.
 */
static void madt_ioapic(uint8_t *p, uint8_t ioapic_id)
{
	p[0] = 1; /* I/O APIC */
	p[1] = MADT_IOAPIC_LEN;
	p[2] = ioapic_id;
	put_le32(p + 4, (uint32_t)LAYOUT_IOAPIC);
	put_le32(p + 8, 0); /* GSI base */
	p += MADT_IOAPIC_LEN;
	p = madt_iso_level(p, LAYOUT_SCI_IRQ);
	p = madt_iso_level(p, LAYOUT_PCI_INTX_IRQ);
	p[0] = 4; /* Local APIC NMI */
	p[1] = MADT_NMI_LEN;
	p[2] = 0xff; /* all processors */
	put_le16(p + 3, 0); /* conforming polarity and trigger */
	p[5] = 1; /* LINT1 */
}

/* Revision 4 (ACPI 6.0): one LAPIC per CPU, then the IOAPIC and friends. */
static int build_madt(struct acpi_builder *b, unsigned int nr_cpus)
{
	uint64_t gpa;
	uint8_t *p,
		*t = acpi_table_new(b, "APIC",
				    MADT_FIXED_LEN + nr_cpus * MADT_LAPIC_LEN,
				    4, &gpa);

	if (!t)
		return -ENOSPC;
	put_le32(t + 36, (uint32_t)LAYOUT_LAPIC);
	put_le32(t + 40, MADT_PCAT_COMPAT); /* there are 8259s to mask */
	p = t + 44;
	for (unsigned int i = 0; i < nr_cpus; i++)
		p = madt_lapic(p, (uint8_t)i);
	madt_ioapic(p, (uint8_t)nr_cpus);
	acpi_table_done(t);
	return acpi_list(b, gpa);
}

/*
 * MCFG: one ECAM allocation, segment 0, buses 0 to the window's last (0);
 * the VMM's E820 map reserves the window, as Linux wants.
 */
static int build_mcfg(struct acpi_builder *b)
{
	uint64_t gpa;
	uint8_t *t = acpi_table_new(b, "MCFG", MCFG_LEN, 1, &gpa);

	if (!t)
		return -ENOSPC;
	/* Bytes 36..43 are reserved. */
	put_le64(t + 44, LAYOUT_PCI_ECAM);
	put_le16(t + 52, 0); /* PCI segment group */
	t[54] = 0; /* start bus */
	t[55] = (uint8_t)((LAYOUT_PCI_ECAM_SIZE >> 20) - 1); /* end bus */
	acpi_table_done(t);
	return acpi_list(b, gpa);
}

/* The XSDT lists 64-bit pointers; the RSDT, for old readers, 32-bit ones. */
static int build_sdt(struct acpi_builder *b, const char *sig, size_t width,
		     uint64_t *gpa)
{
	uint8_t *t =
		acpi_table_new(b, sig, HDR_LEN + b->nr_tables * width, 1, gpa);

	if (!t)
		return -ENOSPC;
	for (unsigned int i = 0; i < b->nr_tables; i++) {
		if (width == 8)
			put_le64(t + HDR_LEN + 8 * i, b->tables[i]);
		else
			put_le32(t + HDR_LEN + 4 * i, (uint32_t)b->tables[i]);
	}
	acpi_table_done(t);
	return 0;
}

static void build_rsdp(uint8_t *p, uint64_t rsdt, uint64_t xsdt)
{
	memcpy(p, "RSD PTR ", 8);
	memcpy(p + 9, OEM_ID, 6);
	p[15] = 2; /* ACPI 2.0+: the XSDT fields are valid */
	put_le32(p + 16, (uint32_t)rsdt);
	put_le32(p + 20, RSDP_LEN);
	put_le64(p + 24, xsdt);
	p[8] = acpi_checksum(p, RSDP_V1_LEN);
	p[32] = acpi_checksum(p, RSDP_LEN);
}

/* Everything the RSDP points at, in an order where pointers are known. */
static int build_tables(struct acpi_builder *b, unsigned int nr_cpus,
			uint64_t *rsdt, uint64_t *xsdt)
{
	uint64_t facs, dsdt;
	int ret = build_facs(b, &facs);

	if (!ret)
		ret = build_dsdt(b, &dsdt);
	if (!ret)
		ret = build_fadt(b, facs, dsdt);
	if (!ret)
		ret = build_madt(b, nr_cpus);
	if (!ret)
		ret = build_mcfg(b);
	if (!ret)
		ret = build_sdt(b, "XSDT", 8, xsdt);
	if (!ret)
		ret = build_sdt(b, "RSDT", 4, rsdt);
	return ret;
}

int acpi_build(uint8_t *buf, size_t len, uint64_t gpa, unsigned int nr_cpus)
{
	struct acpi_builder b = { .buf = buf, .len = len, .gpa = gpa };
	uint64_t rsdp, rsdt, xsdt;
	uint8_t *p;
	int ret;

	/* The 32-bit pointers (RSDT, FADT) must reach every table. */
	if (nr_cpus == 0 || nr_cpus > ACPI_MAX_CPUS || gpa % 16 ||
	    gpa >= (1ULL << 32))
		return -EINVAL;
	if (len > (1ULL << 32) - gpa)
		b.len = (1ULL << 32) - gpa;
	/* The RSDP is first; it is filled last, when the XSDT is placed. */
	p = acpi_alloc(&b, RSDP_LEN, 16, &rsdp);
	if (!p)
		return -ENOSPC;
	ret = build_tables(&b, nr_cpus, &rsdt, &xsdt);
	if (ret)
		return ret;
	build_rsdp(p, rsdt, xsdt);
	return (int)b.used;
}
