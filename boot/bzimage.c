// SPDX-License-Identifier: MIT
/*
 * The Linux x86 boot protocol (Documentation/arch/x86/boot.rst), 64-bit
 * entry only: no real-mode setup code runs, so the VMM does what it would
 * have done (zero page, E820) and enters startup_64 in long mode.
 *
 * The image file is untrusted: every field is checked against the file
 * size before it is used, and all sizes are computed in 64 bits.
 */
#include "boot/bzimage.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "boot/zeropage.h"
#include "vmm/le.h"
#include "vmm/layout_x86_64.h"
#include "vmm/log.h"
#include "vmm/vm.h"

/*
 * The file must hold the header up to the end of init_size, the last field
 * we read (2.10+). Real images are much longer: setup is >= 5 sectors.
 */
#define HDR_MIN_END 0x264

#define ENTRY_64 0x200 /* startup_64, fixed ABI */
#define SECTOR 512
#define MIB (1ULL << 20)

static unsigned long long mib_up(uint64_t bytes)
{
	return (unsigned long long)((bytes + MIB - 1) / MIB);
}

bool bzimage_detect(const struct boot_image *img)
{
	return img->size >= HDR_MAGIC + 4 &&
	       get_le16(img->data + HDR_BOOT_FLAG) == BOOT_FLAG &&
	       !memcmp(img->data + HDR_MAGIC, HDR_MAGIC_VALUE, 4);
}

/* Signatures and protocol version: is this a bzImage we can enter at all? */
static int bz_check_magic(const struct boot_image *img)
{
	const uint8_t *d = img->data;
	uint16_t version;

	if (img->size < HDR_MIN_END) {
		log_err("kernel %s: truncated: %zu bytes is too short for a setup header (need %u)",
			img->path, img->size, HDR_MIN_END);
		return -ENOEXEC;
	}
	if (get_le16(d + HDR_BOOT_FLAG) != BOOT_FLAG) {
		log_err("kernel %s: not a bzImage: boot flag at 0x%x is 0x%04x, not 0x%04x",
			img->path, HDR_BOOT_FLAG, get_le16(d + HDR_BOOT_FLAG),
			BOOT_FLAG);
		return -ENOEXEC;
	}
	if (memcmp(d + HDR_MAGIC, HDR_MAGIC_VALUE, 4)) {
		log_err("kernel %s: not a bzImage: no \"HdrS\" signature at 0x%x",
			img->path, HDR_MAGIC);
		return -ENOEXEC;
	}
	version = get_le16(d + HDR_VERSION);
	if (version < BZIMAGE_MIN_VERSION) {
		log_err("kernel %s: boot protocol %u.%02u is too old (need %u.%02u+)",
			img->path, version >> 8, version & 0xff,
			BZIMAGE_MIN_VERSION >> 8, BZIMAGE_MIN_VERSION & 0xff);
		return -ENOEXEC;
	}
	return 0;
}

/* Flags that say the kernel can be entered at startup_64 above 1 MiB. */
static int bz_check_flags(const struct boot_image *img)
{
	if (!(img->data[HDR_LOADFLAGS] & LOADED_HIGH)) {
		log_err("kernel %s: LOADED_HIGH is clear: a zImage that loads at 0x10000 is not supported",
			img->path);
		return -ENOEXEC;
	}
	if (!(get_le16(img->data + HDR_XLOADFLAGS) & XLF_KERNEL_64)) {
		log_err("kernel %s: not a 64-bit kernel (XLF_KERNEL_64 missing)",
			img->path);
		return -ENOEXEC;
	}
	return 0;
}

/* Split the file into setup and protected-mode parts and check sizes. */
static int bz_check_sizes(const struct boot_image *img,
			  struct bzimage_info *info)
{
	const uint8_t *d = img->data;
	unsigned int sects = d[HDR_SETUP_SECTS] ? d[HDR_SETUP_SECTS] : 4;
	uint64_t setup_size = (uint64_t)(sects + 1) * SECTOR;
	uint64_t kernel_size, sys_bytes;

	if (setup_size >= img->size) {
		log_err("kernel %s: truncated: setup_sects says %llu bytes of setup, file has %zu and no kernel after it",
			img->path, (unsigned long long)setup_size, img->size);
		return -ENOEXEC;
	}
	kernel_size = img->size - setup_size;
	if (kernel_size > UINT32_MAX) {
		log_err("kernel %s: %llu bytes of kernel cannot load below 4 GiB",
			img->path, (unsigned long long)kernel_size);
		return -ENOEXEC;
	}
	/* syssize counts 16-byte paragraphs, so it may round up by 15. */
	sys_bytes = (uint64_t)get_le32(d + HDR_SYSSIZE) * 16;
	if (sys_bytes > kernel_size + 15) {
		log_err("kernel %s: truncated: header says %llu bytes of kernel, file has %llu",
			img->path, (unsigned long long)sys_bytes,
			(unsigned long long)kernel_size);
		return -ENOEXEC;
	}
	info->setup_size = (uint32_t)setup_size;
	info->kernel_size = (uint32_t)kernel_size;
	return 0;
}

/* The fields that say where the kernel may run and what it accepts. */
static int bz_read_layout(const struct boot_image *img,
			  struct bzimage_info *info)
{
	const uint8_t *d = img->data;

	info->version = get_le16(d + HDR_VERSION);
	info->xloadflags = get_le16(d + HDR_XLOADFLAGS);
	info->initrd_addr_max = get_le32(d + HDR_INITRD_ADDR_MAX);
	info->cmdline_size = get_le32(d + HDR_CMDLINE_SIZE);
	info->kernel_alignment = get_le32(d + HDR_KERNEL_ALIGNMENT);
	info->relocatable = d[HDR_RELOCATABLE] != 0;
	info->pref_address = get_le64(d + HDR_PREF_ADDRESS);
	info->init_size = get_le32(d + HDR_INIT_SIZE);

	if (!info->init_size) {
		log_err("kernel %s: init_size is 0", img->path);
		return -ENOEXEC;
	}
	/* The decompressor rounds its load address up with this mask. */
	if (info->relocatable &&
	    (!info->kernel_alignment ||
	     (info->kernel_alignment & (info->kernel_alignment - 1)))) {
		log_err("kernel %s: kernel_alignment 0x%x is not a power of two",
			img->path, info->kernel_alignment);
		return -ENOEXEC;
	}
	return 0;
}

int bzimage_parse(const struct boot_image *img, struct bzimage_info *info)
{
	int ret;

	memset(info, 0, sizeof(*info));
	if (!img->data) {
		log_err("kernel %s: no data", img->path);
		return -EINVAL;
	}
	ret = bz_check_magic(img);
	if (!ret)
		ret = bz_check_flags(img);
	if (!ret)
		ret = bz_check_sizes(img, info);
	if (!ret)
		ret = bz_read_layout(img, info);
	return ret;
}

/* Where the kernel goes, and the RAM it occupies until it reads E820. */
struct bz_place {
	uint64_t load; /* protected-mode kernel copied here */
	uint64_t end; /* first byte above everything the kernel uses early */
};

/*
 * Choose the load address. The 64-bit entry runs startup_64 where we put
 * it, and startup_64 always copies the compressed image to the top of the
 * buffer [runtime_start, runtime_start + init_size) and decompresses into
 * that buffer. runtime_start is pref_address for a non-relocatable kernel
 * (boot.rst: it "will unconditionally move itself" there) and, for a
 * relocatable one, the load address aligned up but never below
 * LOAD_PHYSICAL_ADDR, which is the value Linux puts in pref_address.
 * The copy and the decompression cost the same from either address (on
 * this host every one of those guest instructions is emulated, so that
 * work is what matters), but loading at pref_address keeps everything in
 * one buffer: no second range at 1 MiB is written and faulted in on the
 * host for nothing, and init_size from the load address is the whole early
 * footprint, so the fit check and the initrd floor are exact. 1 MiB is only the fallback when a relocatable
 * kernel's pref_address is missing or unusable; when pref_address is sane
 * but RAM is short we fail rather than fall back, because the kernel would
 * still run at LOAD_PHYSICAL_ADDR and overrun RAM in the guest.
 */
static int bz_choose_load(const struct vm *vm, const struct boot_image *img,
			  const struct bzimage_info *info, uint64_t *load)
{
	uint64_t pref = info->pref_address;
	bool aligned = !(pref & ((uint64_t)info->kernel_alignment - 1));

	if (info->relocatable) {
		*load = LAYOUT_HIMEM;
		if (pref >= LAYOUT_HIMEM && pref < LAYOUT_MMIO_HOLE && aligned)
			*load = pref;
		return 0;
	}
	/* Old kernels without pref_address ran at 1 MiB. */
	*load = pref ? pref : LAYOUT_HIMEM;
	if (*load < LAYOUT_HIMEM || *load >= vm_low_ram_top(vm)) {
		log_err("kernel %s: not relocatable and must run at 0x%llx, which is not guest RAM above 1 MiB",
			img->path, (unsigned long long)*load);
		return -ENOEXEC;
	}
	return 0;
}

/* Where the kernel goes, and the end of the RAM it uses before E820. */
static int bz_choose_place(const struct vm *vm, const struct boot_image *img,
			   const struct bzimage_info *info,
			   struct bz_place *place)
{
	uint64_t runtime, align = info->kernel_alignment;
	int ret = bz_choose_load(vm, img, info, &place->load);

	if (ret)
		return ret;
	/* load < 4 GiB and align <= 2 GiB: none of these sums overflow. */
	runtime = place->load;
	if (info->relocatable)
		runtime = (runtime + align - 1) & ~(align - 1);
	place->end = place->load + info->kernel_size;
	if (runtime + info->init_size > place->end)
		place->end = runtime + info->init_size;
	if (place->end > vm_low_ram_top(vm)) {
		log_err("kernel %s: needs %llu MiB of RAM below 3 GiB (loaded at 0x%llx, init_size %u), guest has %llu MiB",
			img->path, mib_up(place->end),
			(unsigned long long)place->load, info->init_size,
			(unsigned long long)(vm_low_ram_top(vm) / MIB));
		return -ENOMEM;
	}
	return 0;
}

/* The longest command line both the kernel and our layout accept. */
static int bz_check_cmdline(const struct boot_image *img,
			    const struct bzimage_info *info,
			    const char *cmdline)
{
	uint64_t max = info->cmdline_size;

	if (max > LAYOUT_CMDLINE_MAX - 1)
		max = LAYOUT_CMDLINE_MAX - 1;
	return boot_check_cmdline(cmdline, max, "", img->path);
}

/* The setup header as the kernel wrote it, so it can read its own fields. */
static void bz_copy_header(uint8_t *zp, const struct boot_image *kernel)
{
	/* The jump at 0x200 skips exactly the header: its byte is its length. */
	size_t end = HDR_MAGIC + kernel->data[HDR_JUMP + 1];

	/* We and the kernel read up to init_size; copy at least that much. */
	if (end < HDR_MIN_END)
		end = HDR_MIN_END;
	/* Past here the zero page is ours (EDD, E820): never file data. */
	if (end > BP_EDD_MBR_SIG_BUFFER)
		end = BP_EDD_MBR_SIG_BUFFER;
	if (end > kernel->size)
		end = kernel->size;
	memcpy(zp + HDR_START, kernel->data + HDR_START, end - HDR_START);
}

/* boot_params at LAYOUT_ZERO_PAGE, as real-mode setup would leave it. */
static int bz_write_zero_page(struct vm *vm, const struct boot_image *kernel,
			      const struct bz_place *place,
			      const struct zeropage_info *zi)
{
	uint8_t *zp = zeropage_get(vm);

	if (!zp)
		return -EFAULT;
	bz_copy_header(zp, kernel);
	put_le32(zp + HDR_CODE32_START, (uint32_t)place->load);
	return zeropage_fill(vm, zp, zi);
}

/* Everything that can fail on the inputs, before guest memory is touched. */
static int bz_plan(const struct vm *vm, const struct boot_image *kernel,
		   const struct boot_image *initrd, const char *cmdline,
		   struct bzimage_info *info, struct bz_place *place,
		   uint64_t *initrd_addr)
{
	int ret = bzimage_parse(kernel, info);

	if (!ret)
		ret = bz_check_cmdline(kernel, info, cmdline);
	if (!ret)
		ret = bz_choose_place(vm, kernel, info, place);
	*initrd_addr = 0;
	if (!ret && initrd && initrd->size)
		ret = x86_place_initrd(vm, initrd->path, initrd->size,
				       info->initrd_addr_max, place->end,
				       initrd_addr);
	return ret;
}

int bzimage_load(struct vm *vm, const struct boot_image *kernel,
		 const struct boot_image *initrd, const struct boot_params *bp,
		 struct boot_entry *entry)
{
	const char *cmdline = bp->cmdline ? bp->cmdline : "";
	struct zeropage_info zi = { .cmdline = LAYOUT_CMDLINE,
				    .rsdp = bp->rsdp };
	struct bzimage_info info;
	struct bz_place place;
	int ret;

	ret = bz_plan(vm, kernel, initrd, cmdline, &info, &place,
		      &zi.initrd_addr);
	if (ret)
		return ret;
	ret = boot_copy(vm, place.load, kernel->data + info.setup_size,
			info.kernel_size, "kernel");
	if (!ret)
		ret = boot_copy(vm, LAYOUT_CMDLINE, cmdline,
				strlen(cmdline) + 1, "command line");
	if (!ret && zi.initrd_addr) {
		zi.initrd_size = initrd->size;
		ret = boot_copy(vm, zi.initrd_addr, initrd->data,
				zi.initrd_size, "initrd");
	}
	if (!ret)
		ret = bz_write_zero_page(vm, kernel, &place, &zi);
	if (!ret)
		ret = x86_setup_long_mode(vm, entry);
	if (ret)
		return ret;
	entry->rip = place.load + ENTRY_64;
	entry->rsi = LAYOUT_ZERO_PAGE;
	entry->rsp = LAYOUT_BOOT_STACK;
	log_debug(
		"kernel %s: protocol %u.%02u, %u bytes at 0x%llx, init_size %u",
		kernel->path, info.version >> 8, info.version & 0xff,
		info.kernel_size, (unsigned long long)place.load,
		info.init_size);
	return 0;
}
