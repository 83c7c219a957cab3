// SPDX-License-Identifier: MIT
/*
 * A gdb session over a socketpair: the stub on its thread, real vCPU
 * threads (vcpu.c) on the fake backend, and a client made of our own
 * packet parser playing gdb.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "boot/boot.h"
#include "gdb/bp.h"
#include "gdb/packet.h"
#include "gdb/regs.h"
#include "gdb/stub.h"
#include "tests/unit/fake_hv.h"
#include "vmm/log.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

#define ALL_CAPS                                                     \
	(X86_DEBUG_ENABLE | X86_DEBUG_SINGLESTEP | X86_DEBUG_SW_BP | \
	 X86_DEBUG_HW_BP | X86_DEBUG_BLOCKIRQ | X86_DEBUG_INJECT_BP)

struct session {
	struct vm vm;
	struct gdb_stub *stub;
	struct boot_entry boot;
	int fd; /* our end: we are gdb */
	struct gdb_rx rx;
	char pkt[GDB_PACKET_MAX + 1];
	int nacks;
};

static struct session *start_cpus(bool pvm, const struct vm_exit *script,
				  size_t n, unsigned int cpus)
{
	struct session *s = calloc(1, sizeof(*s));
	int sv[2];

	assert_non_null(s);
	fake_hv_reset();
	fake_hv.pvm = pvm;
	fake_hv.debug_caps = ALL_CAPS;
	if (n)
		memcpy(fake_hv.exits, script, n * sizeof(*script));
	fake_hv.nr_exits = n;
	log_set_level(LOG_OFF);
	assert_int_equal(vm_init(&s->vm, 64 << 20), 0);
	s->vm.nr_vcpus = cpus;
	assert_int_equal(hv_vm_create(&s->vm, &s->vm.hv), 0);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	s->fd = sv[0];
	gdb_rx_init(&s->rx);
	assert_int_equal(gdb_stub_start_fd(&s->vm, true, sv[1], &s->stub), 0);
	assert_int_equal(vcpus_start(&s->vm, &s->boot), 0);
	return s;
}

static struct session *start(bool pvm, const struct vm_exit *script, size_t n)
{
	return start_cpus(pvm, script, n, 1);
}

static void finish(struct session *s)
{
	vm_request_stop(&s->vm, VM_STOP_USER);
	vcpus_join(&s->vm);
	gdb_stub_stop(s->stub);
	vcpus_free(&s->vm);
	hv_vm_destroy(s->vm.hv);
	vm_destroy(&s->vm);
	close(s->fd);
	free(s);
}

static void send_str(struct session *s, const char *raw, size_t len)
{
	assert_int_equal(write(s->fd, raw, len), (ssize_t)len);
}

static void send_pkt(struct session *s, const char *data)
{
	char frame[2 * GDB_PACKET_MAX + 8];
	ssize_t n = gdb_frame(data, strlen(data), frame, sizeof(frame));

	assert_true(n > 0);
	send_str(s, frame, (size_t)n);
}

/* The next packet from the stub (acks are counted away); NULL on EOF. */
static const char *recv_pkt(struct session *s)
{
	for (;;) {
		struct pollfd p = { .fd = s->fd, .events = POLLIN };
		uint8_t c;

		assert_int_equal(poll(&p, 1, 10000), 1);
		if (read(s->fd, &c, 1) != 1)
			return NULL;
		switch (gdb_rx_feed(&s->rx, c)) {
		case GDB_RX_PACKET:
			memcpy(s->pkt, s->rx.buf, s->rx.len + 1);
			return s->pkt;
		case GDB_RX_NACK:
			s->nacks++;
			break;
		default:
			break;
		}
	}
}

static const char *cmd(struct session *s, const char *data)
{
	send_pkt(s, data);
	return recv_pkt(s);
}

static struct vm_exit debug_exit(uint32_t exception, uint64_t pc, uint64_t dr6)
{
	struct vm_exit e = { .reason = VM_EXIT_DEBUG };

	e.debug.exception = exception;
	e.debug.pc = pc;
	e.debug.dr6 = dr6;
	return e;
}

static void test_queries_and_errors(void **state)
{
	struct vm_exit script[1] = { debug_exit(1, 0, 0) };
	struct session *s = start(false, script, 0);
	const char *r;

	assert_string_equal(cmd(s, "?"), "T05thread:1;");
	r = cmd(s, "qSupported:multiprocess+;swbreak+;xmlRegisters=i386");
	assert_non_null(strstr(r, "PacketSize=1000"));
	assert_non_null(strstr(r, "qXfer:features:read+"));
	r = cmd(s, "qXfer:features:read:target.xml:0,20");
	assert_memory_equal(r, "m<?xml version=\"1.0\"?>", 22);
	assert_int_equal(strlen(r), 1 + 0x20);
	assert_string_equal(cmd(s, "qXfer:features:read:target.xml:ffff,10"),
			    "l");
	assert_string_equal(cmd(s, "qXfer:features:read:other.xml:0,10"), "");
	assert_string_equal(cmd(s, "qfThreadInfo"), "m1");
	assert_string_equal(cmd(s, "qsThreadInfo"), "l");
	assert_string_equal(cmd(s, "qC"), "QC1");
	assert_string_equal(cmd(s, "qAttached"), "1");
	assert_string_equal(cmd(s, "qThreadExtraInfo,1"), "764350552030");
	assert_string_equal(cmd(s, "T1"), "OK");
	assert_string_equal(cmd(s, "T2"), "E01");
	assert_string_equal(cmd(s, "Hg1"), "OK");
	assert_string_equal(cmd(s, "Hc-1"), "OK");
	assert_string_equal(cmd(s, "Hg7"), "E01");
	assert_string_equal(cmd(s, "vMustReplyEmpty"), "");
	assert_string_equal(cmd(s, "vCont?"), "vCont;c;C;s;S;t");
	assert_string_equal(cmd(s, "qTStatus"), "");
	/* Malformed commands get errors, not crashes. */
	assert_string_equal(cmd(s, "mzz"), "E01");
	assert_string_equal(cmd(s, "m10,"), "E01");
	assert_string_equal(cmd(s, "M10,2:zz"), "E01");
	assert_string_equal(cmd(s, "M10,2:00"), "E01");
	assert_string_equal(cmd(s, "X10,2:a"), "E01");
	assert_string_equal(cmd(s, "p99"), "E01");
	assert_string_equal(cmd(s, "P10=00"), "E01");
	assert_string_equal(cmd(s, "Gabc"), "E01");
	assert_string_equal(cmd(s, "Z9,0,1"), "E01");
	assert_string_equal(cmd(s, "vCont;x"), "E01");
	/* A bad checksum is nacked; the resend is answered. */
	send_str(s, "$g#00", 5);
	r = cmd(s, "qC");
	assert_string_equal(r, "QC1");
	/* An oversize packet gets an error. */
	{
		static char big[GDB_PACKET_MAX + 100];

		memset(big, 'q', sizeof(big) - 1);
		r = cmd(s, big);
		assert_string_equal(r, "E01");
	}
	assert_string_equal(cmd(s, "qC"), "QC1");
	finish(s);
}

static void test_registers_and_memory(void **state)
{
	struct session *s = start(false, NULL, 0);
	uint8_t *ram = vm_gpa_to_hva(&s->vm, 0x2000, 16);
	char g[2 * GDB_G_SIZE + 1];
	const char *r;

	r = cmd(s, "g");
	assert_int_equal(strlen(r), 2 * GDB_G_SIZE);
	/* rip is register 0x10, at byte 128 of the 'g' packet. */
	assert_string_equal(cmd(s, "P10=0010000000000000"), "OK");
	assert_string_equal(cmd(s, "p10"), "0010000000000000");
	r = cmd(s, "g");
	assert_memory_equal(r + 2 * 128, "0010000000000000", 16);
	/* G with rax changed writes it back. */
	memcpy(g, r, sizeof(g));
	memcpy(g, "8877665544332211", 16);
	snprintf(s->pkt, sizeof(s->pkt), "G%s", g);
	assert_string_equal(cmd(s, s->pkt), "OK");
	assert_string_equal(cmd(s, "p0"), "8877665544332211");
	/* cs (0x12) is 4 bytes for gdb. */
	assert_string_equal(cmd(s, "p12"), "00000000");

	/* Paging is off in the fake vCPU: virtual is physical. */
	assert_string_equal(cmd(s, "M2000,4:deadbeef"), "OK");
	assert_memory_equal(ram, "\xde\xad\xbe\xef", 4);
	assert_string_equal(cmd(s, "m2000,4"), "deadbeef");
	/* X: binary; gdb_frame() escapes the '}' (0x7d), the stub undoes it. */
	{
		char x[] = "X2004,2:\x7d\x01";

		send_pkt(s, x);
		assert_string_equal(recv_pkt(s), "OK");
		assert_int_equal(ram[4], 0x7d);
		assert_int_equal(ram[5], 0x01);
	}
	assert_string_equal(cmd(s, "X2004,0:"), "OK");
	/* Beyond RAM, or beyond 32 bits without paging: EFAULT. */
	assert_string_equal(cmd(s, "m100000000,4"), "E14");
	assert_string_equal(cmd(s, "mf0000000,4"), "E14");
	/* A read running off the end of RAM is short, not an error. */
	r = cmd(s, "m3fffffe,4");
	assert_string_equal(r, "0000");
	finish(s);
}

/* A hardware breakpoint and a watchpoint: armed, hit, reported. */
static void test_breakpoint_hit_and_step(void **state)
{
	struct vm_exit script[] = { debug_exit(1, 0x1010, 0xffff0ff1) };
	struct session *s = start(false, script, 1);
	struct x86_debug *d = &fake_hv.debug[0];

	assert_string_equal(cmd(s, "Z1,1010,1"), "OK");
	assert_string_equal(cmd(s, "Z1,1010,1"), "OK"); /* idempotent */
	assert_string_equal(cmd(s, "Z2,3000,4"), "OK");
	assert_string_equal(cmd(s, "Z3,3000,4"), ""); /* gdb uses Z4 then */
	assert_string_equal(cmd(s, "Z4,4000,8"), "OK");
	assert_string_equal(cmd(s, "z4,4000,8"), "OK");
	send_pkt(s, "c");
	assert_string_equal(recv_pkt(s), "T05thread:1;hwbreak:;");
	assert_true(d->flags & X86_DEBUG_ENABLE);
	assert_true(d->flags & X86_DEBUG_HW_BP);
	assert_false(d->flags & X86_DEBUG_SINGLESTEP);
	assert_true(d->dr[0] == 0x1010 && d->dr[1] == 0x3000);
	assert_true(d->dr7 == (0x400 | 0x2 | 0x8 | (0xdull << 20)));
	assert_string_equal(cmd(s, "?"), "T05thread:1;hwbreak:;");

	/* A step: armed with single-step; the script then runs out, the
	 * VM stops with a host error and gdb hears the exit status. */
	assert_string_equal(cmd(s, "z1,1010,1"), "OK");
	assert_string_equal(cmd(s, "z2,3000,4"), "OK");
	send_pkt(s, "vCont;s:1");
	assert_string_equal(recv_pkt(s), "W01");
	assert_true(d->flags & X86_DEBUG_SINGLESTEP);
	assert_true(d->flags & X86_DEBUG_BLOCKIRQ);
	assert_false(d->flags & X86_DEBUG_HW_BP);
	assert_int_equal(s->vm.stop_reason, VM_STOP_ERROR);
	finish(s);
}

/*
 * A stop on another vCPU than the one last chosen with Hg makes the
 * stopped one current: gdb reads its registers next without sending Hg
 * (as gdbserver expects). Before, 'g' and 'p' still served the old
 * thread, gdb saw no breakpoint at that pc and silently resumed.
 */
static void test_stop_makes_its_thread_current(void **state)
{
	struct vm_exit script[] = { debug_exit(1, 0x1010, 0xffff0ff1) };
	struct session *s = start_cpus(false, script, 1, 2);

	assert_string_equal(cmd(s, "Hg2"), "OK");
	assert_string_equal(cmd(s, "P10=1010000000000000"), "OK");
	assert_string_equal(cmd(s, "Hg1"), "OK");
	assert_string_equal(cmd(s, "P10=1111000000000000"), "OK");
	assert_string_equal(cmd(s, "Z1,1010,1"), "OK");
	/* Only vCPU 1 (thread 2) runs, and stops on the breakpoint. */
	send_pkt(s, "vCont;c:2");
	assert_string_equal(recv_pkt(s), "T05thread:2;hwbreak:;");
	assert_string_equal(cmd(s, "qC"), "QC2");
	assert_string_equal(cmd(s, "p10"), "1010000000000000");
	assert_string_equal(cmd(s, "?"), "T05thread:2;hwbreak:;");
	/* Hg still chooses. */
	assert_string_equal(cmd(s, "Hg1"), "OK");
	assert_string_equal(cmd(s, "p10"), "1111000000000000");
	send_pkt(s, "k");
	assert_null(recv_pkt(s));
	finish(s);
}

/* int3 breakpoints: patched in, hidden from reads, hit, and given back. */
static void test_sw_breakpoints(void **state)
{
	struct vm_exit script[] = {
		debug_exit(3, 0x5000, 0), /* not ours: back to the guest */
		debug_exit(3, 0x2010, 0), /* ours */
	};
	struct session *s = start(false, script, 2);
	uint8_t *ram = vm_gpa_to_hva(&s->vm, 0x2010, 1);

	*ram = 0x55;
	assert_string_equal(cmd(s, "Z0,2010,1"), "OK");
	assert_int_equal(*ram, 0xcc);
	assert_string_equal(cmd(s, "m2010,1"), "55");
	/* Unmapped (paging off, > 4G): served by a debug register. */
	assert_string_equal(cmd(s, "Z0,ffffffff81000000,1"), "OK");
	send_pkt(s, "c");
	assert_string_equal(recv_pkt(s), "T05thread:1;swbreak:;");
	assert_true(fake_hv.debug[0].flags & X86_DEBUG_SW_BP);
	assert_true(fake_hv.debug[0].dr[0] == 0xffffffff81000000ull);
	assert_true(fake_hv.debug_sets >= 2); /* armed, then re-injected */
	assert_string_equal(cmd(s, "z0,2010,1"), "OK");
	assert_int_equal(*ram, 0x55);
	assert_string_equal(cmd(s, "z0,ffffffff81000000,1"), "OK");
	/* Kill: the VM ends as stopped on the host. */
	send_pkt(s, "k");
	assert_null(recv_pkt(s));
	assert_int_equal(vm_wait_stop(&s->vm), VM_STOP_USER);
	finish(s);
}

/* PVM hosts: int3 cannot run, so Z0 takes a debug register; no watches. */
static void test_pvm_host(void **state)
{
	struct session *s = start(true, NULL, 0);
	uint8_t *ram = vm_gpa_to_hva(&s->vm, 0x2010, 1);

	*ram = 0x55;
	assert_string_equal(cmd(s, "Z0,2010,1"), "OK");
	assert_int_equal(*ram, 0x55);
	assert_string_equal(cmd(s, "Z0,2011,1"), "OK");
	assert_string_equal(cmd(s, "Z1,2012,1"), "OK");
	assert_string_equal(cmd(s, "Z1,2013,1"), "OK");
	assert_string_equal(cmd(s, "Z0,2014,1"), "E0e"); /* all 4 in use */
	assert_string_equal(cmd(s, "Z2,3000,4"), "E0e");
	assert_string_equal(cmd(s, "z2,3000,4"), "OK");
	assert_string_equal(cmd(s, "z0,2010,1"), "OK");
	assert_string_equal(cmd(s, "Z0,2014,1"), "OK");
	/* Detach: breakpoints out, the guest resumes (and here ends). */
	assert_string_equal(cmd(s, "D"), "OK");
	assert_null(recv_pkt(s));
	assert_int_equal(vm_wait_stop(&s->vm), VM_STOP_ERROR);
	finish(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_queries_and_errors),
		cmocka_unit_test(test_registers_and_memory),
		cmocka_unit_test(test_breakpoint_hit_and_step),
		cmocka_unit_test(test_sw_breakpoints),
		cmocka_unit_test(test_stop_makes_its_thread_current),
		cmocka_unit_test(test_pvm_host),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
