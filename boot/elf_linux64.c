// SPDX-License-Identifier: MIT
/*
 * vmlinux without a PVH note: the 64-bit Linux boot protocol. There is no
 * setup header in an ELF file, so the VMM writes the one a bzImage would
 * carry (boot.rst, "64-bit boot protocol"), then enters startup_64 in long
 * mode with rsi pointing at boot_params.
 */
#include <errno.h>
#include <string.h>

#include "boot/elf.h"
#include "boot/zeropage.h"
#include "vmm/layout_x86_64.h"
#include "vmm/le.h"
#include "vmm/log.h"

#define SYNTH_VERSION 0x020f /* the protocol whose fields we fill */
#define SYNTH_INITRD_MAX 0x7fffffffULL /* what x86_64 bzImages declare */
#define SYNTH_ALIGNMENT 0x200000 /* CONFIG_PHYSICAL_ALIGN default */

/* The header fields the kernel reads back from boot_params. */
static void elf_synth_header(uint8_t *zp, const struct elf_kernel *k)
{
	put_le16(zp + HDR_BOOT_FLAG, BOOT_FLAG);
	memcpy(zp + HDR_MAGIC, HDR_MAGIC_VALUE, 4);
	put_le16(zp + HDR_VERSION, SYNTH_VERSION);
	put_le32(zp + HDR_CODE32_START, (uint32_t)k->start);
	put_le32(zp + HDR_INITRD_ADDR_MAX, (uint32_t)SYNTH_INITRD_MAX);
	put_le32(zp + HDR_KERNEL_ALIGNMENT, SYNTH_ALIGNMENT);
	put_le16(zp + HDR_XLOADFLAGS, XLF_KERNEL_64);
	put_le32(zp + HDR_CMDLINE_SIZE, LINUX_CMDLINE_MAX);
}

/* Command line and initrd into RAM; fills @zi for the zero page. */
static int elf_place_extras(struct vm *vm, const struct elf_kernel *k,
			    const struct boot_image *initrd,
			    const char *cmdline, struct zeropage_info *zi)
{
	int ret = boot_copy(vm, LAYOUT_CMDLINE, cmdline, strlen(cmdline) + 1,
			    "command line");

	zi->cmdline = LAYOUT_CMDLINE;
	if (ret || !initrd || !initrd->size)
		return ret;
	ret = x86_place_initrd(vm, initrd->path, initrd->size, SYNTH_INITRD_MAX,
			       k->end, &zi->initrd_addr);
	if (!ret)
		ret = boot_copy(vm, zi->initrd_addr, initrd->data, initrd->size,
				"initrd");
	zi->initrd_size = initrd->size;
	return ret;
}

int elf_load_linux64(struct vm *vm, const struct boot_image *img,
		     const struct elf_kernel *k,
		     const struct boot_image *initrd,
		     const struct boot_params *bp, struct boot_entry *entry)
{
	const char *cmdline = bp->cmdline ? bp->cmdline : "";
	struct zeropage_info zi = { .rsdp = bp->rsdp };
	uint8_t *zp;
	int ret = boot_check_cmdline(cmdline, LINUX_CMDLINE_MAX, "", img->path);

	if (!ret)
		ret = elf_load_segments(vm, img, k);
	if (!ret)
		ret = elf_place_extras(vm, k, initrd, cmdline, &zi);
	if (ret)
		return ret;
	zp = zeropage_get(vm);
	if (!zp)
		return -EFAULT;
	elf_synth_header(zp, k);
	ret = zeropage_fill(vm, zp, &zi);
	if (!ret)
		ret = x86_setup_long_mode(vm, entry);
	if (ret)
		return ret;
	entry->rip = k->entry;
	entry->rsi = LAYOUT_ZERO_PAGE;
	entry->rsp = LAYOUT_BOOT_STACK;
	log_debug("kernel %s: ELF, 64-bit boot protocol, entry 0x%llx",
		  img->path, (unsigned long long)k->entry);
	return 0;
}
