// SPDX-License-Identifier: MIT
/* libFuzzer target: gzip inflation of hostile kernel and initrd files. */
#include <stddef.h>
#include <stdint.h>

#include "boot/gzip.h"
#include "vmm/log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct boot_image img = { "fuzz", (uint8_t *)data, size };
	struct boot_image out;

	log_set_level(LOG_OFF);
	/* A small ceiling: the fuzzer also hunts for unbounded allocation. */
	if (gzip_inflate(&img, "kernel", 1 << 20, &out) == 0)
		boot_free_file(&out);
	return 0;
}
