/* SPDX-License-Identifier: MIT */
/*
 * boot_params, the "zero page" of the Linux x86 boot protocol: the offsets
 * bzImage and ELF loading share, and the fields every 64-bit entry reads.
 */
#ifndef BOOT_ZEROPAGE_H
#define BOOT_ZEROPAGE_H

#include <stdint.h>

struct vm;

/* Setup header fields: offsets in the file and in boot_params alike. */
#define HDR_START 0x1f1 /* first byte of the setup header */
#define HDR_SETUP_SECTS 0x1f1 /* u8, 0 means 4 */
#define HDR_SYSSIZE 0x1f4 /* u32, protected-mode size in 16-byte units */
#define HDR_BOOT_FLAG 0x1fe /* u16, 0xaa55 */
#define HDR_JUMP 0x200 /* jmp short; its offset byte ends the header */
#define HDR_MAGIC 0x202 /* "HdrS" */
#define HDR_VERSION 0x206 /* u16 */
#define HDR_TYPE_OF_LOADER 0x210 /* u8 */
#define HDR_LOADFLAGS 0x211 /* u8 */
#define HDR_CODE32_START 0x214 /* u32 */
#define HDR_RAMDISK_IMAGE 0x218 /* u32 */
#define HDR_RAMDISK_SIZE 0x21c /* u32 */
#define HDR_HEAP_END_PTR 0x224 /* u16 */
#define HDR_CMD_LINE_PTR 0x228 /* u32 */
#define HDR_INITRD_ADDR_MAX 0x22c /* u32, highest byte the initrd may use */
#define HDR_KERNEL_ALIGNMENT 0x230 /* u32 */
#define HDR_RELOCATABLE 0x234 /* u8 */
#define HDR_XLOADFLAGS 0x236 /* u16 */
#define HDR_CMDLINE_SIZE 0x238 /* u32 */
#define HDR_SETUP_DATA 0x250 /* u64 */
#define HDR_PREF_ADDRESS 0x258 /* u64 */
#define HDR_INIT_SIZE 0x260 /* u32 */

/* boot_params fields outside the setup header. */
#define BP_ACPI_RSDP_ADDR 0x070 /* u64 */
#define BP_EXT_RAMDISK_IMAGE 0x0c0 /* u32, bits 32..63 of ramdisk_image */
#define BP_EXT_RAMDISK_SIZE 0x0c4
#define BP_EXT_CMD_LINE_PTR 0x0c8
#define BP_E820_ENTRIES 0x1e8 /* u8 */
#define BP_EDD_MBR_SIG_BUFFER 0x290 /* fixed ABI: the header ends before */
#define BP_E820_TABLE 0x2d0
#define BP_E820_MAX 128
#define BP_SIZE 4096

#define BOOT_FLAG 0xaa55
#define HDR_MAGIC_VALUE "HdrS"
#define LOADED_HIGH 0x01
#define CAN_USE_HEAP 0x80
#define XLF_KERNEL_64 0x0001

/* Where things are, for the fields the loader owns. */
struct zeropage_info {
	uint64_t cmdline; /* guest address of the NUL-terminated cmdline */
	uint64_t initrd_addr, initrd_size; /* 0, 0: no initrd */
	uint64_t rsdp; /* ACPI RSDP, 0: let the kernel scan for it */
};

/*
 * The zero page at LAYOUT_ZERO_PAGE, cleared. NULL (logged) if not RAM.
 */
uint8_t *zeropage_get(struct vm *vm);

/*
 * Fill the loader-owned fields of @zp (loader type, cmdline, initrd, RSDP,
 * E820 from @vm), over whatever setup header is already there. 0/-errno.
 */
int zeropage_fill(const struct vm *vm, uint8_t *zp,
		  const struct zeropage_info *info);

#endif
