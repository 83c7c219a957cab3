// SPDX-License-Identifier: MIT
/*
 * A 16550A UART as Linux's 8250 driver sees it: autoconfig (IER mask,
 * loopback MSR test, FIFO bits in IIR), the THRE re-assert test at startup,
 * interrupt-driven RX/TX and break (Magic SysRq).
 *
 * Transmission is synchronous: a THR write goes straight to the sink, so
 * THR is always empty and THRE/TEMT are always set.
 *
 * The IRQ is not gated on MCR.OUT2: Linux sets OUT2 itself whenever the
 * port has an IRQ, and kvmtool and QEMU do not gate either, so gating would
 * only add a way to lose interrupts.
 */
#include "serial/uart16550.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/log.h"

/* Register offsets. */
#define UART_RBR 0 /* THR on write; DLL when DLAB */
#define UART_IER 1 /* DLM when DLAB */
#define UART_IIR 2 /* FCR on write */
#define UART_LCR 3
#define UART_MCR 4
#define UART_LSR 5
#define UART_MSR 6
#define UART_SCR 7

#define IER_ERBFI 0x01 /* RX data available */
#define IER_ETBEI 0x02 /* THR empty */
#define IER_ELSI 0x04 /* line status */
#define IER_EDSSI 0x08 /* modem status */
#define IER_MASK 0x0f /* Linux's autoconfig expects bits 4..7 to read 0 */

#define IIR_NO_INT 0x01
#define IIR_THRI 0x02
#define IIR_RDI 0x04
#define IIR_RLSI 0x06
#define IIR_MSI 0x00
#define IIR_FIFO_BITS 0xc0

#define FCR_ENABLE 0x01
#define FCR_CLEAR_RX 0x02
#define FCR_CLEAR_TX 0x04

#define LCR_DLAB 0x80

#define MCR_DTR 0x01
#define MCR_RTS 0x02
#define MCR_OUT1 0x04
#define MCR_OUT2 0x08
#define MCR_LOOP 0x10
#define MCR_MASK 0x1f

#define LSR_DR 0x01
#define LSR_OE 0x02
#define LSR_BI 0x10
#define LSR_THRE 0x20
#define LSR_TEMT 0x40
#define LSR_FIFOE 0x80

#define MSR_DCTS 0x01
#define MSR_DDSR 0x02
#define MSR_TERI 0x04
#define MSR_DDCD 0x08
#define MSR_CTS 0x10
#define MSR_DSR 0x20
#define MSR_RI 0x40
#define MSR_DCD 0x80
/* Out of loopback a modem is always "connected", so getty never waits. */
#define MSR_CONNECTED (MSR_DCD | MSR_DSR | MSR_CTS)

struct uart {
	pthread_mutex_t lock; /* all register state below */
	pthread_mutex_t tx_lock; /* keeps sink output in THR write order */
	char name[32];
	struct irq_pin irq;
	struct uart_sink sink;

	uint8_t rx[UART_FIFO_SIZE];
	bool rx_brk[UART_FIFO_SIZE]; /* this byte came with a break */
	unsigned int rx_head, rx_count;

	uint8_t ier, lcr, mcr, scr, dll, dlm;
	bool fifo_on;
	uint8_t lsr_err; /* LSR.OE: sticky until LSR is read */
	uint8_t msr_lines; /* MSR bits 4..7 */
	uint8_t msr_delta; /* MSR bits 0..3, cleared by reading MSR */
	bool thre_pending;
	bool irq_level;
};

/* Without FIFOs the 16550A holds one received byte, like a 16450. */
static unsigned int rx_capacity(const struct uart *u)
{
	return u->fifo_on ? UART_FIFO_SIZE : 1;
}

/*
 * LSR.BI belongs to the break character while it is at the FIFO head, and
 * stays visible until that character is read from RBR (not merely until
 * the next LSR read). Linux's 8250 console write polls LSR with RX
 * interrupts off and, for legacy ISA ports, does not save what it sees
 * (lsr_save_mask is 0 there): a BI cleared by that read would turn a
 * Magic SysRq break into a plain NUL.
 */
static bool rx_head_is_break(const struct uart *u)
{
	return u->rx_count && u->rx_brk[u->rx_head];
}

static bool rx_push(struct uart *u, uint8_t byte, bool brk)
{
	unsigned int tail;

	if (u->rx_count >= rx_capacity(u))
		return false;
	tail = (u->rx_head + u->rx_count) % UART_FIFO_SIZE;
	u->rx[tail] = byte;
	u->rx_brk[tail] = brk;
	u->rx_count++;
	return true;
}

static uint8_t rx_pop(struct uart *u)
{
	uint8_t byte;

	if (!u->rx_count)
		return 0;
	byte = u->rx[u->rx_head];
	u->rx_brk[u->rx_head] = false;
	u->rx_head = (u->rx_head + 1) % UART_FIFO_SIZE;
	u->rx_count--;
	return byte;
}

static void rx_clear(struct uart *u)
{
	memset(u->rx_brk, 0, sizeof(u->rx_brk));
	u->rx_head = 0;
	u->rx_count = 0;
}

static bool rx_has_break(const struct uart *u)
{
	unsigned int i;

	for (i = 0; i < u->rx_count; i++)
		if (u->rx_brk[(u->rx_head + i) % UART_FIFO_SIZE])
			return true;
	return false;
}

/* The highest-priority pending and enabled interrupt, as IIR bits 0..3. */
static uint8_t iir_id(const struct uart *u)
{
	if ((u->ier & IER_ELSI) &&
	    ((u->lsr_err & LSR_OE) || rx_head_is_break(u)))
		return IIR_RLSI;
	if ((u->ier & IER_ERBFI) && u->rx_count)
		return IIR_RDI;
	if ((u->ier & IER_ETBEI) && u->thre_pending)
		return IIR_THRI;
	if ((u->ier & IER_EDSSI) && u->msr_delta)
		return IIR_MSI;
	return IIR_NO_INT;
}

/* Called with the lock held so level changes reach the pin in order. */
static void update_irq(struct uart *u)
{
	bool level = iir_id(u) != IIR_NO_INT;
	int ret;

	if (level == u->irq_level)
		return;
	ret = irq_pin_set(&u->irq, level);
	if (ret) {
		/* Keep the old level so the next change retries. */
		log_debug("%s: irq %u: %s", u->name, u->irq.irq,
			  strerror(-ret));
		return;
	}
	u->irq_level = level;
}

/* Modem lines as the guest sees them: looped back from MCR in LOOP mode. */
static uint8_t modem_lines(const struct uart *u)
{
	uint8_t m = u->mcr;

	if (!(m & MCR_LOOP))
		return MSR_CONNECTED;
	return (m & MCR_RTS ? MSR_CTS : 0) | (m & MCR_DTR ? MSR_DSR : 0) |
	       (m & MCR_OUT1 ? MSR_RI : 0) | (m & MCR_OUT2 ? MSR_DCD : 0);
}

static void write_mcr(struct uart *u, uint8_t val)
{
	uint8_t old = u->msr_lines, now;

	u->mcr = val & MCR_MASK;
	now = modem_lines(u);
	if ((old ^ now) & MSR_CTS)
		u->msr_delta |= MSR_DCTS;
	if ((old ^ now) & MSR_DSR)
		u->msr_delta |= MSR_DDSR;
	if ((old & MSR_RI) && !(now & MSR_RI))
		u->msr_delta |= MSR_TERI; /* trailing edge only */
	if ((old ^ now) & MSR_DCD)
		u->msr_delta |= MSR_DDCD;
	u->msr_lines = now;
}

static void write_ier(struct uart *u, uint8_t val)
{
	uint8_t old = u->ier;

	u->ier = val & IER_MASK;
	/*
	 * THR is always empty, so enabling ETBEI raises THRE at once; Linux's
	 * start_tx and its UART_BUG_THRE probe rely on that edge.
	 */
	if ((old ^ u->ier) & IER_ETBEI)
		u->thre_pending = u->ier & IER_ETBEI;
}

static void write_fcr(struct uart *u, uint8_t val)
{
	bool on = val & FCR_ENABLE;

	/* Switching FIFO mode resets both FIFOs, as on real parts. */
	if (on != u->fifo_on || (val & FCR_CLEAR_RX))
		rx_clear(u);
	if (on != u->fifo_on || (val & FCR_CLEAR_TX))
		u->thre_pending = true;
	u->fifo_on = on;
}

/*
 * A THR write: loop it back or hand it to the caller for the sink.
 * Returns true if *@out must be sent.
 */
static bool write_thr(struct uart *u, uint8_t val, uint8_t *out)
{
	bool send = false;

	if (u->mcr & MCR_LOOP) {
		if (!rx_push(u, val, false))
			u->lsr_err |= LSR_OE;
	} else {
		*out = val;
		send = true;
	}
	u->thre_pending = true; /* sent at once: THR is empty again */
	return send;
}

/* Returns true if *@out must be sent to the sink. */
static bool reg_write(struct uart *u, unsigned int reg, uint8_t val,
		      uint8_t *out)
{
	bool dlab = u->lcr & LCR_DLAB;

	switch (reg) {
	case UART_RBR:
		if (dlab) {
			u->dll = val;
			return false;
		}
		return write_thr(u, val, out);
	case UART_IER:
		if (dlab)
			u->dlm = val;
		else
			write_ier(u, val);
		break;
	case UART_IIR:
		write_fcr(u, val);
		break;
	case UART_LCR:
		u->lcr = val;
		break;
	case UART_MCR:
		write_mcr(u, val);
		break;
	case UART_SCR:
		u->scr = val;
		break;
	default:
		/* LSR and MSR are read-only; test-mode writes are dropped. */
		break;
	}
	return false;
}

static uint8_t read_iir(struct uart *u)
{
	uint8_t id = iir_id(u);

	/* Reading IIR acknowledges THRE, and only when it reports THRE. */
	if (id == IIR_THRI)
		u->thre_pending = false;
	return id | (u->fifo_on ? IIR_FIFO_BITS : 0);
}

static uint8_t read_lsr(struct uart *u)
{
	uint8_t lsr = LSR_THRE | LSR_TEMT | u->lsr_err;

	if (rx_head_is_break(u))
		lsr |= LSR_BI;
	if (u->rx_count)
		lsr |= LSR_DR;
	if (u->fifo_on && rx_has_break(u))
		lsr |= LSR_FIFOE;
	u->lsr_err = 0;
	return lsr;
}

static uint8_t read_msr(struct uart *u)
{
	uint8_t msr = u->msr_lines | u->msr_delta;

	u->msr_delta = 0;
	return msr;
}

static uint8_t reg_read(struct uart *u, unsigned int reg)
{
	bool dlab = u->lcr & LCR_DLAB;

	switch (reg) {
	case UART_RBR:
		return dlab ? u->dll : rx_pop(u);
	case UART_IER:
		return dlab ? u->dlm : u->ier;
	case UART_IIR:
		return read_iir(u);
	case UART_LCR:
		return u->lcr;
	case UART_MCR:
		return u->mcr;
	case UART_LSR:
		return read_lsr(u);
	case UART_MSR:
		return read_msr(u);
	default:
		return u->scr;
	}
}

/* Accesses wider than a byte act on the first byte; the rest reads 0. */
static void uart_read(void *opaque, uint64_t off, uint8_t *data, uint32_t len)
{
	struct uart *u = opaque;

	if (!len)
		return;
	memset(data, 0, len);
	if (off >= UART_NR_REGS)
		return;
	pthread_mutex_lock(&u->lock);
	data[0] = reg_read(u, (unsigned int)off);
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
}

static void uart_write(void *opaque, uint64_t off, const uint8_t *data,
		       uint32_t len)
{
	struct uart *u = opaque;
	uint8_t out = 0;
	bool send;

	if (!len || off >= UART_NR_REGS)
		return;
	/*
	 * tx_lock is held across the sink so bytes leave in THR order, while
	 * the state lock is dropped so a slow sink never blocks the main
	 * thread in uart_receive().
	 */
	pthread_mutex_lock(&u->tx_lock);
	pthread_mutex_lock(&u->lock);
	send = reg_write(u, (unsigned int)off, data[0], &out);
	update_irq(u);
	pthread_mutex_unlock(&u->lock);
	if (send && u->sink.write)
		u->sink.write(u->sink.opaque, &out, 1);
	pthread_mutex_unlock(&u->tx_lock);
}

const struct bus_ops uart_bus_ops = {
	.read = uart_read,
	.write = uart_write,
};

static void uart_reset(struct uart *u)
{
	rx_clear(u);
	u->ier = 0;
	u->lcr = 0;
	u->mcr = 0;
	u->scr = 0;
	u->dll = 12; /* 9600 baud from a 1.8432 MHz clock, a common default */
	u->dlm = 0;
	u->fifo_on = false;
	u->lsr_err = 0;
	u->msr_lines = modem_lines(u);
	u->msr_delta = 0;
	u->thre_pending = false;
	u->irq_level = false;
}

int uart_create(struct uart **out, const char *name, struct irq_pin irq,
		struct uart_sink sink)
{
	struct uart *u;
	int ret;

	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	ret = pthread_mutex_init(&u->lock, NULL);
	if (ret)
		goto err_free;
	ret = pthread_mutex_init(&u->tx_lock, NULL);
	if (ret)
		goto err_lock;
	snprintf(u->name, sizeof(u->name), "%s", name ? name : "uart");
	u->irq = irq;
	u->sink = sink;
	uart_reset(u);
	*out = u;
	return 0;

err_lock:
	pthread_mutex_destroy(&u->lock);
err_free:
	free(u);
	return -ret;
}

void uart_destroy(struct uart *uart)
{
	if (!uart)
		return;
	pthread_mutex_destroy(&uart->tx_lock);
	pthread_mutex_destroy(&uart->lock);
	free(uart);
}

size_t uart_receive(struct uart *uart, const uint8_t *buf, size_t len)
{
	size_t n = 0;

	pthread_mutex_lock(&uart->lock);
	while (n < len && rx_push(uart, buf[n], false))
		n++;
	update_irq(uart);
	pthread_mutex_unlock(&uart->lock);
	return n;
}

size_t uart_rx_space(struct uart *uart)
{
	size_t space;

	pthread_mutex_lock(&uart->lock);
	space = rx_capacity(uart) - uart->rx_count;
	pthread_mutex_unlock(&uart->lock);
	return space;
}

void uart_send_break(struct uart *uart)
{
	pthread_mutex_lock(&uart->lock);
	/*
	 * A break arrives as a 0 byte flagged BI; LSR.BI shows when it
	 * reaches the FIFO head. With no room it is lost, as on hardware.
	 */
	if (!rx_push(uart, 0, true)) {
		uart->lsr_err |= LSR_OE;
		log_debug("%s: RX FIFO full, break lost", uart->name);
	}
	update_irq(uart);
	pthread_mutex_unlock(&uart->lock);
}
