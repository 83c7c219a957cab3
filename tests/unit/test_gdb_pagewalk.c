// SPDX-License-Identifier: MIT
/* Guest page-table walks over page tables built in a real struct vm. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gdb/pagewalk.h"
#include "vmm/vm.h"

#define P 0x1ull
#define RW 0x2ull
#define PS 0x80ull
#define MIB (1ull << 20)

struct fix {
	struct vm vm;
	uint64_t next; /* next free page for tables */
	struct x86_sregs s;
};

static int setup(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));

	if (!f || vm_init(&f->vm, 64 << 20)) {
		free(f);
		return -1;
	}
	f->next = 16 * MIB;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fix *f = *state;

	vm_destroy(&f->vm);
	free(f);
	return 0;
}

static uint64_t table(struct fix *f)
{
	uint64_t t = f->next;

	memset(vm_gpa_to_hva(&f->vm, t, 4096), 0, 4096);
	f->next += 4096;
	return t;
}

static uint64_t get64(struct fix *f, uint64_t gpa)
{
	uint64_t v;

	memcpy(&v, vm_gpa_to_hva(&f->vm, gpa, 8), 8);
	return v;
}

static void put64(struct fix *f, uint64_t gpa, uint64_t v)
{
	memcpy(vm_gpa_to_hva(&f->vm, gpa, 8), &v, 8);
}

static void put32(struct fix *f, uint64_t gpa, uint32_t v)
{
	memcpy(vm_gpa_to_hva(&f->vm, gpa, 4), &v, 4);
}

/*
 * Map @va to @pa with 64-bit tables of @levels levels under @root, the
 * leaf at @leaf (1: 4K, 2: 2M, 3: 1G); returns the leaf entry's address.
 */
static uint64_t map64(struct fix *f, uint64_t root, int levels, uint64_t va,
		      uint64_t pa, int leaf)
{
	uint64_t t = root;

	for (int l = levels; l >= 1; l--) {
		unsigned int shift = 12 + 9 * (l - 1);
		uint64_t slot = t + ((va >> shift) & 511) * 8, e;

		if (l == leaf) {
			put64(f, slot, pa | P | RW | (leaf > 1 ? PS : 0));
			return slot;
		}
		e = get64(f, slot);
		if (!(e & P)) {
			e = table(f) | P | RW;
			put64(f, slot, e);
		}
		t = e & 0x000ffffffffff000ull;
	}
	return 0;
}

static void long_mode(struct fix *f, uint64_t cr3, bool la57)
{
	memset(&f->s, 0, sizeof(f->s));
	f->s.cr0 = X86_CR0_PG_BIT | 1;
	f->s.cr3 = cr3;
	f->s.cr4 = X86_CR4_PAE_BIT | (la57 ? X86_CR4_LA57_BIT : 0);
	f->s.efer = X86_EFER_LMA_BIT | 0x500;
}

static void expect(struct fix *f, uint64_t va, uint64_t gpa, uint64_t left)
{
	uint64_t g = 0, l = 0;

	assert_int_equal(pagewalk(&f->vm, &f->s, va, &g, &l), 0);
	assert_true(g == gpa);
	assert_true(l == left);
}

static void expect_fault(struct fix *f, uint64_t va)
{
	uint64_t g, l;

	assert_int_equal(pagewalk(&f->vm, &f->s, va, &g, &l), -EFAULT);
}

static void test_long_mode_page_sizes(void **state)
{
	struct fix *f = *state;
	uint64_t cr3 = table(f);
	uint64_t k4 = 0xffffffff81234000ull, k2 = 0xffffffff81400000ull;
	uint64_t g1 = 0xffff888000000000ull;

	map64(f, cr3, 4, k4, 0x345000, 1);
	map64(f, cr3, 4, k2, 0x1600000, 2);
	map64(f, cr3, 4, g1, 0, 3);
	long_mode(f, cr3 | 0x18 /* PCD/PWT bits are not address */, false);

	expect(f, k4 + 0x567, 0x345567, 0x1000 - 0x567);
	expect(f, k2 + 0x12345, 0x1612345, 0x200000 - 0x12345);
	expect(f, g1 + 0x3456789, 0x3456789, (1ull << 30) - 0x3456789);
	/* Neighbours of the 4K page are not mapped. */
	expect_fault(f, k4 + 0x1000);
	expect_fault(f, k4 - 1);
}

static void test_long_mode_not_present_each_level(void **state)
{
	struct fix *f = *state;
	uint64_t cr3 = table(f), va = 0x00007f0012345000ull, slot, pte;

	pte = map64(f, cr3, 4, va, 0x200000, 1);
	long_mode(f, cr3, false);
	expect(f, va, 0x200000, 0x1000);
	/* Clear P at the PTE, PDE, PDPTE and PML4E in turn. */
	put64(f, pte, get64(f, pte) & ~P);
	expect_fault(f, va);
	put64(f, pte, get64(f, pte) | P);
	for (int l = 2; l <= 4; l++) {
		uint64_t t = cr3;

		for (int k = 4; k > l; k--)
			t = get64(f,
				  t + ((va >> (12 + 9 * (k - 1))) & 511) * 8) &
			    0x000ffffffffff000ull;
		slot = t + ((va >> (12 + 9 * (l - 1))) & 511) * 8;
		put64(f, slot, get64(f, slot) & ~P);
		expect_fault(f, va);
		put64(f, slot, get64(f, slot) | P);
		expect(f, va, 0x200000, 0x1000);
	}
}

static void test_long_mode_bad_addresses(void **state)
{
	struct fix *f = *state;
	uint64_t cr3 = table(f);

	long_mode(f, cr3, false);
	/* Not canonical for 4 levels. */
	expect_fault(f, 0x0000800000000000ull);
	expect_fault(f, 0xff00000000000000ull);
	/* A table outside guest RAM. */
	put64(f, cr3, 0xf0000000ull | P | RW);
	expect_fault(f, 0x1000);
	/* CR3 itself outside RAM. */
	long_mode(f, 0xf0000000ull, false);
	expect_fault(f, 0x1000);
}

static void test_five_levels(void **state)
{
	struct fix *f = *state;
	uint64_t cr3 = table(f), va = 0xff11223344556000ull;

	map64(f, cr3, 5, va, 0x777000, 1);
	long_mode(f, cr3, true);
	expect(f, va + 8, 0x777008, 0x1000 - 8);
	/* Canonical with 57 bits, not with 48: only 5-level takes it. */
	expect_fault(f, 0x0100000000000000ull);
}

static void test_paging_off(void **state)
{
	struct fix *f = *state;

	memset(&f->s, 0, sizeof(f->s));
	f->s.cr0 = 1; /* protected mode, PG clear: PVH entry */
	expect(f, 0x1000600, 0x1000600, 0x100000000ull - 0x1000600);
	expect(f, 0xffffffff, 0xffffffff, 1);
	expect_fault(f, 0x100000000ull);
	expect_fault(f, 0xffffffff81000000ull);
}

static void test_pae(void **state)
{
	struct fix *f = *state;
	uint64_t pdpt = table(f) + 0x20, pd = table(f), pt = table(f);

	memset(&f->s, 0, sizeof(f->s));
	f->s.cr0 = X86_CR0_PG_BIT | 1;
	f->s.cr3 = pdpt;
	f->s.cr4 = X86_CR4_PAE_BIT;
	/* 0xc0000000: PDPTE 3, then a 2M page and a 4K page. */
	put64(f, pdpt + 3 * 8, pd | P);
	put64(f, pd + 0 * 8, 0x400000 | P | RW | PS);
	put64(f, pd + 1 * 8, pt | P | RW);
	put64(f, pt + 5 * 8, 0x999000 | P | RW);
	expect(f, 0xc0001234, 0x401234, 0x200000 - 0x1234);
	expect(f, 0xc0205010, 0x999010, 0x1000 - 0x10);
	expect_fault(f, 0xc0206000); /* PTE clear */
	expect_fault(f, 0x80000000); /* PDPTE 2 clear */
	expect_fault(f, 0x100000000ull); /* beyond 32 bits */
}

static void test_32bit(void **state)
{
	struct fix *f = *state;
	uint64_t pd = table(f), pt = table(f);

	memset(&f->s, 0, sizeof(f->s));
	f->s.cr0 = X86_CR0_PG_BIT | 1;
	f->s.cr3 = pd;
	f->s.cr4 = X86_CR4_PSE_BIT;
	put32(f, pd + 0x300 * 4, 0x00c00000 | P | RW | PS); /* 4M at 3G */
	put32(f, pd + 1 * 4, (uint32_t)pt | P | RW);
	put32(f, pt + 2 * 4, 0x00abc000 | P);
	expect(f, 0xc0123456, 0xd23456, 0x400000 - 0x123456);
	expect(f, 0x00402010, 0xabc010, 0x1000 - 0x10);
	expect_fault(f, 0x00403000);
	expect_fault(f, 0x80000000);
	/* Without CR4.PSE the PS bit means nothing: it is a table pointer. */
	f->s.cr4 = 0;
	put32(f, pd + 0x300 * 4, (uint32_t)pt | P | RW | PS);
	expect(f, 0xc0002000, 0xabc000, 0x1000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_long_mode_page_sizes,
						setup, teardown),
		cmocka_unit_test_setup_teardown(
			test_long_mode_not_present_each_level, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_mode_bad_addresses,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_five_levels, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_paging_off, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_pae, setup, teardown),
		cmocka_unit_test_setup_teardown(test_32bit, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
