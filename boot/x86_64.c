// SPDX-License-Identifier: MIT
/*
 * x86 boot structures shared by every image format: a flat GDT, a 4 GiB
 * identity map for long-mode entry, and initrd placement.
 */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "boot/boot.h"
#include "vmm/layout_x86_64.h"
#include "vmm/le.h"
#include "vmm/log.h"
#include "vmm/vm.h"

#define PAGE_SIZE 4096ULL
#define PTE_PRESENT (1ULL << 0)
#define PTE_RW (1ULL << 1)
/*
 * User-accessible: Linux replaces these tables before it cares, and raw
 * test guests can drop to CPL3 on them (exit-cost benchmarks run there,
 * at native speed even where guest kernel mode is emulated).
 */
#define PTE_USER (1ULL << 2)
#define PTE_FLAGS (PTE_PRESENT | PTE_RW | PTE_USER)
#define PTE_PS (1ULL << 7) /* in a PD entry: maps a 2 MiB page */
#define PD_ENTRIES 512
#define NR_PD 4 /* one PD maps 1 GiB; four map the 32-bit space */
#define HUGE_2M (2ULL << 20)

/* Flat 4 GiB segments, as boot.rst asks for __BOOT_CS and __BOOT_DS. */
#define GDT_CODE32 0x00cf9b000000ffffULL /* P, DPL0, code rx, D=1, G */
#define GDT_CODE64 0x00af9b000000ffffULL /* P, DPL0, code rx, L=1, G */
#define GDT_DATA 0x00cf93000000ffffULL /* P, DPL0, data rw, D/B, G */
#define GDT_ENTRIES 4

/* A zeroed guest page at @gpa, or NULL (logged) if it is not RAM. */
static uint8_t *guest_page(struct vm *vm, uint64_t gpa, const char *what)
{
	uint8_t *p = vm_gpa_to_hva(vm, gpa, PAGE_SIZE);

	if (!p) {
		log_err("boot: %s at 0x%llx is not guest RAM", what,
			(unsigned long long)gpa);
		return NULL;
	}
	memset(p, 0, PAGE_SIZE);
	return p;
}

int x86_setup_gdt(struct vm *vm, struct boot_entry *entry)
{
	uint64_t gdt[GDT_ENTRIES] = {
		[BOOT_GDT_CODE32 / 8] = GDT_CODE32,
		[BOOT_GDT_CODE64 / 8] = GDT_CODE64,
		[BOOT_GDT_DATA / 8] = GDT_DATA,
	};
	uint8_t *p = vm_gpa_to_hva(vm, LAYOUT_GDT, sizeof(gdt));

	if (!p) {
		log_err("boot: GDT at 0x%llx is not guest RAM",
			(unsigned long long)LAYOUT_GDT);
		return -EFAULT;
	}
	for (int i = 0; i < GDT_ENTRIES; i++)
		put_le64(p + 8 * i, gdt[i]);
	entry->gdt_base = LAYOUT_GDT;
	entry->gdt_limit = sizeof(gdt) - 1;
	return 0;
}

static int setup_page_tables(struct vm *vm, struct boot_entry *entry)
{
	uint8_t *pml4, *pdpt, *pd;

	pml4 = guest_page(vm, LAYOUT_PML4, "PML4");
	pdpt = guest_page(vm, LAYOUT_PDPT, "PDPT");
	if (!pml4 || !pdpt)
		return -EFAULT;
	put_le64(pml4, LAYOUT_PDPT | PTE_FLAGS);
	for (int i = 0; i < NR_PD; i++) {
		uint64_t pd_gpa = LAYOUT_PD + i * PAGE_SIZE;

		pd = guest_page(vm, pd_gpa, "page directory");
		if (!pd)
			return -EFAULT;
		put_le64(pdpt + 8 * i, pd_gpa | PTE_FLAGS);
		for (int j = 0; j < PD_ENTRIES; j++) {
			uint64_t addr =
				((uint64_t)i * PD_ENTRIES + j) * HUGE_2M;

			put_le64(pd + 8 * j, addr | PTE_FLAGS | PTE_PS);
		}
	}
	entry->cr3 = LAYOUT_PML4;
	return 0;
}

int x86_setup_long_mode(struct vm *vm, struct boot_entry *entry)
{
	int ret = x86_setup_gdt(vm, entry);

	if (ret)
		return ret;
	entry->mode = BOOT_MODE_LONG;
	return setup_page_tables(vm, entry);
}

static unsigned long long mib_up(uint64_t bytes)
{
	return (unsigned long long)((bytes + (1ULL << 20) - 1) >> 20);
}

int x86_place_initrd(const struct vm *vm, const char *path, uint64_t size,
		     uint64_t addr_max, uint64_t floor, uint64_t *addr)
{
	uint64_t top = vm_low_ram_top(vm);

	if (addr_max < top - 1)
		top = addr_max + 1;
	floor = (floor + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
	if (size <= top && ((top - size) & ~(PAGE_SIZE - 1)) >= floor) {
		*addr = (top - size) & ~(PAGE_SIZE - 1);
		return 0;
	}
	log_err("initrd %s (%llu MiB) does not fit below 0x%llx above the kernel (ends at 0x%llx)",
		path, mib_up(size), (unsigned long long)top,
		(unsigned long long)floor);
	return -ENOMEM;
}
