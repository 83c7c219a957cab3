// SPDX-License-Identifier: MIT
#include "vmm/cmos.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#define REG_SEC 0x00
#define REG_MIN 0x02
#define REG_HOUR 0x04
#define REG_WDAY 0x06
#define REG_MDAY 0x07
#define REG_MON 0x08
#define REG_YEAR 0x09
#define REG_A 0x0a
#define REG_B 0x0b
#define REG_C 0x0c
#define REG_D 0x0d
#define REG_CENTURY 0x32

#define REG_B_24H 0x02
#define REG_D_VRT 0x80 /* battery good */
#define INDEX_MASK 0x7f /* bit 7 of the index port masks NMIs */

struct cmos {
	pthread_mutex_t lock;
	uint8_t index;
	uint8_t mem[128];
	time_t (*clock)(void);
};

static time_t host_clock(void)
{
	return time(NULL);
}

static void cmos_set_mem_size(struct cmos *c, uint64_t ram)
{
	uint64_t above_1m = ram > (1u << 20) ? (ram - (1u << 20)) >> 10 : 0;
	uint64_t above_16m = ram > (16u << 20) ? (ram - (16u << 20)) >> 16 : 0;
	uint64_t above_4g = ram > (3ull << 30) ? (ram - (3ull << 30)) >> 16 : 0;

	if (above_1m > 0xffff)
		above_1m = 0xffff;
	if (above_16m > 0xffff)
		above_16m = 0xffff;
	c->mem[0x15] = 640 & 0xff; /* base memory in KiB */
	c->mem[0x16] = 640 >> 8;
	c->mem[0x17] = c->mem[0x30] = above_1m & 0xff;
	c->mem[0x18] = c->mem[0x31] = above_1m >> 8;
	c->mem[0x34] = above_16m & 0xff;
	c->mem[0x35] = above_16m >> 8;
	c->mem[0x5b] = above_4g & 0xff;
	c->mem[0x5c] = (above_4g >> 8) & 0xff;
	c->mem[0x5d] = (above_4g >> 16) & 0xff;
}

int cmos_create(uint64_t ram_size, struct cmos **out)
{
	struct cmos *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	pthread_mutex_init(&c->lock, NULL);
	c->clock = host_clock;
	c->mem[REG_A] = 0x26; /* 32.768 kHz base, 1024 Hz rate, UIP clear */
	c->mem[REG_B] = REG_B_24H;
	c->mem[REG_D] = REG_D_VRT;
	cmos_set_mem_size(c, ram_size);
	*out = c;
	return 0;
}

void cmos_destroy(struct cmos *cmos)
{
	if (!cmos)
		return;
	pthread_mutex_destroy(&cmos->lock);
	free(cmos);
}

void cmos_set_clock(struct cmos *cmos, time_t (*clock)(void))
{
	cmos->clock = clock ? clock : host_clock;
}

static uint8_t bcd(int v)
{
	return (uint8_t)(((v / 10) << 4) | (v % 10));
}

/* Time registers are computed on read, so the guest sees the host clock. */
static uint8_t cmos_time_reg(struct cmos *c, uint8_t reg)
{
	time_t now = c->clock();
	struct tm tm;

	gmtime_r(&now, &tm);
	switch (reg) {
	case REG_SEC:
		return bcd(tm.tm_sec);
	case REG_MIN:
		return bcd(tm.tm_min);
	case REG_HOUR:
		return bcd(tm.tm_hour);
	case REG_WDAY:
		return bcd(tm.tm_wday + 1);
	case REG_MDAY:
		return bcd(tm.tm_mday);
	case REG_MON:
		return bcd(tm.tm_mon + 1);
	case REG_YEAR:
		return bcd(tm.tm_year % 100);
	default: /* REG_CENTURY */
		return bcd((tm.tm_year + 1900) / 100);
	}
}

static uint8_t cmos_read_reg(struct cmos *c, uint8_t reg)
{
	switch (reg) {
	case REG_SEC:
	case REG_MIN:
	case REG_HOUR:
	case REG_WDAY:
	case REG_MDAY:
	case REG_MON:
	case REG_YEAR:
	case REG_CENTURY:
		return cmos_time_reg(c, reg);
	case REG_C: /* interrupt flags: reading clears; we never set any */
		return 0;
	default:
		return c->mem[reg];
	}
}

static void cmos_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	struct cmos *c = opaque;

	pthread_mutex_lock(&c->lock);
	data[0] = off == 0 ? 0xff : cmos_read_reg(c, c->index);
	pthread_mutex_unlock(&c->lock);
	for (uint32_t i = 1; i < len; i++)
		data[i] = 0xff;
}

static void cmos_write(void *opaque, uint64_t off, const uint8_t *data,
		       uint32_t len)
{
	struct cmos *c = opaque;

	pthread_mutex_lock(&c->lock);
	if (off == 0)
		c->index = data[0] & INDEX_MASK;
	else if (c->index != REG_C && c->index != REG_D)
		/* Time writes are accepted and ignored: the host owns time. */
		c->mem[c->index] = data[0];
	pthread_mutex_unlock(&c->lock);
}

const struct bus_ops cmos_bus_ops = {
	.read = cmos_read,
	.write = cmos_write,
};
