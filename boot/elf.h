/* SPDX-License-Identifier: MIT */
/*
 * ELF kernels (vmlinux and friends), read with libelf: the PT_LOAD segments
 * at their physical addresses, the entry point, and the Xen PVH entry note.
 */
#ifndef BOOT_ELF_H
#define BOOT_ELF_H

#include <stdbool.h>
#include <stdint.h>

#include "boot/boot.h"

#define ELF_MAX_SEGMENTS 16

/* One PT_LOAD segment, checked against the file. */
struct elf_segment {
	uint64_t paddr, vaddr;
	uint64_t offset, filesz, memsz;
};

/* What the loader needs from an ELF kernel. */
struct elf_kernel {
	uint64_t entry; /* e_entry, as a physical address */
	bool has_pvh; /* XEN_ELFNOTE_PHYS32_ENTRY present */
	uint32_t pvh_entry; /* its 32-bit physical entry point */
	uint64_t start, end; /* lowest and highest physical byte + 1 */
	unsigned int nr_segments;
	struct elf_segment seg[ELF_MAX_SEGMENTS]; /* sorted by paddr */
};

/* True if @img starts with the ELF magic. */
bool elf_detect(const struct boot_image *img);

/*
 * Parse @img as an x86_64 ELF kernel: class, machine, program headers,
 * segments inside the file and not overlapping, the PVH note if any.
 * Rejections name img->path and the reason; -ENOEXEC.
 */
int elf_parse(const struct boot_image *img, struct elf_kernel *out);

/*
 * Copy every segment into guest RAM at its physical address and zero the
 * part of memsz beyond filesz. -ENOMEM (logged) if a segment is not RAM.
 */
int elf_load_segments(struct vm *vm, const struct boot_image *img,
		      const struct elf_kernel *k);

/*
 * Boot @img (parsed into @k) with the 64-bit Linux boot protocol: segments
 * loaded, a zero page with a synthesised setup header, long mode, rsi =
 * boot_params, rip = the entry point. For vmlinux without the PVH note.
 */
int elf_load_linux64(struct vm *vm, const struct boot_image *img,
		     const struct elf_kernel *k,
		     const struct boot_image *initrd,
		     const struct boot_params *bp, struct boot_entry *entry);

/* Linux's COMMAND_LINE_SIZE on x86: the limit without a setup header. */
#define LINUX_CMDLINE_MAX 2047

#endif
