/* SPDX-License-Identifier: MIT */
/*
 * Guest virtual to guest physical through the guest's own page tables,
 * read from guest RAM: what the debugger needs for m/M and int3 patching.
 */
#ifndef GDB_PAGEWALK_H
#define GDB_PAGEWALK_H

#include <stdint.h>

#include "vmm/regs_x86_64.h"

struct vm;

/*
 * Translate linear address @va with the paging mode that @s (CR0, CR3,
 * CR4, EFER) selects: paging off (identity, 32-bit addresses), 32-bit
 * paging (4K/4M pages), PAE (4K/2M), 4- and 5-level long mode (4K/2M/1G).
 * Stores the physical address in @gpa and the bytes left in its page in
 * @left. Returns 0, or -EFAULT when @va is not mapped (non-present entry,
 * non-canonical address, a table outside RAM).
 */
int pagewalk(const struct vm *vm, const struct x86_sregs *s, uint64_t va,
	     uint64_t *gpa, uint64_t *left);

#endif
