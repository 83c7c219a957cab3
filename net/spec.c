// SPDX-License-Identifier: MIT
/* Parsing of --net values and the default MAC address. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "net/backend.h"
#include "vmm/parse.h"

#define USAGE                                            \
	"expected none, tap[,ifname=NAME][,mac=MAC] or " \
	"user[,hostfwd=tcp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT]...[,mac=MAC]"

static int parse_mac(const char *s, uint8_t mac[6])
{
	unsigned int b[6];
	char end;

	/* sscanf's %x would take signs, spaces and 0x: check the shape. */
	if (strlen(s) != 17)
		return -EINVAL;
	for (int i = 0; i < 17; i++)
		if (i % 3 == 2 ? s[i] != ':' : !isxdigit((unsigned char)s[i]))
			return -EINVAL;
	if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &b[0], &b[1], &b[2], &b[3],
		   &b[4], &b[5], &end) != 6 ||
	    strlen(s) != 17)
		return -EINVAL;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)b[i];
	/* A multicast address cannot be a station's own. */
	return (mac[0] & 1) ? -EINVAL : 0;
}

/* "[ADDR]:PORT" with an empty ADDR meaning @dflt. */
static int parse_endpoint(char *s, uint32_t dflt, uint32_t *addr,
			  uint16_t *port)
{
	char *colon = strrchr(s, ':');
	unsigned int p;
	struct in_addr in;

	if (!colon || parse_uint(colon + 1, 1, 65535, &p))
		return -EINVAL;
	*colon = '\0';
	*port = (uint16_t)p;
	*addr = dflt;
	if (!*s)
		return 0;
	if (inet_pton(AF_INET, s, &in) != 1)
		return -EINVAL;
	*addr = ntohl(in.s_addr);
	return 0;
}

/* tcp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT, like QEMU's. */
static int parse_hostfwd(const char *val, struct net_hostfwd *fwd)
{
	char buf[128], *dash, *rest;

	if (strlen(val) >= sizeof(buf))
		return -EINVAL;
	strcpy(buf, val);
	if (!strncmp(buf, "tcp:", 4))
		fwd->udp = false;
	else if (!strncmp(buf, "udp:", 4))
		fwd->udp = true;
	else
		return -EINVAL;
	rest = buf + 4;
	dash = strchr(rest, '-');
	if (!dash)
		return -EINVAL;
	*dash = '\0';
	if (parse_endpoint(rest, 0x7f000001, &fwd->host_addr, &fwd->host_port))
		return -EINVAL;
	return parse_endpoint(dash + 1, 0, &fwd->guest_addr, &fwd->guest_port);
}

static int net_option(char *opt, struct net_spec *out, char *err, size_t errlen)
{
	char *val = strchr(opt, '=');

	if (!val)
		goto bad;
	*val++ = '\0';
	if (!strcmp(opt, "mac")) {
		if (parse_mac(val, out->mac)) {
			snprintf(err, errlen,
				 "bad mac '%s' (six hex bytes, not multicast)",
				 val);
			return -EINVAL;
		}
		out->mac_set = true;
	} else if (!strcmp(opt, "ifname") && out->kind == NET_TAP) {
		if (!*val || strlen(val) >= sizeof(out->ifname) ||
		    strchr(val, '/')) {
			snprintf(err, errlen, "bad ifname '%s' (1-15 chars)",
				 val);
			return -EINVAL;
		}
		strcpy(out->ifname, val);
	} else if (!strcmp(opt, "hostfwd") && out->kind == NET_USER) {
		if (out->nr_hostfwd == NET_MAX_HOSTFWD) {
			snprintf(err, errlen, "at most %d hostfwd",
				 NET_MAX_HOSTFWD);
			return -EINVAL;
		}
		if (parse_hostfwd(val, &out->hostfwd[out->nr_hostfwd])) {
			snprintf(err, errlen,
				 "bad hostfwd '%s' (tcp:[HOSTADDR]:HOSTPORT-"
				 "[GUESTADDR]:GUESTPORT, or udp:...)",
				 val);
			return -EINVAL;
		}
		out->nr_hostfwd++;
	} else {
		val[-1] = '=';
		goto bad;
	}
	return 0;
bad:
	snprintf(err, errlen, "unknown option '%s' for %s", opt,
		 out->kind == NET_TAP ? "tap (ifname=, mac=)" :
					"user (hostfwd=, mac=)");
	return -EINVAL;
}

int net_parse(const char *arg, struct net_spec *out, char *err, size_t errlen)
{
	char buf[2048], *save = NULL, *tok;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	if (!arg || strlen(arg) >= sizeof(buf))
		goto usage;
	strcpy(buf, arg);
	tok = strtok_r(buf, ",", &save);
	if (!tok)
		goto usage;
	if (!strcmp(tok, "none"))
		out->kind = NET_NONE;
	else if (!strcmp(tok, "tap"))
		out->kind = NET_TAP;
	else if (!strcmp(tok, "user"))
		out->kind = NET_USER;
	else
		goto usage;
	while (!ret && (tok = strtok_r(NULL, ",", &save))) {
		if (out->kind == NET_NONE) {
			snprintf(err, errlen, "'none' takes no options");
			return -EINVAL;
		}
		ret = net_option(tok, out, err, errlen);
	}
	return ret;
usage:
	snprintf(err, errlen, USAGE);
	return -EINVAL;
}

/* FNV-1a: a stable, well-spread hash of the tap name. */
static uint32_t fnv1a(const char *s)
{
	uint32_t h = 2166136261u;

	while (*s)
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h;
}

void net_default_mac(const struct net_spec *spec, unsigned int index,
		     uint8_t mac[6])
{
	uint32_t h = 0x123456 + index;

	if (spec->mac_set) {
		memcpy(mac, spec->mac, 6);
		return;
	}
	if (spec->kind == NET_TAP && spec->ifname[0])
		h = fnv1a(spec->ifname);
	mac[0] = 0x52;
	mac[1] = 0x54;
	mac[2] = 0x00;
	mac[3] = (uint8_t)(h >> 16);
	mac[4] = (uint8_t)(h >> 8);
	mac[5] = (uint8_t)h;
}
