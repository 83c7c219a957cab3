// SPDX-License-Identifier: MIT
/*
 * Both tables live in the E820-reserved BIOS area below 1 MiB, where Linux
 * also scans for them, so a guest finds them even without a boot-protocol
 * pointer.
 */
#include "boot/x86_tables.h"

#include <errno.h>
#include <string.h>

#include "boot/acpi.h"
#include "boot/mptable.h"
#include "vmm/layout_x86_64.h"
#include "vmm/log.h"
#include "vmm/vm.h"

typedef int (*table_builder)(uint8_t *buf, size_t len, uint64_t gpa,
			     unsigned int nr_cpus);

/* Build one table set into guest RAM at [@gpa, @gpa + @max). */
static int write_at(struct vm *vm, const char *what, table_builder build,
		    uint64_t gpa, uint64_t max, unsigned int nr_cpus)
{
	uint8_t *p = vm_gpa_to_hva(vm, gpa, max);
	int ret;

	if (!p) {
		log_err("boot: %s at 0x%llx is not guest RAM", what,
			(unsigned long long)gpa);
		return -EFAULT;
	}
	ret = build(p, max, gpa, nr_cpus);
	if (ret < 0) {
		log_err("boot: cannot build the %s for %u CPUs: %s", what,
			nr_cpus, strerror(-ret));
		return ret;
	}
	return 0;
}

int x86_tables_write(struct vm *vm, unsigned int nr_cpus, uint64_t *rsdp_gpa)
{
	int ret = write_at(vm, "ACPI tables", acpi_build, LAYOUT_ACPI,
			   LAYOUT_ACPI_MAX, nr_cpus);

	if (!ret)
		ret = write_at(vm, "MP table", mptable_build, LAYOUT_MPTABLE,
			       LAYOUT_MPTABLE_MAX, nr_cpus);
	if (!ret)
		*rsdp_gpa = LAYOUT_ACPI; /* acpi_build puts the RSDP first */
	return ret;
}
