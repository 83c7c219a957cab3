/* SPDX-License-Identifier: MIT */
/*
 * The Intel MultiProcessor Specification 1.4 table: a floating pointer and
 * a configuration table describing the CPUs, the ISA bus and the IOAPIC, for
 * guests that boot without ACPI (acpi=off) or look here first.
 */
#ifndef BOOT_MPTABLE_H
#define BOOT_MPTABLE_H

#include <stddef.h>
#include <stdint.h>

/* Most CPUs: APIC ids 0..n-1 and the IOAPIC id n must stay below 0xff. */
#define MPTABLE_MAX_CPUS 254

/*
 * Build the "_MP_" floating pointer at @gpa (16-byte aligned, below 4 GiB),
 * followed by the "PCMP" table for @nr_cpus CPUs, into @buf. Returns the
 * bytes used, -ENOSPC if @len is too small, -EINVAL for bad arguments.
 */
int mptable_build(uint8_t *buf, size_t len, uint64_t gpa, unsigned int nr_cpus);

#endif
