// SPDX-License-Identifier: MIT
#include "boot/mptable.h"

#include <errno.h>
#include <string.h>

#include "vmm/layout_x86_64.h"
#include "vmm/le.h"

#define MPF_LEN 16 /* floating pointer */
#define MPC_HDR_LEN 44 /* configuration table header */
#define MPC_CPU_LEN 20
#define MPC_ENTRY_LEN 8 /* bus, IOAPIC, I/O and local interrupt entries */
#define SPEC_REV 4 /* MP spec 1.4 */

#define NR_ISA_IRQS 16
#define ISA_CASCADE 2 /* the 8259 cascade has no IOAPIC pin */
#define NR_IRQ_ENTRIES (NR_ISA_IRQS - 1)
#define NR_LOCAL_ENTRIES 2 /* ExtINT -> LINT0, NMI -> LINT1 */

#define ENTRY_CPU 0
#define ENTRY_BUS 1
#define ENTRY_IOAPIC 2
#define ENTRY_IOINT 3
#define ENTRY_LOCALINT 4

#define CPU_ENABLED 0x01
#define CPU_BSP 0x02
#define CPU_SIGNATURE 0x600 /* family 6, model 0, stepping 0 */
#define CPU_FEATURES 0x201 /* FPU, APIC */
#define LAPIC_VERSION 0x14
#define IOAPIC_VERSION 0x11
#define IOAPIC_ENABLED 0x01

#define INT_TYPE_INT 0
#define INT_TYPE_NMI 1
#define INT_TYPE_EXTINT 3
#define ALL_LAPICS 0xff
#define ISA_BUS_ID 0

static uint8_t mp_checksum(const uint8_t *p, size_t len)
{
	uint8_t sum = 0;

	for (size_t i = 0; i < len; i++)
		sum += p[i];
	return (uint8_t)-sum;
}

static size_t mpc_len(unsigned int nr_cpus)
{
	return MPC_HDR_LEN + nr_cpus * MPC_CPU_LEN +
	       (2 + NR_IRQ_ENTRIES + NR_LOCAL_ENTRIES) * MPC_ENTRY_LEN;
}

static uint8_t *mpc_cpu(uint8_t *p, unsigned int id)
{
	p[0] = ENTRY_CPU;
	p[1] = (uint8_t)id; /* KVM's default APIC id is the vCPU index */
	p[2] = LAPIC_VERSION;
	p[3] = CPU_ENABLED | (id == 0 ? CPU_BSP : 0);
	put_le32(p + 4, CPU_SIGNATURE);
	put_le32(p + 8, CPU_FEATURES);
	return p + MPC_CPU_LEN;
}

/* An interrupt entry; flags 0 means polarity and trigger conform to the bus. */
static uint8_t *mpc_int(uint8_t *p, uint8_t entry, uint8_t type, uint8_t irq,
			uint8_t dest, uint8_t pin)
{
	p[0] = entry;
	p[1] = type;
	put_le16(p + 2, 0);
	p[4] = ISA_BUS_ID;
	p[5] = irq;
	p[6] = dest;
	p[7] = pin;
	return p + MPC_ENTRY_LEN;
}

/* The bus and the IOAPIC, with ISA IRQ n on IOAPIC pin n (KVM's routing). */
static uint8_t *mpc_ioapic(uint8_t *p, uint8_t ioapic_id)
{
	p[0] = ENTRY_BUS;
	p[1] = ISA_BUS_ID;
	memcpy(p + 2, "ISA   ", 6);
	p += MPC_ENTRY_LEN;
	p[0] = ENTRY_IOAPIC;
	p[1] = ioapic_id;
	p[2] = IOAPIC_VERSION;
	p[3] = IOAPIC_ENABLED;
	put_le32(p + 4, (uint32_t)LAYOUT_IOAPIC);
	p += MPC_ENTRY_LEN;
	for (uint8_t irq = 0; irq < NR_ISA_IRQS; irq++)
		if (irq != ISA_CASCADE)
			p = mpc_int(p, ENTRY_IOINT, INT_TYPE_INT, irq,
				    ioapic_id, irq);
	return p;
}

static void mpc_header(uint8_t *t, size_t len, unsigned int nr_cpus)
{
	memcpy(t, "PCMP", 4);
	put_le16(t + 4, (uint16_t)len);
	t[6] = SPEC_REV;
	memcpy(t + 8, "VMM     ", 8); /* OEM id */
	memcpy(t + 16, "VMM MPTABLE ", 12); /* product id */
	put_le16(t + 34, (uint16_t)(nr_cpus + 2 + NR_IRQ_ENTRIES +
				    NR_LOCAL_ENTRIES)); /* entry count */
	put_le32(t + 36, (uint32_t)LAYOUT_LAPIC);
}

/* The configuration table at @t; entries must come sorted by type. */
static void build_mpc(uint8_t *t, size_t len, unsigned int nr_cpus)
{
	uint8_t *p = t + MPC_HDR_LEN;

	memset(t, 0, len);
	mpc_header(t, len, nr_cpus);
	for (unsigned int i = 0; i < nr_cpus; i++)
		p = mpc_cpu(p, i);
	p = mpc_ioapic(p, (uint8_t)nr_cpus);
	p = mpc_int(p, ENTRY_LOCALINT, INT_TYPE_EXTINT, 0, ALL_LAPICS, 0);
	mpc_int(p, ENTRY_LOCALINT, INT_TYPE_NMI, 0, ALL_LAPICS, 1);
	t[7] = mp_checksum(t, len);
}

/* Feature bytes 0: the table is present, and the PIC is in virtual wire mode. */
static void build_mpf(uint8_t *p, uint64_t table_gpa)
{
	memset(p, 0, MPF_LEN);
	memcpy(p, "_MP_", 4);
	put_le32(p + 4, (uint32_t)table_gpa);
	p[8] = 1; /* length in 16-byte units */
	p[9] = SPEC_REV;
	p[10] = mp_checksum(p, MPF_LEN);
}

int mptable_build(uint8_t *buf, size_t len, uint64_t gpa, unsigned int nr_cpus)
{
	size_t need;

	if (nr_cpus == 0 || nr_cpus > MPTABLE_MAX_CPUS)
		return -EINVAL;
	need = MPF_LEN + mpc_len(nr_cpus);
	/* The floating pointer holds a 32-bit address of the table. */
	if (gpa % 16 || gpa > (1ULL << 32) - need)
		return -EINVAL;
	if (len < need)
		return -ENOSPC;
	build_mpc(buf + MPF_LEN, need - MPF_LEN, nr_cpus);
	build_mpf(buf, gpa + MPF_LEN);
	return (int)need;
}
