// SPDX-License-Identifier: MIT
/*
 * bzImage parsing and loading, boot file reading and the long-mode tables,
 * on synthetic images built here and, when present, the real test kernel.
 * Offsets are spelled out again (not taken from bzimage.c) so a typo there
 * shows up here.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "boot/boot.h"
#include "boot/bzimage.h"
#include "tests/unit/fake_capture.h"
#include "tests/unit/fake_images.h"
#include "vmm/le.h"
#include "vmm/layout_x86_64.h"
#include "vmm/log.h"
#include "vmm/vm.h"

#define MIB (1ULL << 20)
#define SETUP_SECTS 4
#define SETUP_SIZE ((SETUP_SECTS + 1) * 512)
#define KERNEL_SIZE 8192
#define IMAGE_SIZE (SETUP_SIZE + KERNEL_SIZE)
#define PREF 0x1000000ULL
#define INIT_SIZE 0x800000U
#define CMDLINE_SIZE 255U
#define VM_RAM (256 * MIB)

/* ---- synthetic images ---- */

struct fake {
	uint8_t data[IMAGE_SIZE];
	struct boot_image img;
};

/* A minimal bzImage: a valid 2.15 header and a patterned "kernel". */
static void fake_init(struct fake *f)
{
	uint8_t *d = f->data;

	memset(d, 0, sizeof(f->data));
	d[0x1f1] = SETUP_SECTS;
	put_le32(d + 0x1f4, KERNEL_SIZE / 16);
	put_le16(d + 0x1fe, 0xaa55);
	d[0x200] = 0xeb;
	d[0x201] = 0x6a; /* header ends at 0x26c, as in 6.x kernels */
	memcpy(d + 0x202, "HdrS", 4);
	put_le16(d + 0x206, 0x020f);
	d[0x211] = 0x01; /* LOADED_HIGH */
	put_le32(d + 0x214, 0x100000);
	put_le32(d + 0x22c, 0x7fffffff);
	put_le32(d + 0x230, 0x200000);
	d[0x234] = 1;
	put_le16(d + 0x236,
		 0x0003); /* XLF_KERNEL_64 | XLF_CAN_BE_LOADED_ABOVE_4G */
	put_le32(d + 0x238, CMDLINE_SIZE);
	put_le64(d + 0x250,
		 0xdeadbeefULL); /* setup_data: the loader must clear */
	put_le64(d + 0x258, PREF);
	put_le32(d + 0x260, INIT_SIZE);
	for (size_t i = SETUP_SIZE; i < IMAGE_SIZE; i++)
		d[i] = (uint8_t)(i * 7 + 3);
	f->img = (struct boot_image){ .path = "fake",
				      .data = d,
				      .size = IMAGE_SIZE };
}

static int parse(struct fake *f, struct bzimage_info *info)
{
	return bzimage_parse(&f->img, info);
}

static void test_parse_valid(void **state)
{
	struct fake f;
	struct bzimage_info info;

	fake_init(&f);
	assert_int_equal(parse(&f, &info), 0);
	assert_int_equal(info.version, 0x020f);
	assert_int_equal(info.setup_size, SETUP_SIZE);
	assert_int_equal(info.kernel_size, KERNEL_SIZE);
	assert_int_equal(info.initrd_addr_max, 0x7fffffff);
	assert_int_equal(info.cmdline_size, CMDLINE_SIZE);
	assert_int_equal(info.kernel_alignment, 0x200000);
	assert_int_equal(info.init_size, INIT_SIZE);
	assert_int_equal(info.pref_address, PREF);
	assert_int_equal(info.xloadflags, 0x0003);
	assert_true(info.relocatable);
}

static void test_parse_setup_sects_zero_means_four(void **state)
{
	struct fake f;
	struct bzimage_info info;

	fake_init(&f);
	f.data[0x1f1] = 0;
	assert_int_equal(parse(&f, &info), 0);
	assert_int_equal(info.setup_size, 5 * 512);
}

static void expect_enoexec(struct fake *f, const char *msg)
{
	struct bzimage_info info;

	capture_start();
	assert_int_equal(parse(f, &info), -ENOEXEC);
	assert_logged(msg);
}

static void test_parse_truncated_header(void **state)
{
	struct fake f;

	fake_init(&f);
	f.img.size = 0x263; /* one byte short of init_size's end */
	expect_enoexec(&f, "kernel fake: truncated");
	f.img.size = 0;
	expect_enoexec(&f, "kernel fake: truncated");
}

static void test_parse_truncated_setup(void **state)
{
	struct fake f;

	fake_init(&f);
	f.data[0x1f1] = 30; /* 31 * 512 bytes of setup: more than the file */
	expect_enoexec(&f, "kernel fake: truncated: setup_sects says 15872");
	fake_init(&f);
	f.img.size = SETUP_SIZE; /* setup and nothing after it */
	expect_enoexec(&f, "kernel fake: truncated");
}

static void test_parse_syssize(void **state)
{
	struct fake f;
	struct bzimage_info info;

	fake_init(&f);
	put_le32(f.data + 0x1f4, KERNEL_SIZE / 16 + 1);
	expect_enoexec(
		&f,
		"kernel fake: truncated: header says 8208 bytes of kernel, file has 8192");
	/* syssize rounds up to 16 bytes: a kernel 8 bytes short is fine. */
	fake_init(&f);
	f.img.size -= 8;
	assert_int_equal(parse(&f, &info), 0);
	assert_int_equal(info.kernel_size, KERNEL_SIZE - 8);
	/* Large syssize must not wrap when multiplied by 16. */
	fake_init(&f);
	put_le32(f.data + 0x1f4, 0xffffffff);
	expect_enoexec(&f, "truncated: header says 68719476720 bytes");
}

static void test_parse_bad_magic(void **state)
{
	struct fake f;

	fake_init(&f);
	memcpy(f.data + 0x202, "HdrZ", 4);
	expect_enoexec(&f, "kernel fake: not a bzImage: no \"HdrS\"");
	fake_init(&f);
	put_le16(f.data + 0x1fe, 0x55aa);
	expect_enoexec(&f, "kernel fake: not a bzImage: boot flag");
}

static void test_parse_too_old(void **state)
{
	struct fake f;
	struct bzimage_info info;

	fake_init(&f);
	put_le16(f.data + 0x206, 0x020a);
	expect_enoexec(
		&f, "kernel fake: boot protocol 2.10 is too old (need 2.12+)");
	put_le16(f.data + 0x206, 0x020c);
	assert_int_equal(parse(&f, &info), 0);
}

static void test_parse_not_64bit(void **state)
{
	struct fake f;

	fake_init(&f);
	put_le16(f.data + 0x236, 0);
	expect_enoexec(
		&f, "kernel fake: not a 64-bit kernel (XLF_KERNEL_64 missing)");
	fake_init(&f);
	f.data[0x211] = 0;
	expect_enoexec(&f, "kernel fake: LOADED_HIGH");
}

static void test_parse_bad_layout(void **state)
{
	struct fake f;
	struct bzimage_info info;

	fake_init(&f);
	put_le32(f.data + 0x260, 0);
	expect_enoexec(&f, "kernel fake: init_size is 0");
	fake_init(&f);
	put_le32(f.data + 0x230, 0x300000);
	expect_enoexec(&f, "kernel_alignment 0x300000 is not a power of two");
	/* Alignment only matters to a relocatable kernel. */
	f.data[0x234] = 0;
	assert_int_equal(parse(&f, &info), 0);
}

/* Every prefix of a valid image: rejected or accepted, never overread. */
static void test_parse_every_truncation(void **state)
{
	struct fake f;
	struct bzimage_info info;

	fake_init(&f);
	for (size_t n = 0; n < IMAGE_SIZE; n++) {
		uint8_t *copy = malloc(n ? n : 1);
		struct boot_image img = { .path = "cut",
					  .data = copy,
					  .size = n };

		assert_non_null(copy);
		memcpy(copy, f.data, n);
		/* syssize says 8192 bytes, give or take 15 of rounding. */
		capture_start();
		assert_int_equal(bzimage_parse(&img, &info),
				 n < IMAGE_SIZE - 15 ? -ENOEXEC : 0);
		capture_stop();
		free(copy);
	}
}

/* ---- loading into a real struct vm ---- */

struct load_ctx {
	struct vm vm;
	struct fake f;
	struct boot_entry entry;
};

static int load_setup(void **state)
{
	struct load_ctx *c = calloc(1, sizeof(*c));

	if (!c || vm_init(&c->vm, VM_RAM))
		return -1;
	fake_init(&c->f);
	*state = c;
	return 0;
}

static int load_teardown(void **state)
{
	struct load_ctx *c = *state;

	vm_destroy(&c->vm);
	free(c);
	return 0;
}

static uint8_t *gpa(struct load_ctx *c, uint64_t addr, uint64_t len)
{
	uint8_t *p = vm_gpa_to_hva(&c->vm, addr, len);

	assert_non_null(p);
	return p;
}

static uint8_t *zero_page(struct load_ctx *c)
{
	return gpa(c, LAYOUT_ZERO_PAGE, 4096);
}

static int load(struct load_ctx *c, const struct boot_image *initrd,
		const char *cmdline)
{
	struct boot_params bp = { .cmdline = cmdline };

	return bzimage_load(&c->vm, &c->f.img, initrd, &bp, &c->entry);
}

static void test_load_zero_page(void **state)
{
	struct load_ctx *c = *state;
	const char *cmdline = "console=ttyS0 panic=-1";
	uint8_t *zp;

	assert_int_equal(load(c, NULL, cmdline), 0);
	zp = zero_page(c);
	assert_int_equal(zp[0x210], 0xff); /* type_of_loader */
	assert_int_equal(zp[0x211], 0x81); /* LOADED_HIGH | CAN_USE_HEAP */
	assert_int_equal(get_le16(zp + 0x224), 0xfe00);
	assert_int_equal(get_le32(zp + 0x214), PREF); /* code32_start */
	assert_int_equal(get_le32(zp + 0x228), LAYOUT_CMDLINE);
	assert_int_equal(get_le32(zp + 0x0c8), 0);
	assert_string_equal((char *)gpa(c, LAYOUT_CMDLINE, 64), cmdline);
	/* Header fields the kernel reads back from boot_params. */
	assert_memory_equal(zp + 0x202, "HdrS", 4);
	assert_int_equal(get_le16(zp + 0x206), 0x020f);
	assert_int_equal(get_le32(zp + 0x230), 0x200000);
	assert_int_equal(get_le32(zp + 0x260), INIT_SIZE);
	assert_int_equal(get_le64(zp + 0x250), 0); /* setup_data cleared */
	/* No initrd. */
	assert_int_equal(get_le32(zp + 0x218), 0);
	assert_int_equal(get_le32(zp + 0x21c), 0);
	/* The protected-mode kernel is at the load address. */
	assert_memory_equal(gpa(c, PREF, KERNEL_SIZE), c->f.data + SETUP_SIZE,
			    KERNEL_SIZE);
	/* Nothing at 1 MiB: we did not load twice. */
	assert_int_equal(*gpa(c, LAYOUT_HIMEM, 1), 0);
}

static void test_load_e820(void **state)
{
	struct load_ctx *c = *state;
	uint8_t *zp;
	unsigned int n;
	uint64_t prev_end = 0, ram = 0;

	assert_int_equal(load(c, NULL, ""), 0);
	zp = zero_page(c);
	n = zp[0x1e8];
	assert_true(n >= 3 && n <= 128);
	for (unsigned int i = 0; i < n; i++) {
		const uint8_t *e = zp + 0x2d0 + 20 * i;
		uint64_t addr = get_le64(e), size = get_le64(e + 8);
		uint32_t type = get_le32(e + 16);

		assert_true(size > 0);
		assert_true(addr >= prev_end); /* sorted, no overlap */
		prev_end = addr + size;
		if (type == 1)
			ram += size;
	}
	assert_true(ram <= VM_RAM && ram > VM_RAM - MIB);
	/* The kernel and zero page are in RAM according to the map. */
	assert_int_equal(get_le32(zp + 0x2d0 + 16), 1);
	assert_int_equal(get_le64(zp + 0x2d0), 0);
	/* Entries past n are zero: nothing from the file leaked in. */
	for (unsigned int i = 20 * n; i < 20 * 128; i++)
		assert_int_equal(zp[0x2d0 + i], 0);
}

static void test_load_entry_and_tables(void **state)
{
	struct load_ctx *c = *state;
	const uint8_t *gdt, *pml4, *pdpt, *pd;

	assert_int_equal(load(c, NULL, "x"), 0);
	assert_int_equal(c->entry.rip, PREF + 0x200);
	assert_int_equal(c->entry.rsi, LAYOUT_ZERO_PAGE);
	assert_int_equal(c->entry.rsp, 0x8ff0);
	assert_int_equal(c->entry.cr3, LAYOUT_PML4);
	assert_int_equal(c->entry.gdt_base, LAYOUT_GDT);
	assert_int_equal(c->entry.gdt_limit, 4 * 8 - 1);

	gdt = gpa(c, LAYOUT_GDT, 32);
	assert_int_equal(get_le64(gdt), 0);
	assert_int_equal(get_le64(gdt + BOOT_GDT_CODE32),
			 0x00cf9b000000ffffULL);
	assert_int_equal(get_le64(gdt + BOOT_GDT_CODE64),
			 0x00af9b000000ffffULL);
	assert_int_equal(get_le64(gdt + BOOT_GDT_DATA), 0x00cf93000000ffffULL);

	pml4 = gpa(c, LAYOUT_PML4, 4096);
	assert_int_equal(get_le64(pml4),
			 LAYOUT_PDPT | 7); /* present, rw, user */
	for (int i = 1; i < 512; i++)
		assert_int_equal(get_le64(pml4 + 8 * i), 0);
	pdpt = gpa(c, LAYOUT_PDPT, 4096);
	for (int i = 0; i < 4; i++)
		assert_int_equal(get_le64(pdpt + 8 * i),
				 (LAYOUT_PD + 4096 * i) | 7);
	for (int i = 4; i < 512; i++)
		assert_int_equal(get_le64(pdpt + 8 * i), 0);
	for (int i = 0; i < 4; i++) {
		pd = gpa(c, LAYOUT_PD + 4096 * i, 4096);
		for (int j = 0; j < 512; j++) {
			uint64_t addr = (uint64_t)(i * 512 + j) << 21;

			assert_int_equal(get_le64(pd + 8 * j), addr | 0x87);
		}
	}
	/* The last 2 MiB page below 4 GiB. */
	assert_int_equal(get_le64(gpa(c, LAYOUT_PD + 3 * 4096 + 511 * 8, 8)),
			 0xffe00087ULL);
}

static void test_load_null_cmdline(void **state)
{
	struct load_ctx *c = *state;

	memset(gpa(c, LAYOUT_CMDLINE, 4), 'x', 4);
	assert_int_equal(load(c, NULL, NULL), 0);
	assert_int_equal(*gpa(c, LAYOUT_CMDLINE, 1), 0);
}

static void test_load_cmdline_limit(void **state)
{
	struct load_ctx *c = *state;
	char line[CMDLINE_SIZE + 2];

	memset(line, 'a', CMDLINE_SIZE);
	line[CMDLINE_SIZE] = '\0';
	assert_int_equal(load(c, NULL, line), 0);
	assert_string_equal((char *)gpa(c, LAYOUT_CMDLINE, sizeof(line)), line);

	line[CMDLINE_SIZE] = 'a';
	line[CMDLINE_SIZE + 1] = '\0';
	capture_start();
	assert_int_equal(load(c, NULL, line), -E2BIG);
	assert_logged(
		"kernel command line is 256 bytes, kernel fake accepts at most 255");
}

/* A kernel that accepts more than our buffer is held to our buffer. */
static void test_load_cmdline_layout_limit(void **state)
{
	struct load_ctx *c = *state;
	size_t max = LAYOUT_CMDLINE_MAX - 1;
	char *line = malloc(max + 2);

	assert_non_null(line);
	put_le32(c->f.data + 0x238, 0xffffffff);
	memset(line, 'b', max);
	line[max] = '\0';
	assert_int_equal(load(c, NULL, line), 0);
	assert_int_equal(*gpa(c, LAYOUT_CMDLINE + max, 1), 0);
	line[max] = 'b';
	line[max + 1] = '\0';
	capture_start();
	assert_int_equal(load(c, NULL, line), -E2BIG);
	assert_logged("accepts at most 65535");
	free(line);
}

/* A failed load leaves guest memory alone: all checks come first. */
static void test_load_failure_writes_nothing(void **state)
{
	struct load_ctx *c = *state;
	char line[CMDLINE_SIZE + 2];

	memset(line, 'a', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	capture_start();
	assert_int_equal(load(c, NULL, line), -E2BIG);
	capture_stop();
	assert_int_equal(*gpa(c, PREF, 1), 0);
	assert_int_equal(zero_page(c)[0x210], 0);
	assert_int_equal(*gpa(c, LAYOUT_PML4, 1), 0);
}

static void test_load_initrd(void **state)
{
	struct load_ctx *c = *state;
	static uint8_t rd[10000];
	struct boot_image initrd = { .path = "rd",
				     .data = rd,
				     .size = sizeof(rd) };
	uint32_t addr, top;
	uint8_t *zp;

	for (size_t i = 0; i < sizeof(rd); i++)
		rd[i] = (uint8_t)(i ^ 0x5a);
	assert_int_equal(load(c, &initrd, ""), 0);
	zp = zero_page(c);
	addr = get_le32(zp + 0x218);
	assert_int_equal(get_le32(zp + 0x21c), sizeof(rd));
	assert_int_equal(addr % 4096, 0);
	assert_true(addr >= PREF + INIT_SIZE);
	assert_true(addr + sizeof(rd) <= VM_RAM);
	/* As high as possible: less than a page below the top. */
	assert_true(VM_RAM - (addr + sizeof(rd)) < 4096);
	assert_int_equal(get_le32(zp + 0x0c0), 0);
	assert_int_equal(get_le32(zp + 0x0c4), 0);
	assert_memory_equal(gpa(c, addr, sizeof(rd)), rd, sizeof(rd));

	/* initrd_addr_max is the highest byte the initrd may occupy. */
	top = 0x08000000;
	put_le32(c->f.data + 0x22c, top - 1);
	assert_int_equal(load(c, &initrd, ""), 0);
	addr = get_le32(zero_page(c) + 0x218);
	assert_int_equal(addr, (top - sizeof(rd)) & ~4095U);
}

static void test_load_initrd_too_big(void **state)
{
	struct load_ctx *c = *state;
	/* Room above the kernel (16 + 8 MiB) below 32 MiB: exactly 8 MiB. */
	size_t room = 8 * MIB;
	uint8_t *rd = calloc(1, room + 1);
	struct boot_image initrd = { .path = "big.cpio",
				     .data = rd,
				     .size = room };

	assert_non_null(rd);
	put_le32(c->f.data + 0x22c, 0x01ffffff);
	assert_int_equal(load(c, &initrd, ""), 0);
	assert_int_equal(get_le32(zero_page(c) + 0x218), PREF + INIT_SIZE);

	initrd.size = room + 1;
	capture_start();
	assert_int_equal(load(c, &initrd, ""), -ENOMEM);
	assert_logged("initrd big.cpio (9 MiB) does not fit below 0x2000000");
	free(rd);
}

static void test_load_kernel_too_big(void **state)
{
	struct load_ctx *c = *state;

	put_le32(c->f.data + 0x260, 0x0f000001); /* 16 MiB + 240 MiB + 1 */
	capture_start();
	assert_int_equal(load(c, NULL, ""), -ENOMEM);
	assert_logged("kernel fake: needs 257 MiB of RAM below 3 GiB");
	put_le32(c->f.data + 0x260, 0x0f000000); /* exactly fills RAM */
	assert_int_equal(load(c, NULL, ""), 0);
}

static void test_load_addr_choice(void **state)
{
	struct load_ctx *c = *state;

	/* Relocatable without a usable pref_address: 1 MiB. */
	put_le64(c->f.data + 0x258, 0);
	assert_int_equal(load(c, NULL, ""), 0);
	assert_int_equal(c->entry.rip, LAYOUT_HIMEM + 0x200);
	assert_int_equal(get_le32(zero_page(c) + 0x214), LAYOUT_HIMEM);
	put_le64(c->f.data + 0x258, PREF + 4096); /* misaligned */
	assert_int_equal(load(c, NULL, ""), 0);
	assert_int_equal(c->entry.rip, LAYOUT_HIMEM + 0x200);
	put_le64(c->f.data + 0x258, ~0ULL);
	assert_int_equal(load(c, NULL, ""), 0);
	assert_int_equal(c->entry.rip, LAYOUT_HIMEM + 0x200);

	/* Non-relocatable: pref_address or nothing. */
	c->f.data[0x234] = 0;
	put_le64(c->f.data + 0x258, 0x2000000);
	assert_int_equal(load(c, NULL, ""), 0);
	assert_int_equal(c->entry.rip, 0x2000200);
	put_le64(c->f.data + 0x258, 0x500);
	capture_start();
	assert_int_equal(load(c, NULL, ""), -ENOEXEC);
	assert_logged("not relocatable and must run at 0x500");
	put_le64(c->f.data + 0x258, ~0ULL);
	capture_start();
	assert_int_equal(load(c, NULL, ""), -ENOEXEC);
	assert_logged("not relocatable");
}

/* A relocatable kernel at 1 MiB runs from 2 MiB: init_size counts from there. */
static void test_load_relocatable_runtime_start(void **state)
{
	struct load_ctx *c = *state;

	put_le64(c->f.data + 0x258, 0);
	put_le32(c->f.data + 0x260, (uint32_t)(VM_RAM - 2 * MIB));
	assert_int_equal(load(c, NULL, ""), 0);
	put_le32(c->f.data + 0x260, (uint32_t)(VM_RAM - 2 * MIB + 1));
	capture_start();
	assert_int_equal(load(c, NULL, ""), -ENOMEM);
	capture_stop();
}

/* The header length byte decides how much of the header is copied. */
static void test_load_header_length_bounded(void **state)
{
	struct load_ctx *c = *state;
	uint8_t *zp;

	/* Claims a header to 0x301: file bytes must stay out of E820/EDD. */
	c->f.data[0x201] = 0xff;
	memset(c->f.data + 0x26c, 0xcc, 0x300 - 0x26c);
	assert_int_equal(load(c, NULL, ""), 0);
	zp = zero_page(c);
	assert_int_equal(zp[0x28f], 0xcc);
	for (int i = 0x290; i < 0x2d0; i++)
		assert_int_equal(zp[i], 0);

	/* Claims a tiny header: the fields the kernel reads still arrive. */
	c->f.data[0x201] = 0;
	assert_int_equal(load(c, NULL, ""), 0);
	assert_int_equal(get_le32(zero_page(c) + 0x260), INIT_SIZE);
}

/* Random headers with valid signatures: errors or loads, never overruns. */
static void test_load_random_headers(void **state)
{
	struct load_ctx *c = *state;
	static const uint16_t hot[] = { 0x1f1, 0x1f4, 0x206, 0x211,
					0x22c, 0x230, 0x234, 0x236,
					0x238, 0x258, 0x25c, 0x260 };
	unsigned int seed = 12345;

	capture_start(); /* thousands of errors */
	for (int iter = 0; iter < 3000; iter++) {
		fake_init(&c->f);
		for (size_t i = 0; i < sizeof(hot) / sizeof(hot[0]); i++)
			if (!(rand_r(&seed) % 4))
				put_le32(c->f.data + hot[i],
					 (uint32_t)rand_r(&seed) * 2654435761U);
		c->f.data[0x201] = (uint8_t)rand_r(&seed);
		put_le16(c->f.data + 0x206, 0x020c + (rand_r(&seed) & 3));
		c->f.data[0x211] |= 1;
		c->f.data[0x236] |= 1;
		c->f.img.size = IMAGE_SIZE - (size_t)(rand_r(&seed) % 64);
		(void)load(c, NULL, "console=ttyS0");
	}
	capture_stop();
}

/* ---- boot_read_file ---- */

static char tmpdir[64];

static int files_setup(void **state)
{
	strcpy(tmpdir, "/tmp/vmm-test-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int files_teardown(void **state)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static void test_read_file(void **state)
{
	char path[128], msg[256];
	struct boot_image img;

	snprintf(path, sizeof(path), "%s/ok", tmpdir);
	write_file(path, "hello", 5);
	assert_int_equal(boot_read_file(path, "kernel", &img), 0);
	assert_int_equal(img.size, 5);
	assert_memory_equal(img.data, "hello", 5);
	assert_string_equal(img.path, path);
	boot_free_file(&img);
	assert_null(img.data);

	snprintf(path, sizeof(path), "%s/empty", tmpdir);
	write_file(path, "", 0);
	capture_start();
	assert_int_equal(boot_read_file(path, "initrd", &img), -EINVAL);
	snprintf(msg, sizeof(msg), "initrd %s: file is empty", path);
	assert_logged(msg);

	capture_start();
	assert_int_equal(boot_read_file(tmpdir, "kernel", &img), -EISDIR);
	snprintf(msg, sizeof(msg), "kernel %s: is a directory", tmpdir);
	assert_logged(msg);

	snprintf(path, sizeof(path), "%s/missing", tmpdir);
	capture_start();
	assert_int_equal(boot_read_file(path, "initrd", &img), -ENOENT);
	snprintf(msg, sizeof(msg), "initrd %s: No such file or directory",
		 path);
	assert_logged(msg);
	assert_null(img.data);

	capture_start();
	assert_int_equal(boot_read_file("/dev/null", "kernel", &img), -EINVAL);
	assert_logged("kernel /dev/null: not a regular file");
}

/* ---- the real test kernel, when it has been built ---- */

static void test_real_image(void **state)
{
	char buf[4096];
	const char *path = test_image_find("bzImage", "VMM_TEST_BZIMAGE", buf,
					   sizeof(buf));
	struct boot_image img;
	struct bzimage_info info;
	struct boot_params bp = { .cmdline = "console=ttyS0" };
	struct boot_entry entry;
	struct vm vm;

	if (!path)
		skip();
	assert_int_equal(boot_read_file(path, "kernel", &img), 0);
	assert_int_equal(bzimage_parse(&img, &info), 0);
	assert_true(info.version >= 0x020c);
	assert_true(info.xloadflags & 1);
	assert_true(info.init_size >= info.kernel_size);
	assert_int_equal(info.setup_size + info.kernel_size, img.size);

	assert_int_equal(vm_init(&vm, VM_RAM), 0);
	assert_int_equal(bzimage_load(&vm, &img, NULL, &bp, &entry), 0);
	assert_int_equal(entry.rip, info.pref_address + 0x200);
	assert_memory_equal(vm_gpa_to_hva(&vm, info.pref_address, 4096),
			    img.data + info.setup_size, 4096);
	vm_destroy(&vm);
	boot_free_file(&img);
}

#define LOAD_TEST(fn) \
	cmocka_unit_test_setup_teardown(fn, load_setup, load_teardown)

int main(void)
{
	const struct CMUnitTest parse_tests[] = {
		cmocka_unit_test(test_parse_valid),
		cmocka_unit_test(test_parse_setup_sects_zero_means_four),
		cmocka_unit_test(test_parse_truncated_header),
		cmocka_unit_test(test_parse_truncated_setup),
		cmocka_unit_test(test_parse_syssize),
		cmocka_unit_test(test_parse_bad_magic),
		cmocka_unit_test(test_parse_too_old),
		cmocka_unit_test(test_parse_not_64bit),
		cmocka_unit_test(test_parse_bad_layout),
		cmocka_unit_test(test_parse_every_truncation),
		cmocka_unit_test(test_real_image),
	};
	const struct CMUnitTest load_tests[] = {
		LOAD_TEST(test_load_zero_page),
		LOAD_TEST(test_load_e820),
		LOAD_TEST(test_load_entry_and_tables),
		LOAD_TEST(test_load_null_cmdline),
		LOAD_TEST(test_load_cmdline_limit),
		LOAD_TEST(test_load_cmdline_layout_limit),
		LOAD_TEST(test_load_failure_writes_nothing),
		LOAD_TEST(test_load_initrd),
		LOAD_TEST(test_load_initrd_too_big),
		LOAD_TEST(test_load_kernel_too_big),
		LOAD_TEST(test_load_addr_choice),
		LOAD_TEST(test_load_relocatable_runtime_start),
		LOAD_TEST(test_load_header_length_bounded),
		LOAD_TEST(test_load_random_headers),
	};
	const struct CMUnitTest file_tests[] = {
		cmocka_unit_test(test_read_file),
	};
	int fails = 0;

	fails += cmocka_run_group_tests_name("bzimage_parse", parse_tests, NULL,
					     NULL);
	fails += cmocka_run_group_tests_name("bzimage_load", load_tests, NULL,
					     NULL);
	fails += cmocka_run_group_tests_name("boot_read_file", file_tests,
					     files_setup, files_teardown);
	return fails ? 1 : 0;
}
