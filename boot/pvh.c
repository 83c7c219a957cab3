// SPDX-License-Identifier: MIT
/*
 * PVH boot (Xen's docs/misc/pvh.pandoc, used by Linux without Xen too):
 * hvm_start_info and what it points to live in the page the bzImage path
 * uses for the zero page; only one of the two is ever written.
 */
#include "boot/pvh.h"

#include <errno.h>
#include <string.h>

#include "vmm/layout_x86_64.h"
#include "vmm/le.h"
#include "vmm/log.h"
#include "vmm/vm.h"

#define PVH_INFO LAYOUT_ZERO_PAGE
#define PVH_MODLIST (PVH_INFO + 0x100)
#define PVH_MEMMAP (PVH_INFO + 0x200)
#define PVH_MEMMAP_MAX ((0x1000 - 0x200) / PVH_MEMMAP_ENTRY_SIZE)
#define PVH_INITRD_MAX 0xffffffffULL /* module addresses are 32-bit here */

/* The E820 map, in the start info's own entry format. */
static int pvh_write_memmap(struct vm *vm, uint8_t *info)
{
	struct e820_entry map[PVH_MEMMAP_MAX];
	int n = vm_e820(vm, map, PVH_MEMMAP_MAX);
	uint8_t *p = vm_gpa_to_hva(vm, PVH_MEMMAP,
				   PVH_MEMMAP_MAX * PVH_MEMMAP_ENTRY_SIZE);

	if (n < 0 || !p)
		return -EFAULT;
	for (int i = 0; i < n; i++, p += PVH_MEMMAP_ENTRY_SIZE) {
		put_le64(p, map[i].addr);
		put_le64(p + 8, map[i].size);
		put_le32(p + 16, map[i].type);
		put_le32(p + 20, 0);
	}
	put_le64(info + PVH_OFF_MEMMAP, PVH_MEMMAP);
	put_le32(info + PVH_OFF_MEMMAP_ENTRIES, (uint32_t)n);
	return 0;
}

/* The initrd goes in as the first module: Linux takes module 0 as it. */
static int pvh_write_initrd(struct vm *vm, const struct boot_image *initrd,
			    const struct elf_kernel *k, uint8_t *info)
{
	uint8_t *mod = vm_gpa_to_hva(vm, PVH_MODLIST, PVH_MODLIST_ENTRY_SIZE);
	uint64_t addr;
	int ret;

	if (!initrd || !initrd->size)
		return 0;
	ret = x86_place_initrd(vm, initrd->path, initrd->size, PVH_INITRD_MAX,
			       k->end, &addr);
	if (!ret)
		ret = boot_copy(vm, addr, initrd->data, initrd->size, "initrd");
	if (ret)
		return ret;
	if (!mod)
		return -EFAULT;
	memset(mod, 0, PVH_MODLIST_ENTRY_SIZE);
	put_le64(mod, addr);
	put_le64(mod + 8, initrd->size);
	put_le32(info + PVH_OFF_NR_MODULES, 1);
	put_le64(info + PVH_OFF_MODLIST, PVH_MODLIST);
	return 0;
}

static int pvh_write_info(struct vm *vm, const struct elf_kernel *k,
			  const struct boot_image *initrd,
			  const struct boot_params *bp)
{
	uint8_t *info = vm_gpa_to_hva(vm, PVH_INFO, 0x1000);
	int ret;

	if (!info)
		return -EFAULT;
	memset(info, 0, 0x1000);
	put_le32(info + PVH_OFF_MAGIC, PVH_MAGIC);
	put_le32(info + PVH_OFF_VERSION, PVH_VERSION);
	put_le64(info + PVH_OFF_CMDLINE, LAYOUT_CMDLINE);
	put_le64(info + PVH_OFF_RSDP, bp->rsdp);
	ret = pvh_write_memmap(vm, info);
	if (!ret)
		ret = pvh_write_initrd(vm, initrd, k, info);
	return ret;
}

int pvh_load(struct vm *vm, const struct boot_image *img,
	     const struct elf_kernel *k, const struct boot_image *initrd,
	     const struct boot_params *bp, struct boot_entry *entry)
{
	const char *cmdline = bp->cmdline ? bp->cmdline : "";
	int ret =
		boot_check_cmdline(cmdline, PVH_CMDLINE_MAX, "PVH ", img->path);

	if (!ret)
		ret = elf_load_segments(vm, img, k);
	if (!ret)
		ret = boot_copy(vm, LAYOUT_CMDLINE, cmdline,
				strlen(cmdline) + 1, "command line");
	if (!ret)
		ret = pvh_write_info(vm, k, initrd, bp);
	if (!ret)
		ret = x86_setup_gdt(vm, entry);
	if (ret)
		return ret;
	entry->mode = BOOT_MODE_PROT32;
	entry->rip = k->pvh_entry;
	entry->rbx = PVH_INFO;
	entry->rsp = LAYOUT_BOOT_STACK;
	log_debug("kernel %s: PVH entry 0x%x", img->path, k->pvh_entry);
	return 0;
}
