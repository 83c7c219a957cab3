// SPDX-License-Identifier: MIT
/* Long-mode boot structures: a flat GDT and a 4 GiB identity map. */
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "boot/boot.h"
#include "vmm/layout_x86_64.h"
#include "vmm/log.h"
#include "vmm/vm.h"

#define PAGE_SIZE 4096ULL
#define PTE_PRESENT (1ULL << 0)
#define PTE_RW (1ULL << 1)
#define PTE_PS (1ULL << 7) /* in a PD entry: maps a 2 MiB page */
#define PD_ENTRIES 512
#define NR_PD 4 /* one PD maps 1 GiB; four map the 32-bit space */
#define HUGE_2M (2ULL << 20)

/* Flat 4 GiB segments, as boot.rst asks for __BOOT_CS and __BOOT_DS. */
#define GDT_CODE64 0x00af9b000000ffffULL /* P, DPL0, code rx, L=1, G */
#define GDT_DATA 0x00cf93000000ffffULL /* P, DPL0, data rw, D/B, G */
#define GDT_ENTRIES 4

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

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

static int setup_gdt(struct vm *vm, struct boot_entry *entry)
{
	uint64_t gdt[GDT_ENTRIES] = {
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
	put_le64(pml4, LAYOUT_PDPT | PTE_PRESENT | PTE_RW);
	for (int i = 0; i < NR_PD; i++) {
		uint64_t pd_gpa = LAYOUT_PD + i * PAGE_SIZE;

		pd = guest_page(vm, pd_gpa, "page directory");
		if (!pd)
			return -EFAULT;
		put_le64(pdpt + 8 * i, pd_gpa | PTE_PRESENT | PTE_RW);
		for (int j = 0; j < PD_ENTRIES; j++) {
			uint64_t addr =
				((uint64_t)i * PD_ENTRIES + j) * HUGE_2M;

			put_le64(pd + 8 * j,
				 addr | PTE_PRESENT | PTE_RW | PTE_PS);
		}
	}
	entry->cr3 = LAYOUT_PML4;
	return 0;
}

int x86_setup_long_mode(struct vm *vm, struct boot_entry *entry)
{
	int ret = setup_gdt(vm, entry);

	if (ret)
		return ret;
	return setup_page_tables(vm, entry);
}
