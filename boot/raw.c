// SPDX-License-Identifier: MIT
#include "boot/raw.h"

#include <errno.h>

#include "vmm/layout_x86_64.h"
#include "vmm/log.h"
#include "vmm/vm.h"

/* The identity map covers 4 GiB; code must start inside it. */
#define RAW_ENTRY_LIMIT 0x100000000ULL

static int raw_check(const struct vm *vm, const struct boot_image *img,
		     uint64_t load, uint64_t entry)
{
	/* Below 1 MiB live our GDT, page tables and firmware tables. */
	if (load < LAYOUT_HIMEM || !vm_gpa_to_hva(vm, load, img->size)) {
		log_err("kernel %s: %zu bytes at --load-addr 0x%llx are not guest RAM above 1 MiB (guest has %llu MiB)",
			img->path, img->size, (unsigned long long)load,
			(unsigned long long)(vm->ram_size >> 20));
		return -ENOMEM;
	}
	if (entry < load || entry - load >= img->size ||
	    entry >= RAW_ENTRY_LIMIT) {
		log_err("kernel %s: --entry 0x%llx is not inside the image (0x%llx-0x%llx) below 4 GiB",
			img->path, (unsigned long long)entry,
			(unsigned long long)load,
			(unsigned long long)(load + img->size));
		return -EINVAL;
	}
	return 0;
}

int raw_load(struct vm *vm, const struct boot_image *img,
	     const struct boot_params *bp, struct boot_entry *entry)
{
	uint64_t load = bp->load_addr ? bp->load_addr : RAW_DEFAULT_LOAD;
	uint64_t rip = bp->entry ? bp->entry : load;
	int ret = raw_check(vm, img, load, rip);

	if (!ret)
		ret = boot_copy(vm, load, img->data, img->size, "raw image");
	if (!ret)
		ret = x86_setup_long_mode(vm, entry);
	if (ret)
		return ret;
	entry->rip = rip;
	entry->rsp = LAYOUT_BOOT_STACK;
	log_debug("kernel %s: raw, %zu bytes at 0x%llx, entry 0x%llx",
		  img->path, img->size, (unsigned long long)load,
		  (unsigned long long)rip);
	return 0;
}
