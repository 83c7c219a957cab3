// SPDX-License-Identifier: MIT
#include "vmm/i8042.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "vmm/log.h"
#include "vmm/vm.h"

#define PORT_DATA 0 /* 0x60 */
#define PORT_CMD 4 /* 0x64 */

#define STS_OBF 0x01
#define STS_SYS 0x04
#define STS_CMD 0x08 /* last write was to the command port */

#define CMD_READ_CTR 0x20
#define CMD_WRITE_CTR 0x60
#define CMD_AUX_DISABLE 0xa7
#define CMD_AUX_ENABLE 0xa8
#define CMD_AUX_TEST 0xa9
#define CMD_SELF_TEST 0xaa
#define CMD_KBD_TEST 0xab
#define CMD_KBD_DISABLE 0xad
#define CMD_KBD_ENABLE 0xae
#define CMD_READ_INPUT 0xc0
#define CMD_READ_OUTPUT 0xd0
#define CMD_WRITE_OUTPUT 0xd1
#define CMD_WRITE_KBD_OUT 0xd2
#define CMD_WRITE_AUX_OUT 0xd3
#define CMD_WRITE_AUX 0xd4
#define CMD_PULSE_RESET 0xfe

#define CTR_KBD_DISABLE 0x10
#define CTR_AUX_DISABLE 0x20
#define OUTPUT_RESET_HIGH 0x01 /* reset line is active low */

struct i8042 {
	struct vm *vm;
	pthread_mutex_t lock;
	uint8_t status, ctr, outport, out;
	uint8_t pending; /* command waiting for its data byte, or 0 */
};

int i8042_create(struct vm *vm, struct i8042 **out)
{
	struct i8042 *kbc = calloc(1, sizeof(*kbc));

	if (!kbc)
		return -ENOMEM;
	kbc->vm = vm;
	pthread_mutex_init(&kbc->lock, NULL);
	kbc->status = STS_SYS;
	kbc->ctr = CTR_AUX_DISABLE;
	kbc->outport = OUTPUT_RESET_HIGH | 0x02; /* A20 on */
	*out = kbc;
	return 0;
}

void i8042_destroy(struct i8042 *kbc)
{
	if (!kbc)
		return;
	pthread_mutex_destroy(&kbc->lock);
	free(kbc);
}

static void i8042_reply(struct i8042 *kbc, uint8_t byte)
{
	kbc->out = byte;
	kbc->status |= STS_OBF;
}

static void i8042_reset(struct i8042 *kbc)
{
	log_debug("i8042: reset pulse");
	vm_guest_reset(kbc->vm);
}

static void i8042_command(struct i8042 *kbc, uint8_t cmd)
{
	switch (cmd) {
	case CMD_READ_CTR:
		i8042_reply(kbc, kbc->ctr);
		break;
	case CMD_WRITE_CTR:
	case CMD_WRITE_OUTPUT:
	case CMD_WRITE_KBD_OUT:
	case CMD_WRITE_AUX_OUT:
	case CMD_WRITE_AUX:
		kbc->pending = cmd;
		break;
	case CMD_AUX_DISABLE:
		kbc->ctr |= CTR_AUX_DISABLE;
		break;
	case CMD_AUX_ENABLE:
		kbc->ctr &= ~CTR_AUX_DISABLE;
		break;
	case CMD_KBD_DISABLE:
		kbc->ctr |= CTR_KBD_DISABLE;
		break;
	case CMD_KBD_ENABLE:
		kbc->ctr &= ~CTR_KBD_DISABLE;
		break;
	case CMD_SELF_TEST:
		i8042_reply(kbc, 0x55);
		break;
	case CMD_AUX_TEST:
	case CMD_KBD_TEST:
	case CMD_READ_INPUT:
		i8042_reply(kbc, 0x00);
		break;
	case CMD_READ_OUTPUT:
		i8042_reply(kbc, kbc->outport);
		break;
	case CMD_PULSE_RESET:
		i8042_reset(kbc);
		break;
	default:
		log_debug("i8042: ignoring command 0x%02x", cmd);
	}
}

/* A data byte: the parameter of a pending command, else for the keyboard. */
static void i8042_data(struct i8042 *kbc, uint8_t val)
{
	uint8_t cmd = kbc->pending;

	kbc->pending = 0;
	switch (cmd) {
	case CMD_WRITE_CTR:
		kbc->ctr = val;
		break;
	case CMD_WRITE_OUTPUT:
		kbc->outport = val;
		if (!(val & OUTPUT_RESET_HIGH))
			i8042_reset(kbc);
		break;
	case CMD_WRITE_KBD_OUT:
	case CMD_WRITE_AUX_OUT:
		i8042_reply(kbc, val);
		break;
	default:
		/* No device behind the port: it stays silent, as unplugged. */
		break;
	}
}

static void i8042_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	struct i8042 *kbc = opaque;

	pthread_mutex_lock(&kbc->lock);
	if (off == PORT_DATA) {
		data[0] = kbc->out;
		kbc->status &= ~STS_OBF;
	} else if (off == PORT_CMD) {
		data[0] = kbc->status;
	} else {
		data[0] = 0xff;
	}
	pthread_mutex_unlock(&kbc->lock);
	for (uint32_t i = 1; i < len; i++)
		data[i] = 0xff;
}

static void i8042_write(void *opaque, uint64_t off, const uint8_t *data,
			uint32_t len)
{
	struct i8042 *kbc = opaque;

	pthread_mutex_lock(&kbc->lock);
	if (off == PORT_DATA) {
		kbc->status &= ~STS_CMD;
		i8042_data(kbc, data[0]);
	} else if (off == PORT_CMD) {
		kbc->status |= STS_CMD;
		i8042_command(kbc, data[0]);
	}
	pthread_mutex_unlock(&kbc->lock);
}

const struct bus_ops i8042_bus_ops = {
	.read = i8042_read,
	.write = i8042_write,
};
