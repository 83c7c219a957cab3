/* SPDX-License-Identifier: MIT */
/*
 * ACPI tables for x86 guests: RSDP, XSDT and RSDT, FADT (with FACS and a
 * DSDT that defines \_S5 and the PCI host bridge \_SB.PCI0), MADT and
 * MCFG (the PCI ECAM window). Built into a host buffer that the guest sees
 * at a given guest-physical address; nothing here parses input.
 */
#ifndef BOOT_ACPI_H
#define BOOT_ACPI_H

#include <stddef.h>
#include <stdint.h>

/* Most CPUs: APIC ids 0..n-1 and the IOAPIC id n must stay below 0xff. */
#define ACPI_MAX_CPUS 254

/*
 * Build the tables for @nr_cpus CPUs into @buf, which the guest sees at
 * @gpa (16-byte aligned, below 4 GiB); the RSDP is at @gpa. Returns the bytes
 * used, -ENOSPC if @len is too small, -EINVAL for a bad @gpa or @nr_cpus.
 */
int acpi_build(uint8_t *buf, size_t len, uint64_t gpa, unsigned int nr_cpus);

#endif
