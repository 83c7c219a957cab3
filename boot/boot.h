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

/* How the boot vCPU starts: which CPU mode the entry point expects. */
enum boot_mode {
	BOOT_MODE_LONG, /* 64-bit, paging on (identity map at cr3) */
	BOOT_MODE_PROT32, /* 32-bit protected mode, paging off (PVH) */
};

/* The state of the boot vCPU: flat segments, the registers below. */
struct boot_entry {
	enum boot_mode mode;
	uint64_t rip, rsi, rsp, rbx;
	uint64_t cr3;
	uint64_t gdt_base;
	uint16_t gdt_limit;
};

/* What a loader needs besides the images: from the platform and the CLI. */
struct boot_params {
	const char *cmdline;
	uint64_t rsdp; /* guest address of the ACPI RSDP, 0 if none */
	uint64_t load_addr, entry; /* raw images only; entry 0 = load_addr */
};

/*
 * Write a GDT and identity-mapped page tables covering the first 4 GiB into
 * guest RAM (see vmm/layout_x86_64.h) and fill the cr3/gdt fields of @entry.
 */
int x86_setup_long_mode(struct vm *vm, struct boot_entry *entry);

/*
 * Write only the flat GDT (PVH: paging stays off); fills the gdt fields.
 */
int x86_setup_gdt(struct vm *vm, struct boot_entry *entry);

/*
 * Choose where an initrd of @size bytes goes: page-aligned, as high as
 * possible below min(@addr_max + 1, low RAM top), not below @floor (the end
 * of the kernel). -ENOMEM (logged, naming @path) if it does not fit.
 */
int x86_place_initrd(const struct vm *vm, const char *path, uint64_t size,
		     uint64_t addr_max, uint64_t floor, uint64_t *addr);

/*
 * -E2BIG (logged: its length, the limit, "@kind kernel @path") if @cmdline
 * is longer than @max bytes; 0 otherwise.
 */
int boot_check_cmdline(const char *cmdline, uint64_t max, const char *kind,
		       const char *path);

/* Copy @len bytes to guest @gpa through the checked translation; logged. */
int boot_copy(struct vm *vm, uint64_t gpa, const void *src, uint64_t len,
	      const char *what);

/* Selectors in the GDT that x86_setup_gdt() writes. */
#define BOOT_GDT_CODE32 0x08
#define BOOT_GDT_CODE64 0x10
#define BOOT_GDT_DATA 0x18

#endif
