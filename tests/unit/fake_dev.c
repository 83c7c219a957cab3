// SPDX-License-Identifier: MIT
#include "tests/unit/fake_dev.h"

#include <string.h>

static void fake_dev_read(void *opaque, uint64_t off, uint8_t *data,
			  uint32_t len)
{
	struct fake_dev *d = opaque;

	d->reads++;
	d->off = off;
	d->len = len;
	for (uint32_t i = 0; i < len; i++)
		data[i] = (uint8_t)(d->id * 16 + off + i);
}

static void fake_dev_write(void *opaque, uint64_t off, const uint8_t *data,
			   uint32_t len)
{
	struct fake_dev *d = opaque;

	d->writes++;
	d->off = off;
	d->len = len;
	memcpy(d->data, data, len < sizeof(d->data) ? len : sizeof(d->data));
}

const struct bus_ops fake_dev_ops = {
	.read = fake_dev_read,
	.write = fake_dev_write,
};
