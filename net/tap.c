// SPDX-License-Identifier: MIT
/*
 * The tap backend: frames go through /dev/net/tun with IFF_VNET_HDR, so
 * the 12-byte virtio-net header passes both ways untouched and checksum
 * and segmentation offloads reach the host stack (TUNSETOFFLOAD).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "net/backend.h"
#include "vmm/log.h"

/* virtio-net feature bits a tap can take (virtio 1.x, 5.1.3). */
#define F_CSUM 0
#define F_GUEST_CSUM 1
#define F_GUEST_TSO4 7
#define F_GUEST_TSO6 8
#define F_GUEST_ECN 9
#define F_HOST_TSO4 11
#define F_HOST_TSO6 12
#define F_HOST_ECN 13
#define BIT(n) (1ULL << (n))

#define TAP_BUF (VNET_HDR_LEN + NET_MAX_FRAME)
#define TAP_READ_BUDGET 64 /* frames per round, so TX gets its turn */

struct tap {
	struct net_backend be;
	int fd;
	int idx; /* our entry in the pollset, -1 if not polled */
	char name[IFNAMSIZ];
	size_t pending; /* bytes of a frame the guest had no room for */
	uint8_t buf[TAP_BUF];
};

static int tap_send(struct net_backend *be, const struct iovec *iov,
		    unsigned int n)
{
	struct tap *t = (struct tap *)be;

	if (writev(t->fd, iov, (int)n) < 0)
		return -errno;
	return 0;
}

static int tap_poll_fill(struct net_backend *be, struct pollset *ps,
			 bool rx_ready)
{
	struct tap *t = (struct tap *)be;

	t->idx = -1;
	if (!rx_ready)
		return 0;
	/* A frame held back waits for buffers, not for the fd. */
	if (t->pending) {
		pollset_timeout(ps, 0);
		return 0;
	}
	t->idx = pollset_add(ps, t->fd, POLLIN);
	return t->idx < 0 ? t->idx : 0;
}

/* Hand the held frame to the guest: 0 if it went (or was dropped). */
static int tap_deliver(struct tap *t)
{
	struct iovec iov = { t->buf, t->pending };

	if (t->be.rx(t->be.rx_opaque, &iov, 1) == -ENOBUFS)
		return -ENOBUFS;
	t->pending = 0;
	return 0;
}

static void tap_poll_done(struct net_backend *be, struct pollset *ps,
			  bool rx_ready)
{
	struct tap *t = (struct tap *)be;

	if (!rx_ready || (t->pending && tap_deliver(t)))
		return;
	if (!(pollset_revents(ps, t->idx) & (POLLIN | POLLERR | POLLHUP)))
		return;
	for (int i = 0; i < TAP_READ_BUDGET; i++) {
		ssize_t r = read(t->fd, t->buf, sizeof(t->buf));

		if (r < 0 && errno != EAGAIN && errno != EINTR)
			log_warn("tap %s: read: %s", t->name, strerror(errno));
		if (r <= VNET_HDR_LEN)
			return;
		t->pending = (size_t)r;
		if (tap_deliver(t))
			return;
	}
}

static int tap_set_offload(struct net_backend *be, uint64_t f)
{
	struct tap *t = (struct tap *)be;
	unsigned int off = 0;

	if (f & BIT(F_GUEST_CSUM)) {
		off |= TUN_F_CSUM;
		if (f & BIT(F_GUEST_TSO4))
			off |= TUN_F_TSO4;
		if (f & BIT(F_GUEST_TSO6))
			off |= TUN_F_TSO6;
		if ((off & (TUN_F_TSO4 | TUN_F_TSO6)) && (f & BIT(F_GUEST_ECN)))
			off |= TUN_F_TSO_ECN;
	}
	if (ioctl(t->fd, TUNSETOFFLOAD, off) < 0) {
		log_warn("tap %s: TUNSETOFFLOAD: %s", t->name, strerror(errno));
		return -errno;
	}
	return 0;
}

static void tap_destroy(struct net_backend *be)
{
	struct tap *t = (struct tap *)be;

	if (t->fd >= 0)
		close(t->fd);
	free(t);
}

static const struct net_backend_ops tap_ops = {
	.name = "tap",
	.send = tap_send,
	.poll_fill = tap_poll_fill,
	.poll_done = tap_poll_done,
	.set_offload = tap_set_offload,
	.destroy = tap_destroy,
};

static int tap_open_dev(const char *want)
{
	int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0)
		return fd;
	if (errno == ENOENT || errno == ENODEV)
		log_err("--net tap: /dev/net/tun: %s (load the tun module: "
			"modprobe tun)",
			strerror(errno));
	else if (errno == EACCES || errno == EPERM)
		log_err("--net tap: /dev/net/tun: %s (run as root, or let "
			"your user open it and use a persistent tap: ip tuntap "
			"add %s mode tap user $USER)",
			strerror(errno), want[0] ? want : "NAME");
	else
		log_err("--net tap: /dev/net/tun: %s", strerror(errno));
	return -errno;
}

/* Attach to (or, with CAP_NET_ADMIN, create) the tap @want. */
static int tap_attach(struct tap *t, const char *want)
{
	struct ifreq ifr = { 0 };
	int features = 0;

	if (ioctl(t->fd, TUNGETFEATURES, &features) == 0 &&
	    !(features & IFF_VNET_HDR)) {
		log_err("--net tap: this kernel's tun has no IFF_VNET_HDR");
		return -EOPNOTSUPP;
	}
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", want[0] ? want : "vmm%d");
	if (ioctl(t->fd, TUNSETIFF, &ifr) < 0) {
		int e = errno;

		log_err("--net tap: cannot %s tap %s: %s%s",
			want[0] ? "attach to" : "create",
			want[0] ? want : "vmm%d", strerror(e),
			e == EPERM ? " (creating one needs root; or create a "
				     "persistent tap owned by you: ip tuntap "
				     "add NAME mode tap user $USER)" :
			e == EBUSY ? " (in use by another process, or not a "
				     "tap without packet information)" :
				     "");
		return -e;
	}
	memcpy(t->name, ifr.ifr_name, IFNAMSIZ);
	t->name[IFNAMSIZ - 1] = '\0';
	return 0;
}

/* Bring the link up if we may; a persistent tap's owner may do it. */
static void tap_link_up(struct tap *t)
{
	struct ifreq ifr = { 0 };
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (s < 0)
		return;
	memcpy(ifr.ifr_name, t->name, IFNAMSIZ);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0 && !(ifr.ifr_flags & IFF_UP)) {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
			log_info("tap %s is down and we may not bring it up "
				 "(%s); ip link set %s up",
				 t->name, strerror(errno), t->name);
	}
	close(s);
}

int net_tap_open(const struct net_spec *spec, struct net_backend **out)
{
	struct tap *t = calloc(1, sizeof(*t));
	int hdr = VNET_HDR_LEN, ret;

	if (!t)
		return -ENOMEM;
	t->be = (struct net_backend){
		.ops = &tap_ops,
		.vnet_hdr = true,
		.features = BIT(F_CSUM) | BIT(F_GUEST_CSUM) |
			    BIT(F_GUEST_TSO4) | BIT(F_GUEST_TSO6) |
			    BIT(F_GUEST_ECN) | BIT(F_HOST_TSO4) |
			    BIT(F_HOST_TSO6) | BIT(F_HOST_ECN),
	};
	t->idx = -1;
	t->fd = tap_open_dev(spec->ifname);
	ret = t->fd < 0 ? t->fd : tap_attach(t, spec->ifname);
	if (!ret && ioctl(t->fd, TUNSETVNETHDRSZ, &hdr) < 0) {
		ret = -errno;
		log_err("--net tap %s: TUNSETVNETHDRSZ: %s", t->name,
			strerror(errno));
	}
	/* Until the guest says what it takes, the host does it all. */
	if (!ret)
		ret = tap_set_offload(&t->be, 0);
	if (ret) {
		tap_destroy(&t->be);
		return ret;
	}
	tap_link_up(t);
	log_debug("--net tap: %s", t->name);
	*out = &t->be;
	return 0;
}
