// SPDX-License-Identifier: MIT
#include "boot/kernel.h"

#include <errno.h>
#include <string.h>

#include "boot/bzimage.h"
#include "boot/gzip.h"
#include "boot/pvh.h"
#include "boot/raw.h"
#include "vmm/log.h"

/*
 * Ceilings for inflated files: they must fit in guest RAM anyway, and a
 * small malicious .gz must not make the host allocate without bound.
 */
#define KERNEL_INFLATE_MAX (1ULL << 30)
#define INITRD_INFLATE_MAX (4ULL << 30)

static const char *const format_names[] = {
	[KERNEL_AUTO] = "auto", [KERNEL_BZIMAGE] = "bzimage",
	[KERNEL_PVH] = "pvh",	[KERNEL_ELF] = "elf",
	[KERNEL_RAW] = "raw",
};

int kernel_format_parse(const char *s, enum kernel_format *out)
{
	for (size_t i = 0; i < sizeof(format_names) / sizeof(*format_names);
	     i++) {
		if (!strcmp(s, format_names[i])) {
			*out = (enum kernel_format)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *kernel_format_name(enum kernel_format f)
{
	return (unsigned int)f < sizeof(format_names) / sizeof(*format_names) ?
		       format_names[f] :
		       "?";
}

/* Replace @img by its inflated content when it is gzip. */
static int maybe_inflate(struct boot_image *img, const char *what, size_t max,
			 bool *was_gzip)
{
	struct boot_image out;
	int ret;

	*was_gzip = gzip_detect(img);
	if (!*was_gzip)
		return 0;
	ret = gzip_inflate(img, what, max, &out);
	if (ret)
		return ret;
	boot_free_file(img);
	*img = out;
	if (!img->size) {
		log_err("%s %s: inflates to nothing", what, img->path);
		return -EINVAL;
	}
	return 0;
}

static int unknown_format(const struct boot_image *img)
{
	const uint8_t *d = img->data;

	log_err("kernel %s: unknown format: not a bzImage, an ELF or a gzip file (starts with %02x %02x %02x %02x); for a raw binary use --kernel-format raw",
		img->path, d[0], img->size > 1 ? d[1] : 0,
		img->size > 2 ? d[2] : 0, img->size > 3 ? d[3] : 0);
	return -ENOEXEC;
}

static int detect_format(struct kernel_files *f, bool raw_ok)
{
	if (elf_detect(&f->kernel)) {
		int ret = elf_parse(&f->kernel, &f->elf);

		f->format = f->elf.has_pvh ? KERNEL_PVH : KERNEL_ELF;
		return ret;
	}
	if (bzimage_detect(&f->kernel)) {
		f->format = KERNEL_BZIMAGE;
		return 0;
	}
	if (raw_ok) {
		f->format = KERNEL_RAW;
		return 0;
	}
	return unknown_format(&f->kernel);
}

/* Validate the headers of the chosen format before any RAM exists. */
static int check_format(struct kernel_files *f)
{
	struct bzimage_info info;
	int ret = 0;

	switch (f->format) {
	case KERNEL_BZIMAGE:
		ret = bzimage_parse(&f->kernel, &info);
		break;
	case KERNEL_PVH:
	case KERNEL_ELF:
		if (!f->elf.nr_segments)
			ret = elf_parse(&f->kernel, &f->elf);
		if (!ret && f->format == KERNEL_PVH && !f->elf.has_pvh) {
			log_err("kernel %s: no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY); --kernel-format elf boots it with the 64-bit protocol",
				f->kernel.path);
			ret = -ENOEXEC;
		}
		break;
	default:
		break;
	}
	return ret;
}

static int prepare_initrd(struct kernel_files *f, const char *path)
{
	int ret;

	if (!path)
		return 0;
	if (f->format == KERNEL_RAW) {
		log_err("initrd %s: a raw image has no way to receive an initrd",
			path);
		return -EINVAL;
	}
	ret = boot_read_file(path, "initrd", &f->initrd);
	if (!ret)
		ret = maybe_inflate(&f->initrd, "initrd", INITRD_INFLATE_MAX,
				    &f->initrd_gzip);
	return ret;
}

int kernel_prepare(struct kernel_files *f, const char *kernel_path,
		   const char *initrd_path, enum kernel_format forced,
		   bool raw_ok)
{
	int ret;

	memset(f, 0, sizeof(*f));
	ret = boot_read_file(kernel_path, "kernel", &f->kernel);
	if (!ret)
		ret = maybe_inflate(&f->kernel, "kernel", KERNEL_INFLATE_MAX,
				    &f->kernel_gzip);
	if (ret)
		return ret;
	f->format = forced;
	if (forced == KERNEL_AUTO)
		ret = detect_format(f, raw_ok);
	if (!ret)
		ret = check_format(f);
	if (!ret)
		ret = prepare_initrd(f, initrd_path);
	if (!ret)
		log_debug("kernel %s: %s%s", kernel_path,
			  kernel_format_name(f->format),
			  f->kernel_gzip ? " (gzip)" : "");
	return ret;
}

int kernel_load(struct vm *vm, const struct kernel_files *f,
		const struct boot_params *bp, struct boot_entry *entry)
{
	const struct boot_image *initrd = f->initrd.data ? &f->initrd : NULL;

	switch (f->format) {
	case KERNEL_BZIMAGE:
		return bzimage_load(vm, &f->kernel, initrd, bp, entry);
	case KERNEL_PVH:
		return pvh_load(vm, &f->kernel, &f->elf, initrd, bp, entry);
	case KERNEL_ELF:
		return elf_load_linux64(vm, &f->kernel, &f->elf, initrd, bp,
					entry);
	case KERNEL_RAW:
		return raw_load(vm, &f->kernel, bp, entry);
	default:
		return -EINVAL;
	}
}

void kernel_release(struct kernel_files *f)
{
	boot_free_file(&f->kernel);
	boot_free_file(&f->initrd);
}
