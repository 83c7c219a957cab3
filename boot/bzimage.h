/* SPDX-License-Identifier: MIT */
/* The Linux x86 boot protocol for bzImage files, entered at the 64-bit entry. */
#ifndef BOOT_BZIMAGE_H
#define BOOT_BZIMAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "boot/boot.h"

/* What the setup header says, once validated. */
struct bzimage_info {
	uint16_t version; /* boot protocol, e.g. 0x020f */
	uint32_t setup_size; /* bytes before the protected-mode kernel */
	uint32_t kernel_size; /* bytes of protected-mode kernel */
	uint32_t initrd_addr_max;
	uint32_t cmdline_size; /* max cmdline length without the NUL */
	uint32_t kernel_alignment;
	uint32_t init_size; /* memory the kernel needs from its load address */
	uint64_t pref_address;
	uint16_t xloadflags;
	bool relocatable;
};

/* Oldest boot protocol we accept: 2.12 brought xloadflags (XLF_KERNEL_64). */
#define BZIMAGE_MIN_VERSION 0x020c

/* True if @img carries the boot flag and "HdrS": worth bzimage_parse(). */
bool bzimage_detect(const struct boot_image *img);

/*
 * Validate the setup header of @img (magic, protocol version, XLF_KERNEL_64,
 * sizes against the file). On failure log one error naming img->path and the
 * exact problem and return -ENOEXEC (or -EINVAL). 0 on success.
 */
int bzimage_parse(const struct boot_image *img, struct bzimage_info *info);

/*
 * Load a validated bzImage into @vm: protected-mode kernel, zero page (setup
 * header copy, E820, cmdline, initrd), initrd placed as high as allowed, and
 * long-mode structures; fill @entry for the 64-bit entry point. @initrd may
 * be NULL. A cmdline longer than the kernel allows is an error (-E2BIG).
 */
int bzimage_load(struct vm *vm, const struct boot_image *kernel,
		 const struct boot_image *initrd, const struct boot_params *bp,
		 struct boot_entry *entry);

#endif
