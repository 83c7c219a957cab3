/* SPDX-License-Identifier: MIT */
/* x86_64 ELF kernels built in memory for the loader tests. */
#ifndef TESTS_UNIT_FAKE_ELF_H
#define TESTS_UNIT_FAKE_ELF_H

#include <elf.h>
#include <stdint.h>

#define FAKE_ELF_NOTE 0x200 /* file offset of the Xen note */
#define FAKE_ELF_DATA 0x1000 /* file offset of the first segment */
#define FAKE_ELF_SEG 0x1000 /* file bytes reserved per segment */
#define FAKE_ELF_MAX_SEGS 4
#define FAKE_ELF_SIZE (FAKE_ELF_DATA + FAKE_ELF_MAX_SEGS * FAKE_ELF_SEG)

struct seg_spec {
	uint64_t paddr, vaddr, memsz;
	uint32_t filesz; /* at most FAKE_ELF_SEG; filled with 0x11 * (i + 1) */
};

/*
 * Write an ELF of FAKE_ELF_SIZE bytes into @buf: header, @n PT_LOAD
 * segments, and a Xen PVH note of @pvh_descsz (4 or 8) bytes holding
 * @pvh_entry unless @pvh_descsz is 0.
 */
void fake_elf_build(uint8_t *buf, const struct seg_spec *segs, unsigned int n,
		    uint64_t entry, int pvh_descsz, uint64_t pvh_entry);

#endif
