// SPDX-License-Identifier: MIT
/* gdb register file: 'g' layout, round trips, and the target description. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gdb/regs.h"

static uint64_t le(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void fill(struct gdb_cpu_state *st, uint8_t seed)
{
	uint8_t *p = (uint8_t *)st;

	for (size_t i = 0; i < sizeof(*st); i++)
		p[i] = (uint8_t)(seed + i * 7);
}

static void test_offsets(void **state)
{
	static const struct {
		const char *name;
		int off, size;
	} want[] = {
		{ "rax", 0, 8 },       { "rbx", 8, 8 },
		{ "rsp", 56, 8 },      { "r8", 64, 8 },
		{ "r15", 120, 8 },     { "rip", 128, 8 },
		{ "eflags", 136, 4 },  { "cs", 140, 4 },
		{ "ss", 144, 4 },      { "gs", 160, 4 },
		{ "st0", 164, 10 },    { "st7", 234, 10 },
		{ "fctrl", 244, 4 },   { "fop", 272, 4 },
		{ "xmm0", 276, 16 },   { "xmm15", 516, 16 },
		{ "mxcsr", 532, 4 },   { "fs_base", 536, 8 },
		{ "gs_base", 544, 8 }, { "k_gs_base", 552, 8 },
		{ "cr0", 560, 8 },     { "cr3", 576, 8 },
		{ "efer", 600, 8 },
	};
	int total = 0;

	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		int r = gdb_reg_lookup(want[i].name);

		assert_true(r >= 0);
		assert_int_equal(gdb_reg_offset((unsigned int)r), want[i].off);
		assert_int_equal(gdb_reg_size((unsigned int)r), want[i].size);
	}
	assert_int_equal(gdb_reg_lookup("rip"), 16);
	assert_int_equal(gdb_reg_lookup("efer"), GDB_NR_REGS - 1);
	assert_int_equal(gdb_reg_lookup("nope"), -EINVAL);
	for (unsigned int i = 0; i < GDB_NR_REGS; i++)
		total += gdb_reg_size(i);
	assert_int_equal(total, GDB_G_SIZE);
	assert_int_equal(gdb_reg_size(GDB_NR_REGS), -EINVAL);
	assert_int_equal(gdb_reg_offset(GDB_NR_REGS), -EINVAL);
}

static void test_pack_values(void **state)
{
	struct gdb_cpu_state st;
	uint8_t g[GDB_G_SIZE];

	memset(&st, 0, sizeof(st));
	st.regs.rax = 0x1122334455667788ull;
	st.regs.r15 = 0xf15;
	st.regs.rip = 0xffffffff81000000ull;
	st.regs.rflags = 0xdead000000000246ull; /* upper half: not for gdb */
	st.sregs.cs.selector = 0x10;
	st.sregs.cs.base = 0x1234; /* hidden part: not in the packet */
	st.sregs.gs.selector = 0xffff;
	st.sregs.fs.base = 0x7f0000001000ull;
	st.sregs.gs.base = 0xffff888000000000ull;
	st.sregs.kernel_gs_base = 0x42;
	st.sregs.cr3 = 0x1a0a000;
	st.sregs.efer = 0xd01;
	st.fpu.fcw = 0x37f;
	st.fpu.fip = 0x0000123400005678ull;
	for (int i = 0; i < 16; i++)
		st.fpu.st[7][i] = (uint8_t)(0xa0 + i);
	st.fpu.xmm[15][15] = 0x99;
	st.fpu.mxcsr = 0x1f80;
	gdb_regs_pack(&st, g);

	assert_true(le(g + 0, 8) == 0x1122334455667788ull);
	assert_true(le(g + 120, 8) == 0xf15);
	assert_true(le(g + 128, 8) == 0xffffffff81000000ull);
	assert_true(le(g + 136, 4) == 0x246);
	assert_true(le(g + 140, 4) == 0x10);
	assert_true(le(g + 160, 4) == 0xffff);
	/* st7: ten bytes, not the padding after them. */
	assert_int_equal(g[234], 0xa0);
	assert_int_equal(g[243], 0xa9);
	assert_true(le(g + 244, 4) == 0x37f);
	assert_true(le(g + 256, 4) == 0x1234); /* fiseg */
	assert_true(le(g + 260, 4) == 0x5678); /* fioff */
	assert_int_equal(g[531], 0x99);
	assert_true(le(g + 532, 4) == 0x1f80);
	assert_true(le(g + 536, 8) == 0x7f0000001000ull);
	assert_true(le(g + 544, 8) == 0xffff888000000000ull);
	assert_true(le(g + 552, 8) == 0x42);
	assert_true(le(g + 576, 8) == 0x1a0a000);
	assert_true(le(g + 600, 8) == 0xd01);
}

static void test_round_trip(void **state)
{
	struct gdb_cpu_state a, b;
	uint8_t g1[GDB_G_SIZE], g2[GDB_G_SIZE];

	fill(&a, 1);
	gdb_regs_pack(&a, g1);
	/* Unpack into different state: everything gdb sees comes across... */
	fill(&b, 99);
	assert_int_equal(gdb_regs_unpack(&b, g1, sizeof(g1)), 0);
	gdb_regs_pack(&b, g2);
	assert_memory_equal(g1, g2, GDB_G_SIZE);
	assert_memory_equal(&a.regs.rax, &b.regs.rax, 8 * 17);
	assert_int_equal(a.sregs.cr3, b.sregs.cr3);
	assert_memory_equal(a.fpu.xmm, b.fpu.xmm, sizeof(a.fpu.xmm));
	/* ...and what it does not see stays: hidden segment parts, upper
	 * rflags, the 6 bytes after each 80-bit st register. */
	fill(&a, 99);
	assert_true(b.sregs.cs.base == a.sregs.cs.base);
	assert_true(b.sregs.tr.limit == a.sregs.tr.limit);
	assert_true((b.regs.rflags >> 32) == (a.regs.rflags >> 32));
	assert_memory_equal(&b.fpu.st[3][10], &a.fpu.st[3][10], 6);

	assert_int_equal(gdb_regs_unpack(&b, g1, GDB_G_SIZE - 1), -EINVAL);
}

static void test_single_register(void **state)
{
	struct gdb_cpu_state st;
	uint8_t v[16] = { 0x78, 0x56, 0x34, 0x12, 0, 0, 0, 0 };
	int rip = gdb_reg_lookup("rip"), cs = gdb_reg_lookup("cs");

	memset(&st, 0, sizeof(st));
	assert_int_equal(gdb_reg_write(&st, (unsigned int)rip, v, 8), 0);
	assert_true(st.regs.rip == 0x12345678);
	assert_int_equal(gdb_reg_write(&st, (unsigned int)rip, v, 4), -EINVAL);
	assert_int_equal(gdb_reg_write(&st, GDB_NR_REGS, v, 8), -EINVAL);
	/* A selector takes the low 16 bits of gdb's 32. */
	st.sregs.cs.base = 77;
	assert_int_equal(gdb_reg_write(&st, (unsigned int)cs, v, 4), 0);
	assert_int_equal(st.sregs.cs.selector, 0x5678);
	assert_true(st.sregs.cs.base == 77);
	memset(v, 0xee, sizeof(v));
	assert_int_equal(gdb_reg_read(&st, (unsigned int)cs, v), 4);
	assert_true(le(v, 4) == 0x5678);
	assert_int_equal(gdb_reg_read(&st, GDB_NR_REGS, v), -EINVAL);
}

/* The description lists each register, in regnum order, with its size. */
static void test_target_xml(void **state)
{
	char *xml = malloc(16384);
	const char *p;
	int len, bits = 0;
	unsigned int n = 0;

	assert_non_null(xml);
	len = gdb_target_xml(xml, 16384);
	assert_true(len > 0 && (size_t)len == strlen(xml));
	assert_non_null(
		strstr(xml, "<architecture>i386:x86-64</architecture>"));
	assert_true(strstr(xml, "org.gnu.gdb.i386.core") <
		    strstr(xml, "org.gnu.gdb.i386.sse"));
	assert_true(strstr(xml, "org.gnu.gdb.i386.segments") <
		    strstr(xml, "name=\"fs_base\""));
	assert_non_null(strstr(xml, "<flags id=\"i386_eflags\""));
	assert_non_null(strstr(xml, "<union id=\"vec128\">"));
	assert_true(strstr(xml, "</target>") == xml + len - 9);
	/* No byte that the framing would have to escape but gdb not. */
	assert_null(strpbrk(xml, "$#}*"));
	for (p = strstr(xml, "<reg name=\""); p;
	     p = strstr(p + 1, "<reg name=\"")) {
		char name[16];
		const char *q = p + 11, *e = strchr(q, '"');
		int b;

		assert_true(e && (size_t)(e - q) < sizeof(name));
		memcpy(name, q, (size_t)(e - q));
		name[e - q] = '\0';
		assert_int_equal(gdb_reg_lookup(name), (int)n);
		b = atoi(strstr(p, "bitsize=\"") + 9);
		assert_int_equal(b, gdb_reg_size(n) * 8);
		bits += b;
		n++;
	}
	assert_int_equal(n, GDB_NR_REGS);
	assert_int_equal(bits, GDB_G_SIZE * 8);
	assert_int_equal(gdb_target_xml(xml, (size_t)len), -ENOSPC);
	assert_int_equal(gdb_target_xml(xml, (size_t)len + 1), len);
	free(xml);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_offsets),
		cmocka_unit_test(test_pack_values),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_single_register),
		cmocka_unit_test(test_target_xml),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
