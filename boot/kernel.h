/* SPDX-License-Identifier: MIT */
/*
 * Which loader a kernel file needs, decided by its content (never its
 * name): bzImage, PVH ELF, plain ELF, or raw; gzip is inflated first.
 */
#ifndef BOOT_KERNEL_H
#define BOOT_KERNEL_H

#include <stdbool.h>
#include <stddef.h>

#include "boot/boot.h"
#include "boot/elf.h"

enum kernel_format {
	KERNEL_AUTO, /* detect from content */
	KERNEL_BZIMAGE,
	KERNEL_PVH, /* ELF with the Xen PVH entry note */
	KERNEL_ELF, /* ELF, 64-bit Linux boot protocol */
	KERNEL_RAW,
};

/* Kernel and initrd as read, inflated and identified. */
struct kernel_files {
	struct boot_image kernel, initrd;
	enum kernel_format format; /* never KERNEL_AUTO once prepared */
	bool kernel_gzip, initrd_gzip; /* were compressed on disk */
	struct elf_kernel elf; /* KERNEL_PVH, KERNEL_ELF */
};

/* "auto", "bzimage", "pvh", "elf", "raw" -> @out; -EINVAL otherwise. */
int kernel_format_parse(const char *s, enum kernel_format *out);
/* The name kernel_format_parse() accepts for @f. */
const char *kernel_format_name(enum kernel_format f);

/*
 * Read the kernel (and the initrd if @initrd_path), inflate gzip input,
 * and pick the format: @forced unless KERNEL_AUTO; auto never guesses raw
 * unless @raw_ok (the user gave --load-addr or --entry). Validates the
 * kernel's headers, so errors come before any guest RAM exists. Every
 * rejection is logged with the file name and the reason. 0/-errno.
 */
int kernel_prepare(struct kernel_files *f, const char *kernel_path,
		   const char *initrd_path, enum kernel_format forced,
		   bool raw_ok);

/* Load the prepared files into @vm with the loader of f->format. */
int kernel_load(struct vm *vm, const struct kernel_files *f,
		const struct boot_params *bp, struct boot_entry *entry);

/* Free what kernel_prepare() read. */
void kernel_release(struct kernel_files *f);

#endif
