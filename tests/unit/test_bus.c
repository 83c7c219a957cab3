// SPDX-License-Identifier: MIT
/* The I/O bus: sorted non-overlapping ranges, offsets, unclaimed accesses. */
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
#include <unistd.h>

#include "tests/unit/fake_dev.h"
#include "vmm/bus.h"

static int bus_setup(void **state)
{
	struct bus *bus = calloc(1, sizeof(*bus));

	if (!bus || bus_init(bus, "test")) {
		free(bus);
		return -1;
	}
	*state = bus;
	return 0;
}

static int bus_teardown(void **state)
{
	bus_destroy(*state);
	free(*state);
	return 0;
}

/* Overlap errors are logged; keep them out of the test output. */
static int saved_stderr = -1;

static void quiet(void)
{
	int null = open("/dev/null", O_WRONLY);

	fflush(stderr);
	saved_stderr = dup(2);
	assert_true(null >= 0 && saved_stderr >= 0);
	dup2(null, 2);
	close(null);
}

static void unquiet(void)
{
	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
}

static int reg(struct bus *bus, uint64_t base, uint64_t len, struct fake_dev *d)
{
	return bus_register(bus, base, len, &fake_dev_ops, d, "dev");
}

static int reg_quiet(struct bus *bus, uint64_t base, uint64_t len,
		     struct fake_dev *d)
{
	int ret;

	quiet();
	ret = reg(bus, base, len, d);
	unquiet();
	return ret;
}

static void test_dispatch_offsets(void **state)
{
	struct bus *bus = *state;
	struct fake_dev uart = { .id = 1 };
	uint8_t buf[4] = { 0 };
	uint8_t val = 0x41;

	assert_int_equal(reg(bus, 0x3f8, 8, &uart), 0);
	assert_true(bus_access(bus, 0x3fa, buf, 1, false));
	assert_int_equal(uart.reads, 1);
	assert_int_equal(uart.off, 2);
	assert_int_equal(uart.len, 1);
	assert_int_equal(buf[0], 16 + 2);

	assert_true(bus_access(bus, 0x3f8, &val, 1, true));
	assert_int_equal(uart.writes, 1);
	assert_int_equal(uart.off, 0);
	assert_int_equal(uart.data[0], 0x41);

	/* The last bytes of the range, with a wide access. */
	assert_true(bus_access(bus, 0x3fc, buf, 4, false));
	assert_int_equal(uart.off, 4);
	assert_int_equal(uart.len, 4);
	assert_int_equal(bus->unclaimed, 0);
}

static void test_overlap_refused(void **state)
{
	struct bus *bus = *state;
	struct fake_dev a = { .id = 1 }, b = { .id = 2 };

	assert_int_equal(reg(bus, 0x100, 0x10, &a), 0);
	assert_int_equal(reg_quiet(bus, 0x100, 0x10, &b), -EEXIST);
	assert_int_equal(reg_quiet(bus, 0x0f8, 0x10, &b), -EEXIST); /* left */
	assert_int_equal(reg_quiet(bus, 0x108, 0x10, &b), -EEXIST); /* right */
	assert_int_equal(reg_quiet(bus, 0x104, 0x04, &b), -EEXIST); /* inside */
	assert_int_equal(reg_quiet(bus, 0x0f0, 0x40, &b), -EEXIST); /* around */
	assert_int_equal(reg_quiet(bus, 0x0ff, 2, &b), -EEXIST); /* one byte */
	assert_int_equal(reg_quiet(bus, 0x10f, 2, &b), -EEXIST);
	assert_int_equal(bus->nr, 1);

	/* Touching either end is fine. */
	assert_int_equal(reg(bus, 0x0f0, 0x10, &b), 0);
	assert_int_equal(reg(bus, 0x110, 0x10, &b), 0);
	assert_int_equal(bus->nr, 3);
	/* Now a range bridging two neighbours overlaps both. */
	assert_int_equal(reg_quiet(bus, 0x0ff, 0x12, &b), -EEXIST);
}

static void test_register_invalid(void **state)
{
	struct bus *bus = *state;
	struct fake_dev a = { 0 };

	assert_int_equal(reg(bus, 0x100, 0, &a), -EINVAL);
	assert_int_equal(reg(bus, UINT64_MAX - 3, 8, &a), -EINVAL);
	assert_int_equal(bus_register(bus, 0x100, 1, NULL, &a, "x"), -EINVAL);
	assert_int_equal(bus->nr, 0);
}

static void test_unclaimed(void **state)
{
	struct bus *bus = *state;
	struct fake_dev a = { .id = 1 };
	uint8_t buf[4] = { 1, 2, 3, 4 };

	assert_int_equal(reg(bus, 0x100, 0x10, &a), 0);
	assert_false(bus_access(bus, 0x80, buf, 4, false));
	assert_memory_equal(buf, "\xff\xff\xff\xff", 4);
	assert_int_equal(bus->unclaimed, 1);

	memset(buf, 0x12, sizeof(buf));
	assert_false(bus_access(bus, 0x200, buf, 2, true));
	assert_int_equal(bus->unclaimed, 2);
	assert_int_equal(buf[0], 0x12); /* a dropped write changes nothing */
	assert_int_equal(a.reads + a.writes, 0);
}

/* An access that only partly hits a range belongs to nobody. */
static void test_straddle_unclaimed(void **state)
{
	struct bus *bus = *state;
	struct fake_dev a = { .id = 1 };
	uint8_t buf[4];

	assert_int_equal(reg(bus, 0x100, 0x10, &a), 0);
	assert_false(bus_access(bus, 0x10e, buf, 4, false)); /* past the end */
	assert_memory_equal(buf, "\xff\xff\xff\xff", 4);
	assert_false(bus_access(bus, 0x0fe, buf, 4, false)); /* before base */
	assert_false(bus_access(bus, 0x10e, buf, 4, true));
	assert_int_equal(a.reads + a.writes, 0);
	assert_int_equal(bus->unclaimed, 3);
	assert_true(bus_access(bus, 0x10c, buf, 4, false)); /* exactly fits */
}

static void test_unregister(void **state)
{
	struct bus *bus = *state;
	struct fake_dev a = { .id = 1 }, b = { .id = 2 };
	uint8_t buf[1];

	assert_int_equal(reg(bus, 0x100, 0x10, &a), 0);
	assert_int_equal(reg(bus, 0x200, 0x10, &b), 0);
	assert_int_equal(bus_unregister(bus, 0x104), -ENOENT); /* not a base */
	assert_int_equal(bus_unregister(bus, 0x100), 0);
	assert_int_equal(bus_unregister(bus, 0x100), -ENOENT);
	assert_false(bus_access(bus, 0x100, buf, 1, false));
	assert_true(bus_access(bus, 0x200, buf, 1, false));
	assert_int_equal(b.reads, 1);
	/* The freed range can be claimed again. */
	assert_int_equal(reg(bus, 0x100, 0x20, &b), 0);
	assert_true(bus_access(bus, 0x11f, buf, 1, false));
	assert_int_equal(b.off, 0x1f);
}

#define NR_DEVS 300

/* Registered in a scrambled order, ranges stay sorted and dispatch right. */
static void test_many_out_of_order(void **state)
{
	struct bus *bus = *state;
	static struct fake_dev devs[NR_DEVS];
	uint8_t buf[2];

	for (int i = 0; i < NR_DEVS; i++) {
		/* 7 is coprime to NR_DEVS: a permutation of 0..NR_DEVS-1. */
		int k = (i * 7 + 3) % NR_DEVS;

		devs[k] = (struct fake_dev){ .id = k };
		assert_int_equal(reg(bus, 0x1000 + 0x10 * (uint64_t)k,
				     k % 2 ? 0x10 : 0x8, &devs[k]),
				 0);
	}
	assert_int_equal(bus->nr, NR_DEVS);
	for (size_t i = 1; i < bus->nr; i++)
		assert_true(bus->ranges[i - 1].base + bus->ranges[i - 1].len <=
			    bus->ranges[i].base);
	for (int k = 0; k < NR_DEVS; k++) {
		uint64_t base = 0x1000 + 0x10 * (uint64_t)k;

		assert_true(bus_access(bus, base + 6, buf, 2, false));
		assert_int_equal(devs[k].reads, 1);
		assert_int_equal(devs[k].off, 6);
		/* The gaps after the short ranges are unclaimed. */
		assert_int_equal(bus_access(bus, base + 8, buf, 1, false),
				 k % 2 == 1);
	}
	/* Remove every third range; the rest still dispatch. */
	for (int k = 0; k < NR_DEVS; k += 3)
		assert_int_equal(
			bus_unregister(bus, 0x1000 + 0x10 * (uint64_t)k), 0);
	for (int k = 0; k < NR_DEVS; k++)
		assert_int_equal(bus_access(bus, 0x1000 + 0x10 * (uint64_t)k,
					    buf, 1, true),
				 k % 3 != 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, bus_setup, bus_teardown)
	const struct CMUnitTest tests[] = {
		T(test_dispatch_offsets),   T(test_overlap_refused),
		T(test_register_invalid),   T(test_unclaimed),
		T(test_straddle_unclaimed), T(test_unregister),
		T(test_many_out_of_order),
	};
#undef T

	return cmocka_run_group_tests_name("bus", tests, NULL, NULL);
}
