// SPDX-License-Identifier: MIT
/* libFuzzer target: the bzImage parser and loader on hostile files. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "boot/bzimage.h"
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
	struct bzimage_info info;
	struct boot_params bp = { .cmdline = "console=ttyS0" };
	struct boot_entry entry;

	if (!ready) {
		log_set_level(LOG_OFF);
		if (vm_init(&vm, 32 << 20))
			return 0;
		ready = true;
	}
	if (bzimage_parse(&img, &info) == 0)
		bzimage_load(&vm, &img, size & 1 ? &initrd : NULL, &bp, &entry);
	return 0;
}
