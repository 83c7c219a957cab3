// SPDX-License-Identifier: MIT
/* Breakpoint bookkeeping: debug-register slots and their DR7 encoding. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "gdb/bp.h"

static void test_dr7_encoding(void **state)
{
	struct gdb_bps b;
	uint64_t dr[4], dr7;

	memset(&b, 0, sizeof(b));
	gdb_hw_debugregs(&b, dr, &dr7);
	assert_true(dr7 == 0x400); /* only the reserved bit */

	assert_int_equal(gdb_hw_insert(&b, GDB_BP_HW, 0xffffffff81000000ull, 1,
				       false),
			 0);
	assert_int_equal(gdb_hw_insert(&b, GDB_WP_WRITE, 0x1000, 4, false), 0);
	assert_int_equal(gdb_hw_insert(&b, GDB_WP_ACCESS, 0x2008, 8, false), 0);
	assert_int_equal(gdb_hw_insert(&b, GDB_WP_WRITE, 0x3002, 2, false), 0);
	gdb_hw_debugregs(&b, dr, &dr7);
	assert_true(dr[0] == 0xffffffff81000000ull);
	assert_true(dr[1] == 0x1000 && dr[2] == 0x2008 && dr[3] == 0x3002);
	/* G0-G3; RW/LEN: slot0 exec 00/00, slot1 write 01/11 (4 bytes),
	 * slot2 access 11/10 (8 bytes), slot3 write 01/01 (2 bytes). */
	assert_true(dr7 == (0x400 | 0xaa | (0x0ull << 16) | (0xdull << 20) |
			    (0xbull << 24) | (0x5ull << 28)));
}

static void test_slots_idempotent_and_full(void **state)
{
	struct gdb_bps b;

	memset(&b, 0, sizeof(b));
	assert_false(gdb_hw_any(&b));
	for (int i = 0; i < 4; i++)
		assert_int_equal(
			gdb_hw_insert(&b, GDB_BP_HW, 0x1000 + i, 1, false), 0);
	/* The same one again takes no slot; a fifth one finds none. */
	assert_int_equal(gdb_hw_insert(&b, GDB_BP_HW, 0x1000, 1, false), 0);
	assert_int_equal(gdb_hw_insert(&b, GDB_BP_HW, 0x2000, 1, false),
			 -ENOSPC);
	/* A Z0 served by a debug register is a different breakpoint. */
	assert_int_equal(gdb_hw_insert(&b, GDB_BP_HW, 0x1000, 1, true),
			 -ENOSPC);
	gdb_hw_remove(&b, GDB_BP_HW, 0x1001, 1, false);
	gdb_hw_remove(&b, GDB_BP_HW, 0x1001, 1, false); /* idempotent */
	assert_int_equal(gdb_hw_insert(&b, GDB_BP_HW, 0x1000, 1, true), 0);
	assert_true(gdb_hw_exec_at(&b, 0x1000));
	assert_false(gdb_hw_exec_at(&b, 0x1001));
	assert_true(gdb_hw_any(&b));
}

static void test_watch_validation(void **state)
{
	struct gdb_bps b;

	memset(&b, 0, sizeof(b));
	assert_int_equal(gdb_hw_insert(&b, GDB_WP_WRITE, 0x1001, 2, false),
			 -EINVAL); /* unaligned */
	assert_int_equal(gdb_hw_insert(&b, GDB_WP_WRITE, 0x1000, 3, false),
			 -EINVAL);
	assert_int_equal(gdb_hw_insert(&b, GDB_WP_WRITE, 0x1000, 16, false),
			 -EINVAL);
	assert_int_equal(gdb_hw_insert(&b, GDB_WP_ACCESS, 0x1000, 0, false),
			 -EINVAL);
	assert_int_equal(gdb_hw_insert(&b, GDB_WP_READ, 0x1000, 4, false),
			 -EINVAL); /* x86 has no read-only watchpoints */
	assert_int_equal(gdb_hw_insert(&b, GDB_BP_SW, 0x1000, 1, false),
			 -EINVAL);
	assert_false(gdb_hw_any(&b));
}

static void test_hit(void **state)
{
	struct gdb_bps b;

	memset(&b, 0, sizeof(b));
	gdb_hw_insert(&b, GDB_BP_HW, 0x1000, 1, false);
	gdb_hw_insert(&b, GDB_WP_WRITE, 0x2000, 8, false);
	assert_int_equal(gdb_hw_hit(&b, 0xffff0ff1), 0);
	assert_int_equal(gdb_hw_hit(&b, 0xffff0ff2), 1);
	assert_int_equal(gdb_hw_hit(&b, 0xffff4ff0), -1); /* step only */
	assert_int_equal(gdb_hw_hit(&b, 0xffff0ff4), -1); /* slot 2 unused */
}

static void test_sw_table(void **state)
{
	static struct gdb_bps b;
	struct gdb_sw_bp *e;

	memset(&b, 0, sizeof(b));
	assert_false(gdb_sw_any(&b));
	for (int i = 0; i < GDB_SW_MAX; i++) {
		e = gdb_sw_alloc(&b);
		assert_non_null(e);
		e->used = true;
		e->addr = 0x1000 + (uint64_t)i;
	}
	assert_null(gdb_sw_alloc(&b));
	assert_true(gdb_sw_any(&b));
	e = gdb_sw_find(&b, 0x1005);
	assert_non_null(e);
	e->used = false;
	assert_null(gdb_sw_find(&b, 0x1005));
	assert_ptr_equal(gdb_sw_alloc(&b), e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dr7_encoding),
		cmocka_unit_test(test_slots_idempotent_and_full),
		cmocka_unit_test(test_watch_validation),
		cmocka_unit_test(test_hit),
		cmocka_unit_test(test_sw_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
