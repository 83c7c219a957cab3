/* SPDX-License-Identifier: MIT */
/* Loading guest images into RAM and describing how the boot vCPU starts. */
#ifndef BOOT_BOOT_H
#define BOOT_BOOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vm;

/* A file read into host memory; @path is kept for error messages. */
struct boot_image {
	const char *path;
	uint8_t *data;
	size_t size;
};

/*
 * Read the whole file at @path. @what ("kernel", "initrd") names it in the
 * error message, e.g. "initrd /x: No such file or directory". 0 or -errno.
 */
int boot_read_file(const char *path, const char *what, struct boot_image *out);
/* Free what boot_read_file() allocated. */
void boot_free_file(struct boot_image *img);

/* The state of the boot vCPU: 64-bit long mode, flat segments. */
struct boot_entry {
	uint64_t rip, rsi, rsp;
	uint64_t cr3;
	uint64_t gdt_base;
	uint16_t gdt_limit;
};

/*
 * Write a GDT and identity-mapped page tables covering the first 4 GiB into
 * guest RAM (see vmm/layout_x86_64.h) and fill the cr3/gdt fields of @entry.
 */
int x86_setup_long_mode(struct vm *vm, struct boot_entry *entry);

/* Selectors in the GDT that x86_setup_long_mode() writes. */
#define BOOT_GDT_CODE64 0x10
#define BOOT_GDT_DATA 0x18

#endif
