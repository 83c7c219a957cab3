// SPDX-License-Identifier: MIT
/* gdb remote protocol syntax: framing, checksums, escapes, arguments. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gdb/packet.h"
#include "gdb/stub.h"

/* Feed @s; return the last event that was not NONE (and how many). */
static enum gdb_rx_event feed(struct gdb_rx *rx, const char *s, size_t n,
			      int *count)
{
	enum gdb_rx_event last = GDB_RX_NONE, e;

	*count = 0;
	for (size_t i = 0; i < n; i++) {
		e = gdb_rx_feed(rx, (uint8_t)s[i]);
		if (e != GDB_RX_NONE) {
			last = e;
			(*count)++;
		}
	}
	return last;
}

static enum gdb_rx_event feed_str(struct gdb_rx *rx, const char *s)
{
	int count;

	return feed(rx, s, strlen(s), &count);
}

static void test_good_packet(void **state)
{
	struct gdb_rx rx;

	gdb_rx_init(&rx);
	/* 'g' is 0x67 */
	assert_int_equal(feed_str(&rx, "$g#67"), GDB_RX_PACKET);
	assert_string_equal(rx.buf, "g");
	assert_int_equal(rx.len, 1);
	/* Upper-case checksum digits are fine too. */
	assert_int_equal(feed_str(&rx, "$qC#B4"), GDB_RX_PACKET);
	assert_string_equal(rx.buf, "qC");
	/* Empty packet: checksum 00. */
	assert_int_equal(feed_str(&rx, "$#00"), GDB_RX_PACKET);
	assert_int_equal(rx.len, 0);
}

static void test_bad_checksum(void **state)
{
	struct gdb_rx rx;

	gdb_rx_init(&rx);
	assert_int_equal(feed_str(&rx, "$g#68"), GDB_RX_BAD_CHECKSUM);
	assert_int_equal(feed_str(&rx, "$g#6z"), GDB_RX_BAD_CHECKSUM);
	assert_int_equal(feed_str(&rx, "$g#x7"), GDB_RX_BAD_CHECKSUM);
	/* And the receiver recovers for the next one. */
	assert_int_equal(feed_str(&rx, "$g#67"), GDB_RX_PACKET);
}

static void test_acks_interrupt_and_junk(void **state)
{
	struct gdb_rx rx;
	int count;

	gdb_rx_init(&rx);
	assert_int_equal(gdb_rx_feed(&rx, '+'), GDB_RX_ACK);
	assert_int_equal(gdb_rx_feed(&rx, '-'), GDB_RX_NACK);
	assert_int_equal(gdb_rx_feed(&rx, 0x03), GDB_RX_INTERRUPT);
	/* Noise between packets is ignored, then the packet is taken. */
	assert_int_equal(feed(&rx, "xyz\r\n#00\x7d$g#67", 14, &count),
			 GDB_RX_PACKET);
	assert_int_equal(count, 1);
	assert_string_equal(rx.buf, "g");
	/* ^C inside a packet is data, not an interrupt. */
	assert_int_equal(feed(&rx, "$\x03#03", 5, &count), GDB_RX_PACKET);
	assert_int_equal(count, 1);
	assert_int_equal(rx.buf[0], 3);
}

static void test_truncated_packet_resyncs(void **state)
{
	struct gdb_rx rx;
	int count;

	gdb_rx_init(&rx);
	/* Cut in the data, and cut in the checksum: the next $ restarts. */
	assert_int_equal(feed(&rx, "$m1234,$g#67", 12, &count), GDB_RX_PACKET);
	assert_int_equal(count, 1);
	assert_string_equal(rx.buf, "g");
	assert_int_equal(feed(&rx, "$g#6$qC#b4", 10, &count), GDB_RX_PACKET);
	assert_int_equal(count, 1);
	assert_string_equal(rx.buf, "qC");
	/* A packet without its checksum yields nothing at all. */
	assert_int_equal(feed(&rx, "$g#", 3, &count), GDB_RX_NONE);
	assert_int_equal(count, 0);
}

static void test_escapes(void **state)
{
	struct gdb_rx rx;
	char frame[64], pkt[16];
	uint8_t data[] = { 'X', '#', '$', '}', '*', 0, 0xff };
	ssize_t n;

	gdb_rx_init(&rx);
	/* "}]" is an escaped '}' (0x7d = 0x5d ^ 0x20); sum covers "}]". */
	snprintf(pkt, sizeof(pkt), "$a}]#%02x", ('a' + '}' + ']') & 0xff);
	assert_int_equal(feed_str(&rx, pkt), GDB_RX_PACKET);
	assert_int_equal(rx.len, 2);
	assert_memory_equal(rx.buf, "a}", 2);

	/* Our frames escape what gdb would misread and round-trip. */
	n = gdb_frame(data, sizeof(data), frame, sizeof(frame));
	assert_true(n > 0);
	assert_null(memchr(frame + 1, '$', (size_t)n - 1));
	assert_null(memchr(frame + 1, '*', (size_t)n - 1));
	assert_ptr_equal(memchr(frame, '#', (size_t)n), frame + n - 3);
	for (ssize_t i = 0; i < n; i++)
		assert_int_equal(gdb_rx_feed(&rx, (uint8_t)frame[i]),
				 i == n - 1 ? GDB_RX_PACKET : GDB_RX_NONE);
	assert_int_equal(rx.len, sizeof(data));
	assert_memory_equal(rx.buf, data, sizeof(data));
}

static void test_frame_checksum_and_space(void **state)
{
	char out[16];

	assert_int_equal(gdb_frame("OK", 2, out, sizeof(out)), 6);
	assert_memory_equal(out, "$OK#9a", 6);
	assert_int_equal(gdb_frame("", 0, out, sizeof(out)), 4);
	assert_memory_equal(out, "$#00", 4);
	assert_int_equal(gdb_frame("0123456789abcdef", 16, out, sizeof(out)),
			 -ENOSPC);
	assert_int_equal(gdb_frame("OK", 2, out, 5), -ENOSPC);
}

static void test_oversize(void **state)
{
	static char big[GDB_PACKET_MAX + 16];
	struct gdb_rx rx;
	uint8_t sum = 0;
	char tail[4];
	int count;

	memset(big, 'a', sizeof(big));
	for (size_t i = 0; i < sizeof(big); i++)
		sum += 'a';
	gdb_rx_init(&rx);
	gdb_rx_feed(&rx, '$');
	assert_int_equal(feed(&rx, big, sizeof(big), &count), GDB_RX_NONE);
	snprintf(tail, sizeof(tail), "#%02x", sum);
	assert_int_equal(feed_str(&rx, tail), GDB_RX_OVERSIZE);
	/* A bad checksum wins over the size: it needs a resend. */
	gdb_rx_feed(&rx, '$');
	feed(&rx, big, sizeof(big), &count);
	assert_int_equal(feed_str(&rx, "#00"), GDB_RX_BAD_CHECKSUM);
	/* Exactly the maximum is fine. */
	gdb_rx_feed(&rx, '$');
	feed(&rx, big, GDB_PACKET_MAX, &count);
	snprintf(tail, sizeof(tail), "#%02x", (uint8_t)(GDB_PACKET_MAX * 'a'));
	assert_int_equal(feed_str(&rx, tail), GDB_RX_PACKET);
	assert_int_equal(rx.len, GDB_PACKET_MAX);
}

static void test_hex(void **state)
{
	uint8_t in[] = { 0x00, 0x7f, 0x80, 0xff }, out[4];
	char hex[9];
	uint64_t v;

	gdb_hex_encode(in, 4, hex);
	assert_string_equal(hex, "007f80ff");
	assert_int_equal(gdb_hex_decode("007F80fF", 4, out), 0);
	assert_memory_equal(in, out, 4);
	assert_int_equal(gdb_hex_decode("0g", 1, out), -EINVAL);
	assert_int_equal(gdb_hex_decode("0", 1, out), -EINVAL);

	assert_string_equal(gdb_parse_hex("ffffffff81000000,", &v), ",");
	assert_true(v == 0xffffffff81000000ull);
	assert_null(gdb_parse_hex("", &v));
	assert_null(gdb_parse_hex(",1", &v));
	assert_null(gdb_parse_hex("10000000000000000", &v)); /* 17 digits */
}

static void test_addr_len_and_z(void **state)
{
	uint64_t addr, len, kind;
	unsigned int type;
	const char *end;

	assert_int_equal(gdb_parse_addr_len("1000,20", &addr, &len, &end), 0);
	assert_true(addr == 0x1000 && len == 0x20 && *end == '\0');
	assert_int_equal(gdb_parse_addr_len("1000,2:ab", &addr, &len, &end), 0);
	assert_string_equal(end, ":ab");
	assert_int_equal(gdb_parse_addr_len("1000", &addr, &len, &end),
			 -EINVAL);
	assert_int_equal(gdb_parse_addr_len(",4", &addr, &len, &end), -EINVAL);
	assert_int_equal(gdb_parse_addr_len("1,", &addr, &len, &end), -EINVAL);

	assert_int_equal(
		gdb_parse_z("0,ffffffff81afba70,1", &type, &addr, &kind), 0);
	assert_true(type == 0 && addr == 0xffffffff81afba70ull && kind == 1);
	assert_int_equal(gdb_parse_z("2,1000,8;X2,0a", &type, &addr, &kind), 0);
	assert_int_equal(type, 2);
	assert_int_equal(gdb_parse_z("5,1000,1", &type, &addr, &kind), -EINVAL);
	assert_int_equal(gdb_parse_z("1,1000", &type, &addr, &kind), -EINVAL);
	assert_int_equal(gdb_parse_z("1,1000,1x", &type, &addr, &kind),
			 -EINVAL);
}

static void test_tid_and_vcont(void **state)
{
	struct gdb_vcont v[4];
	long tid;

	assert_int_equal(gdb_parse_tid("-1", &tid, NULL), 0);
	assert_int_equal(tid, -1);
	assert_int_equal(gdb_parse_tid("0", &tid, NULL), 0);
	assert_int_equal(tid, 0);
	assert_int_equal(gdb_parse_tid("1f", &tid, NULL), 0);
	assert_int_equal(tid, 31);
	assert_int_equal(gdb_parse_tid("p1.2", &tid, NULL), 0);
	assert_int_equal(tid, 2);
	assert_int_equal(gdb_parse_tid("", &tid, NULL), -EINVAL);
	assert_int_equal(gdb_parse_tid("1x", &tid, NULL), -EINVAL);
	assert_int_equal(gdb_parse_tid("-2", &tid, NULL), -EINVAL);

	assert_int_equal(gdb_parse_vcont(";c", v, 4), 1);
	assert_true(v[0].action == 'c' && v[0].tid == -1);
	assert_int_equal(gdb_parse_vcont(";s:1;c", v, 4), 2);
	assert_true(v[0].action == 's' && v[0].tid == 1);
	assert_true(v[1].action == 'c' && v[1].tid == -1);
	assert_int_equal(gdb_parse_vcont(";C05:2;S0b;t:p1.3", v, 4), 3);
	assert_true(v[0].action == 'c' && v[0].tid == 2);
	assert_true(v[1].action == 's' && v[1].tid == -1);
	assert_true(v[2].action == 't' && v[2].tid == 3);
	assert_int_equal(gdb_parse_vcont("", v, 4), -EINVAL);
	assert_int_equal(gdb_parse_vcont(";x", v, 4), -EINVAL);
	assert_int_equal(gdb_parse_vcont(";c:", v, 4), -EINVAL);
	assert_int_equal(gdb_parse_vcont(";c;c;c;c;c", v, 4), -EINVAL);
	assert_int_equal(gdb_parse_vcont(";C", v, 4), -EINVAL);
}

static void test_config_parse(void **state)
{
	struct gdb_config c;

	memset(&c, 0, sizeof(c));
	assert_int_equal(gdb_config_parse("tcp:127.0.0.1:1234", &c), 0);
	assert_string_equal(c.host, "127.0.0.1");
	assert_int_equal(c.port, 1234);
	assert_true(c.enabled);
	assert_int_equal(gdb_config_parse("1235", &c), 0);
	assert_string_equal(c.host, "127.0.0.1");
	assert_int_equal(c.port, 1235);
	assert_int_equal(gdb_config_parse("tcp::1236", &c), 0);
	assert_string_equal(c.host, "127.0.0.1");
	assert_int_equal(gdb_config_parse("0.0.0.0:7", &c), 0);
	assert_string_equal(c.host, "0.0.0.0");
	assert_int_equal(gdb_config_parse("tcp:[::1]:9", &c), 0);
	assert_string_equal(c.host, "::1");
	assert_int_equal(c.port, 9);
	assert_int_equal(gdb_config_parse("tcp:localhost:0", &c), 0);
	assert_int_equal(c.port, 0);
	assert_int_equal(gdb_config_parse("", &c), -EINVAL);
	assert_int_equal(gdb_config_parse("tcp:", &c), -EINVAL);
	assert_int_equal(gdb_config_parse("host:", &c), -EINVAL);
	assert_int_equal(gdb_config_parse("65536", &c), -EINVAL);
	assert_int_equal(gdb_config_parse("-1", &c), -EINVAL);
	assert_int_equal(gdb_config_parse("12ab", &c), -EINVAL);
	assert_int_equal(gdb_config_parse("[::1:9", &c), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_packet),
		cmocka_unit_test(test_bad_checksum),
		cmocka_unit_test(test_acks_interrupt_and_junk),
		cmocka_unit_test(test_truncated_packet_resyncs),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_frame_checksum_and_space),
		cmocka_unit_test(test_oversize),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_addr_len_and_z),
		cmocka_unit_test(test_tid_and_vcont),
		cmocka_unit_test(test_config_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
