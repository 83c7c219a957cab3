// SPDX-License-Identifier: MIT
#include "gdb/packet.h"

#include <errno.h>
#include <string.h>

enum { RX_IDLE, RX_DATA, RX_ESCAPE, RX_CSUM1, RX_CSUM2 };

void gdb_rx_init(struct gdb_rx *rx)
{
	memset(rx, 0, sizeof(*rx));
	rx->state = RX_IDLE;
}

static void rx_start(struct gdb_rx *rx)
{
	rx->state = RX_DATA;
	rx->sum = 0;
	rx->len = 0;
	rx->overflow = false;
}

static void rx_put(struct gdb_rx *rx, uint8_t c)
{
	if (rx->len < GDB_PACKET_MAX)
		rx->buf[rx->len++] = (char)c;
	else
		rx->overflow = true;
}

static enum gdb_rx_event rx_idle(struct gdb_rx *rx, uint8_t c)
{
	switch (c) {
	case '$':
		rx_start(rx);
		return GDB_RX_NONE;
	case '+':
		return GDB_RX_ACK;
	case '-':
		return GDB_RX_NACK;
	case 0x03:
		return GDB_RX_INTERRUPT;
	default:
		return GDB_RX_NONE; /* noise between packets */
	}
}

static enum gdb_rx_event rx_end(struct gdb_rx *rx, int lo)
{
	rx->state = RX_IDLE;
	if (lo < 0 || (uint8_t)(rx->csum | lo) != rx->sum)
		return GDB_RX_BAD_CHECKSUM;
	rx->buf[rx->len] = '\0';
	return rx->overflow ? GDB_RX_OVERSIZE : GDB_RX_PACKET;
}

enum gdb_rx_event gdb_rx_feed(struct gdb_rx *rx, uint8_t c)
{
	int d;

	if (rx->state == RX_IDLE)
		return rx_idle(rx, c);
	/* A '$' never appears inside a packet: the last one was cut short. */
	if (c == '$' && rx->state != RX_ESCAPE) {
		rx_start(rx);
		return GDB_RX_NONE;
	}
	switch (rx->state) {
	case RX_DATA:
		if (c == '#') {
			rx->state = RX_CSUM1;
			break;
		}
		rx->sum += c;
		if (c == '}')
			rx->state = RX_ESCAPE;
		else
			rx_put(rx, c);
		break;
	case RX_ESCAPE:
		rx->sum += c;
		rx_put(rx, c ^ 0x20);
		rx->state = RX_DATA;
		break;
	case RX_CSUM1:
		d = gdb_hex_digit((char)c);
		if (d < 0) {
			rx->state = RX_IDLE;
			return GDB_RX_BAD_CHECKSUM;
		}
		rx->csum = (uint8_t)(d << 4);
		rx->state = RX_CSUM2;
		break;
	default: /* RX_CSUM2 */
		return rx_end(rx, gdb_hex_digit((char)c));
	}
	return GDB_RX_NONE;
}

static const char hexdigits[] = "0123456789abcdef";

ssize_t gdb_frame(const void *data, size_t len, char *out, size_t cap)
{
	const uint8_t *p = data;
	uint8_t sum = 0;
	size_t n = 0;

	if (cap < 4)
		return -ENOSPC;
	out[n++] = '$';
	for (size_t i = 0; i < len; i++) {
		uint8_t c = p[i];
		bool esc = c == '$' || c == '#' || c == '}' || c == '*';

		if (n + (esc ? 2 : 1) + 3 > cap)
			return -ENOSPC;
		if (esc) {
			out[n++] = '}';
			sum += '}';
			c ^= 0x20;
		}
		out[n++] = (char)c;
		sum += c;
	}
	out[n++] = '#';
	out[n++] = hexdigits[sum >> 4];
	out[n++] = hexdigits[sum & 15];
	return (ssize_t)n;
}

int gdb_hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void gdb_hex_encode(const uint8_t *in, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hexdigits[in[i] >> 4];
		out[2 * i + 1] = hexdigits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

int gdb_hex_decode(const char *in, size_t n, uint8_t *out)
{
	for (size_t i = 0; i < n; i++) {
		int hi = gdb_hex_digit(in[2 * i]);
		int lo = hi < 0 ? -1 : gdb_hex_digit(in[2 * i + 1]);

		if (lo < 0)
			return -EINVAL;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return 0;
}

const char *gdb_parse_hex(const char *p, uint64_t *v)
{
	uint64_t x = 0;
	int n = 0, d;

	while ((d = gdb_hex_digit(p[n])) >= 0) {
		if (n == 16)
			return NULL;
		x = x << 4 | (uint64_t)d;
		n++;
	}
	if (!n)
		return NULL;
	*v = x;
	return p + n;
}

int gdb_parse_addr_len(const char *p, uint64_t *addr, uint64_t *len,
		       const char **end)
{
	p = gdb_parse_hex(p, addr);
	if (!p || *p != ',')
		return -EINVAL;
	p = gdb_parse_hex(p + 1, len);
	if (!p)
		return -EINVAL;
	*end = p;
	return 0;
}

int gdb_parse_z(const char *p, unsigned int *type, uint64_t *addr,
		uint64_t *kind)
{
	uint64_t t;

	p = gdb_parse_hex(p, &t);
	if (!p || *p != ',' || t > 4)
		return -EINVAL;
	p = gdb_parse_hex(p + 1, addr);
	if (!p || *p != ',')
		return -EINVAL;
	p = gdb_parse_hex(p + 1, kind);
	if (!p || (*p && *p != ';'))
		return -EINVAL;
	*type = (unsigned int)t;
	return 0;
}

int gdb_parse_tid(const char *p, long *tid, const char **end)
{
	uint64_t v;

	if (*p == 'p') { /* pPID.TID: the process part does not matter */
		p = strchr(p, '.');
		if (!p)
			return -EINVAL;
		p++;
	}
	if (p[0] == '-' && p[1] == '1') {
		*tid = -1;
		p += 2;
	} else {
		p = gdb_parse_hex(p, &v);
		if (!p || v > 0x7fffffff)
			return -EINVAL;
		*tid = (long)v;
	}
	if (end)
		*end = p;
	else if (*p)
		return -EINVAL;
	return 0;
}

int gdb_parse_vcont(const char *p, struct gdb_vcont *acts, size_t max)
{
	size_t n = 0;

	while (*p == ';') {
		char a = p[1];
		uint64_t sig;

		if (n == max)
			return -EINVAL;
		p += 2;
		if (a == 'C' || a == 'S') {
			p = gdb_parse_hex(p, &sig);
			if (!p)
				return -EINVAL;
			a = a == 'C' ? 'c' : 's';
		} else if (a != 'c' && a != 's' && a != 't') {
			return -EINVAL;
		}
		acts[n].action = a;
		acts[n].tid = -1;
		if (*p == ':' && gdb_parse_tid(p + 1, &acts[n].tid, &p))
			return -EINVAL;
		if (*p && *p != ';')
			return -EINVAL;
		n++;
	}
	return *p || !n ? -EINVAL : (int)n;
}
