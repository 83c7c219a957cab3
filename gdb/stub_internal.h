/* SPDX-License-Identifier: MIT */
/* Shared by gdb/stub.c (protocol) and gdb/allstop.c (vCPU control). */
#ifndef GDB_STUB_INTERNAL_H
#define GDB_STUB_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "gdb/bp.h"
#include "gdb/packet.h"
#include "vmm/regs_x86_64.h"

struct vm;
struct vcpu;

/* What gdb and the stub know about one vCPU; all fields under stub.lock. */
struct gdb_cpu {
	struct vcpu *vcpu; /* set by its thread when it first parks */
	bool parked; /* waiting in the park hook */
	bool may_run; /* released by a resume */
	bool step; /* gdb asked for one instruction */
	bool step_over; /* ours: one step past a breakpoint at pc, then go */
	bool mask; /* leave the execution breakpoint at mask_pc disarmed */
	bool inject_bp; /* hand the guest the int3 that was not ours */
	uint64_t mask_pc;
	bool armed_valid;
	struct x86_debug armed; /* what the backend was last told */
};

/* Resume actions, per vCPU. */
enum gdb_action { GDB_STAY, GDB_CONT, GDB_STEP };

struct gdb_stub {
	struct vm *vm;
	unsigned int nr_cpus;
	struct gdb_cpu *cpus;

	pthread_mutex_t lock;
	pthread_cond_t cond; /* a vCPU parked, or may run, or the VM stops */
	/* Under lock: */
	bool halted; /* all-stop: every vCPU parks */
	bool stop_new; /* a stop gdb was not told about yet */
	unsigned int stop_cpu;
	int stop_sig;
	char stop_why[48]; /* "swbreak:;", "watch:ADDR;", ... */
	struct gdb_bps bps;
	unsigned int caps; /* X86_DEBUG_* of the backend */
	bool int3_ok; /* int3 can run (not on PVM hosts) */
	bool watch_ok; /* data breakpoints trigger (not on PVM hosts) */

	int wake_fd; /* eventfd: vCPU news for the server thread */
	int listen_fd, conn_fd;
	pthread_t thread;
	bool thread_started;
	atomic_bool quit;

	/* Server thread only: */
	struct gdb_rx rx;
	bool running; /* gdb waits for a stop reply */
	bool no_ack;
	long g_tid, c_tid; /* Hg, Hc: 0 any, -1 all, else vCPU id + 1 */
	char *xml;
	int xml_len;
	size_t last_len; /* for a '-' from gdb */
	char last[2 * GDB_PACKET_MAX + 8];
	char reply[GDB_PACKET_MAX + 1];
};

#define GDB_MAX_CPUS 256

struct gdb_cpu_state;

/* server.c: the connection. */
void gdb_send_raw(struct gdb_stub *s, const char *buf, size_t len);
/* Frame and send one packet (kept for a resend on '-'). */
void gdb_put_packet(struct gdb_stub *s, const void *data, size_t len);
void gdb_reply(struct gdb_stub *s, const char *str);
void gdb_session_close(struct gdb_stub *s);
/* The debugger left (D, hang-up): breakpoints out, the guest runs on. */
void gdb_session_detach(struct gdb_stub *s);

/* stub.c: act on received bytes (packets, acks, ^C). */
void gdb_handle_input(struct gdb_stub *s, const uint8_t *buf, size_t n);

/* target.c: vCPU state, memory and breakpoints; vCPUs parked. */
/* The vCPU index a thread id names (0 and -1: the one that stopped). */
unsigned int gdb_tid_cpu(struct gdb_stub *s, long tid);
int gdb_state_get(struct gdb_stub *s, unsigned int cpu,
		  struct gdb_cpu_state *st);
/* Write back only the parts that differ from @old. */
int gdb_state_put(struct gdb_stub *s, unsigned int cpu,
		  const struct gdb_cpu_state *old,
		  const struct gdb_cpu_state *st);
int gdb_set_pc(struct gdb_stub *s, unsigned int cpu, uint64_t pc);
/*
 * Copy between @buf and guest-virtual [va, va+len) as vCPU @cpu sees it.
 * Returns the bytes done (less at an unmapped page), or -EFAULT for none.
 */
ssize_t gdb_mem_access(struct gdb_stub *s, unsigned int cpu, uint64_t va,
		       uint8_t *buf, size_t len, bool write);
/* Reads show the bytes under our int3s; writes there update them. */
void gdb_mem_fix_sw(struct gdb_stub *s, uint64_t va, uint8_t *buf, size_t len,
		    bool write);
/* Z (@insert) and z. 0, -errno, or 1 for "not supported" (empty reply). */
int gdb_bp_change(struct gdb_stub *s, bool insert, unsigned int type,
		  uint64_t addr, uint64_t kind);
void gdb_bp_clear_all(struct gdb_stub *s);

/* allstop.c: the vm hooks, and the server's side of stopping/resuming. */
void gdb_allstop_install(struct gdb_stub *s, bool halted);
void gdb_allstop_uninstall(struct gdb_stub *s);
/* Stop every vCPU (Ctrl-C, a new connection) and report @cpu, @sig. */
void gdb_halt(struct gdb_stub *s, unsigned int cpu, int sig);
/* Wait until every vCPU parked. 0, or -ESHUTDOWN when the VM stops. */
int gdb_wait_parked(struct gdb_stub *s);
/* Under s->lock: the T stop reply, whose thread becomes current (g_tid). */
void gdb_stop_reply(struct gdb_stub *s, char *reply, size_t len);
/* True if a stop happened and all vCPUs parked; fills the stop reply. */
bool gdb_take_stop(struct gdb_stub *s, char *reply, size_t len);
/* Release the vCPUs: acts[i] for vCPU i. */
void gdb_resume(struct gdb_stub *s, const enum gdb_action *acts);
/* Wake parked vCPUs so they see vm->stopping. */
void gdb_wake_all(struct gdb_stub *s);
/* Poke the server thread (eventfd). */
void gdb_notify(struct gdb_stub *s);

#endif
