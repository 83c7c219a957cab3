// SPDX-License-Identifier: MIT
#include "gdb/pagewalk.h"

#include <errno.h>
#include <string.h>

#include "vmm/vm.h"

#define PTE_P 0x1ull
#define PTE_PS 0x80ull
#define ADDR_MASK 0x000ffffffffff000ull /* bits 51:12 */

static int read_entry(const struct vm *vm, uint64_t gpa, unsigned int size,
		      uint64_t *e)
{
	const void *p = vm_gpa_to_hva(vm, gpa, size);
	uint32_t e32;

	if (!p)
		return -EFAULT;
	if (size == 4) {
		memcpy(&e32, p, 4);
		*e = e32;
	} else {
		memcpy(e, p, 8);
	}
	return 0;
}

static void done(uint64_t va, uint64_t base, unsigned int shift, uint64_t *gpa,
		 uint64_t *left)
{
	uint64_t size = 1ull << shift;

	*gpa = base + (va & (size - 1));
	*left = size - (va & (size - 1));
}

/* 64-bit entries, 9 index bits a level, from @levels down to the PTE. */
static int walk64(const struct vm *vm, uint64_t table, uint64_t va, int levels,
		  uint64_t *gpa, uint64_t *left)
{
	for (int l = levels; l >= 1; l--) {
		unsigned int shift = 12 + 9 * (l - 1);
		uint64_t e;

		if (read_entry(vm, table + ((va >> shift) & 511) * 8, 8, &e) ||
		    !(e & PTE_P))
			return -EFAULT;
		/* PS marks a large page at the 1G (l = 3) and 2M (l = 2) level. */
		if (l == 1 || ((l == 2 || l == 3) && (e & PTE_PS))) {
			uint64_t mask = ADDR_MASK & ~((1ull << shift) - 1);

			done(va, e & mask, shift, gpa, left);
			return 0;
		}
		table = e & ADDR_MASK;
	}
	return -EFAULT;
}

static int walk_long(const struct vm *vm, const struct x86_sregs *s,
		     uint64_t va, uint64_t *gpa, uint64_t *left)
{
	int levels = (s->cr4 & X86_CR4_LA57_BIT) ? 5 : 4;
	unsigned int bits = levels == 5 ? 57 : 48;
	int64_t top = (int64_t)va >> (bits - 1);

	if (top != 0 && top != -1) /* not canonical */
		return -EFAULT;
	return walk64(vm, s->cr3 & ADDR_MASK, va, levels, gpa, left);
}

/* PAE: four PDPTEs at CR3 (32-byte aligned), then 64-bit PD and PT. */
static int walk_pae(const struct vm *vm, const struct x86_sregs *s, uint64_t va,
		    uint64_t *gpa, uint64_t *left)
{
	uint64_t e;

	if (read_entry(vm, (s->cr3 & 0xffffffe0ull) + ((va >> 30) & 3) * 8, 8,
		       &e) ||
	    !(e & PTE_P))
		return -EFAULT;
	return walk64(vm, e & ADDR_MASK, va, 2, gpa, left);
}

/* 32-bit paging: 4-byte entries, 4M pages with CR4.PSE (PSE-36 bits). */
static int walk_32(const struct vm *vm, const struct x86_sregs *s, uint64_t va,
		   uint64_t *gpa, uint64_t *left)
{
	uint64_t pde, pte;

	if (read_entry(vm, (s->cr3 & 0xfffff000ull) + ((va >> 22) & 1023) * 4,
		       4, &pde) ||
	    !(pde & PTE_P))
		return -EFAULT;
	if ((pde & PTE_PS) && (s->cr4 & X86_CR4_PSE_BIT)) {
		uint64_t base = (pde & 0xffc00000ull) |
				((pde >> 13 & 0xff) << 32);

		done(va, base, 22, gpa, left);
		return 0;
	}
	if (read_entry(vm, (pde & 0xfffff000ull) + ((va >> 12) & 1023) * 4, 4,
		       &pte) ||
	    !(pte & PTE_P))
		return -EFAULT;
	done(va, pte & 0xfffff000ull, 12, gpa, left);
	return 0;
}

int pagewalk(const struct vm *vm, const struct x86_sregs *s, uint64_t va,
	     uint64_t *gpa, uint64_t *left)
{
	if (!(s->cr0 & X86_CR0_PG_BIT)) {
		/* Without paging, linear addresses are 32 bits wide. */
		if (va > 0xffffffffull)
			return -EFAULT;
		*gpa = va;
		*left = 0x100000000ull - va;
		return 0;
	}
	if (s->efer & X86_EFER_LMA_BIT)
		return walk_long(vm, s, va, gpa, left);
	if (va > 0xffffffffull)
		return -EFAULT;
	if (s->cr4 & X86_CR4_PAE_BIT)
		return walk_pae(vm, s, va, gpa, left);
	return walk_32(vm, s, va, gpa, left);
}
