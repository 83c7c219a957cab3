// SPDX-License-Identifier: MIT
/*
 * The gdb remote protocol's commands: one function per packet kind, all
 * run on the server thread. While gdb looks at the VM every vCPU is
 * parked (allstop.c), so registers and memory are read from here.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "gdb/regs.h"
#include "gdb/stub_internal.h"
#include "vmm/log.h"
#include "vmm/vm.h"

#define SIGINT_NR 2
#define SIGTRAP_NR 5

static void cmd_stop_reason(struct gdb_stub *s)
{
	pthread_mutex_lock(&s->lock);
	gdb_stop_reply(s, s->reply, sizeof(s->reply));
	pthread_mutex_unlock(&s->lock);
	gdb_reply(s, s->reply);
}

static void cmd_read_regs(struct gdb_stub *s)
{
	struct gdb_cpu_state st;
	uint8_t raw[GDB_G_SIZE];

	if (gdb_state_get(s, gdb_tid_cpu(s, s->g_tid), &st))
		return gdb_reply(s, "E01");
	gdb_regs_pack(&st, raw);
	gdb_hex_encode(raw, sizeof(raw), s->reply);
	gdb_reply(s, s->reply);
}

static void cmd_write_regs(struct gdb_stub *s, const char *hex)
{
	unsigned int cpu = gdb_tid_cpu(s, s->g_tid);
	struct gdb_cpu_state old, st;
	uint8_t raw[GDB_G_SIZE];

	if (strlen(hex) != 2 * GDB_G_SIZE ||
	    gdb_hex_decode(hex, GDB_G_SIZE, raw) || gdb_state_get(s, cpu, &old))
		return gdb_reply(s, "E01");
	st = old;
	gdb_regs_unpack(&st, raw, sizeof(raw));
	gdb_reply(s, gdb_state_put(s, cpu, &old, &st) ? "E01" : "OK");
}

static void cmd_read_reg(struct gdb_stub *s, const char *arg)
{
	struct gdb_cpu_state st;
	uint8_t raw[16];
	uint64_t n;
	const char *end = gdb_parse_hex(arg, &n);
	int size;

	if (!end || *end || n >= GDB_NR_REGS)
		return gdb_reply(s, "E01");
	if (gdb_state_get(s, gdb_tid_cpu(s, s->g_tid), &st))
		return gdb_reply(s, "E01");
	size = gdb_reg_read(&st, (unsigned int)n, raw);
	gdb_hex_encode(raw, (size_t)size, s->reply);
	gdb_reply(s, s->reply);
}

static void cmd_write_reg(struct gdb_stub *s, const char *arg)
{
	unsigned int cpu = gdb_tid_cpu(s, s->g_tid);
	struct gdb_cpu_state old, st;
	uint8_t raw[16];
	uint64_t n;
	const char *end = gdb_parse_hex(arg, &n);
	int size;

	if (!end || *end != '=' || n >= GDB_NR_REGS)
		return gdb_reply(s, "E01");
	size = gdb_reg_size((unsigned int)n);
	if (strlen(end + 1) != 2 * (size_t)size ||
	    gdb_hex_decode(end + 1, (size_t)size, raw) ||
	    gdb_state_get(s, cpu, &old))
		return gdb_reply(s, "E01");
	st = old;
	gdb_reg_write(&st, (unsigned int)n, raw, (size_t)size);
	gdb_reply(s, gdb_state_put(s, cpu, &old, &st) ? "E01" : "OK");
}

static void cmd_read_mem(struct gdb_stub *s, const char *arg)
{
	uint8_t buf[GDB_PACKET_MAX / 2];
	uint64_t addr, len;
	const char *end;
	ssize_t n;

	if (gdb_parse_addr_len(arg, &addr, &len, &end) || *end)
		return gdb_reply(s, "E01");
	if (len > sizeof(buf)) /* a short read is allowed */
		len = sizeof(buf);
	if (!len)
		return gdb_reply(s, "");
	n = gdb_mem_access(s, gdb_tid_cpu(s, s->g_tid), addr, buf, len, false);
	if (n < 0)
		return gdb_reply(s, "E14"); /* EFAULT */
	pthread_mutex_lock(&s->lock);
	gdb_mem_fix_sw(s, addr, buf, (size_t)n, false);
	pthread_mutex_unlock(&s->lock);
	gdb_hex_encode(buf, (size_t)n, s->reply);
	gdb_reply(s, s->reply);
}

/* M (hex data) and X (binary data, @bin_len bytes after the ':'). */
static void cmd_write_mem(struct gdb_stub *s, const char *arg, bool binary,
			  size_t pkt_len)
{
	unsigned int cpu = gdb_tid_cpu(s, s->g_tid);
	uint8_t buf[GDB_PACKET_MAX];
	uint64_t addr, len;
	const char *end;
	ssize_t n;

	if (gdb_parse_addr_len(arg, &addr, &len, &end) || *end != ':' ||
	    len > sizeof(buf))
		return gdb_reply(s, "E01");
	end++;
	if (binary) {
		/* X packets carry raw bytes: the count comes from the frame. */
		if (pkt_len - (size_t)(end - s->rx.buf) != len)
			return gdb_reply(s, "E01");
		memcpy(buf, end, len);
	} else if (strlen(end) != 2 * len || gdb_hex_decode(end, len, buf)) {
		return gdb_reply(s, "E01");
	}
	if (!len)
		return gdb_reply(s, "OK");
	pthread_mutex_lock(&s->lock);
	n = gdb_mem_access(s, cpu, addr, buf, len, true);
	if (n > 0)
		gdb_mem_fix_sw(s, addr, buf, (size_t)n, true);
	pthread_mutex_unlock(&s->lock);
	gdb_reply(s, n == (ssize_t)len ? "OK" : "E14");
}

static void cmd_z(struct gdb_stub *s, bool insert, const char *arg)
{
	unsigned int type;
	uint64_t addr, kind;
	int ret;

	if (gdb_parse_z(arg, &type, &addr, &kind))
		return gdb_reply(s, "E01");
	ret = gdb_bp_change(s, insert, type, addr, kind);
	if (ret == 1)
		return gdb_reply(s, "");
	if (ret == -ENOSPC)
		log_warn("gdb: all 4 hardware breakpoint slots are in use");
	gdb_reply(s, ret ? "E0e" : "OK");
}

static void resume(struct gdb_stub *s, const enum gdb_action *acts)
{
	s->running = true;
	gdb_resume(s, acts);
}

/* c [ADDR], s [ADDR], C SIG[;ADDR], S SIG[;ADDR]: all go, or one steps. */
static void cmd_continue(struct gdb_stub *s, char op, const char *arg)
{
	enum gdb_action acts[GDB_MAX_CPUS];
	unsigned int cpu = gdb_tid_cpu(s, s->c_tid);
	bool step = op == 's' || op == 'S';
	uint64_t v;

	if (op == 'C' || op == 'S') { /* no signals to deliver in a VM */
		arg = gdb_parse_hex(arg, &v);
		if (!arg)
			return gdb_reply(s, "E01");
		arg = *arg == ';' ? arg + 1 : arg;
	}
	if (*arg) {
		const char *end = gdb_parse_hex(arg, &v);

		if (!end || *end || gdb_set_pc(s, cpu, v))
			return gdb_reply(s, "E01");
	}
	for (unsigned int i = 0; i < s->nr_cpus; i++)
		acts[i] = step ? (i == cpu ? GDB_STEP : GDB_STAY) : GDB_CONT;
	resume(s, acts);
}

static void cmd_vcont(struct gdb_stub *s, const char *arg)
{
	enum gdb_action acts[GDB_MAX_CPUS];
	struct gdb_vcont v[16];
	int n = gdb_parse_vcont(arg, v, 16);

	if (n < 0)
		return gdb_reply(s, "E01");
	/* Each vCPU takes the first action that names it or all. */
	for (unsigned int i = 0; i < s->nr_cpus; i++) {
		acts[i] = GDB_STAY;
		for (int j = 0; j < n; j++) {
			if (v[j].tid != -1 && v[j].tid != (long)i + 1 &&
			    v[j].tid != 0)
				continue;
			acts[i] = v[j].action == 'c' ? GDB_CONT :
				  v[j].action == 's' ? GDB_STEP :
						       GDB_STAY;
			break;
		}
	}
	resume(s, acts);
}

static void cmd_xfer(struct gdb_stub *s, const char *arg)
{
	static const char annex[] = "features:read:target.xml:";
	uint64_t off, len;
	const char *end;

	if (strncmp(arg, annex, sizeof(annex) - 1))
		return gdb_reply(s, "");
	if (gdb_parse_addr_len(arg + sizeof(annex) - 1, &off, &len, &end) ||
	    *end)
		return gdb_reply(s, "E01");
	if (off >= (uint64_t)s->xml_len)
		return gdb_reply(s, "l");
	if (len > GDB_PACKET_MAX - 1)
		len = GDB_PACKET_MAX - 1;
	if (len > (uint64_t)s->xml_len - off)
		len = (uint64_t)s->xml_len - off;
	s->reply[0] = off + len < (uint64_t)s->xml_len ? 'm' : 'l';
	memcpy(s->reply + 1, s->xml + off, len);
	gdb_put_packet(s, s->reply, len + 1);
}

static void cmd_threads(struct gdb_stub *s)
{
	size_t n = 0;

	s->reply[n++] = 'm';
	for (unsigned int i = 0; i < s->nr_cpus && n + 12 < sizeof(s->reply);
	     i++)
		n += (size_t)snprintf(s->reply + n, sizeof(s->reply) - n,
				      "%s%x", i ? "," : "", i + 1);
	gdb_reply(s, s->reply);
}

static bool tid_valid(struct gdb_stub *s, long tid)
{
	return tid == -1 || tid == 0 || (tid > 0 && tid <= (long)s->nr_cpus);
}

static void cmd_query(struct gdb_stub *s, const char *p)
{
	char info[32];
	long tid;

	if (!strncmp(p, "qSupported", 10)) {
		snprintf(
			s->reply, sizeof(s->reply),
			"PacketSize=%x;qXfer:features:read+;swbreak+;hwbreak+;QStartNoAckMode+;vContSupported+",
			GDB_PACKET_MAX);
		gdb_reply(s, s->reply);
	} else if (!strncmp(p, "qXfer:", 6)) {
		cmd_xfer(s, p + 6);
	} else if (!strcmp(p, "qfThreadInfo")) {
		cmd_threads(s);
	} else if (!strcmp(p, "qsThreadInfo")) {
		gdb_reply(s, "l");
	} else if (!strcmp(p, "qC")) {
		snprintf(s->reply, sizeof(s->reply), "QC%x",
			 gdb_tid_cpu(s, s->g_tid) + 1);
		gdb_reply(s, s->reply);
	} else if (!strncmp(p, "qAttached", 9)) {
		gdb_reply(s, "1"); /* quitting gdb detaches: the VM goes on */
	} else if (!strncmp(p, "qThreadExtraInfo,", 17)) {
		if (gdb_parse_tid(p + 17, &tid, NULL) || tid <= 0 ||
		    tid > (long)s->nr_cpus)
			return gdb_reply(s, "E01");
		snprintf(info, sizeof(info), "vCPU %ld", tid - 1);
		gdb_hex_encode((const uint8_t *)info, strlen(info), s->reply);
		gdb_reply(s, s->reply);
	} else if (!strncmp(p, "qSymbol", 7)) {
		gdb_reply(s, "OK");
	} else if (!strcmp(p, "QStartNoAckMode")) {
		gdb_reply(s, "OK");
		s->no_ack = true;
	} else {
		gdb_reply(s, ""); /* qOffsets, qTStatus, ...: not supported */
	}
}

static void cmd_set_thread(struct gdb_stub *s, const char *p)
{
	long tid;

	if ((p[0] != 'g' && p[0] != 'c') || gdb_parse_tid(p + 1, &tid, NULL) ||
	    !tid_valid(s, tid))
		return gdb_reply(s, "E01");
	if (p[0] == 'g')
		s->g_tid = tid;
	else
		s->c_tid = tid;
	gdb_reply(s, "OK");
}

static void handle_packet(struct gdb_stub *s, const char *p, size_t len)
{
	long tid;

	if (s->running) { /* only ^C is valid now; gdb does not send more */
		log_debug("gdb: ignoring '%c' packet while running", p[0]);
		return;
	}
	switch (p[0]) {
	case '?':
		return cmd_stop_reason(s);
	case 'q':
	case 'Q':
		return cmd_query(s, p);
	case 'H':
		return cmd_set_thread(s, p + 1);
	case 'T':
		return gdb_reply(s, !gdb_parse_tid(p + 1, &tid, NULL) &&
						    tid > 0 &&
						    tid <= (long)s->nr_cpus ?
					    "OK" :
					    "E01");
	case 'g':
		return cmd_read_regs(s);
	case 'G':
		return cmd_write_regs(s, p + 1);
	case 'p':
		return cmd_read_reg(s, p + 1);
	case 'P':
		return cmd_write_reg(s, p + 1);
	case 'm':
		return cmd_read_mem(s, p + 1);
	case 'M':
		return cmd_write_mem(s, p + 1, false, len);
	case 'X':
		return cmd_write_mem(s, p + 1, true, len);
	case 'Z':
	case 'z':
		return cmd_z(s, p[0] == 'Z', p + 1);
	case 'c':
	case 's':
	case 'C':
	case 'S':
		return cmd_continue(s, p[0], p + 1);
	case 'v':
		if (!strcmp(p, "vCont?"))
			return gdb_reply(s, "vCont;c;C;s;S;t");
		if (!strncmp(p, "vCont;", 6))
			return cmd_vcont(s, p + 5);
		if (!strncmp(p, "vKill", 5)) {
			gdb_reply(s, "OK");
			break;
		}
		return gdb_reply(s, ""); /* vMustReplyEmpty and the rest */
	case 'k':
		break;
	case 'D':
		gdb_reply(s, "OK");
		return gdb_session_detach(s);
	default:
		return gdb_reply(s, "");
	}
	/* k and vKill: the VM ends as if stopped on the host (exit 130). */
	log_info("gdb: the debugger killed the VM");
	gdb_session_close(s);
	vm_request_stop(s->vm, VM_STOP_USER);
}

/* Feed received bytes to the parser and act on what completes. */
void gdb_handle_input(struct gdb_stub *s, const uint8_t *buf, size_t n)
{
	for (size_t i = 0; i < n && s->conn_fd >= 0; i++) {
		switch (gdb_rx_feed(&s->rx, buf[i])) {
		case GDB_RX_PACKET:
			if (!s->no_ack)
				gdb_send_raw(s, "+", 1);
			handle_packet(s, s->rx.buf, s->rx.len);
			break;
		case GDB_RX_OVERSIZE:
			if (!s->no_ack)
				gdb_send_raw(s, "+", 1);
			gdb_reply(s, "E01");
			break;
		case GDB_RX_BAD_CHECKSUM:
			if (!s->no_ack)
				gdb_send_raw(s, "-", 1);
			break;
		case GDB_RX_NACK:
			if (s->last_len)
				gdb_send_raw(s, s->last, s->last_len);
			break;
		case GDB_RX_INTERRUPT:
			if (s->running)
				gdb_halt(s, gdb_tid_cpu(s, 0), SIGINT_NR);
			break;
		default:
			break;
		}
	}
}
