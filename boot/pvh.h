/* SPDX-License-Identifier: MIT */
/*
 * The Xen PVH boot ABI for ELF kernels with XEN_ELFNOTE_PHYS32_ENTRY: no
 * decompressor and no real-mode code, entered in 32-bit protected mode
 * with ebx pointing at hvm_start_info.
 */
#ifndef BOOT_PVH_H
#define BOOT_PVH_H

#include "boot/boot.h"
#include "boot/elf.h"

/* What the PVH ABI allows on the command line (Linux: COMMAND_LINE_SIZE). */
#define PVH_CMDLINE_MAX 2047

/* hvm_start_info (version 1), as xen/include/public/arch-x86/hvm/start_info.h. */
#define PVH_MAGIC 0x336ec578
#define PVH_VERSION 1
#define PVH_OFF_MAGIC 0
#define PVH_OFF_VERSION 4
#define PVH_OFF_NR_MODULES 12
#define PVH_OFF_MODLIST 16
#define PVH_OFF_CMDLINE 24
#define PVH_OFF_RSDP 32
#define PVH_OFF_MEMMAP 40
#define PVH_OFF_MEMMAP_ENTRIES 48
#define PVH_START_INFO_SIZE 56
#define PVH_MODLIST_ENTRY_SIZE 32 /* paddr, size, cmdline_paddr, reserved */
#define PVH_MEMMAP_ENTRY_SIZE 24 /* addr, size, type, reserved */

/*
 * Load the PVH kernel @img (parsed into @k, k->has_pvh set): segments, the
 * command line (at most PVH_CMDLINE_MAX bytes, else -E2BIG), the initrd as
 * module 0, hvm_start_info with the E820 memory map and bp->rsdp; @entry
 * gets 32-bit protected mode at the note's entry with rbx = start info.
 */
int pvh_load(struct vm *vm, const struct boot_image *img,
	     const struct elf_kernel *k, const struct boot_image *initrd,
	     const struct boot_params *bp, struct boot_entry *entry);

#endif
