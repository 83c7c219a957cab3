// SPDX-License-Identifier: MIT
/* Register-level tests of the 16550A model, driven as Linux's 8250 does. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdbool.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "serial/uart16550.h"

#define RBR 0
#define IER 1
#define IIR 2
#define LCR 3
#define MCR 4
#define LSR 5
#define MSR 6
#define SCR 7

struct fake {
	uint8_t out[256]; /* bytes the sink received */
	size_t nout;
	bool level; /* last level driven on the pin */
	unsigned int irq_calls;
	unsigned int irq_seen;
	struct uart *uart;
};

static void fake_write(void *opaque, const uint8_t *buf, size_t len)
{
	struct fake *f = opaque;

	while (len-- && f->nout < sizeof(f->out))
		f->out[f->nout++] = *buf++;
}

static int fake_irq_set(void *opaque, unsigned int irq, bool level)
{
	struct fake *f = opaque;

	f->irq_calls++;
	f->irq_seen = irq;
	f->level = level;
	return 0;
}

static int setup(void **state)
{
	struct fake *f = calloc(1, sizeof(*f));
	struct irq_pin pin = { .set = fake_irq_set, .opaque = f, .irq = 4 };
	struct uart_sink sink = { .write = fake_write, .opaque = f };

	assert_non_null(f);
	assert_int_equal(uart_create(&f->uart, "ttyS0", pin, sink), 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fake *f = *state;

	uart_destroy(f->uart);
	free(f);
	return 0;
}

static uint8_t rd(struct fake *f, uint64_t off)
{
	uint8_t v = 0xaa;

	uart_bus_ops.read(f->uart, off, &v, 1);
	return v;
}

static void wr(struct fake *f, uint64_t off, uint8_t v)
{
	uart_bus_ops.write(f->uart, off, &v, 1);
}

static void test_power_on(void **state)
{
	struct fake *f = *state;

	assert_int_equal(rd(f, IER), 0);
	assert_int_equal(rd(f, IIR), 0x01);
	assert_int_equal(rd(f, LCR), 0);
	assert_int_equal(rd(f, MCR), 0);
	assert_int_equal(rd(f, LSR), 0x60); /* THRE | TEMT */
	assert_int_equal(rd(f, MSR), 0xb0); /* DCD | DSR | CTS, no deltas */
	assert_int_equal(f->irq_calls, 0);
}

static void test_scratch(void **state)
{
	struct fake *f = *state;

	wr(f, SCR, 0x5a);
	assert_int_equal(rd(f, SCR), 0x5a);
	wr(f, SCR, 0xa5);
	assert_int_equal(rd(f, SCR), 0xa5);
}

static void test_divisor_latch(void **state)
{
	struct fake *f = *state;

	wr(f, IER, 0x05);
	wr(f, LCR, 0x83); /* DLAB | 8N1 */
	wr(f, RBR, 0x01);
	wr(f, IER, 0x02);
	assert_int_equal(rd(f, RBR), 0x01);
	assert_int_equal(rd(f, IER), 0x02);
	wr(f, LCR, 0x03);
	assert_int_equal(rd(f, LCR), 0x03);
	/* IER kept its value; the DLL write did not transmit anything. */
	assert_int_equal(rd(f, IER), 0x05);
	assert_int_equal(f->nout, 0);
	wr(f, LCR, 0x80);
	assert_int_equal(rd(f, RBR), 0x01);
	assert_int_equal(rd(f, IER), 0x02);
}

static void test_ier_mask(void **state)
{
	struct fake *f = *state;

	/* Linux's autoconfig: upper IER bits must read back as 0 on 16550A. */
	wr(f, IER, 0xff);
	assert_int_equal(rd(f, IER), 0x0f);
	wr(f, IER, 0);
	assert_int_equal(rd(f, IER), 0);
}

static void test_fifo_bits(void **state)
{
	struct fake *f = *state;

	assert_int_equal(rd(f, IIR) & 0xc0, 0);
	wr(f, IIR, 0x01);
	assert_int_equal(rd(f, IIR), 0xc1);
	wr(f, IIR, 0x00);
	assert_int_equal(rd(f, IIR), 0x01);
}

static void test_thr_to_sink(void **state)
{
	struct fake *f = *state;

	wr(f, RBR, 'o');
	wr(f, RBR, 'k');
	assert_int_equal(f->nout, 2);
	assert_memory_equal(f->out, "ok", 2);
	assert_int_equal(rd(f, LSR) & 0x60, 0x60);
	/* ETBEI is off: nothing pending, the pin was never touched. */
	assert_int_equal(rd(f, IIR), 0x01);
	assert_int_equal(f->irq_calls, 0);
}

static void test_thre_interrupt(void **state)
{
	struct fake *f = *state;

	wr(f, IER, 0x02); /* ETBEI 0->1 with THR empty */
	assert_true(f->level);
	assert_int_equal(f->irq_seen, 4);
	assert_int_equal(rd(f, IIR), 0x02);
	assert_false(f->level);
	assert_int_equal(rd(f, IIR), 0x01); /* the read acknowledged it */

	wr(f, RBR, 'a'); /* THR empty again after the write */
	assert_true(f->level);
	assert_int_equal(rd(f, IIR), 0x02);
	assert_false(f->level);

	/* Linux's UART_BUG_THRE probe: IER=0 then THRI must re-assert. */
	wr(f, IER, 0);
	wr(f, IER, 0x02);
	assert_int_equal(rd(f, IIR), 0x02);
	wr(f, IER, 0);
	assert_false(f->level);
}

static void test_thre_clear_by_disable(void **state)
{
	struct fake *f = *state;

	wr(f, IER, 0x02);
	assert_true(f->level);
	wr(f, IER, 0x00);
	assert_false(f->level);
	assert_int_equal(rd(f, IIR), 0x01);
}

static void test_rx(void **state)
{
	struct fake *f = *state;
	const uint8_t msg[] = "hi!";

	wr(f, IIR, 0x07); /* FIFO on, both cleared */
	assert_int_equal(rd(f, LSR) & 0x01, 0);
	assert_int_equal(uart_receive(f->uart, msg, 3), 3);
	assert_int_equal(rd(f, LSR) & 0x01, 0x01);
	assert_false(f->level); /* ERBFI off */
	assert_int_equal(uart_rx_space(f->uart), UART_FIFO_SIZE - 3);
	assert_int_equal(rd(f, RBR), 'h');
	assert_int_equal(rd(f, RBR), 'i');
	assert_int_equal(rd(f, RBR), '!');
	assert_int_equal(rd(f, LSR) & 0x01, 0);
	assert_int_equal(rd(f, RBR), 0); /* empty FIFO reads sanely */
	assert_int_equal(uart_rx_space(f->uart), UART_FIFO_SIZE);
}

static void test_rx_irq(void **state)
{
	struct fake *f = *state;
	uint8_t c = 'z';

	wr(f, IIR, 0x01);
	wr(f, IER, 0x01); /* ERBFI */
	assert_false(f->level);
	assert_int_equal(uart_receive(f->uart, &c, 1), 1);
	assert_true(f->level);
	assert_int_equal(rd(f, IIR), 0xc4);
	assert_true(f->level); /* IIR read does not ack RX data */
	assert_int_equal(rd(f, RBR), 'z');
	assert_false(f->level);
	assert_int_equal(rd(f, IIR), 0xc1);
}

static void test_rx_priority_over_thre(void **state)
{
	struct fake *f = *state;
	uint8_t c = 'q';

	wr(f, IIR, 0x01);
	wr(f, IER, 0x03);
	uart_receive(f->uart, &c, 1);
	assert_int_equal(rd(f, IIR), 0xc4);
	assert_int_equal(rd(f, RBR), 'q');
	assert_int_equal(rd(f, IIR), 0xc2);
	assert_int_equal(rd(f, IIR), 0xc1);
	assert_false(f->level);
}

static void test_fifo_full(void **state)
{
	struct fake *f = *state;
	uint8_t buf[UART_FIFO_SIZE + 4];
	size_t i;

	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)i;
	wr(f, IIR, 0x01);
	assert_int_equal(uart_receive(f->uart, buf, sizeof(buf)),
			 UART_FIFO_SIZE);
	assert_int_equal(uart_rx_space(f->uart), 0);
	assert_int_equal(uart_receive(f->uart, buf, 1), 0);
	/* Nothing was overrun: the host keeps the rest. */
	assert_int_equal(rd(f, LSR) & 0x02, 0);
	for (i = 0; i < UART_FIFO_SIZE; i++)
		assert_int_equal(rd(f, RBR), i);
	/* FCR clear RX empties a refilled FIFO. */
	uart_receive(f->uart, buf, 4);
	wr(f, IIR, 0x03);
	assert_int_equal(rd(f, LSR) & 0x01, 0);
}

static void test_no_fifo_holds_one_byte(void **state)
{
	struct fake *f = *state;
	const uint8_t two[] = "ab";

	/* FIFOs off (power-on): a 16450-style single holding register. */
	assert_int_equal(uart_rx_space(f->uart), 1);
	assert_int_equal(uart_receive(f->uart, two, 2), 1);
	assert_int_equal(rd(f, RBR), 'a');
	assert_int_equal(uart_receive(f->uart, two + 1, 1), 1);
	assert_int_equal(rd(f, RBR), 'b');
}

static void test_loopback_msr(void **state)
{
	struct fake *f = *state;

	/* Linux's autoconfig loopback test. */
	wr(f, MCR, 0x10 | 0x0a);
	assert_int_equal(rd(f, MSR) & 0xf0, 0x90);
	wr(f, MCR, 0x10 | 0x05); /* DTR | OUT1 -> DSR | RI */
	assert_int_equal(rd(f, MSR) & 0xf0, 0x60);
	wr(f, MCR, 0x10);
	/* RI fell (TERI), DSR fell (DDSR). */
	assert_int_equal(rd(f, MSR), 0x06);
	assert_int_equal(rd(f, MSR), 0x00); /* deltas clear on read */
	wr(f, MCR, 0x00);
	assert_int_equal(rd(f, MSR), 0xb0 | 0x0b);
	assert_int_equal(rd(f, MSR), 0xb0);
}

static void test_loopback_data(void **state)
{
	struct fake *f = *state;
	uint8_t i;

	wr(f, IIR, 0x01);
	wr(f, MCR, 0x10);
	wr(f, RBR, 'L');
	assert_int_equal(f->nout, 0); /* not sent to the host */
	assert_int_equal(rd(f, LSR) & 0x01, 0x01);
	assert_int_equal(rd(f, RBR), 'L');
	for (i = 0; i <= UART_FIFO_SIZE; i++)
		wr(f, RBR, i);
	assert_int_equal(rd(f, LSR) & 0x03, 0x03); /* DR | OE */
	assert_int_equal(rd(f, LSR) & 0x02, 0); /* OE clears on read */
}

static void test_modem_status_irq(void **state)
{
	struct fake *f = *state;

	wr(f, IER, 0x08);
	assert_false(f->level);
	wr(f, MCR, 0x10); /* leaving the "connected" state changes lines */
	assert_true(f->level);
	assert_int_equal(rd(f, IIR), 0x00);
	rd(f, MSR);
	assert_false(f->level);
	assert_int_equal(rd(f, IIR), 0x01);
}

static void test_break(void **state)
{
	struct fake *f = *state;
	uint8_t lsr;

	wr(f, IIR, 0x01);
	wr(f, IER, 0x05); /* ELSI | ERBFI */
	uart_send_break(f->uart);
	assert_true(f->level);
	assert_int_equal(rd(f, IIR), 0xc6); /* line status has priority */
	lsr = rd(f, LSR);
	assert_int_equal(lsr & 0x11, 0x11); /* BI | DR */
	assert_int_equal(lsr & 0x80, 0x80); /* error in FIFO */
	/* BI stays with the break character until RBR is read. */
	assert_int_equal(rd(f, LSR) & 0x10, 0x10);
	assert_int_equal(rd(f, IIR), 0xc6);
	assert_int_equal(rd(f, RBR), 0);
	assert_false(f->level);
	assert_int_equal(rd(f, LSR), 0x60);
}

/*
 * Linux's console write polls LSR with RX interrupts off and, for ISA
 * ports, forgets what it read: the RX interrupt that follows must still
 * see BI, or Magic SysRq turns into a NUL character.
 */
static void test_break_survives_console_lsr_polling(void **state)
{
	struct fake *f = *state;
	uint8_t key = 'c';

	wr(f, IIR, 0x01);
	wr(f, IER, 0x00); /* console write in progress */
	uart_send_break(f->uart);
	uart_receive(f->uart, &key, 1);
	assert_int_equal(rd(f, LSR) & 0x11, 0x11); /* polled, discarded */
	assert_false(f->level);
	wr(f, IER, 0x05); /* console write done: RX interrupts back on */
	assert_true(f->level);
	assert_int_equal(rd(f, IIR), 0xc6);
	assert_int_equal(rd(f, LSR) & 0x11, 0x11);
	assert_int_equal(rd(f, RBR), 0);
	assert_int_equal(rd(f, LSR) & 0x11, 0x01); /* the key: no BI */
	assert_int_equal(rd(f, RBR), 'c');
	assert_false(f->level);
}

static void test_break_behind_data(void **state)
{
	struct fake *f = *state;
	uint8_t c = 'a';

	/* BI shows when the break byte reaches the head, not before. */
	wr(f, IIR, 0x01);
	uart_receive(f->uart, &c, 1);
	uart_send_break(f->uart);
	assert_int_equal(rd(f, LSR) & 0x11, 0x01);
	assert_int_equal(rd(f, RBR), 'a');
	assert_int_equal(rd(f, LSR) & 0x11, 0x11);
	assert_int_equal(rd(f, RBR), 0);
	assert_int_equal(rd(f, LSR) & 0x11, 0);
}

static void test_break_fifo_full(void **state)
{
	struct fake *f = *state;
	uint8_t buf[UART_FIFO_SIZE] = { 0 };

	wr(f, IIR, 0x01);
	uart_receive(f->uart, buf, sizeof(buf));
	uart_send_break(f->uart);
	assert_int_equal(rd(f, LSR) & 0x13, 0x03); /* lost: overrun */
}

static void test_hostile_access(void **state)
{
	struct fake *f = *state;
	uint8_t buf[8];
	uint64_t off;
	uint32_t len;

	/* Wide access: the first byte acts, the rest reads 0. */
	wr(f, SCR, 0x42);
	memset(buf, 0xff, sizeof(buf));
	uart_bus_ops.read(f->uart, SCR, buf, 4);
	assert_int_equal(buf[0], 0x42);
	assert_int_equal(buf[1] | buf[2] | buf[3], 0);
	buf[0] = 0x17;
	buf[1] = 0x99;
	uart_bus_ops.write(f->uart, SCR, buf, 2);
	assert_int_equal(rd(f, SCR), 0x17);

	/* Zero length and out-of-range offsets are ignored. */
	uart_bus_ops.write(f->uart, SCR, buf, 0);
	uart_bus_ops.read(f->uart, SCR, buf, 0);
	assert_int_equal(rd(f, SCR), 0x17);
	memset(buf, 0xff, sizeof(buf));
	uart_bus_ops.read(f->uart, 8, buf, 1);
	assert_int_equal(buf[0], 0);
	uart_bus_ops.write(f->uart, ~0ull, buf, 1);

	/* Every register, every width, every value: nothing may break. */
	for (off = 0; off < UART_NR_REGS; off++) {
		for (len = 1; len <= 8; len++) {
			memset(buf, (int)(off * 37 + len), sizeof(buf));
			uart_bus_ops.write(f->uart, off, buf, len);
			uart_bus_ops.read(f->uart, off, buf, len);
		}
	}
	for (len = 0; len < 256; len++) {
		wr(f, (uint64_t)(len % UART_NR_REGS), (uint8_t)len);
		rd(f, (uint64_t)((len * 3) % UART_NR_REGS));
	}
	/* The model is still coherent afterwards. */
	wr(f, LCR, 0);
	wr(f, MCR, 0);
	wr(f, IER, 0);
	wr(f, IIR, 0x07);
	while (rd(f, LSR) & 0x01)
		rd(f, RBR);
	assert_int_equal(rd(f, IIR), 0xc1);
	assert_false(f->level);
}

static void test_unwired(void **state)
{
	struct uart *u;
	struct irq_pin pin = { 0 };
	struct uart_sink sink = { 0 };
	uint8_t v = 'x';

	/* No sink and no pin: writes are discarded, nothing dereferenced. */
	assert_int_equal(uart_create(&u, NULL, pin, sink), 0);
	v = 0x02;
	uart_bus_ops.write(u, IER, &v, 1);
	v = 'x';
	uart_bus_ops.write(u, RBR, &v, 1);
	uart_bus_ops.read(u, IIR, &v, 1);
	assert_int_equal(v, 0x02);
	uart_destroy(u);
	uart_destroy(NULL);
}

#define STRESS_BYTES 20000

static void *producer(void *arg)
{
	struct fake *f = arg;
	size_t sent = 0;
	uint8_t b;

	while (sent < STRESS_BYTES) {
		b = (uint8_t)(sent * 7);
		if (uart_receive(f->uart, &b, 1))
			sent++;
		else
			sched_yield();
	}
	return NULL;
}

static void test_threads(void **state)
{
	struct fake *f = *state;
	pthread_t t;
	size_t got = 0;

	/* The main thread feeds RX while a "vCPU" drains it and transmits. */
	wr(f, IIR, 0x01);
	wr(f, IER, 0x03);
	assert_int_equal(pthread_create(&t, NULL, producer, f), 0);
	while (got < STRESS_BYTES) {
		if (!(rd(f, LSR) & 0x01)) {
			sched_yield();
			continue;
		}
		assert_int_equal(rd(f, RBR), (uint8_t)(got * 7));
		got++;
		if (f->nout < sizeof(f->out))
			wr(f, RBR, (uint8_t)got);
	}
	assert_int_equal(pthread_join(t, NULL), 0);
	assert_int_equal(f->nout, sizeof(f->out));
	assert_int_equal(f->out[9], 10);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_power_on),
		T(test_scratch),
		T(test_divisor_latch),
		T(test_ier_mask),
		T(test_fifo_bits),
		T(test_thr_to_sink),
		T(test_thre_interrupt),
		T(test_thre_clear_by_disable),
		T(test_rx),
		T(test_rx_irq),
		T(test_rx_priority_over_thre),
		T(test_fifo_full),
		T(test_no_fifo_holds_one_byte),
		T(test_loopback_msr),
		T(test_loopback_data),
		T(test_modem_status_irq),
		T(test_break),
		T(test_break_survives_console_lsr_polling),
		T(test_break_behind_data),
		T(test_break_fifo_full),
		T(test_hostile_access),
		T(test_threads),
		cmocka_unit_test(test_unwired),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
