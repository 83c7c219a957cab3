/* SPDX-License-Identifier: MIT */
/* Firmware tables for x86 guests: ACPI and the MP table, in guest RAM. */
#ifndef BOOT_X86_TABLES_H
#define BOOT_X86_TABLES_H

#include <stdint.h>

struct vm;

/*
 * Write the ACPI tables at LAYOUT_ACPI and the MP table at LAYOUT_MPTABLE
 * for @nr_cpus CPUs (APIC ids 0..n-1); set *@rsdp_gpa to the RSDP for the
 * boot protocol. Logs and returns -errno on failure.
 */
int x86_tables_write(struct vm *vm, unsigned int nr_cpus, uint64_t *rsdp_gpa);

#endif
