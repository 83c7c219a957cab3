// SPDX-License-Identifier: MIT
/*
 * gzip input, format detection by content and raw images: inflation of
 * good, corrupt, truncated and oversized streams; kernel_prepare() on files
 * written here; raw_load() placement rules.
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
#include <zlib.h>

#include "boot/gzip.h"
#include "boot/kernel.h"
#include "boot/raw.h"
#include "tests/unit/fake_capture.h"
#include "tests/unit/fake_elf.h"
#include "vmm/layout_x86_64.h"
#include "vmm/le.h"
#include "vmm/log.h"
#include "vmm/vm.h"

#define MIB (1ULL << 20)
#define PLAIN_SIZE 100000

static uint8_t plain[PLAIN_SIZE];

/* gzip @len bytes of @in into @out (zlib, gzip wrapper); returns size. */
static size_t gz(const uint8_t *in, size_t len, uint8_t *out, size_t cap)
{
	z_stream zs = { 0 };
	size_t n;

	assert_int_equal(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8,
				      Z_DEFAULT_STRATEGY),
			 Z_OK);
	zs.next_in = (uint8_t *)in;
	zs.avail_in = (uInt)len;
	zs.next_out = out;
	zs.avail_out = (uInt)cap;
	assert_int_equal(deflate(&zs, Z_FINISH), Z_STREAM_END);
	n = zs.total_out;
	deflateEnd(&zs);
	return n;
}

static int setup_plain(void **state)
{
	/* Compressible but not trivial. */
	for (size_t i = 0; i < PLAIN_SIZE; i++)
		plain[i] = (uint8_t)((i * 7) ^ (i >> 5));
	return 0;
}

struct gzbuf {
	uint8_t data[2 * PLAIN_SIZE + 64];
	struct boot_image img;
};

static struct gzbuf *gz_plain(void)
{
	struct gzbuf *g = calloc(1, sizeof(*g));

	assert_non_null(g);
	g->img = (struct boot_image){ "k.gz", g->data, 0 };
	g->img.size = gz(plain, PLAIN_SIZE, g->data, sizeof(g->data));
	return g;
}

static void test_gzip_good(void **state)
{
	struct gzbuf *g = gz_plain();
	struct boot_image out;

	assert_true(gzip_detect(&g->img));
	assert_int_equal(gzip_inflate(&g->img, "kernel", 1 << 30, &out), 0);
	assert_int_equal(out.size, PLAIN_SIZE);
	assert_memory_equal(out.data, plain, PLAIN_SIZE);
	assert_string_equal(out.path, "k.gz");
	boot_free_file(&out);
	free(g);
}

static void test_gzip_two_members_and_padding(void **state)
{
	struct gzbuf *g = gz_plain();
	size_t n = g->img.size;
	struct boot_image out;

	/* A second member of the first 1000 bytes, then zero padding. */
	g->img.size += gz(plain, 1000, g->data + n, sizeof(g->data) - n);
	g->img.size += 20;
	assert_int_equal(gzip_inflate(&g->img, "kernel", 1 << 30, &out), 0);
	assert_int_equal(out.size, PLAIN_SIZE + 1000);
	assert_memory_equal(out.data + PLAIN_SIZE, plain, 1000);
	boot_free_file(&out);
	free(g);
}

static void gzip_fails(struct gzbuf *g, size_t max, int err, const char *why)
{
	struct boot_image out = { 0 };

	capture_start();
	assert_int_equal(gzip_inflate(&g->img, "initrd", max, &out), err);
	assert_logged(why);
	assert_null(out.data);
	free(g);
}

static void test_gzip_corrupt(void **state)
{
	struct gzbuf *g = gz_plain();

	/* Damage the deflate stream: either a bad block or a bad CRC. */
	for (size_t i = 100; i < 140; i++)
		g->data[i] ^= 0x5a;
	gzip_fails(g, 1 << 30, -EINVAL, "initrd k.gz: corrupt gzip data");
}

static void test_gzip_bad_crc(void **state)
{
	struct gzbuf *g = gz_plain();

	g->data[g->img.size - 8] ^= 1;
	gzip_fails(g, 1 << 30, -EINVAL, "corrupt gzip data");
}

static void test_gzip_truncated(void **state)
{
	struct gzbuf *g = gz_plain();

	g->img.size -= 20;
	gzip_fails(g, 1 << 30, -EINVAL, "truncated gzip data");
}

static void test_gzip_short_header(void **state)
{
	struct gzbuf *g = gz_plain();

	g->img.size = 10;
	gzip_fails(g, 1 << 30, -EINVAL, "truncated gzip header");
}

static void test_gzip_too_big(void **state)
{
	gzip_fails(gz_plain(), 4096, -EFBIG, "more than the guest can hold");
}

static void test_gzip_trailing_garbage(void **state)
{
	struct gzbuf *g = gz_plain();

	g->data[g->img.size] = 'x';
	g->img.size += 1;
	gzip_fails(g, 1 << 30, -EINVAL, "garbage after the gzip data");
}

/* ---- kernel_prepare: detection by content on real files ---- */

static char dir[] = "/tmp/vmm-test-kernel-XXXXXX";

static const char *write_file(const char *name, const void *data, size_t len)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
	return path;
}

/* A minimal x86_64 ELF with one segment at 16 MiB and maybe a PVH note. */
static size_t tiny_elf(uint8_t *buf, bool pvh)
{
	static const struct seg_spec seg = { 0x1000000, 0, 0x1000, 0x100 };

	fake_elf_build(buf, &seg, 1, 0x1000000, pvh ? 4 : 0, 0x1000010);
	return FAKE_ELF_SIZE;
}

static int prepare(struct kernel_files *f, const char *kpath, const char *ipath,
		   enum kernel_format forced, bool raw_ok)
{
	return kernel_prepare(f, kpath, ipath, forced, raw_ok);
}

static void test_detect_gzip_pvh(void **state)
{
	uint8_t elf[FAKE_ELF_SIZE], z[FAKE_ELF_SIZE];
	struct kernel_files f;
	const char *kpath, *ipath;
	size_t zn = gz(elf, tiny_elf(elf, true), z, sizeof(z));
	char kcopy[256];

	kpath = write_file("vmlinux.gz", z, zn);
	snprintf(kcopy, sizeof(kcopy), "%s", kpath);
	ipath = write_file("initrd.gz", z, zn);
	assert_int_equal(prepare(&f, kcopy, ipath, KERNEL_AUTO, false), 0);
	assert_int_equal(f.format, KERNEL_PVH);
	assert_true(f.kernel_gzip);
	assert_true(f.initrd_gzip);
	assert_int_equal(f.kernel.size, FAKE_ELF_SIZE);
	assert_memory_equal(f.initrd.data, elf, FAKE_ELF_SIZE);
	kernel_release(&f);
}

static void test_detect_elf_and_forced(void **state)
{
	uint8_t elf[FAKE_ELF_SIZE];
	struct kernel_files f;
	const char *kpath = write_file("vmlinux", elf, tiny_elf(elf, false));
	char kcopy[256];

	snprintf(kcopy, sizeof(kcopy), "%s", kpath);
	assert_int_equal(prepare(&f, kcopy, NULL, KERNEL_AUTO, false), 0);
	assert_int_equal(f.format, KERNEL_ELF);
	assert_false(f.kernel_gzip);
	kernel_release(&f);

	capture_start();
	assert_int_equal(prepare(&f, kcopy, NULL, KERNEL_PVH, false), -ENOEXEC);
	assert_logged("no PVH entry note");
	kernel_release(&f);

	assert_int_equal(prepare(&f, kcopy, NULL, KERNEL_RAW, false), 0);
	assert_int_equal(f.format, KERNEL_RAW);
	kernel_release(&f);
}

static void test_detect_unknown_and_raw(void **state)
{
	static const uint8_t code[] = { 0xf4, 0xeb, 0xfd, 0x90 };
	struct kernel_files f;
	const char *kpath = write_file("blob.bin", code, sizeof(code));
	char kcopy[256];

	snprintf(kcopy, sizeof(kcopy), "%s", kpath);
	capture_start();
	assert_int_equal(prepare(&f, kcopy, NULL, KERNEL_AUTO, false),
			 -ENOEXEC);
	assert_logged("unknown format");
	kernel_release(&f);
	/* --load-addr or --entry given: raw is what the user means. */
	assert_int_equal(prepare(&f, kcopy, NULL, KERNEL_AUTO, true), 0);
	assert_int_equal(f.format, KERNEL_RAW);
	kernel_release(&f);
	/* A raw image cannot take an initrd: say so instead of dropping it. */
	capture_start();
	assert_int_equal(prepare(&f, kcopy, kcopy, KERNEL_RAW, false), -EINVAL);
	assert_logged("no way to receive an initrd");
	kernel_release(&f);
}

static void test_detect_bad_gzip_kernel(void **state)
{
	static const uint8_t junk[] = { 0x1f, 0x8b, 0x08, 0, 0, 0, 0, 0, 0, 3,
					1,    2,    3,	  4, 5, 6, 7, 8, 9, 10 };
	struct kernel_files f;
	char kcopy[256];

	snprintf(kcopy, sizeof(kcopy), "%s",
		 write_file("bad.gz", junk, sizeof(junk)));
	capture_start();
	assert_int_not_equal(prepare(&f, kcopy, NULL, KERNEL_AUTO, false), 0);
	assert_logged("bad.gz: ");
	kernel_release(&f);
}

static void test_format_names(void **state)
{
	enum kernel_format f;

	assert_int_equal(kernel_format_parse("pvh", &f), 0);
	assert_int_equal(f, KERNEL_PVH);
	assert_string_equal(kernel_format_name(KERNEL_BZIMAGE), "bzimage");
	assert_int_equal(kernel_format_parse("vmlinux", &f), -EINVAL);
}

/* ---- raw images ---- */

static void test_raw_load(void **state)
{
	static uint8_t code[] = { 0x90, 0x90, 0xf4 };
	struct boot_image img = { "raw", code, sizeof(code) };
	struct boot_params bp = { 0 };
	struct boot_entry e;
	struct vm vm;

	assert_int_equal(vm_init(&vm, 32 * MIB), 0);
	assert_int_equal(raw_load(&vm, &img, &bp, &e), 0);
	assert_int_equal(e.rip, RAW_DEFAULT_LOAD);
	assert_int_equal(e.mode, BOOT_MODE_LONG);
	assert_int_equal(e.cr3, LAYOUT_PML4);
	assert_memory_equal(vm_gpa_to_hva(&vm, RAW_DEFAULT_LOAD, 3), code, 3);

	bp = (struct boot_params){ .load_addr = 0x200000, .entry = 0x200002 };
	assert_int_equal(raw_load(&vm, &img, &bp, &e), 0);
	assert_int_equal(e.rip, 0x200002);

	bp = (struct boot_params){ .load_addr = 0x200000, .entry = 0x200003 };
	capture_start();
	assert_int_equal(raw_load(&vm, &img, &bp, &e), -EINVAL);
	assert_logged("is not inside the image");

	bp = (struct boot_params){ .load_addr = 0x7c00 };
	capture_start();
	assert_int_equal(raw_load(&vm, &img, &bp, &e), -ENOMEM);
	assert_logged("not guest RAM above 1 MiB");

	bp = (struct boot_params){ .load_addr = 32 * MIB - 1 };
	capture_start();
	assert_int_equal(raw_load(&vm, &img, &bp, &e), -ENOMEM);
	assert_logged("not guest RAM");
	vm_destroy(&vm);
}

static int setup_dir(void **state)
{
	setup_plain(state);
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
	char cmd[300];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_gzip_good),
		cmocka_unit_test(test_gzip_two_members_and_padding),
		cmocka_unit_test(test_gzip_corrupt),
		cmocka_unit_test(test_gzip_bad_crc),
		cmocka_unit_test(test_gzip_truncated),
		cmocka_unit_test(test_gzip_short_header),
		cmocka_unit_test(test_gzip_too_big),
		cmocka_unit_test(test_gzip_trailing_garbage),
		cmocka_unit_test(test_detect_gzip_pvh),
		cmocka_unit_test(test_detect_elf_and_forced),
		cmocka_unit_test(test_detect_unknown_and_raw),
		cmocka_unit_test(test_detect_bad_gzip_kernel),
		cmocka_unit_test(test_format_names),
		cmocka_unit_test(test_raw_load),
	};

	log_set_level(LOG_ERR);
	return cmocka_run_group_tests_name("kernel", tests, setup_dir,
					   teardown_dir);
}
