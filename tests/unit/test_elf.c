// SPDX-License-Identifier: MIT
/*
 * ELF kernels: parsing (PVH note, class, segments, truncation), PVH and
 * 64-bit protocol loading into a real struct vm, on ELF files built here;
 * and the real test vmlinux when it is present.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "boot/elf.h"
#include "boot/pvh.h"
#include "tests/unit/fake_capture.h"
#include "tests/unit/fake_elf.h"
#include "tests/unit/fake_images.h"
#include "vmm/layout_x86_64.h"
#include "vmm/le.h"
#include "vmm/log.h"
#include "vmm/vm.h"

#define MIB (1ULL << 20)
#define VM_RAM (64 * MIB)

struct fake_elf {
	uint8_t data[FAKE_ELF_SIZE];
	struct boot_image img;
};

static void build(struct fake_elf *f, const struct seg_spec *segs,
		  unsigned int n, uint64_t entry, int pvh_descsz,
		  uint64_t pvh_entry)
{
	fake_elf_build(f->data, segs, n, entry, pvh_descsz, pvh_entry);
	f->img = (struct boot_image){ "test.elf", f->data, sizeof(f->data) };
}

static const struct seg_spec two_segs[] = {
	/* Out of order on purpose: the parser sorts. */
	{ 0x1200000, 0xffffffff81200000ULL, 0x3000, 0x800 },
	{ 0x1000000, 0xffffffff81000000ULL, 0x1000, 0x1000 },
};

static struct fake_elf *pvh_elf(void)
{
	struct fake_elf *f = malloc(sizeof(*f));

	assert_non_null(f);
	build(f, two_segs, 2, 0x1000000, 8, 0x1000040);
	return f;
}

static int parse_fails(struct fake_elf *f, const char *why)
{
	struct elf_kernel k;
	int ret;

	capture_start();
	ret = elf_parse(&f->img, &k);
	assert_logged(why);
	free(f);
	return ret;
}

static void test_parse_pvh(void **state)
{
	struct fake_elf *f = pvh_elf();
	struct elf_kernel k;

	assert_int_equal(elf_parse(&f->img, &k), 0);
	assert_true(k.has_pvh);
	assert_int_equal(k.pvh_entry, 0x1000040);
	assert_int_equal(k.entry, 0x1000000);
	assert_int_equal(k.nr_segments, 2);
	assert_int_equal(k.seg[0].paddr, 0x1000000);
	assert_int_equal(k.seg[1].paddr, 0x1200000);
	assert_int_equal(k.start, 0x1000000);
	assert_int_equal(k.end, 0x1203000);
	free(f);
}

static void test_parse_pvh_4byte_note(void **state)
{
	struct fake_elf *f = pvh_elf();
	struct elf_kernel k;

	build(f, two_segs, 2, 0x1000000, 4, 0x1000080);
	assert_int_equal(elf_parse(&f->img, &k), 0);
	assert_true(k.has_pvh);
	assert_int_equal(k.pvh_entry, 0x1000080);
	free(f);
}

static void test_parse_no_note(void **state)
{
	struct fake_elf *f = pvh_elf();
	struct elf_kernel k;

	build(f, two_segs, 2, 0x1000000, 0, 0);
	assert_int_equal(elf_parse(&f->img, &k), 0);
	assert_false(k.has_pvh);
	free(f);
}

static void test_parse_virtual_entry(void **state)
{
	struct fake_elf *f = pvh_elf();
	struct elf_kernel k;

	build(f, two_segs, 2, 0xffffffff81000100ULL, 0, 0);
	assert_int_equal(elf_parse(&f->img, &k), 0);
	assert_int_equal(k.entry, 0x1000100);
	free(f);
}

static void test_reject_32bit(void **state)
{
	struct fake_elf *f = pvh_elf();

	f->data[EI_CLASS] = ELFCLASS32;
	assert_int_equal(parse_fails(f, "32-bit ELF"), -ENOEXEC);
}

static void test_reject_machine(void **state)
{
	struct fake_elf *f = pvh_elf();

	((Elf64_Ehdr *)f->data)->e_machine = EM_AARCH64;
	assert_int_equal(parse_fails(f, "is not x86_64"), -ENOEXEC);
}

static void test_reject_overlap(void **state)
{
	static const struct seg_spec segs[] = {
		{ 0x1000000, 0, 0x2000, 0x100 },
		{ 0x1001000, 0, 0x1000, 0x100 },
	};
	struct fake_elf *f = pvh_elf();

	build(f, segs, 2, 0x1000000, 0, 0);
	assert_int_equal(parse_fails(f, "overlap"), -ENOEXEC);
}

static void test_reject_entry_outside(void **state)
{
	struct fake_elf *f = pvh_elf();

	build(f, two_segs, 2, 0x5000000, 0, 0);
	assert_int_equal(parse_fails(f, "entry point 0x5000000 is outside"),
			 -ENOEXEC);
}

static void test_reject_pvh_entry_outside(void **state)
{
	struct fake_elf *f = pvh_elf();

	build(f, two_segs, 2, 0x1000000, 8, 0x4000);
	assert_int_equal(parse_fails(f, "PVH entry point 0x4000 is outside"),
			 -ENOEXEC);
}

static void test_reject_pvh_note_64bit(void **state)
{
	struct fake_elf *f = pvh_elf();

	build(f, two_segs, 2, 0x1000000, 8, 0x100000000ULL);
	assert_int_equal(parse_fails(f, "32-bit address"), -ENOEXEC);
}

static void test_reject_filesz(void **state)
{
	static const struct seg_spec segs[] = { { 0x1000000, 0, 0x10, 0x100 } };
	struct fake_elf *f = pvh_elf();

	build(f, segs, 1, 0x1000000, 0, 0);
	assert_int_equal(parse_fails(f, "file size exceeds"), -ENOEXEC);
}

static void test_truncated(void **state)
{
	/* Cut in the second segment, in the phdrs, in the ELF header. */
	static const size_t cuts[] = { FAKE_ELF_DATA + FAKE_ELF_SEG + 0x10, 100,
				       40 };

	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		struct fake_elf *f = pvh_elf();

		f->img.size = cuts[i];
		assert_int_equal(parse_fails(f, "truncated"), -ENOEXEC);
	}
}

static void test_not_elf(void **state)
{
	struct fake_elf *f = pvh_elf();

	f->data[1] = 'X';
	assert_int_equal(parse_fails(f, "not an ELF file"), -ENOEXEC);
}

/* ---- loading into a VM ---- */

struct ctx {
	struct vm vm;
	struct fake_elf *f;
	struct elf_kernel k;
	struct boot_entry entry;
};

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));

	if (!c || vm_init(&c->vm, VM_RAM))
		return -1;
	/* Poison RAM so that zeroing (bss) is visible. */
	memset(c->vm.ram, 0xaa, 32 * MIB);
	c->f = pvh_elf();
	if (elf_parse(&c->f->img, &c->k))
		return -1;
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	vm_destroy(&c->vm);
	free(c->f);
	free(c);
	return 0;
}

static uint8_t *gpa(struct ctx *c, uint64_t addr, uint64_t len)
{
	uint8_t *p = vm_gpa_to_hva(&c->vm, addr, len);

	assert_non_null(p);
	return p;
}

static void test_load_segments(void **state)
{
	struct ctx *c = *state;
	uint8_t *s1;

	assert_int_equal(elf_load_segments(&c->vm, &c->f->img, &c->k), 0);
	assert_int_equal(gpa(c, 0x1000000, 1)[0], 0x22);
	assert_int_equal(gpa(c, 0x1000fff, 1)[0], 0x22);
	s1 = gpa(c, 0x1200000, 0x3000);
	assert_int_equal(s1[0x7ff], 0x11);
	/* memsz beyond filesz is bss: zeroed, and nothing past it. */
	for (size_t i = 0x800; i < 0x3000; i++)
		assert_int_equal(s1[i], 0);
	assert_int_equal(s1[0x3000], 0xaa);
}

static void test_load_outside_ram(void **state)
{
	static const struct seg_spec segs[] = {
		{ VM_RAM - 0x800, 0, 0x1000, 0x100 },
	};
	struct ctx *c = *state;

	build(c->f, segs, 1, VM_RAM - 0x800, 0, 0);
	assert_int_equal(elf_parse(&c->f->img, &c->k), 0);
	capture_start();
	assert_int_equal(elf_load_segments(&c->vm, &c->f->img, &c->k), -ENOMEM);
	assert_logged("is not guest RAM above 1 MiB");
}

static void test_load_below_1m(void **state)
{
	static const struct seg_spec segs[] = { { 0x8000, 0, 0x1000, 0x100 } };
	struct ctx *c = *state;

	build(c->f, segs, 1, 0x8000, 0, 0);
	assert_int_equal(elf_parse(&c->f->img, &c->k), 0);
	capture_start();
	assert_int_equal(elf_load_segments(&c->vm, &c->f->img, &c->k), -ENOMEM);
	assert_logged("segment at 0x8000-0x9000");
}

static void test_pvh_load(void **state)
{
	struct ctx *c = *state;
	uint8_t initrd_data[5000];
	struct boot_image initrd = { "initrd", initrd_data,
				     sizeof(initrd_data) };
	struct boot_params bp = { .cmdline = "console=ttyS0", .rsdp = 0xe0000 };
	struct e820_entry map[8];
	uint8_t *info, *mod, *mm;
	int n;

	memset(initrd_data, 0x5a, sizeof(initrd_data));
	assert_int_equal(pvh_load(&c->vm, &c->f->img, &c->k, &initrd, &bp,
				  &c->entry),
			 0);
	assert_int_equal(c->entry.mode, BOOT_MODE_PROT32);
	assert_int_equal(c->entry.rip, 0x1000040);
	info = gpa(c, c->entry.rbx, PVH_START_INFO_SIZE);
	assert_int_equal(get_le32(info), 0x336ec578);
	assert_int_equal(get_le32(info + 4), 1);
	assert_string_equal((char *)gpa(c, get_le64(info + 24), 14),
			    "console=ttyS0");
	assert_int_equal(get_le64(info + 32), 0xe0000);
	/* The initrd is module 0, page-aligned, above the kernel. */
	assert_int_equal(get_le32(info + 12), 1);
	mod = gpa(c, get_le64(info + 16), 32);
	assert_int_equal(get_le64(mod + 8), sizeof(initrd_data));
	assert_int_equal(get_le64(mod) % 4096, 0);
	assert_true(get_le64(mod) >= c->k.end);
	assert_memory_equal(gpa(c, get_le64(mod), sizeof(initrd_data)),
			    initrd_data, sizeof(initrd_data));
	/* The memory map is the VM's E820. */
	n = vm_e820(&c->vm, map, 8);
	assert_int_equal(get_le32(info + 48), n);
	mm = gpa(c, get_le64(info + 40), 24 * (uint64_t)n);
	for (int i = 0; i < n; i++) {
		assert_int_equal(get_le64(mm + 24 * i), map[i].addr);
		assert_int_equal(get_le64(mm + 24 * i + 8), map[i].size);
		assert_int_equal(get_le32(mm + 24 * i + 16), map[i].type);
	}
	/* A flat GDT with a 32-bit code segment at the selector we use. */
	assert_int_equal(
		get_le64(gpa(c, c->entry.gdt_base + BOOT_GDT_CODE32, 8)),
		0x00cf9b000000ffffULL);
}

/* RAM above the 32-bit hole is in the PVH memory map too. */
static void test_pvh_memmap_above_4g(void **state)
{
	struct fake_elf *f = pvh_elf();
	struct boot_params bp = { .cmdline = "" };
	struct boot_entry entry;
	struct elf_kernel k;
	struct vm vm;
	uint8_t *info, *mm;
	uint32_t n;
	bool high = false;

	assert_int_equal(vm_init(&vm, 5ULL << 30), 0);
	assert_int_equal(elf_parse(&f->img, &k), 0);
	assert_int_equal(pvh_load(&vm, &f->img, &k, NULL, &bp, &entry), 0);
	info = vm_gpa_to_hva(&vm, entry.rbx, PVH_START_INFO_SIZE);
	n = get_le32(info + 48);
	mm = vm_gpa_to_hva(&vm, get_le64(info + 40), 24 * (uint64_t)n);
	for (uint32_t i = 0; i < n; i++)
		if (get_le64(mm + 24 * i) == 1ULL << 32 &&
		    get_le64(mm + 24 * i + 8) == 2ULL << 30 &&
		    get_le32(mm + 24 * i + 16) == E820_RAM)
			high = true;
	assert_true(high);
	vm_destroy(&vm);
	free(f);
}

static void test_pvh_cmdline_limit(void **state)
{
	struct ctx *c = *state;
	char cmdline[PVH_CMDLINE_MAX + 2];
	struct boot_params bp = { .cmdline = cmdline };

	memset(cmdline, 'x', sizeof(cmdline) - 1);
	cmdline[PVH_CMDLINE_MAX] = '\0';
	assert_int_equal(
		pvh_load(&c->vm, &c->f->img, &c->k, NULL, &bp, &c->entry), 0);
	cmdline[PVH_CMDLINE_MAX] = 'x';
	cmdline[PVH_CMDLINE_MAX + 1] = '\0';
	capture_start();
	assert_int_equal(pvh_load(&c->vm, &c->f->img, &c->k, NULL, &bp,
				  &c->entry),
			 -E2BIG);
	assert_logged("accepts at most 2047");
}

static void test_linux64_load(void **state)
{
	struct ctx *c = *state;
	struct boot_params bp = { .cmdline = "root=/dev/vda", .rsdp = 0xe0000 };
	uint8_t *zp;

	assert_int_equal(elf_load_linux64(&c->vm, &c->f->img, &c->k, NULL, &bp,
					  &c->entry),
			 0);
	assert_int_equal(c->entry.mode, BOOT_MODE_LONG);
	assert_int_equal(c->entry.rip, 0x1000000);
	assert_int_equal(c->entry.rsi, LAYOUT_ZERO_PAGE);
	zp = gpa(c, LAYOUT_ZERO_PAGE, 4096);
	assert_int_equal(get_le16(zp + 0x1fe), 0xaa55);
	assert_memory_equal(zp + 0x202, "HdrS", 4);
	assert_true(get_le16(zp + 0x206) >= 0x020c);
	assert_int_equal(zp[0x210], 0xff);
	assert_int_equal(get_le32(zp + 0x228), LAYOUT_CMDLINE);
	assert_string_equal((char *)gpa(c, LAYOUT_CMDLINE, 14),
			    "root=/dev/vda");
	assert_int_equal(get_le64(zp + 0x070), 0xe0000);
	assert_true(zp[0x1e8] >= 3); /* e820 entries */
	assert_int_equal(get_le32(zp + 0x218), 0); /* no initrd */
}

/* ---- the real test kernel, when present ---- */

static void test_real_vmlinux(void **state)
{
	char buf[4096];
	const char *path = test_image_find("vmlinux", NULL, buf, sizeof(buf));
	struct boot_image img;
	struct elf_kernel k;

	if (!path)
		skip();
	assert_int_equal(boot_read_file(path, "kernel", &img), 0);
	assert_int_equal(elf_parse(&img, &k), 0);
	assert_true(k.has_pvh);
	assert_int_equal(k.entry, 0x1000000);
	assert_true(k.pvh_entry > k.start && k.pvh_entry < k.end);
	boot_free_file(&img);
}

#define LOAD_TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_pvh),
		cmocka_unit_test(test_parse_pvh_4byte_note),
		cmocka_unit_test(test_parse_no_note),
		cmocka_unit_test(test_parse_virtual_entry),
		cmocka_unit_test(test_reject_32bit),
		cmocka_unit_test(test_reject_machine),
		cmocka_unit_test(test_reject_overlap),
		cmocka_unit_test(test_reject_entry_outside),
		cmocka_unit_test(test_reject_pvh_entry_outside),
		cmocka_unit_test(test_reject_pvh_note_64bit),
		cmocka_unit_test(test_reject_filesz),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_not_elf),
		LOAD_TEST(test_load_segments),
		LOAD_TEST(test_load_outside_ram),
		LOAD_TEST(test_load_below_1m),
		LOAD_TEST(test_pvh_load),
		LOAD_TEST(test_pvh_cmdline_limit),
		cmocka_unit_test(test_pvh_memmap_above_4g),
		LOAD_TEST(test_linux64_load),
		cmocka_unit_test(test_real_vmlinux),
	};

	log_set_level(LOG_ERR);
	return cmocka_run_group_tests_name("elf", tests, NULL, NULL);
}
