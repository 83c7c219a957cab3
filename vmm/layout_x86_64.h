/* SPDX-License-Identifier: MIT */
/*
 * The x86_64 guest physical memory map. One file owns it.
 *
 *   0x0000_0000  +---------------------------+
 *                | real-mode IVT / BDA       |  RAM (unused by us)
 *   0x0000_0500  | GDT                       |
 *   0x0000_7000  | boot_params (zero page)   |  or PVH hvm_start_info
 *   0x0000_9000  | PML4, PDPT, 4 x PD        |  identity map of 4 GiB
 *   0x0002_0000  | kernel command line       |
 *   0x0009_fc00  +---------------------------+
 *                | EBDA, VGA, option ROMs,   |  reserved in e820
 *   0x000e_0000  | ACPI tables (RSDP first)  |  where Linux scans for them
 *   0x000f_0000  | MP floating pointer+table |
 *   0x0010_0000  +---------------------------+
 *                | kernel, then free RAM,    |  RAM
 *                | initrd at the top         |
 *   low_top      +---------------------------+  min(RAM, 3 GiB)
 *                | (unmapped)                |
 *   0xc000_0000  +---------------------------+
 *                | PCI BAR window (512 MiB)  |  32- and 64-bit BARs
 *   0xe000_0000  | PCI ECAM, bus 0 (1 MiB)   |  reserved in e820, ACPI MCFG
 *                | (free MMIO)               |
 *   0xfec0_0000  | IOAPIC (in-kernel)        |
 *   0xfee0_0000  | LAPIC (in-kernel)         |
 *   0xfffb_c000  | KVM identity map + TSS    |  reserved in e820
 *   0x1_0000_0000+---------------------------+
 *                | RAM above 4 GiB           |  when RAM > 3 GiB
 *                +---------------------------+
 */
#ifndef VMM_LAYOUT_X86_64_H
#define VMM_LAYOUT_X86_64_H

#define LAYOUT_GDT 0x500ULL
#define LAYOUT_ZERO_PAGE 0x7000ULL
/*
 * The boot vCPU's rsp: Linux sets its own stack before its first push, so
 * for kernels this is only a safety net; raw images may use it. A 16-byte
 * aligned top in the free page between the zero page and the PML4.
 */
#define LAYOUT_BOOT_STACK 0x8ff0ULL
#define LAYOUT_PML4 0x9000ULL
#define LAYOUT_PDPT 0xa000ULL
#define LAYOUT_PD 0xb000ULL /* 4 pages: 0xb000..0xefff */
#define LAYOUT_CMDLINE 0x20000ULL
#define LAYOUT_CMDLINE_MAX 0x10000ULL
#define LAYOUT_EBDA 0x9fc00ULL
#define LAYOUT_ACPI 0xe0000ULL /* RSDP and all ACPI tables */
#define LAYOUT_ACPI_MAX 0x10000ULL
#define LAYOUT_MPTABLE 0xf0000ULL /* MP floating pointer, then the table */
#define LAYOUT_MPTABLE_MAX 0x10000ULL
#define LAYOUT_HIMEM 0x100000ULL /* where protected-mode kernels load */
#define LAYOUT_MMIO_HOLE 0xc0000000ULL
#define LAYOUT_MMIO_HOLE_END 0x100000000ULL
#define LAYOUT_PCI_MMIO 0xc0000000ULL /* BARs are placed from here */
#define LAYOUT_PCI_MMIO_SIZE 0x20000000ULL
#define LAYOUT_PCI_ECAM 0xe0000000ULL /* bus 0 only: 32 slots x 8 fn x 4K */
#define LAYOUT_PCI_ECAM_SIZE 0x100000ULL
#define LAYOUT_PCI_IO 0xc000 /* I/O BARs: 0xc000-0xffff */
#define LAYOUT_PCI_IO_SIZE 0x4000
#define LAYOUT_PCI_INTX_IRQ 10 /* legacy INTx of every slot (ISA IRQ) */
#define LAYOUT_IOAPIC 0xfec00000ULL
#define LAYOUT_LAPIC 0xfee00000ULL
#define LAYOUT_KVM_IDENTITY_MAP 0xfffbc000ULL /* one page */
#define LAYOUT_KVM_TSS 0xfffbd000ULL /* three pages */
#define LAYOUT_HIGH_RAM 0x100000000ULL

/* ACPI PM1 register blocks (port I/O), as the FADT describes them. */
#define LAYOUT_PM1_EVT 0x600 /* PM1a_EVT_BLK: status, enable (2+2 bytes) */
#define LAYOUT_PM1_EVT_LEN 4
#define LAYOUT_PM1_CNT 0x604 /* PM1a_CNT_BLK: control (2 bytes) */
#define LAYOUT_PM1_CNT_LEN 2
#define LAYOUT_SCI_IRQ 9 /* ISA IRQ of the ACPI SCI */

/*
 * Ports for scripted boots: a byte written to DEBUG_EXIT ends the VM with
 * that exit status; any write to BOOT_TIMER marks "user space reached" in
 * the boot timeline (--boot-trace).
 */
#define LAYOUT_DEBUG_EXIT_PORT 0x501
#define LAYOUT_BOOT_TIMER_PORT 0x502

/* The minimum guest RAM: room for boot structures and a small kernel. */
#define LAYOUT_MIN_RAM (16ULL << 20)

#endif
