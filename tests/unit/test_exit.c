// SPDX-License-Identifier: MIT
/* Exit dispatch and the vCPU run loop, driven by the fake backend. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "tests/unit/fake_dev.h"
#include "tests/unit/fake_hv.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

struct fixture {
	struct vm vm;
	struct vcpu vcpu;
	struct fake_dev pio_dev, mmio_dev;
};

static int setup(void **state)
{
	static struct fixture f;

	memset(&f, 0, sizeof(f));
	fake_hv_reset();
	assert_int_equal(vm_init(&f.vm, 64 << 20), 0);
	f.vcpu.vm = &f.vm;
	assert_int_equal(bus_register(&f.vm.pio, 0x3f8, 8, &fake_dev_ops,
				      &f.pio_dev, "probe"),
			 0);
	assert_int_equal(bus_register(&f.vm.mmio, 0xd0000000, 0x1000,
				      &fake_dev_ops, &f.mmio_dev, "probe"),
			 0);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vm_destroy(&f->vm);
	return 0;
}

static struct vm_exit io_exit(enum vm_exit_reason r, uint64_t addr,
			      uint8_t *data, uint32_t len, uint32_t count,
			      bool write)
{
	struct vm_exit e = { .reason = r };

	e.io.addr = addr;
	e.io.data = data;
	e.io.len = len;
	e.io.count = count;
	e.io.write = write;
	return e;
}

static void test_pio_write_reaches_device_with_offset(void **state)
{
	struct fixture *f = *state;
	uint8_t data[1] = { 'A' };
	struct vm_exit e = io_exit(VM_EXIT_PIO, 0x3fd, data, 1, 1, true);

	assert_int_equal(vcpu_handle_exit(&f->vcpu, &e), VCPU_CONTINUE);
	assert_int_equal(f->pio_dev.writes, 1);
	assert_int_equal(f->pio_dev.off, 5);
	assert_int_equal(f->pio_dev.data[0], 'A');
}

static void test_string_pio_dispatches_every_item(void **state)
{
	struct fixture *f = *state;
	uint8_t data[6] = { 1, 2, 3, 4, 5, 6 };
	struct vm_exit e = io_exit(VM_EXIT_PIO, 0x3f8, data, 2, 3, true);

	vcpu_handle_exit(&f->vcpu, &e);
	assert_int_equal(f->pio_dev.writes, 3);
	assert_int_equal(f->pio_dev.data[0], 5);
	assert_int_equal(f->pio_dev.data[1], 6);
}

static void test_pio_read_fills_data(void **state)
{
	struct fixture *f = *state;
	uint8_t data[4] = { 0 };
	struct vm_exit e = io_exit(VM_EXIT_PIO, 0x3f8, data, 4, 1, false);

	vcpu_handle_exit(&f->vcpu, &e);
	assert_int_equal(f->pio_dev.reads, 1);
	assert_int_equal(data[3], 3); /* id 0, offset 0, byte 3 */
}

static void test_unclaimed_read_is_all_ones(void **state)
{
	struct fixture *f = *state;
	uint8_t data[2] = { 0 };
	struct vm_exit e = io_exit(VM_EXIT_PIO, 0xcfc, data, 2, 1, false);

	assert_int_equal(vcpu_handle_exit(&f->vcpu, &e), VCPU_CONTINUE);
	assert_int_equal(data[0], 0xff);
	assert_int_equal(data[1], 0xff);
	assert_int_equal(f->vm.pio.unclaimed, 1);
}

static void test_mmio_goes_to_mmio_bus(void **state)
{
	struct fixture *f = *state;
	uint8_t data[4] = { 9, 8, 7, 6 };
	struct vm_exit e = io_exit(VM_EXIT_MMIO, 0xd0000010, data, 4, 1, true);

	vcpu_handle_exit(&f->vcpu, &e);
	assert_int_equal(f->mmio_dev.writes, 1);
	assert_int_equal(f->mmio_dev.off, 0x10);
	assert_int_equal(f->pio_dev.writes, 0);
}

static void test_shutdown_is_triple_fault(void **state)
{
	struct fixture *f = *state;
	struct vm_exit e = { .reason = VM_EXIT_SHUTDOWN };

	assert_int_equal(vcpu_handle_exit(&f->vcpu, &e), VCPU_STOP);
	assert_int_equal(vm_wait_stop(&f->vm), VM_STOP_TRIPLE_FAULT);
}

static void test_shutdown_after_panic_is_panic(void **state)
{
	struct fixture *f = *state;
	struct vm_exit e = { .reason = VM_EXIT_SHUTDOWN };

	atomic_store(&f->vm.guest_panicked, true);
	vcpu_handle_exit(&f->vcpu, &e);
	assert_int_equal(vm_wait_stop(&f->vm), VM_STOP_PANIC);
}

static void test_reset_is_reboot(void **state)
{
	struct fixture *f = *state;
	struct vm_exit e = { .reason = VM_EXIT_RESET };

	assert_int_equal(vcpu_handle_exit(&f->vcpu, &e), VCPU_STOP);
	assert_int_equal(vm_wait_stop(&f->vm), VM_STOP_REBOOT);
}

static void test_system_off_is_poweroff(void **state)
{
	struct fixture *f = *state;
	struct vm_exit e = { .reason = VM_EXIT_SYSTEM_OFF };

	assert_int_equal(vcpu_handle_exit(&f->vcpu, &e), VCPU_STOP);
	assert_int_equal(vm_wait_stop(&f->vm), VM_STOP_POWEROFF);
}

static void test_failure_dumps_and_stops_with_error(void **state)
{
	struct fixture *f = *state;
	struct vm_exit e = { .reason = VM_EXIT_FAILED };

	e.fail.what = "emulation failure";
	assert_int_equal(vcpu_handle_exit(&f->vcpu, &e), VCPU_STOP);
	assert_int_equal(fake_hv.dumps, 1);
	assert_int_equal(vm_wait_stop(&f->vm), VM_STOP_ERROR);
}

static void test_kick_continues_unless_stopping(void **state)
{
	struct fixture *f = *state;
	struct vm_exit e = { .reason = VM_EXIT_KICKED };

	assert_int_equal(vcpu_handle_exit(&f->vcpu, &e), VCPU_CONTINUE);
	vm_request_stop(&f->vm, VM_STOP_USER);
	assert_int_equal(vcpu_handle_exit(&f->vcpu, &e), VCPU_STOP);
}

static void test_kick_with_sample_request_records_pc(void **state)
{
	struct fixture *f = *state;
	struct vm_exit e = { .reason = VM_EXIT_KICKED };

	atomic_store(&f->vcpu.sample, true);
	assert_int_equal(vcpu_handle_exit(&f->vcpu, &e), VCPU_CONTINUE);
	assert_int_equal(f->vcpu.nr_samples, 1);
	assert_false(atomic_load(&f->vcpu.sample));
	/* A kick without a request (e.g. a stop) records nothing. */
	vcpu_handle_exit(&f->vcpu, &e);
	assert_int_equal(f->vcpu.nr_samples, 1);
	free(f->vcpu.samples);
}

static void test_first_stop_request_wins(void **state)
{
	struct fixture *f = *state;

	vm_request_stop(&f->vm, VM_STOP_PANIC);
	vm_request_stop(&f->vm, VM_STOP_REBOOT);
	assert_int_equal(vm_wait_stop(&f->vm), VM_STOP_PANIC);
}

static void test_run_loop_runs_script_to_poweroff(void **state)
{
	struct fixture *f = *state;
	static uint8_t data[1] = { 'x' };

	fake_hv.exits[0] = io_exit(VM_EXIT_PIO, 0x3f8, data, 1, 1, true);
	fake_hv.exits[1] = io_exit(VM_EXIT_PIO, 0x3f8, data, 1, 1, true);
	fake_hv.exits[2] = (struct vm_exit){ .reason = VM_EXIT_SYSTEM_OFF };
	fake_hv.nr_exits = 3;
	f->vm.nr_vcpus = 1;
	assert_int_equal(vcpus_init_signals(), 0);
	assert_int_equal(vcpus_start(&f->vm, NULL), 0);
	assert_int_equal(vm_wait_stop(&f->vm), VM_STOP_POWEROFF);
	vcpus_join(&f->vm);
	assert_int_equal(f->pio_dev.writes, 2);
	vcpus_free(&f->vm);
	assert_int_equal(fake_hv.runs, 3);
	assert_int_equal(atomic_load(&f->vm.stats.exits[VM_EXIT_PIO]), 2);
	assert_true(fake_hv.kicks >= 1); /* the stop kicked the vCPU */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_pio_write_reaches_device_with_offset),
		T(test_string_pio_dispatches_every_item),
		T(test_pio_read_fills_data),
		T(test_unclaimed_read_is_all_ones),
		T(test_mmio_goes_to_mmio_bus),
		T(test_shutdown_is_triple_fault),
		T(test_shutdown_after_panic_is_panic),
		T(test_reset_is_reboot),
		T(test_system_off_is_poweroff),
		T(test_failure_dumps_and_stops_with_error),
		T(test_kick_continues_unless_stopping),
		T(test_kick_with_sample_request_records_pc),
		T(test_first_stop_request_wins),
		T(test_run_loop_runs_script_to_poweroff),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
