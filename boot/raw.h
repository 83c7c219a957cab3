/* SPDX-License-Identifier: MIT */
/*
 * Raw binaries: bytes copied to one address and entered there in 64-bit
 * long mode, for tiny test guests and bare-metal experiments.
 */
#ifndef BOOT_RAW_H
#define BOOT_RAW_H

#include "boot/boot.h"

/* Defaults when --load-addr / --entry are not given (documented). */
#define RAW_DEFAULT_LOAD 0x100000ULL /* 1 MiB */

/*
 * Copy @img to bp->load_addr (RAW_DEFAULT_LOAD if 0), which must be RAM at
 * or above 1 MiB, and enter at bp->entry (default: the load address), which
 * must lie inside the image. Long mode, the first 4 GiB identity-mapped,
 * rsp = LAYOUT_BOOT_STACK, other registers 0. -EINVAL/-ENOMEM, logged.
 */
int raw_load(struct vm *vm, const struct boot_image *img,
	     const struct boot_params *bp, struct boot_entry *entry);

#endif
