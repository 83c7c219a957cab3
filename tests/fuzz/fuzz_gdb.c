// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: what a debugger or a guest can hand the gdb stub.
 * Even first byte: a byte stream from gdb through the packet receiver and
 * every argument parser, with a frame/receive round trip. Odd: guest page
 * tables and control registers through the page walk.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "gdb/packet.h"
#include "gdb/pagewalk.h"
#include "gdb/regs.h"
#include "vmm/log.h"
#include "vmm/vm.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define check(x)                          \
	do {                              \
		if (!(x))                 \
			__builtin_trap(); \
	} while (0)

static void parse_args(const char *p, size_t len)
{
	static uint8_t raw[GDB_PACKET_MAX];
	struct gdb_vcont v[8];
	struct gdb_cpu_state st;
	uint64_t a, b, c;
	unsigned int t;
	const char *end;
	long tid;

	gdb_parse_addr_len(p + 1, &a, &b, &end);
	gdb_parse_z(p + 1, &t, &a, &b);
	gdb_parse_tid(p + 1, &tid, NULL);
	gdb_parse_tid(p + 1, &tid, &end);
	gdb_parse_vcont(p + 1, v, 8);
	gdb_parse_hex(p, &c);
	if (len / 2 <= sizeof(raw) && !gdb_hex_decode(p, len / 2, raw)) {
		memset(&st, 0, sizeof(st));
		gdb_regs_unpack(&st, raw, len / 2);
		if (len / 2 >= 16 &&
		    !gdb_reg_write(&st, raw[0] % GDB_NR_REGS, raw,
				   (size_t)gdb_reg_size(raw[0] % GDB_NR_REGS)))
			gdb_reg_read(&st, raw[0] % GDB_NR_REGS, raw);
	}
}

/* Our own frame of a packet must come back as the same bytes. */
static void round_trip(const char *p, size_t len)
{
	static char frame[2 * GDB_PACKET_MAX + 8];
	struct gdb_rx rx;
	ssize_t n = gdb_frame(p, len, frame, sizeof(frame));
	enum gdb_rx_event e = GDB_RX_NONE;

	check(n > 0);
	gdb_rx_init(&rx);
	for (ssize_t i = 0; i < n; i++)
		e = gdb_rx_feed(&rx, (uint8_t)frame[i]);
	check(e == GDB_RX_PACKET && rx.len == len);
	check(!memcmp(rx.buf, p, len));
}

static void protocol(const uint8_t *data, size_t size)
{
	static struct gdb_rx rx;
	static char pkt[GDB_PACKET_MAX + 1];

	gdb_rx_init(&rx);
	for (size_t i = 0; i < size; i++) {
		enum gdb_rx_event e = gdb_rx_feed(&rx, data[i]);

		check(rx.len <= GDB_PACKET_MAX);
		if (e != GDB_RX_PACKET)
			continue;
		check(rx.buf[rx.len] == '\0');
		memcpy(pkt, rx.buf, rx.len + 1);
		parse_args(pkt, rx.len);
		round_trip(pkt, rx.len);
	}
}

static void walk(const uint8_t *data, size_t size)
{
	static struct vm vm;
	static bool ready;
	struct x86_sregs s = { 0 };
	uint64_t regs[5] = { 0 }, gpa, left;
	size_t hdr = sizeof(regs) < size ? sizeof(regs) : size;
	uint8_t *ram;

	if (!ready) {
		if (vm_init(&vm, 64 << 20))
			return;
		ready = true;
	}
	memcpy(regs, data, hdr);
	data += hdr;
	size -= hdr;
	/* The tables live in the first MiBs; the rest of RAM is zero. */
	ram = vm_gpa_to_hva(&vm, 0, 4 << 20);
	memset(ram, 0, 4 << 20);
	memcpy(ram, data, size < (4u << 20) ? size : (4u << 20));
	s.cr0 = regs[0];
	s.cr3 = regs[1] % (8 << 20);
	s.cr4 = regs[2];
	s.efer = regs[3];
	if (!pagewalk(&vm, &s, regs[4], &gpa, &left))
		check(left > 0 && left <= (1ull << 32));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	log_set_level(LOG_OFF);
	if (!size)
		return 0;
	if (data[0] & 1)
		walk(data + 1, size - 1);
	else
		protocol(data + 1, size - 1);
	return 0;
}
