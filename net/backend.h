/* SPDX-License-Identifier: MIT */
/*
 * Network backends behind virtio-net: one small interface (send a frame
 * from iovecs; hand received frames to the device), driven from the
 * device's I/O thread through a pollset. Backends never see virtqueues.
 *
 * All calls for one backend come from one thread (the device's I/O
 * thread), after net_backend_open() and before ops->destroy().
 */
#ifndef NET_BACKEND_H
#define NET_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "vmm/pollset.h"

/*
 * The virtio-net header (virtio 1.x, 5.1.6, with num_buffers: 12 bytes),
 * which is also what a tap with IFF_VNET_HDR and TUNSETVNETHDRSZ 12
 * reads and writes in front of each frame. Little-endian fields.
 */
struct virtio_net_hdr {
	uint8_t flags;
	uint8_t gso_type;
	uint16_t hdr_len;
	uint16_t gso_size;
	uint16_t csum_start;
	uint16_t csum_offset;
	uint16_t num_buffers;
} __attribute__((packed));

#define VNET_HDR_LEN 12
#define VNET_HDR_F_NEEDS_CSUM 1
#define VNET_HDR_F_DATA_VALID 2
#define VNET_HDR_GSO_NONE 0
#define VNET_HDR_GSO_TCPV4 1
#define VNET_HDR_GSO_UDP 3
#define VNET_HDR_GSO_TCPV6 4
#define VNET_HDR_GSO_ECN 0x80

/* Largest frame a backend hands over: a 64 KiB GSO packet and headers. */
#define NET_MAX_FRAME (65536 + 14 + 4)

struct net_backend;

struct net_backend_ops {
	const char *name; /* "tap", "user" */
	/*
	 * Send one frame. @iov holds the 12-byte virtio-net header first
	 * when be->vnet_hdr, else a bare Ethernet frame. 0, or -errno: the
	 * frame is then dropped (the device counts it); -EAGAIN means the
	 * backend is full for now.
	 */
	int (*send)(struct net_backend *be, const struct iovec *iov,
		    unsigned int n);
	/*
	 * Add the fds to wait for (and a timeout for timers) to @ps.
	 * @rx_ready: the guest has receive buffers, so wait for input; when
	 * false a backend that can hold frames back (tap) must not read.
	 */
	int (*poll_fill)(struct net_backend *be, struct pollset *ps,
			 bool rx_ready);
	/*
	 * After poll(): do the work @ps's revents ask for; frames received
	 * go to be->rx(). Called with the same @ps poll_fill() filled.
	 */
	void (*poll_done)(struct net_backend *be, struct pollset *ps,
			  bool rx_ready);
	/*
	 * Optional: the guest negotiated virtio-net @features; pass the
	 * matching receive offloads to the host (tap: TUNSETOFFLOAD).
	 */
	int (*set_offload)(struct net_backend *be, uint64_t features);
	/* Close everything and free @be. */
	void (*destroy)(struct net_backend *be);
};

struct net_backend {
	const struct net_backend_ops *ops;
	bool vnet_hdr; /* frames carry the 12-byte header both ways */
	uint64_t features; /* virtio-net offload feature bits it can take */
	/*
	 * Set by the device before the first poll: take one received frame
	 * (header first iff vnet_hdr). 0 if delivered, -ENOBUFS when the
	 * guest has no room (the frame is dropped and counted).
	 */
	int (*rx)(void *opaque, const struct iovec *iov, unsigned int n);
	void *rx_opaque;
	/* Frames the backend dropped after rx() said -ENOBUFS. */
	uint64_t rx_dropped;
};

/* Options of one --net NAME,key=value,... backend spec, parsed. */
#define NET_MAX_HOSTFWD 16
struct net_hostfwd {
	bool udp;
	uint32_t host_addr; /* host byte order; 0x7f000001 by default */
	uint16_t host_port;
	uint32_t guest_addr; /* 0: the guest's DHCP address */
	uint16_t guest_port;
};

enum net_kind { NET_NONE, NET_TAP, NET_USER };

struct net_spec {
	enum net_kind kind;
	char ifname[16]; /* tap: IFNAMSIZ */
	uint8_t mac[6];
	bool mac_set;
	unsigned int nr_hostfwd;
	struct net_hostfwd hostfwd[NET_MAX_HOSTFWD];
};

/*
 * Parse one --net value: "none", "tap[,ifname=NAME][,mac=M]" or
 * "user[,hostfwd=tcp|udp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT]...
 * [,mac=M]". 0, or -EINVAL with the reason in @err.
 */
int net_parse(const char *arg, struct net_spec *out, char *err, size_t errlen);

/*
 * The MAC of device @index for @spec: mac= if given, else a stable
 * locally administered 52:54:00:xx:xx:xx derived from the tap name (so
 * each tap keeps its MAC across runs) or from @index for user mode.
 */
void net_default_mac(const struct net_spec *spec, unsigned int index,
		     uint8_t mac[6]);

/* Open the tap backend of @spec. 0/-errno, logged with the reason. */
int net_tap_open(const struct net_spec *spec, struct net_backend **out);
/* Open the user-mode (libslirp) backend of @spec. 0/-errno, logged. */
int net_user_open(const struct net_spec *spec, struct net_backend **out);

#endif
