// SPDX-License-Identifier: MIT
/*
 * Guest RAM layout: the checked gpa->hva translation and the E820 map;
 * RAM in 2 MiB huge pages.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/layout_x86_64.h"
#include "vmm/memstat.h"
#include "vmm/vm.h"

#define MIB (1ULL << 20)
#define GIB (1ULL << 30)

static int vm_setup(struct vm **out, uint64_t size)
{
	struct vm *vm = calloc(1, sizeof(*vm));

	if (!vm || vm_init(vm, size)) {
		free(vm);
		return -1;
	}
	*out = vm;
	return 0;
}

static int setup_256m(void **state)
{
	return vm_setup((struct vm **)state, 256 * MIB);
}

/* MAP_NORESERVE: 4 GiB of guest RAM costs only the pages we touch. */
static int setup_4g(void **state)
{
	return vm_setup((struct vm **)state, 4 * GIB);
}

static int teardown(void **state)
{
	vm_destroy(*state);
	free(*state);
	return 0;
}

static void test_gpa_bounds(void **state)
{
	struct vm *vm = *state;
	uint64_t end = 256 * MIB;

	assert_ptr_equal(vm_gpa_to_hva(vm, 0, 1), vm->ram);
	assert_ptr_equal(vm_gpa_to_hva(vm, 0, end), vm->ram);
	assert_ptr_equal(vm_gpa_to_hva(vm, end - 1, 1), vm->ram + end - 1);
	assert_ptr_equal(vm_gpa_to_hva(vm, end - 4096, 4096),
			 vm->ram + end - 4096);
	assert_null(vm_gpa_to_hva(vm, end, 1));
	assert_null(vm_gpa_to_hva(vm, end - 1, 2));
	assert_null(vm_gpa_to_hva(vm, 0, end + 1));
	/* An empty range at the very end is in bounds, like a C end pointer. */
	assert_ptr_equal(vm_gpa_to_hva(vm, end, 0), vm->ram + end);
	assert_null(vm_gpa_to_hva(vm, end + 1, 0));
}

/* Sums that would wrap around 2^64 must not sneak back into RAM. */
static void test_gpa_overflow(void **state)
{
	struct vm *vm = *state;

	assert_null(vm_gpa_to_hva(vm, 0, UINT64_MAX));
	assert_null(vm_gpa_to_hva(vm, 1, UINT64_MAX));
	assert_null(vm_gpa_to_hva(vm, 4096, UINT64_MAX - 4095));
	assert_null(vm_gpa_to_hva(vm, UINT64_MAX, 1));
	assert_null(vm_gpa_to_hva(vm, UINT64_MAX, 2));
	assert_null(vm_gpa_to_hva(vm, UINT64_MAX, UINT64_MAX));
	assert_null(vm_gpa_to_hva(vm, UINT64_MAX - 4095, 4096));
}

static void test_gpa_hole_and_high(void **state)
{
	struct vm *vm = *state;
	uint64_t low = LAYOUT_MMIO_HOLE, high = LAYOUT_HIGH_RAM;
	uint64_t high_size = 4 * GIB - low;

	assert_int_equal(vm->nr_regions, 2);
	assert_ptr_equal(vm_gpa_to_hva(vm, low - 1, 1), vm->ram + low - 1);
	assert_null(vm_gpa_to_hva(vm, low - 1, 2)); /* runs into the hole */
	assert_null(vm_gpa_to_hva(vm, low, 1));
	assert_null(vm_gpa_to_hva(vm, LAYOUT_KVM_TSS, 1));
	assert_null(vm_gpa_to_hva(vm, high - 1, 1));
	assert_null(vm_gpa_to_hva(vm, high - 1, 2)); /* starts in the hole */
	assert_null(vm_gpa_to_hva(vm, low - 1, high - low + 2));
	/* High RAM is backed by the rest of the same mapping. */
	assert_ptr_equal(vm_gpa_to_hva(vm, high, 1), vm->ram + low);
	assert_ptr_equal(vm_gpa_to_hva(vm, high + high_size - 1, 1),
			 vm->ram + low + high_size - 1);
	assert_null(vm_gpa_to_hva(vm, high + high_size, 1));
	assert_null(vm_gpa_to_hva(vm, high, high_size + 1));
	assert_non_null(vm_gpa_to_hva(vm, high, high_size));
	assert_int_equal(vm_low_ram_top(vm), low);
}

/* Check sortedness and return the bytes of RAM the map reports. */
static uint64_t check_e820(const struct e820_entry *map, int n)
{
	uint64_t prev_end = 0, ram = 0;

	for (int i = 0; i < n; i++) {
		assert_true(map[i].size > 0);
		assert_true(map[i].addr >= prev_end);
		assert_true(map[i].addr + map[i].size > map[i].addr);
		prev_end = map[i].addr + map[i].size;
		if (map[i].type == E820_RAM)
			ram += map[i].size;
		else
			assert_int_equal(map[i].type, E820_RESERVED);
	}
	return ram;
}

/* Every E820 RAM byte must be translatable, and only those. */
static void check_e820_ram_backed(const struct vm *vm,
				  const struct e820_entry *map, int n)
{
	for (int i = 0; i < n; i++) {
		if (map[i].type != E820_RAM)
			continue;
		assert_non_null(vm_gpa_to_hva(vm, map[i].addr, map[i].size));
	}
}

static void test_e820_256m(void **state)
{
	struct vm *vm = *state;
	struct e820_entry map[16];
	int n = vm_e820(vm, map, 16);

	assert_true(n > 0);
	/* Low RAM below the EBDA, reserved BIOS area, RAM from 1 MiB. */
	assert_int_equal(map[0].addr, 0);
	assert_int_equal(map[0].size, LAYOUT_EBDA);
	assert_int_equal(map[0].type, E820_RAM);
	assert_int_equal(map[1].addr, LAYOUT_EBDA);
	assert_int_equal(map[1].type, E820_RESERVED);
	assert_int_equal(map[2].addr, LAYOUT_HIMEM);
	assert_int_equal(map[2].addr + map[2].size, 256 * MIB);
	assert_int_equal(map[2].type, E820_RAM);
	assert_int_equal(check_e820(map, n),
			 256 * MIB - (LAYOUT_HIMEM - LAYOUT_EBDA));
	check_e820_ram_backed(vm, map, n);
	for (int i = 0; i < n; i++)
		assert_true(map[i].addr < LAYOUT_HIGH_RAM);
	/* The PCI ECAM window (ACPI MCFG) is reserved, as Linux checks. */
	assert_int_equal(map[3].addr, LAYOUT_PCI_ECAM);
	assert_int_equal(map[3].size, LAYOUT_PCI_ECAM_SIZE);
	assert_int_equal(map[3].type, E820_RESERVED);
}

static void test_e820_4g(void **state)
{
	struct vm *vm = *state;
	struct e820_entry map[16];
	int n = vm_e820(vm, map, 16);
	bool high_seen = false;

	assert_true(n > 0);
	assert_int_equal(check_e820(map, n),
			 4 * GIB - (LAYOUT_HIMEM - LAYOUT_EBDA));
	check_e820_ram_backed(vm, map, n);
	for (int i = 0; i < n; i++) {
		const struct e820_entry *e = &map[i];

		/* No RAM in the 32-bit hole. */
		if (e->type == E820_RAM && e->addr < LAYOUT_HIGH_RAM)
			assert_true(e->addr + e->size <= LAYOUT_MMIO_HOLE);
		if (e->addr == LAYOUT_HIGH_RAM) {
			assert_int_equal(e->type, E820_RAM);
			assert_int_equal(e->size, 4 * GIB - LAYOUT_MMIO_HOLE);
			high_seen = true;
		}
	}
	assert_true(high_seen);
	assert_int_equal(map[2].addr + map[2].size, LAYOUT_MMIO_HOLE);
}

static void test_e820_too_small(void **state)
{
	struct vm *vm = *state;
	struct e820_entry map[2];

	assert_int_equal(vm_e820(vm, map, 2), -ENOSPC);
}

/* A number from a one-line sysfs file, or -1. */
static long read_sysfs_long(const char *path)
{
	FILE *f = fopen(path, "r");
	long v = -1;

	if (f) {
		if (fscanf(f, "%ld", &v) != 1)
			v = -1;
		fclose(f);
	}
	return v;
}

#define HUGE_2M "/sys/kernel/mm/hugepages/hugepages-2048kB/"

/* 2 MiB huge pages free in the host's pool and not promised to anyone. */
static long hugepages_available(void)
{
	long free_pages = read_sysfs_long(HUGE_2M "free_hugepages");
	long resv = read_sysfs_long(HUGE_2M "resv_hugepages");

	return free_pages < 0 || resv < 0 ? 0 : free_pages - resv;
}

/* The page size the kernel backs the mapping that starts at @addr with. */
static long kernel_page_kib(const void *addr)
{
	FILE *f = fopen("/proc/self/smaps", "r");
	char line[256];
	bool in_map = false;
	long kib = -1;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		uintptr_t start, end;

		if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " ", &start, &end) ==
		    2) {
			in_map = start == (uintptr_t)addr;
			continue;
		}
		if (in_map && sscanf(line, "KernelPageSize: %ld kB", &kib) == 1)
			break;
	}
	fclose(f);
	return kib;
}

#define HUGE_RAM (64 * MIB)

/*
 * Huge pages: whole 2 MiB pages only; a missing pool is an error, not a
 * SIGBUS later (the mapping is reserved at once). Without enough free
 * pages in the host's pool the backing itself cannot be checked: skipped.
 */
static void test_init_hugepages(void **state)
{
	long avail = hugepages_available();
	struct memstat mem;
	struct vm vm;
	int ret;

	assert_int_equal(vm_init_flags(&vm, HUGE_RAM + 4096, VM_RAM_HUGEPAGES),
			 -EINVAL);
	assert_null(vm.ram);
	ret = vm_init_flags(&vm, HUGE_RAM, VM_RAM_HUGEPAGES);
	if (ret == -ENOMEM) {
		/* Only a pool too small may refuse; then nothing is mapped. */
		if (avail >= (long)(HUGE_RAM / VM_HUGE_PAGE))
			fail_msg("-ENOMEM with %ld free 2 MiB huge pages",
				 avail);
		assert_null(vm.ram);
		print_message("%ld free 2 MiB huge pages, %llu needed "
			      "(/proc/sys/vm/nr_hugepages)\n",
			      avail, HUGE_RAM / VM_HUGE_PAGE);
		skip();
	}
	assert_int_equal(ret, 0);
	assert_int_equal(vm.nr_regions, 1);
	assert_int_equal(vm.ram_size, HUGE_RAM);
	/* Backed by 2 MiB pages, none faulted in yet... */
	assert_int_equal(kernel_page_kib(vm.ram), 2048);
	assert_int_equal(memstat_read(vm.ram, &mem), 0);
	assert_int_equal(mem.guest_kib, 0);
	/* ...one byte faults in a whole huge page, which --stats counts. */
	*(uint8_t *)vm_gpa_to_hva(&vm, 3 * MIB, 1) = 0xa5;
	assert_int_equal(memstat_read(vm.ram, &mem), 0);
	assert_int_equal(mem.guest_kib, 2048);
	/* Reserved up front: every page is there, and each one is RAM. */
	memset(vm.ram, 0x5a, HUGE_RAM);
	assert_int_equal(*(uint8_t *)vm_gpa_to_hva(&vm, HUGE_RAM - 1, 1), 0x5a);
	assert_int_equal(memstat_read(vm.ram, &mem), 0);
	assert_int_equal(mem.guest_kib, HUGE_RAM >> 10);
	assert_true(mem.rss_kib >= mem.guest_kib);
	vm_destroy(&vm);
}

static void test_init_sizes(void **state)
{
	struct vm vm;

	assert_int_equal(vm_init(&vm, LAYOUT_MIN_RAM - 1), -EINVAL);
	assert_int_equal(vm_init(&vm, 0), -EINVAL);

	assert_int_equal(vm_init(&vm, LAYOUT_MIN_RAM), 0);
	assert_int_equal(vm.nr_regions, 1);
	assert_int_equal(vm_low_ram_top(&vm), LAYOUT_MIN_RAM);
	vm_destroy(&vm);

	/* Exactly up to the hole: no high region. */
	assert_int_equal(vm_init(&vm, LAYOUT_MMIO_HOLE), 0);
	assert_int_equal(vm.nr_regions, 1);
	assert_null(vm_gpa_to_hva(&vm, LAYOUT_HIGH_RAM, 1));
	vm_destroy(&vm);

	/* One page more: that page appears at 4 GiB. */
	assert_int_equal(vm_init(&vm, LAYOUT_MMIO_HOLE + 4096), 0);
	assert_int_equal(vm.nr_regions, 2);
	assert_non_null(vm_gpa_to_hva(&vm, LAYOUT_HIGH_RAM, 4096));
	assert_null(vm_gpa_to_hva(&vm, LAYOUT_HIGH_RAM, 4097));
	vm_destroy(&vm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_gpa_bounds, setup_256m,
						teardown),
		cmocka_unit_test_setup_teardown(test_gpa_overflow, setup_256m,
						teardown),
		cmocka_unit_test_setup_teardown(test_gpa_overflow, setup_4g,
						teardown),
		cmocka_unit_test_setup_teardown(test_gpa_hole_and_high,
						setup_4g, teardown),
		cmocka_unit_test_setup_teardown(test_e820_256m, setup_256m,
						teardown),
		cmocka_unit_test_setup_teardown(test_e820_4g, setup_4g,
						teardown),
		cmocka_unit_test_setup_teardown(test_e820_too_small, setup_256m,
						teardown),
		cmocka_unit_test(test_init_sizes),
		cmocka_unit_test(test_init_hugepages),
	};

	return cmocka_run_group_tests_name("vm_mem", tests, NULL, NULL);
}
