/* SPDX-License-Identifier: MIT */
/* gzip-compressed kernels and initrds, inflated in host memory with zlib. */
#ifndef BOOT_GZIP_H
#define BOOT_GZIP_H

#include <stdbool.h>
#include <stddef.h>

#include "boot/boot.h"

/* True if @img starts with the gzip magic and the deflate method byte. */
bool gzip_detect(const struct boot_image *img);

/*
 * Inflate all gzip members of @img into a new buffer in @out (path kept).
 * @what names the file in errors ("kernel", "initrd"). Output larger than
 * @max is refused (-EFBIG): a small file must not make us allocate without
 * bound. Corrupt or truncated input: -EINVAL with zlib's reason, logged.
 */
int gzip_inflate(const struct boot_image *img, const char *what, size_t max,
		 struct boot_image *out);

#endif
