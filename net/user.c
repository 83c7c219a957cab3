// SPDX-License-Identifier: MIT
/*
 * The user-mode network backend: libslirp terminates the guest's TCP/IP
 * in this process and relays it through ordinary host sockets, like
 * QEMU's -nic user (10.0.2.0/24, host 10.0.2.2, DNS 10.0.2.3, guest
 * 10.0.2.15 by DHCP; IPv6 fec0::/64). No privileges, no offloads.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <slirp/libslirp.h>

#include "net/backend.h"
#include "vmm/log.h"

#define GUEST_ERRORS_LOGGED 3

/* One slirp timer; slirp arms it in ms of clock_get_ns() time. */
struct user_timer {
	struct user_timer *next;
	SlirpTimerId id;
	void *cb_opaque;
	int64_t expire_ms; /* -1: not armed */
	bool due; /* expired in the current run_timers() pass */
};

/*
 * Frames slirp emitted while the guest had no receive buffer. slirp has
 * no way to hold back, so we do, up to a bound: dropping them would cost
 * TCP a retransmission timeout each time a burst outruns the ring.
 */
#define RXQ_MAX_FRAMES 1024
#define RXQ_MAX_BYTES (4u << 20)

struct user_frame {
	struct user_frame *next;
	size_t len;
	uint8_t data[];
};

struct net_user {
	struct net_backend be; /* first: ops get &be */
	struct user_frame *rxq, **rxq_tail; /* oldest first */
	unsigned int rxq_frames;
	size_t rxq_bytes;
	Slirp *slirp;
	struct user_timer *timers;
	unsigned int guest_errors;
	bool sent; /* send() since the last poll_done() */
	uint8_t frame[NET_MAX_FRAME]; /* send(): slirp_input() takes one buffer */
};

static struct net_user *to_user(struct net_backend *be)
{
	return (struct net_user *)be;
}

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t now_ms(void)
{
	return now_ns() / 1000000;
}

/* ---- SlirpCb: called by slirp, on the I/O thread ---- */

/* Hold a frame for later; past the bound it is lost like on a wire. */
static void rxq_push(struct net_user *u, const void *buf, size_t len)
{
	struct user_frame *f;

	if (u->rxq_frames >= RXQ_MAX_FRAMES ||
	    u->rxq_bytes + len > RXQ_MAX_BYTES ||
	    !(f = malloc(sizeof(*f) + len))) {
		u->be.rx_dropped++;
		return;
	}
	f->next = NULL;
	f->len = len;
	memcpy(f->data, buf, len);
	*u->rxq_tail = f;
	u->rxq_tail = &f->next;
	u->rxq_frames++;
	u->rxq_bytes += len;
}

static int deliver(struct net_user *u, const void *buf, size_t len)
{
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };

	return u->be.rx ? u->be.rx(u->be.rx_opaque, &iov, 1) : -ENOBUFS;
}

/* Hand held frames to the guest, oldest first, while it has room. */
static void rxq_flush(struct net_user *u)
{
	struct user_frame *f;

	while ((f = u->rxq) && deliver(u, f->data, f->len) != -ENOBUFS) {
		u->rxq = f->next;
		if (!u->rxq)
			u->rxq_tail = &u->rxq;
		u->rxq_frames--;
		u->rxq_bytes -= f->len;
		free(f);
	}
}

static ssize_t user_send_packet(const void *buf, size_t len, void *opaque)
{
	struct net_user *u = opaque;

	/* Behind held frames, or when the guest is full: hold it too. */
	if (u->rxq || deliver(u, buf, len) == -ENOBUFS)
		rxq_push(u, buf, len);
	/* A negative return would only make slirp log it. */
	return (ssize_t)len;
}

static void user_guest_error(const char *msg, void *opaque)
{
	struct net_user *u = opaque;

	/* A misbehaving guest must not flood the log. */
	if (u->guest_errors++ < GUEST_ERRORS_LOGGED)
		log_warn("--net user: guest error: %s%s", msg,
			 u->guest_errors == GUEST_ERRORS_LOGGED ?
				 " (further ones not logged)" :
				 "");
}

static int64_t user_clock_get_ns(void *opaque)
{
	return now_ns();
}

/*
 * timer_new_opaque (SlirpConfig 4, libslirp 4.7) rather than timer_new:
 * an expired timer is handed back through slirp_handle_timer(), so no
 * function pointer of slirp's crosses into this file.
 */
static void *user_timer_new(SlirpTimerId id, void *cb_opaque, void *opaque)
{
	struct net_user *u = opaque;
	struct user_timer *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->id = id;
	t->cb_opaque = cb_opaque;
	t->expire_ms = -1;
	t->next = u->timers;
	u->timers = t;
	return t;
}

static void user_timer_free(void *timer, void *opaque)
{
	struct net_user *u = opaque;
	struct user_timer **p;

	for (p = &u->timers; *p; p = &(*p)->next) {
		if (*p == timer) {
			*p = (*p)->next;
			free(timer);
			return;
		}
	}
}

static void user_timer_mod(void *timer, int64_t expire_ms, void *opaque)
{
	struct user_timer *t = timer;

	if (t)
		t->expire_ms = expire_ms;
}

/*
 * Everything runs on the one I/O thread, which asks slirp for its fds
 * afresh before every poll(): nothing to register, nobody to wake.
 */
static void user_register_poll_fd(int fd, void *opaque)
{
}

static void user_unregister_poll_fd(int fd, void *opaque)
{
}

static void user_notify(void *opaque)
{
}

static const SlirpCb user_cb = {
	.send_packet = user_send_packet,
	.guest_error = user_guest_error,
	.clock_get_ns = user_clock_get_ns,
	.timer_free = user_timer_free,
	.timer_mod = user_timer_mod,
	.register_poll_fd = user_register_poll_fd,
	.unregister_poll_fd = user_unregister_poll_fd,
	.notify = user_notify,
	.timer_new_opaque = user_timer_new,
};

/* Fire the timers that are due, each once per pass. */
static void run_timers(struct net_user *u)
{
	int64_t now = now_ms();
	struct user_timer *t;

	for (t = u->timers; t; t = t->next)
		t->due = t->expire_ms >= 0 && t->expire_ms <= now;
	/*
	 * A handler may re-arm, free or create timers, so rescan from the
	 * head after each one; clearing ->due first keeps it to one pass.
	 */
	for (;;) {
		for (t = u->timers; t && !t->due; t = t->next)
			;
		if (!t)
			break;
		t->due = false;
		t->expire_ms = -1;
		slirp_handle_timer(u->slirp, t->id, t->cb_opaque);
	}
}

/* ms until the next timer, or -1 if none is armed. */
static int64_t next_timer_ms(struct net_user *u)
{
	int64_t now = now_ms(), best = -1;
	struct user_timer *t;

	for (t = u->timers; t; t = t->next) {
		int64_t left;

		if (t->expire_ms < 0)
			continue;
		left = t->expire_ms > now ? t->expire_ms - now : 0;
		if (best < 0 || left < best)
			best = left;
	}
	return best;
}

/* ---- poll integration ---- */

struct fill_ctx {
	struct pollset *ps;
	int err; /* a failed pollset_add() */
};

static int user_add_poll(int fd, int events, void *opaque)
{
	struct fill_ctx *fc = opaque;
	short ev = 0;
	int idx;

	if (events & SLIRP_POLL_IN)
		ev |= POLLIN;
	if (events & SLIRP_POLL_OUT)
		ev |= POLLOUT;
	if (events & SLIRP_POLL_PRI)
		ev |= POLLPRI;
	if (events & SLIRP_POLL_ERR)
		ev |= POLLERR;
	if (events & SLIRP_POLL_HUP)
		ev |= POLLHUP;
	/*
	 * slirp keeps the index (absolute in @ps, which other owners fill
	 * too) and hands it to user_get_revents(). On failure it keeps
	 * -ENOMEM, which pollset_revents() reads as "no events".
	 */
	idx = pollset_add(fc->ps, fd, ev);
	if (idx < 0)
		fc->err = idx;
	return idx;
}

static int user_get_revents(int idx, void *opaque)
{
	short rev = pollset_revents(opaque, idx);
	int events = 0;

	if (rev & POLLIN)
		events |= SLIRP_POLL_IN;
	if (rev & POLLOUT)
		events |= SLIRP_POLL_OUT;
	if (rev & POLLPRI)
		events |= SLIRP_POLL_PRI;
	if (rev & POLLERR)
		events |= SLIRP_POLL_ERR;
	if (rev & POLLHUP)
		events |= SLIRP_POLL_HUP;
	return events;
}

static int user_poll_fill(struct net_backend *be, struct pollset *ps,
			  bool rx_ready)
{
	struct net_user *u = to_user(be);
	struct fill_ctx fc = { .ps = ps };
	int64_t next = next_timer_ms(u);
	uint32_t timeout = UINT32_MAX; /* slirp's "none" */

	/* Held frames go as soon as the guest has buffers again. */
	if (rx_ready && u->rxq)
		next = 0;
	if (next >= 0)
		timeout = next < INT32_MAX ? (uint32_t)next : INT32_MAX;
	/*
	 * Only slirp_pollfds_poll() sends what waited for the guest's ARP
	 * reply (and drops it 1 s after asking): after a send(), go round
	 * at once rather than sleep up to slirp's 0.5-1 s tick.
	 */
	if (u->sent)
		timeout = 0;
	/* slirp lowers it for its TCP timers (to 1 s at most, always). */
	slirp_pollfds_fill(u->slirp, &timeout, user_add_poll, &fc);
	if (timeout <= INT32_MAX)
		pollset_timeout(ps, (int)timeout);
	return fc.err;
}

static void user_poll_done(struct net_backend *be, struct pollset *ps,
			   bool rx_ready)
{
	struct net_user *u = to_user(be);

	u->sent = false;
	if (rx_ready)
		rxq_flush(u);
	slirp_pollfds_poll(u->slirp, 0, user_get_revents, ps);
	run_timers(u);
}

static int user_send(struct net_backend *be, const struct iovec *iov,
		     unsigned int n)
{
	struct net_user *u = to_user(be);
	size_t len = 0;

	for (unsigned int i = 0; i < n; i++) {
		if (iov[i].iov_len > sizeof(u->frame) - len)
			return -EMSGSIZE;
		memcpy(u->frame + len, iov[i].iov_base, iov[i].iov_len);
		len += iov[i].iov_len;
	}
	/* slirp_input() would ignore it; refused, the device counts it. */
	if (len < 14)
		return -EINVAL;
	slirp_input(u->slirp, u->frame, (int)len);
	u->sent = true;
	return 0;
}

static void user_destroy(struct net_backend *be)
{
	struct net_user *u = to_user(be);

	if (u->slirp)
		slirp_cleanup(u->slirp);
	while (u->timers)
		user_timer_free(u->timers, u);
	while (u->rxq) {
		struct user_frame *f = u->rxq;

		u->rxq = f->next;
		free(f);
	}
	if (u->be.rx_dropped)
		log_debug("--net user: %llu frames dropped (guest had no room)",
			  (unsigned long long)u->be.rx_dropped);
	free(u);
}

static const struct net_backend_ops user_ops = {
	.name = "user",
	.send = user_send,
	.poll_fill = user_poll_fill,
	.poll_done = user_poll_done,
	.destroy = user_destroy,
};

static int add_hostfwd(struct net_user *u, const struct net_hostfwd *f)
{
	struct in_addr host = { htonl(f->host_addr) };
	struct in_addr guest = { htonl(f->guest_addr) };
	char addr[INET_ADDRSTRLEN];
	int err;

	/* guest_addr 0 is slirp's own default too: the first DHCP lease. */
	errno = 0;
	if (!slirp_add_hostfwd(u->slirp, f->udp, host, f->host_port, guest,
			       f->guest_port))
		return 0;
	err = errno ? errno : EINVAL;
	inet_ntop(AF_INET, &host, addr, sizeof(addr));
	log_err("--net user: hostfwd %s %s:%u: %s", f->udp ? "udp" : "tcp",
		addr, f->host_port, strerror(err));
	return -err;
}

int net_user_open(const struct net_spec *spec, struct net_backend **out)
{
	SlirpConfig cfg = {
		.version = 4, /* timer_new_opaque; SLIRP_CONFIG_VERSION_MAX */
		.restricted = false,
		.in_enabled = true,
		.vnetwork = { htonl(0x0a000200) }, /* 10.0.2.0 */
		.vnetmask = { htonl(0xffffff00) },
		.vhost = { htonl(0x0a000202) }, /* 10.0.2.2 */
		.vdhcp_start = { htonl(0x0a00020f) }, /* 10.0.2.15 */
		.vnameserver = { htonl(0x0a000203) }, /* 10.0.2.3 */
		.in6_enabled = true,
		.vprefix_addr6 = { .s6_addr = { 0xfe, 0xc0 } }, /* fec0:: */
		.vprefix_len = 64,
		.vhost6 = { .s6_addr = { 0xfe, 0xc0, [15] = 2 } },
		.vnameserver6 = { .s6_addr = { 0xfe, 0xc0, [15] = 3 } },
		.vhostname = "vmm",
		/* The guest reaches the host's 127.0.0.1 at 10.0.2.2. */
		.disable_host_loopback = false,
	};
	struct net_user *u;
	int ret;

	_Static_assert(SLIRP_CONFIG_VERSION_MAX >= 4,
		       "libslirp 4.7 or later (timer_new_opaque)");
	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->rxq_tail = &u->rxq;
	u->be.ops = &user_ops;
	u->be.vnet_hdr = false;
	u->be.features = 0; /* slirp takes whole, checksummed frames */
	u->slirp = slirp_new(&cfg, &user_cb, u);
	if (!u->slirp) {
		log_err("--net user: cannot start libslirp %s",
			slirp_version_string());
		user_destroy(&u->be);
		return -EINVAL;
	}
	for (unsigned int i = 0; i < spec->nr_hostfwd; i++) {
		ret = add_hostfwd(u, &spec->hostfwd[i]);
		if (ret) {
			user_destroy(&u->be);
			return ret;
		}
	}
	*out = &u->be;
	return 0;
}
