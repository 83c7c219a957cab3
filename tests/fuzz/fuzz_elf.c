// SPDX-License-Identifier: MIT
/* libFuzzer target: the ELF parser and the PVH / 64-bit ELF loaders. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot/elf.h"
#include "boot/pvh.h"
#include "vmm/log.h"
#include "vmm/vm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct vm vm;
	static bool ready;
	struct boot_image img = { "fuzz", (uint8_t *)data, size };
	struct boot_image initrd = { "fuzz-initrd", (uint8_t *)data,
				     size < 4096 ? size : 4096 };
	struct boot_params bp = { .cmdline = "console=ttyS0", .rsdp = 0xe0000 };
	struct elf_kernel k;
	struct boot_entry entry;

	if (!ready) {
		log_set_level(LOG_OFF);
		if (vm_init(&vm, 32 << 20))
			return 0;
		ready = true;
	}
	if (elf_parse(&img, &k))
		return 0;
	if (k.has_pvh)
		pvh_load(&vm, &img, &k, size & 1 ? &initrd : NULL, &bp, &entry);
	else
		elf_load_linux64(&vm, &img, &k, size & 1 ? &initrd : NULL, &bp,
				 &entry);
	return 0;
}
