/* SPDX-License-Identifier: MIT */
/*
 * GDB remote serial protocol, the syntax only: packet framing ($data#cs),
 * checksums, escapes, hex, and the argument forms of the commands we serve.
 * No I/O and no state beyond one receiver; fuzzed by tests/fuzz/fuzz_gdb.c.
 */
#ifndef GDB_PACKET_H
#define GDB_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Largest packet payload we take or send (our qSupported PacketSize). */
#define GDB_PACKET_MAX 4096

enum gdb_rx_event {
	GDB_RX_NONE, /* byte taken, nothing complete yet */
	GDB_RX_PACKET, /* good packet in rx->buf (unescaped, NUL-terminated) */
	GDB_RX_BAD_CHECKSUM, /* answer '-': the sender retransmits */
	GDB_RX_OVERSIZE, /* good checksum but longer than GDB_PACKET_MAX */
	GDB_RX_INTERRUPT, /* 0x03 between packets: stop the target */
	GDB_RX_ACK, /* '+' */
	GDB_RX_NACK, /* '-': resend the last packet */
};

/* One receiver. Bytes outside packets other than + - ^C are ignored. */
struct gdb_rx {
	int state;
	uint8_t sum, csum;
	bool overflow;
	size_t len;
	char buf[GDB_PACKET_MAX + 1];
};

void gdb_rx_init(struct gdb_rx *rx);
/*
 * Feed one received byte. A '$' always starts a new packet, so a truncated
 * packet is dropped when the next one begins. '}' escapes the next byte
 * (xor 0x20) inside packets; the checksum covers the bytes as sent.
 */
enum gdb_rx_event gdb_rx_feed(struct gdb_rx *rx, uint8_t c);

/*
 * Frame @len bytes of @data as "$data#cs" into @out, escaping $ # } and *
 * (gdb would read '*' as run-length encoding). Returns the frame length,
 * or -ENOSPC if @cap is too small.
 */
ssize_t gdb_frame(const void *data, size_t len, char *out, size_t cap);

/* Value of hex digit @c, or -1. */
int gdb_hex_digit(char c);
/* Write 2 * @n lowercase hex digits of @in and a NUL to @out. */
void gdb_hex_encode(const uint8_t *in, size_t n, char *out);
/* Decode exactly @n bytes from 2 * @n hex digits. 0 or -EINVAL. */
int gdb_hex_decode(const char *in, size_t n, uint8_t *out);
/*
 * Parse a hex number of at most 16 digits at @p. Returns the first byte
 * after it, or NULL if there is no digit or it overflows 64 bits.
 */
const char *gdb_parse_hex(const char *p, uint64_t *v);

/* "ADDR,LEN" (m, M, X); @end gets the byte after LEN. 0 or -EINVAL. */
int gdb_parse_addr_len(const char *p, uint64_t *addr, uint64_t *len,
		       const char **end);
/* "TYPE,ADDR,KIND" of Z and z; conditions after ';' are ignored. */
int gdb_parse_z(const char *p, unsigned int *type, uint64_t *addr,
		uint64_t *kind);
/*
 * A thread id: "-1" (all) gives -1, "0" (any) 0, else the hex id;
 * "pPID.TID" (multiprocess syntax) gives TID. @end may be NULL.
 * 0 or -EINVAL.
 */
int gdb_parse_tid(const char *p, long *tid, const char **end);

/* One vCont action: 'c', 's' or 't' for thread @tid (-1: all others). */
struct gdb_vcont {
	char action;
	long tid;
};

/*
 * Parse the part of "vCont;ACTION[:TID];..." after "vCont". C and S (with
 * a signal) count as c and s: a VM has no signals to deliver. Returns the
 * number of actions, or -EINVAL (also for more than @max).
 */
int gdb_parse_vcont(const char *p, struct gdb_vcont *acts, size_t max);

#endif
