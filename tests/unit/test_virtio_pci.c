// SPDX-License-Identifier: MIT
/*
 * The virtio-pci transport as a driver sees it, through a real struct vm's
 * MMIO bus and ECAM: capabilities, feature negotiation (subset, rewrite,
 * no VERSION_1), queue set-up, notify to the I/O thread, MSI-X vectors,
 * reset, and NEEDS_RESET for a broken queue.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "pci/pci.h"
#include "virtio/pci.h"
#include "virtio/pci_internal.h"
#include "vmm/layout_x86_64.h"
#include "vmm/le.h"
#include "vmm/log.h"
#include "vmm/vm.h"

#define SLOT 1
#define DEV_FEATURE 5 /* a device feature bit we offer */

static struct vm vm;
static struct pci_bus pbus;
static struct virtio_pci *vp;
static uint64_t bar;

static atomic_uint msis, notifies;

static int fake_msi(struct vm *v, uint64_t addr, uint32_t data)
{
	atomic_fetch_add(&msis, 1);
	return 0;
}

static void dev_notify(struct virtio_dev *vdev, unsigned int q)
{
	atomic_fetch_add(&notifies, 1);
}

static void dev_config_read(struct virtio_dev *vdev, uint32_t off,
			    uint8_t *data, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++)
		data[i] = (uint8_t)(0x10 + off + i);
}

static const struct virtio_dev_ops dummy_ops = {
	.name = "virtio-dummy",
	.device_id = 42,
	.pci_class = 0xff0000,
	.nr_queues = 2,
	.queue_size = 64,
	.config_size = 8,
	.config_read = dev_config_read,
	.queue_notify = dev_notify,
};

static uint64_t rd(uint64_t addr, uint32_t len)
{
	uint8_t b[8] = { 0 };

	bus_access(&vm.mmio, addr, b, len, false);
	return get_le64(b);
}

static void wr(uint64_t addr, uint32_t len, uint64_t v)
{
	uint8_t b[8];

	put_le64(b, v);
	bus_access(&vm.mmio, addr, b, len, true);
}

static uint64_t cfg(unsigned int reg, uint32_t len)
{
	return rd(LAYOUT_PCI_ECAM + (SLOT << 15) + reg, len);
}

static int setup(void **state)
{
	if (vm_init(&vm, 16 << 20))
		return -1;
	vm.msi = fake_msi;
	atomic_store(&msis, 0);
	atomic_store(&notifies, 0);
	if (pci_bus_init(&pbus, &vm) ||
	    virtio_pci_create(&vm, &pbus, &dummy_ops, NULL, 1ULL << DEV_FEATURE,
			      &vp))
		return -1;
	bar = vp->pci.bar[VP_BAR].addr;
	return 0;
}

static int teardown(void **state)
{
	pci_bus_destroy(&pbus);
	virtio_pci_destroy(vp);
	vm_destroy(&vm);
	return 0;
}

static void test_ids_and_capabilities(void **state)
{
	unsigned int types = 0;

	assert_int_equal(cfg(0, 4), (0x1040u + 42) << 16 | 0x1af4);
	assert_int_equal(cfg(8, 1), 1); /* modern revision */
	/* Walk the capability list: four virtio structures and MSI-X. */
	for (unsigned int p = (unsigned int)cfg(0x34, 1); p; p = cfg(p + 1, 1))
		if (cfg(p, 1) == 0x09)
			types |= 1u << cfg(p + 3, 1);
		else if (cfg(p, 1) == 0x11)
			types |= 1u << 16;
	assert_int_equal(types, (1u << 1) | (1u << 2) | (1u << 3) | (1u << 4) |
					(1u << 16));
}

static void feature(unsigned int sel, uint32_t v)
{
	wr(bar + 0x08, 4, sel);
	wr(bar + 0x0c, 4, v);
}

static void test_feature_negotiation(void **state)
{
	uint64_t offered;

	wr(bar + 0x00, 4, 0);
	offered = rd(bar + 0x04, 4);
	wr(bar + 0x00, 4, 1);
	offered |= rd(bar + 0x04, 4) << 32;
	assert_true(offered & (1ULL << 32)); /* VERSION_1 */
	assert_true(offered & (1ULL << DEV_FEATURE));
	assert_true(offered & (1ULL << 29)); /* EVENT_IDX */
	wr(bar + 0x14, 1, 1 | 2);
	/* Without VERSION_1, FEATURES_OK does not stick. */
	feature(0, 1u << DEV_FEATURE);
	feature(1, 0);
	wr(bar + 0x14, 1, 1 | 2 | 8);
	assert_int_equal(rd(bar + 0x14, 1) & 8, 0);
	/* Rewritten before FEATURES_OK: a subset with VERSION_1 and a bit we
	 * never offered, which is dropped. */
	feature(0, 1u << 7);
	feature(1, 1);
	wr(bar + 0x14, 1, 1 | 2 | 8);
	assert_int_equal(rd(bar + 0x14, 1) & 8, 8);
	assert_int_equal(vp->vdev.features, 1ULL << 32);
	/* After FEATURES_OK the features are frozen. */
	feature(0, 1u << DEV_FEATURE);
	assert_int_equal(vp->vdev.features, 1ULL << 32);
}

static void wait_for(atomic_uint *counter, unsigned int want)
{
	for (int i = 0; i < 2000 && atomic_load(counter) < want; i++)
		nanosleep(&(struct timespec){ 0, 1000000 }, NULL);
	assert_true(atomic_load(counter) >= want);
}

/* A driver's set-up of queue 0 with rings in guest RAM. */
static void setup_queue(uint64_t desc)
{
	feature(1, 1);
	wr(bar + 0x14, 1, 1 | 2 | 8);
	wr(bar + 0x16, 2, 0);
	assert_int_equal(rd(bar + 0x18, 2), 64);
	wr(bar + 0x18, 2, 16);
	wr(bar + 0x20, 4, desc);
	wr(bar + 0x24, 4, 0);
	wr(bar + 0x28, 8, desc + 0x1000);
	wr(bar + 0x30, 8, desc + 0x2000);
	wr(bar + 0x1c, 2, 1);
	wr(bar + 0x14, 1, 1 | 2 | 8 | 4);
	/* Both write widths reached the registers. */
	assert_int_equal(rd(bar + 0x20, 8), desc);
	assert_int_equal(rd(bar + 0x28, 8), desc + 0x1000);
	assert_int_equal(rd(bar + 0x30, 8), desc + 0x2000);
}

static void test_queue_notify_reaches_io_thread(void **state)
{
	setup_queue(0x100000);
	assert_true(vp->vdev.vq[0].ready);
	assert_int_equal(vp->vdev.vq[0].size, 16);
	wait_for(&notifies, 1); /* DRIVER_OK looks at every queue once */
	wr(bar + 0x3000, 2, 0);
	wait_for(&notifies, 2);
	/* Queue 1 is not enabled: its notify does not run the device. */
	wr(bar + 0x3004, 2, 1);
	nanosleep(&(struct timespec){ 0, 20000000 }, NULL);
	assert_int_equal(atomic_load(&notifies), 2);
}

static void test_config_and_bounds(void **state)
{
	assert_int_equal(rd(bar + 0x2000, 4), 0x13121110);
	assert_int_equal(rd(bar + 0x2006, 2), 0x1716);
	/* Past the device config: zeroes, no call out of bounds. */
	assert_int_equal(rd(bar + 0x2008, 4), 0);
	assert_int_equal(rd(bar + 0x12, 2), 2); /* num_queues */
}

static void test_msix_vectors_and_interrupt(void **state)
{
	unsigned int cap = 0;

	for (unsigned int p = (unsigned int)cfg(0x34, 1); p; p = cfg(p + 1, 1))
		if (cfg(p, 1) == 0x11)
			cap = p;
	assert_int_not_equal(cap, 0);
	/* Enable MSI-X, program vector 1 unmasked. */
	wr(LAYOUT_PCI_ECAM + (SLOT << 15) + cap + 2, 2, 0x8000);
	wr(bar + 0x4000 + 16 + 0, 4, 0xfee00000);
	wr(bar + 0x4000 + 16 + 8, 4, 0x41);
	wr(bar + 0x4000 + 16 + 12, 4, 0);
	setup_queue(0x100000);
	wr(bar + 0x1a, 2, 1); /* queue 0 -> vector 1 (after enable: ok) */
	assert_int_equal(rd(bar + 0x1a, 2), 1);
	wr(bar + 0x1a, 2, 99); /* no such vector */
	assert_int_equal(rd(bar + 0x1a, 2), VIRTIO_NO_VECTOR);
	wr(bar + 0x1a, 2, 1);
	vp->vdev.signal_queue(&vp->vdev, 0);
	assert_int_equal(atomic_load(&msis), 1);
}

static void test_reset(void **state)
{
	setup_queue(0x100000);
	wr(bar + 0x14, 1, 0);
	assert_int_equal(rd(bar + 0x14, 1), 0);
	assert_int_equal(vp->vdev.features, 0);
	assert_false(vp->vdev.vq[0].ready);
	wr(bar + 0x16, 2, 0);
	assert_int_equal(rd(bar + 0x18, 2), 64);
	assert_int_equal(rd(bar + 0x1c, 2), 0);
}

static void test_bad_ring_needs_reset(void **state)
{
	/* Rings outside RAM: the device asks for a reset, the VMM goes on. */
	feature(1, 1);
	wr(bar + 0x14, 1, 1 | 2 | 8);
	wr(bar + 0x16, 2, 0);
	wr(bar + 0x20, 8, 0x7ffff000000ULL);
	wr(bar + 0x1c, 2, 1);
	assert_true(rd(bar + 0x14, 1) & 64);
	wr(bar + 0x14, 1, 0);
	assert_int_equal(rd(bar + 0x14, 1), 0);
	setup_queue(0x100000);
	assert_false(rd(bar + 0x14, 1) & 64);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_ids_and_capabilities),
		T(test_feature_negotiation),
		T(test_queue_notify_reaches_io_thread),
		T(test_config_and_bounds),
		T(test_msix_vectors_and_interrupt),
		T(test_reset),
		T(test_bad_ring_needs_reset),
	};

	log_set_level(LOG_OFF);
	return cmocka_run_group_tests_name("virtio-pci", tests, NULL, NULL);
}
