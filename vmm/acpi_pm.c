// SPDX-License-Identifier: MIT
#include "vmm/acpi_pm.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "vmm/le.h"
#include "vmm/log.h"
#include "vmm/vm.h"

#define EVT_LEN 4 /* status word, then enable word */
#define EVT_EN 2
#define CNT_LEN 2

#define CNT_SCI_EN 0x0001
#define CNT_SLP_TYP_SHIFT 10
#define CNT_SLP_TYP (7 << CNT_SLP_TYP_SHIFT)
#define CNT_SLP_EN 0x2000

struct acpi_pm {
	struct vm *vm;
	pthread_mutex_t lock;
	uint16_t en; /* PM1_EN; kept so ACPICA sees its enables stick */
	uint16_t slp_typ; /* last SLP_TYP written, in place */
	bool warned; /* about an unsupported sleep type, once: guests repeat */
};

int acpi_pm_create(struct vm *vm, struct acpi_pm **out)
{
	struct acpi_pm *pm = calloc(1, sizeof(*pm));

	if (!pm)
		return -ENOMEM;
	pm->vm = vm;
	pthread_mutex_init(&pm->lock, NULL);
	*out = pm;
	return 0;
}

void acpi_pm_destroy(struct acpi_pm *pm)
{
	if (!pm)
		return;
	pthread_mutex_destroy(&pm->lock);
	free(pm);
}

/*
 * Registers are kept as a little-endian image of the block so that any
 * width at any offset works: the guest may use byte or word accesses.
 * Bytes past the block read as an unclaimed port would, 0xff.
 */
static void image_read(const uint8_t *img, uint64_t size, uint64_t off,
		       uint8_t *data, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++)
		data[i] = off < size && i < size - off ? img[off + i] : 0xff;
}

static void image_write(uint8_t *img, uint64_t size, uint64_t off,
			const uint8_t *data, uint32_t len)
{
	for (uint32_t i = 0; i < len; i++)
		if (off < size && i < size - off)
			img[off + i] = data[i];
}

/* PM1_STS is write-1-to-clear and no event ever sets a bit: it reads 0. */
static void evt_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	struct acpi_pm *pm = opaque;
	uint8_t img[EVT_LEN] = { 0 };

	pthread_mutex_lock(&pm->lock);
	put_le16(img + EVT_EN, pm->en);
	pthread_mutex_unlock(&pm->lock);
	image_read(img, EVT_LEN, off, data, len);
}

static void evt_write(void *opaque, uint64_t off, const uint8_t *data,
		      uint32_t len)
{
	struct acpi_pm *pm = opaque;
	uint8_t img[EVT_LEN] = { 0 };

	pthread_mutex_lock(&pm->lock);
	put_le16(img + EVT_EN, pm->en);
	image_write(img, EVT_LEN, off, data, len);
	pm->en = get_le16(img + EVT_EN);
	pthread_mutex_unlock(&pm->lock);
}

/* SCI_EN always reads set: with SMI_CMD 0 the machine is always in ACPI mode. */
static uint16_t cnt_value(const struct acpi_pm *pm)
{
	return CNT_SCI_EN | pm->slp_typ;
}

static void cnt_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	struct acpi_pm *pm = opaque;
	uint8_t img[CNT_LEN];

	pthread_mutex_lock(&pm->lock);
	put_le16(img, cnt_value(pm));
	pthread_mutex_unlock(&pm->lock);
	image_read(img, CNT_LEN, off, data, len);
}

static void cnt_sleep(struct acpi_pm *pm, unsigned int typ)
{
	if (typ == ACPI_PM_SLP_TYP_S5) {
		log_debug("acpi: S5 requested, powering off");
		vm_request_stop(pm->vm, VM_STOP_POWEROFF);
		return;
	}
	if (!__atomic_exchange_n(&pm->warned, true, __ATOMIC_RELAXED))
		log_info(
			"acpi: guest asked for sleep type %u; only S5 (%d) is supported, ignoring (logged once)",
			typ, ACPI_PM_SLP_TYP_S5);
}

/*
 * SLP_EN is not stored: it triggers the sleep with the SLP_TYP of the same
 * value, which for a byte write of the high half is the byte just written.
 */
static void cnt_write(void *opaque, uint64_t off, const uint8_t *data,
		      uint32_t len)
{
	struct acpi_pm *pm = opaque;
	uint8_t img[CNT_LEN];
	uint16_t val;

	pthread_mutex_lock(&pm->lock);
	put_le16(img, cnt_value(pm));
	image_write(img, CNT_LEN, off, data, len);
	val = get_le16(img);
	pm->slp_typ = val & CNT_SLP_TYP;
	pthread_mutex_unlock(&pm->lock);
	if (val & CNT_SLP_EN)
		cnt_sleep(pm, (val & CNT_SLP_TYP) >> CNT_SLP_TYP_SHIFT);
}

const struct bus_ops acpi_pm_evt_ops = {
	.read = evt_read,
	.write = evt_write,
};

const struct bus_ops acpi_pm_cnt_ops = {
	.read = cnt_read,
	.write = cnt_write,
};
