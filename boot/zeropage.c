// SPDX-License-Identifier: MIT
/* boot_params fields that every 64-bit Linux entry reads, in one place. */
#include "boot/zeropage.h"

#include <errno.h>
#include <string.h>

#include "vmm/layout_x86_64.h"
#include "vmm/le.h"
#include "vmm/log.h"
#include "vmm/vm.h"

#define LOADER_UNDEFINED 0xff /* type_of_loader: no assigned loader id */
#define HEAP_END 0xfe00 /* only read by real-mode setup, which we skip */

uint8_t *zeropage_get(struct vm *vm)
{
	uint8_t *zp = vm_gpa_to_hva(vm, LAYOUT_ZERO_PAGE, BP_SIZE);

	if (!zp) {
		log_err("boot: zero page at 0x%llx is not guest RAM",
			(unsigned long long)LAYOUT_ZERO_PAGE);
		return NULL;
	}
	memset(zp, 0, BP_SIZE);
	return zp;
}

static int zeropage_e820(const struct vm *vm, uint8_t *zp)
{
	struct e820_entry map[BP_E820_MAX];
	int n = vm_e820(vm, map, BP_E820_MAX);

	if (n < 0) {
		log_err("boot: E820 map does not fit the zero page");
		return n;
	}
	memcpy(zp + BP_E820_TABLE, map, (size_t)n * sizeof(map[0]));
	zp[BP_E820_ENTRIES] = (uint8_t)n;
	return 0;
}

int zeropage_fill(const struct vm *vm, uint8_t *zp,
		  const struct zeropage_info *info)
{
	zp[HDR_TYPE_OF_LOADER] = LOADER_UNDEFINED;
	zp[HDR_LOADFLAGS] |= LOADED_HIGH | CAN_USE_HEAP;
	put_le16(zp + HDR_HEAP_END_PTR, HEAP_END);
	/* The ext_ fields carry bits 32..63, for addresses above 4 GiB. */
	put_le32(zp + HDR_CMD_LINE_PTR, (uint32_t)info->cmdline);
	put_le32(zp + BP_EXT_CMD_LINE_PTR, (uint32_t)(info->cmdline >> 32));
	put_le32(zp + HDR_RAMDISK_IMAGE, (uint32_t)info->initrd_addr);
	put_le32(zp + BP_EXT_RAMDISK_IMAGE,
		 (uint32_t)(info->initrd_addr >> 32));
	put_le32(zp + HDR_RAMDISK_SIZE, (uint32_t)info->initrd_size);
	put_le32(zp + BP_EXT_RAMDISK_SIZE, (uint32_t)(info->initrd_size >> 32));
	/* We pass no setup_data; a pointer from a file would be garbage. */
	put_le64(zp + HDR_SETUP_DATA, 0);
	put_le64(zp + BP_ACPI_RSDP_ADDR, info->rsdp);
	return zeropage_e820(vm, zp);
}
