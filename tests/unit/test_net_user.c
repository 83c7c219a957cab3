// SPDX-License-Identifier: MIT
/*
 * The user-mode (libslirp) network backend, driven without a VM: the test
 * plays the guest, sending Ethernet frames built here and polling the
 * backend in a bounded loop; real host sockets on 127.0.0.1 stand in for
 * the outside world.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net/backend.h"
#include "tests/unit/fake_capture.h"
#include "vmm/pollset.h"

#define IP_GUEST 0x0a00020fu /* 10.0.2.15 */
#define IP_HOST 0x0a000202u /* 10.0.2.2 */
#define IP_BCAST 0xffffffffu
#define ETH_ARP 0x0806
#define ETH_IP 0x0800
#define PROTO_TCP 6
#define PROTO_UDP 17
#define TCP_SYN 0x02
#define TCP_ACK 0x10
#define GUEST_PORT 40000
#define BOOTP_LEN 548 /* 236 fixed + 312 options: what slirp requires */
#define MAX_FRAMES 64
#define DEADLINE_MS 3000

static const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const uint8_t slirp_mac[6] = { 0x52, 0x55, 0x0a, 0x00, 0x02, 0x02 };
static const uint8_t bcast_mac[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

struct frame {
	uint8_t data[2048];
	size_t len;
	bool arp_answered;
};

struct ctx {
	struct net_backend *be;
	struct pollset ps;
	struct frame frames[MAX_FRAMES];
	unsigned int nr_frames;
	unsigned int refuse; /* rx: say -ENOBUFS to this many frames */
	unsigned int uncaptured; /* delivered once frames[] was full */
	int listen_fd; /* the test's host listener, -1 if none */
	int accepted_fd;
	uint32_t seq; /* of the guest's SYN */
	uint16_t port; /* the host side's TCP port */
	int timeout_seen; /* the pollset timeout after poll_fill, last round */
	uint8_t buf[NET_MAX_FRAME + 64];
};

/* ---- byte order and checksums ---- */

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v >> 8;
	p[1] = v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v >> 16);
	put16(p + 2, v);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

static uint32_t sum16(const uint8_t *p, size_t len, uint32_t sum)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += get16(p + i);
	if (len & 1)
		sum += p[len - 1] << 8;
	return sum;
}

static uint16_t fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* ---- building frames ---- */

static size_t put_eth(uint8_t *p, const uint8_t *dst, uint16_t type)
{
	memcpy(p, dst, 6);
	memcpy(p + 6, guest_mac, 6);
	put16(p + 12, type);
	return 14;
}

/* IPv4 header at @p for @l4len bytes of @proto that follow it. */
static size_t put_ip(uint8_t *p, uint8_t proto, uint32_t src, uint32_t dst,
		     size_t l4len)
{
	memset(p, 0, 20);
	p[0] = 0x45;
	put16(p + 2, (uint16_t)(20 + l4len));
	p[8] = 64;
	p[9] = proto;
	put32(p + 12, src);
	put32(p + 16, dst);
	put16(p + 10, fold(sum16(p, 20, 0)));
	return 20;
}

/* The TCP/UDP checksum of the @len bytes at @l4, with the pseudo header. */
static uint16_t l4_csum(const uint8_t *ip, const uint8_t *l4, size_t len)
{
	uint32_t sum = sum16(ip + 12, 8, 0) + ip[9] + (uint32_t)len;

	return fold(sum16(l4, len, sum));
}

static size_t arp_frame(uint8_t *p, uint16_t op, const uint8_t *dst_mac,
			uint32_t target_ip)
{
	size_t n = put_eth(p, op == 1 ? bcast_mac : dst_mac, ETH_ARP);
	uint8_t *a = p + n;

	memset(a, 0, 46); /* ARP, then padding to the 60-byte minimum */
	put16(a, 1);
	put16(a + 2, ETH_IP);
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, op);
	memcpy(a + 8, guest_mac, 6);
	put32(a + 14, IP_GUEST);
	if (op == 2)
		memcpy(a + 18, dst_mac, 6);
	put32(a + 24, target_ip);
	return n + 46;
}

static size_t dhcp_discover(uint8_t *p, uint32_t xid)
{
	size_t n = put_eth(p, bcast_mac, ETH_IP);
	uint8_t *ip = p + n, *udp = ip + 20, *bp = udp + 8, *opt;

	put_ip(ip, PROTO_UDP, 0, IP_BCAST, 8 + BOOTP_LEN);
	put16(udp, 68);
	put16(udp + 2, 67);
	put16(udp + 4, 8 + BOOTP_LEN);
	put16(udp + 6, 0); /* no UDP checksum: allowed over IPv4 */
	memset(bp, 0, BOOTP_LEN);
	bp[0] = 1; /* BOOTREQUEST */
	bp[1] = 1; /* Ethernet */
	bp[2] = 6;
	put32(bp + 4, xid);
	memcpy(bp + 28, guest_mac, 6);
	opt = bp + 236;
	put32(opt, 0x63825363); /* the magic cookie */
	opt[4] = 53; /* DHCP message type: DISCOVER */
	opt[5] = 1;
	opt[6] = 1;
	opt[7] = 255;
	return n + 20 + 8 + BOOTP_LEN;
}

static size_t tcp_syn(uint8_t *p, uint32_t dst_ip, uint16_t dport, uint32_t seq)
{
	size_t n = put_eth(p, slirp_mac, ETH_IP);
	uint8_t *ip = p + n, *tcp = ip + 20;

	put_ip(ip, PROTO_TCP, IP_GUEST, dst_ip, 20);
	memset(tcp, 0, 20);
	put16(tcp, GUEST_PORT);
	put16(tcp + 2, dport);
	put32(tcp + 4, seq);
	tcp[12] = 5 << 4;
	tcp[13] = TCP_SYN;
	put16(tcp + 14, 65535);
	put16(tcp + 16, l4_csum(ip, tcp, 20));
	return n + 40;
}

/* ---- parsing what slirp sends ---- */

/* The L4 header of an IPv4 @proto frame from @src (0: any), else NULL. */
static const uint8_t *ip_l4(const struct frame *f, uint8_t proto, uint32_t src,
			    const uint8_t **ipp)
{
	const uint8_t *ip = f->data + 14;

	if (f->len < 14 + 20 + 8 || get16(f->data + 12) != ETH_IP ||
	    ip[9] != proto || (src && get32(ip + 12) != src))
		return NULL;
	if (ipp)
		*ipp = ip;
	return ip + (ip[0] & 0xf) * 4;
}

/* The ARP body of an @op (1 request, 2 reply) frame, else NULL. */
static const uint8_t *arp_of(const struct frame *f, uint16_t op)
{
	if (f->len < 14 + 28 || get16(f->data + 12) != ETH_ARP ||
	    get16(f->data + 14 + 6) != op)
		return NULL;
	return f->data + 14;
}

/* ---- the backend, driven ---- */

static int capture_rx(void *opaque, const struct iovec *iov, unsigned int n)
{
	struct ctx *c = opaque;
	struct frame *f;

	assert_int_equal(n, 1);
	if (c->refuse) {
		c->refuse--;
		return -ENOBUFS;
	}
	if (c->nr_frames == MAX_FRAMES) {
		c->uncaptured++;
		return 0;
	}
	assert_true(iov[0].iov_len <= sizeof(f->data));
	f = &c->frames[c->nr_frames++];
	memcpy(f->data, iov[0].iov_base, iov[0].iov_len);
	f->len = iov[0].iov_len;
	f->arp_answered = false;
	return 0;
}

static void send_frame(struct ctx *c, size_t len)
{
	struct iovec iov = { c->buf, len };

	assert_int_equal(c->be->ops->send(c->be, &iov, 1), 0);
}

/*
 * Answer slirp's ARP requests for the guest's address, as a guest would;
 * not from capture_rx(), which runs inside slirp.
 */
static void answer_arp(struct ctx *c)
{
	for (unsigned int i = 0; i < c->nr_frames; i++) {
		struct frame *f = &c->frames[i];
		const uint8_t *a = arp_of(f, 1);

		if (!a || f->arp_answered || get32(a + 24) != IP_GUEST)
			continue;
		f->arp_answered = true;
		send_frame(c, arp_frame(c->buf, 2, a + 8, get32(a + 14)));
	}
}

static int64_t ms_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Poll the backend until @done or the deadline. Unused entries go into
 * the pollset first, so the backend's indices cannot start at 0, and the
 * test's listener after them, as another owner of the set would.
 */
static bool pump(struct ctx *c, bool (*done)(struct ctx *))
{
	int64_t end = ms_now() + DEADLINE_MS;

	while (!done(c)) {
		int64_t left = end - ms_now();
		int lidx = -1, ms;

		if (left <= 0)
			return false;
		pollset_reset(&c->ps);
		assert_int_equal(pollset_add(&c->ps, -1, POLLIN), 0);
		assert_int_equal(pollset_add(&c->ps, -1, POLLIN), 1);
		if (c->listen_fd >= 0 && c->accepted_fd < 0)
			lidx = pollset_add(&c->ps, c->listen_fd, POLLIN);
		assert_int_equal(c->be->ops->poll_fill(c->be, &c->ps, true), 0);
		c->timeout_seen = c->ps.timeout_ms;
		ms = c->ps.timeout_ms;
		if (ms < 0 || ms > left)
			ms = (int)left;
		assert_true(poll(c->ps.fds, c->ps.n, ms) >= 0);
		c->be->ops->poll_done(c->be, &c->ps, true);
		if (pollset_revents(&c->ps, lidx) & POLLIN)
			c->accepted_fd = accept(c->listen_fd, NULL, NULL);
		answer_arp(c);
	}
	return true;
}

static int open_user(struct ctx *c, const struct net_spec *spec)
{
	int ret = net_user_open(spec, &c->be);

	if (ret)
		return ret;
	assert_string_equal(c->be->ops->name, "user");
	assert_false(c->be->vnet_hdr);
	assert_int_equal(c->be->features, 0);
	c->be->rx = capture_rx;
	c->be->rx_opaque = c;
	return 0;
}

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	struct net_spec spec = { .kind = NET_USER };

	if (!c)
		return -1;
	c->ps.timeout_ms = -1;
	c->listen_fd = c->accepted_fd = -1;
	*state = c;
	return open_user(c, &spec);
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	if (c->be)
		c->be->ops->destroy(c->be);
	pollset_free(&c->ps);
	if (c->listen_fd >= 0)
		close(c->listen_fd);
	if (c->accepted_fd >= 0)
		close(c->accepted_fd);
	free(c);
	return 0;
}

/* A TCP listener on 127.0.0.1 at an ephemeral port, stored in @port. */
static int listen_local(uint16_t *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 4), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

/* ---- 1. DHCP ---- */

static const struct frame *dhcp_offer(struct ctx *c)
{
	for (unsigned int i = 0; i < c->nr_frames; i++) {
		const struct frame *f = &c->frames[i];
		const uint8_t *ip, *udp = ip_l4(f, PROTO_UDP, IP_HOST, &ip);
		const uint8_t *bp = udp + 8, *opt;

		if (!udp || get16(udp) != 67 || get16(udp + 2) != 68 ||
		    f->len < (size_t)(bp - f->data) + 240 + 3)
			continue;
		if (bp[0] != 2 || get32(bp + 4) != 0x1234abcd ||
		    memcmp(bp + 28, guest_mac, 6) ||
		    get32(bp + 236) != 0x63825363)
			continue;
		/* Walk the options for 53 (message type). */
		for (opt = bp + 240; opt + 2 < f->data + f->len;) {
			if (*opt == 0) {
				opt++;
				continue;
			}
			if (*opt == 255)
				break;
			if (opt[0] == 53 && opt[1] == 1 && opt[2] == 2)
				return f;
			opt += 2 + opt[1];
		}
	}
	return NULL;
}

static bool got_offer(struct ctx *c)
{
	return dhcp_offer(c) != NULL;
}

static void test_dhcp(void **state)
{
	struct ctx *c = *state;
	const struct frame *f;
	const uint8_t *ip, *udp;

	send_frame(c, dhcp_discover(c->buf, 0x1234abcd));
	assert_true(pump(c, got_offer));
	f = dhcp_offer(c);
	udp = ip_l4(f, PROTO_UDP, IP_HOST, &ip);
	assert_non_null(udp);
	assert_int_equal(get32(ip + 12), IP_HOST);
	assert_int_equal(get32(udp + 8 + 16), IP_GUEST); /* yiaddr */
	assert_memory_equal(f->data + 6, slirp_mac, 6);
}

/* ---- 2. ARP ---- */

static bool got_arp_reply(struct ctx *c)
{
	for (unsigned int i = 0; i < c->nr_frames; i++) {
		const uint8_t *a = arp_of(&c->frames[i], 2);

		if (a && get32(a + 14) == IP_HOST &&
		    get32(a + 24) == IP_GUEST &&
		    !memcmp(a + 18, guest_mac, 6) &&
		    !memcmp(c->frames[i].data, guest_mac, 6))
			return true;
	}
	return false;
}

static void test_arp(void **state)
{
	struct ctx *c = *state;

	/* The reply finds the guest full: held, not dropped or an error. */
	c->refuse = 1;
	send_frame(c, arp_frame(c->buf, 1, NULL, IP_HOST));
	assert_int_equal(c->refuse, 0);
	assert_int_equal(c->nr_frames, 0);

	/* The next round, with the guest ready, delivers it. */
	assert_true(pump(c, got_arp_reply));
	assert_memory_equal(arp_of(&c->frames[0], 2) + 8, slirp_mac, 6);
	assert_int_equal(c->be->rx_dropped, 0);
}

/* Frames the guest has no room for are held, up to a bound, then sent. */
static void test_rx_held_then_delivered_bounded(void **state)
{
	struct ctx *c = *state;
	const unsigned int n = 1100; /* more than the backend holds */

	c->refuse = UINT_MAX;
	for (unsigned int i = 0; i < n; i++)
		send_frame(c, arp_frame(c->buf, 1, NULL, IP_HOST));
	assert_int_equal(c->nr_frames, 0);
	assert_true(c->be->rx_dropped > 0 && c->be->rx_dropped < n);
	c->refuse = 0;
	assert_true(pump(c, got_arp_reply));
	/* Everything held arrives in one round, nothing twice. */
	assert_int_equal(c->nr_frames + c->uncaptured, n - c->be->rx_dropped);
	assert_memory_equal(arp_of(&c->frames[0], 2) + 8, slirp_mac, 6);
}

/* ---- 3. the guest connects out, to the host's 127.0.0.1 ---- */

static bool got_synack(struct ctx *c)
{
	if (c->accepted_fd < 0)
		return false;
	for (unsigned int i = 0; i < c->nr_frames; i++) {
		const uint8_t *ip, *tcp;

		tcp = ip_l4(&c->frames[i], PROTO_TCP, IP_HOST, &ip);
		if (tcp && get32(ip + 16) == IP_GUEST &&
		    get16(tcp) == c->port && get16(tcp + 2) == GUEST_PORT &&
		    (tcp[13] & (TCP_SYN | TCP_ACK)) == (TCP_SYN | TCP_ACK) &&
		    get32(tcp + 8) == c->seq + 1)
			return true;
	}
	return false;
}

static void test_tcp_out(void **state)
{
	struct ctx *c = *state;

	c->listen_fd = listen_local(&c->port);
	c->seq = 0x11223344;
	/* slirp does not know the guest's MAC yet: it asks by ARP. */
	send_frame(c, tcp_syn(c->buf, IP_HOST, c->port, c->seq));
	assert_true(pump(c, got_synack));
	/* slirp wants its TCP timers run: a timeout, and at most 1 s. */
	assert_in_range(c->timeout_seen, 0, 1000);
}

/* ---- 4. hostfwd: the host connects in ---- */

static bool got_fwd_syn(struct ctx *c)
{
	for (unsigned int i = 0; i < c->nr_frames; i++) {
		const uint8_t *ip, *tcp;

		tcp = ip_l4(&c->frames[i], PROTO_TCP, 0, &ip);
		if (tcp && get32(ip + 16) == IP_GUEST && get16(tcp + 2) == 80 &&
		    tcp[13] == TCP_SYN &&
		    !memcmp(c->frames[i].data, guest_mac, 6))
			return true;
	}
	return false;
}

static void test_hostfwd(void **state)
{
	struct ctx *c = *state;
	struct net_spec spec = { .kind = NET_USER, .nr_hostfwd = 1 };
	struct sockaddr_in sa = { .sin_family = AF_INET,
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd;

	/* A port that was free a moment ago. */
	fd = listen_local(&c->port);
	close(fd);
	spec.hostfwd[0] = (struct net_hostfwd){ .host_addr = 0x7f000001,
						.host_port = c->port,
						.guest_port = 80 };
	c->be->ops->destroy(c->be);
	c->be = NULL;
	assert_int_equal(open_user(c, &spec), 0);

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	sa.sin_port = htons(c->port);
	assert_true(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ||
		    errno == EINPROGRESS);
	assert_true(pump(c, got_fwd_syn));
	/* ... after asking for (and getting) the guest's MAC. */
	assert_non_null(arp_of(&c->frames[0], 1));
	close(fd);
}

/* ---- 5. hostfwd on a port in use ---- */

static void test_hostfwd_in_use(void **state)
{
	struct ctx *c = *state;
	struct net_spec spec = { .kind = NET_USER, .nr_hostfwd = 2 };
	struct net_backend *be = NULL;
	char want[96];
	int ret;

	c->listen_fd = listen_local(&c->port);
	/* The first one works and must be undone; the second fails. */
	spec.hostfwd[0] = (struct net_hostfwd){ .udp = true,
						.host_addr = 0x7f000001,
						.host_port = 0,
						.guest_port = 22 };
	spec.hostfwd[1] = (struct net_hostfwd){ .host_addr = 0x7f000001,
						.host_port = c->port,
						.guest_port = 80 };
	capture_start();
	ret = net_user_open(&spec, &be);
	snprintf(want, sizeof(want), "--net user: hostfwd tcp 127.0.0.1:%u: %s",
		 c->port, strerror(EADDRINUSE));
	assert_logged(want);
	assert_int_equal(ret, -EADDRINUSE);
	assert_null(be);
}

/* ---- 6. sizes ---- */

static void test_frame_sizes(void **state)
{
	struct ctx *c = *state;
	struct iovec iov[2] = { { c->buf, NET_MAX_FRAME }, { c->buf, 1 } };

	memset(c->buf, 0, sizeof(c->buf));
	put16(c->buf + 12, ETH_IP);
	assert_int_equal(c->be->ops->send(c->be, iov, 2), -EMSGSIZE);
	iov[0].iov_len = NET_MAX_FRAME + 1;
	assert_int_equal(c->be->ops->send(c->be, iov, 1), -EMSGSIZE);
	/* The largest frame is taken (slirp drops this bogus IP itself). */
	iov[0].iov_len = NET_MAX_FRAME - 1;
	assert_int_equal(c->be->ops->send(c->be, iov, 2), 0);
	/* A runt is refused, so the device counts it. */
	iov[0].iov_len = 5;
	assert_int_equal(c->be->ops->send(c->be, iov, 1), -EINVAL);
	assert_int_equal(c->be->ops->send(c->be, iov, 0), -EINVAL);

	/* A frame split across iovecs is gathered: an ARP in two parts. */
	iov[0].iov_len = 20;
	iov[1] = (struct iovec){ c->buf + 20,
				 arp_frame(c->buf, 1, NULL, IP_HOST) - 20 };
	assert_int_equal(c->be->ops->send(c->be, iov, 2), 0);
	assert_true(got_arp_reply(c));
}

/* ---- 7. the poll timeout ---- */

static int fill_timeout(struct ctx *c)
{
	pollset_reset(&c->ps);
	assert_int_equal(c->be->ops->poll_fill(c->be, &c->ps, true), 0);
	return c->ps.timeout_ms;
}

static void test_poll_timeout(void **state)
{
	struct ctx *c = *state;

	/* Idle: slirp still wants its tick, at most 1 s away. */
	assert_in_range(fill_timeout(c), 1, 1000);
	/* A frame sent: go round at once, slirp may have output waiting. */
	send_frame(c, arp_frame(c->buf, 1, NULL, IP_HOST));
	assert_int_equal(fill_timeout(c), 0);
	c->be->ops->poll_done(c->be, &c->ps, true);
	assert_in_range(fill_timeout(c), 1, 1000);
	/* Another owner's sooner timeout is kept. */
	pollset_reset(&c->ps);
	pollset_timeout(&c->ps, 0);
	assert_int_equal(c->be->ops->poll_fill(c->be, &c->ps, true), 0);
	assert_int_equal(c->ps.timeout_ms, 0);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_dhcp),
		T(test_arp),
		T(test_rx_held_then_delivered_bounded),
		T(test_tcp_out),
		T(test_hostfwd),
		T(test_hostfwd_in_use),
		T(test_frame_sizes),
		T(test_poll_timeout),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
