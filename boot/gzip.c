// SPDX-License-Identifier: MIT
/*
 * gzip input (vmlinux.gz, bzImage.gz, initrd.gz): inflated on the host,
 * where it is fast, rather than by the guest, where on an emulating host a
 * 2 MiB initramfs costs minutes. Concatenated members are one stream, as
 * gzip(1) treats them; zero padding after the last member is accepted.
 */
#include "boot/gzip.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "vmm/le.h"
#include "vmm/log.h"

#define GZIP_ID1 0x1f
#define GZIP_ID2 0x8b
#define GZIP_CM_DEFLATE 8
#define GZIP_TRAILER 8 /* CRC32 and ISIZE */
#define INFLATE_GZIP (16 + MAX_WBITS) /* zlib: expect a gzip wrapper */

bool gzip_detect(const struct boot_image *img)
{
	return img->size >= 3 && img->data[0] == GZIP_ID1 &&
	       img->data[1] == GZIP_ID2 && img->data[2] == GZIP_CM_DEFLATE;
}

/* ISIZE (size mod 2^32) is only a hint: a first guess for the buffer. */
static size_t gzip_first_guess(const struct boot_image *img, size_t max)
{
	size_t guess = get_le32(img->data + img->size - GZIP_TRAILER + 4);

	if (guess < img->size)
		guess = img->size * 4;
	if (guess > max)
		guess = max;
	return guess ? guess : 4096;
}

/* Grow @out to hold more output; -EFBIG at @max. */
static int gzip_grow(struct boot_image *out, size_t *cap, size_t max)
{
	size_t ncap = *cap < max / 2 ? *cap * 2 : max;
	uint8_t *p;

	if (*cap >= max)
		return -EFBIG;
	p = realloc(out->data, ncap);
	if (!p)
		return -ENOMEM;
	out->data = p;
	*cap = ncap;
	return 0;
}

/* Anything after the last member must be zero padding (tar, dd leave it). */
static bool gzip_only_padding(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static int gzip_error(const struct boot_image *img, const char *what,
		      const char *why, int err)
{
	log_err("%s %s: %s", what, img->path, why);
	return err;
}

/* Run inflate over every member; the caller owns out->data either way. */
static int gzip_run(z_stream *zs, const struct boot_image *img,
		    const char *what, size_t max, struct boot_image *out,
		    size_t *cap)
{
	for (;;) {
		int zr, ret;

		if (zs->avail_out == 0) {
			ret = gzip_grow(out, cap, max);
			if (ret == -EFBIG)
				return gzip_error(
					img, what,
					"inflates to more than the guest can hold",
					ret);
			if (ret)
				return gzip_error(img, what,
						  "out of memory inflating",
						  ret);
			zs->next_out = out->data + out->size;
			zs->avail_out = (uInt)(*cap - out->size < UINT32_MAX ?
						       *cap - out->size :
						       UINT32_MAX);
		}
		zr = inflate(zs, Z_NO_FLUSH);
		out->size = (size_t)(zs->next_out - out->data);
		if (zr == Z_STREAM_END) {
			const uint8_t *rest = zs->next_in;

			if (zs->avail_in < 3 || rest[0] != GZIP_ID1 ||
			    rest[1] != GZIP_ID2)
				break;
			inflateReset(zs); /* another member follows */
			continue;
		}
		if (zr == Z_BUF_ERROR && zs->avail_in == 0)
			return gzip_error(
				img, what,
				"truncated gzip data (stream ends early)",
				-EINVAL);
		if (zr != Z_OK && zr != Z_BUF_ERROR) {
			log_err("%s %s: corrupt gzip data: %s", what, img->path,
				zs->msg ? zs->msg : zError(zr));
			return -EINVAL;
		}
	}
	if (!gzip_only_padding(zs->next_in, zs->avail_in))
		return gzip_error(img, what, "garbage after the gzip data",
				  -EINVAL);
	return 0;
}

/* zlib counts in uInt: feed at most 4 GiB - 1 at a time. */
static int gzip_inflate_all(z_stream *zs, const struct boot_image *img,
			    const char *what, size_t max,
			    struct boot_image *out, size_t *cap)
{
	if (img->size > UINT32_MAX)
		return gzip_error(img, what,
				  "compressed file larger than 4 GiB", -EFBIG);
	zs->next_in = img->data;
	zs->avail_in = (uInt)img->size;
	zs->next_out = out->data;
	zs->avail_out = (uInt)(*cap < UINT32_MAX ? *cap : UINT32_MAX);
	return gzip_run(zs, img, what, max, out, cap);
}

int gzip_inflate(const struct boot_image *img, const char *what, size_t max,
		 struct boot_image *out)
{
	z_stream zs = { 0 };
	size_t cap;
	int ret;

	memset(out, 0, sizeof(*out));
	if (!gzip_detect(img) || img->size < 18)
		return gzip_error(img, what, "truncated gzip header", -EINVAL);
	cap = gzip_first_guess(img, max);
	out->data = malloc(cap);
	if (!out->data)
		return gzip_error(img, what, "out of memory inflating",
				  -ENOMEM);
	if (inflateInit2(&zs, INFLATE_GZIP) != Z_OK) {
		boot_free_file(out);
		return gzip_error(img, what, "cannot start zlib", -ENOMEM);
	}
	ret = gzip_inflate_all(&zs, img, what, max, out, &cap);
	inflateEnd(&zs);
	if (ret) {
		boot_free_file(out);
		return ret;
	}
	out->path = img->path;
	log_debug("%s %s: inflated %zu -> %zu bytes", what, img->path,
		  img->size, out->size);
	return 0;
}
