// SPDX-License-Identifier: MIT
/*
 * All-stop: when one vCPU stops (breakpoint, step, Ctrl-C), every vCPU is
 * kicked out of the guest and parks in debug_park() until gdb resumes.
 * vCPU threads arm their own debug registers when they leave the park, so
 * the backend is only told about debugging on the thread that runs it.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "gdb/stub_internal.h"
#include "vmm/hv.h"
#include "vmm/log.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

#define SIGTRAP_NR 5

void gdb_notify(struct gdb_stub *s)
{
	uint64_t one = 1;

	if (write(s->wake_fd, &one, sizeof(one)) < 0)
		log_debug("gdb: wake eventfd: %s", strerror(errno));
}

/* A bounded wait: vm->stopping has no condition variable of ours. */
static void wait_a_while(struct gdb_stub *s)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_nsec += 200 * 1000000L;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	pthread_cond_timedwait(&s->cond, &s->lock, &t);
}

/* The debug state vCPU @c must run with. Under lock. */
static void cpu_debug(struct gdb_stub *s, struct gdb_cpu *c,
		      struct x86_debug *d)
{
	bool hw = gdb_hw_any(&s->bps);
	bool sw = gdb_sw_any(&s->bps);
	bool step = c->step || c->step_over;

	memset(d, 0, sizeof(*d));
	if (!hw && !sw && !step && !c->inject_bp)
		return;
	d->flags = X86_DEBUG_ENABLE;
	if (hw) {
		d->flags |= X86_DEBUG_HW_BP;
		gdb_hw_debugregs(&s->bps, d->dr, &d->dr7);
		for (int i = 0; c->mask && i < GDB_HW_SLOTS; i++)
			if (s->bps.hw[i].used &&
			    s->bps.hw[i].type == GDB_BP_HW &&
			    s->bps.hw[i].addr == c->mask_pc)
				d->dr7 &= ~(3ull << (2 * i));
	}
	if (sw)
		d->flags |= X86_DEBUG_SW_BP;
	if (step)
		d->flags |= X86_DEBUG_SINGLESTEP |
			    (s->caps & X86_DEBUG_BLOCKIRQ);
	if (c->inject_bp)
		d->flags |= X86_DEBUG_INJECT_BP;
}

/* Tell the backend, unless it already has this state. Under lock. */
static void cpu_arm(struct gdb_stub *s, struct gdb_cpu *c)
{
	struct x86_debug d;
	int ret;

	cpu_debug(s, c, &d);
	if (c->armed_valid && !c->inject_bp &&
	    !memcmp(&d, &c->armed, sizeof(d)))
		return;
	ret = hv_vcpu_set_debug(c->vcpu->hv, &d);
	if (ret)
		log_warn("gdb: vCPU %u: cannot set guest debugging: %s",
			 c->vcpu->id, strerror(-ret));
	/* The #BP injection is one-shot: KVM queued it just now. */
	c->inject_bp = false;
	d.flags &= ~X86_DEBUG_INJECT_BP;
	c->armed = d;
	c->armed_valid = !ret;
}

static bool all_parked(struct gdb_stub *s)
{
	for (unsigned int i = 0; i < s->nr_cpus; i++)
		if (!s->cpus[i].parked)
			return false;
	return true;
}

static void halt_locked(struct gdb_stub *s, unsigned int cpu, int sig,
			const char *why)
{
	struct vm *vm = s->vm;

	if (s->halted)
		return;
	s->halted = true;
	s->stop_new = true;
	s->stop_cpu = cpu;
	s->stop_sig = sig;
	snprintf(s->stop_why, sizeof(s->stop_why), "%s", why);
	for (unsigned int i = 0; i < s->nr_cpus; i++)
		s->cpus[i].may_run = false;
	atomic_store(&vm->debug_pause, true);
	if (vm->kick_all)
		vm->kick_all(vm);
	gdb_notify(s);
}

void gdb_halt(struct gdb_stub *s, unsigned int cpu, int sig)
{
	pthread_mutex_lock(&s->lock);
	halt_locked(s, cpu, sig, "");
	pthread_mutex_unlock(&s->lock);
}

/* vm->debug_park: on the vCPU's thread, before it enters the guest. */
static void gdb_park(struct vcpu *vcpu)
{
	struct gdb_stub *s = vcpu->vm->debugger;
	struct gdb_cpu *c = &s->cpus[vcpu->id];

	pthread_mutex_lock(&s->lock);
	c->vcpu = vcpu;
	if (!c->may_run) {
		c->parked = true;
		pthread_cond_broadcast(&s->cond);
		gdb_notify(s);
		while (!c->may_run && !atomic_load(&vcpu->vm->stopping))
			wait_a_while(s);
		c->parked = false;
	}
	if (!atomic_load(&vcpu->vm->stopping))
		cpu_arm(s, c);
	pthread_mutex_unlock(&s->lock);
}

/* Which of our breakpoints a #DB with @dr6 is, as a stop-reply field. */
static bool hw_hit_why(struct gdb_stub *s, uint64_t dr6, char *why, size_t len)
{
	int slot = gdb_hw_hit(&s->bps, dr6);
	const struct gdb_hw_slot *h;

	if (slot < 0)
		return false;
	h = &s->bps.hw[slot];
	if (h->type == GDB_BP_HW)
		snprintf(why, len, "%s",
			 h->from_sw ? "swbreak:;" : "hwbreak:;");
	else
		snprintf(why, len, "%s:%" PRIx64 ";",
			 h->type == GDB_WP_WRITE ? "watch" : "awatch", h->addr);
	return true;
}

/* vm->debug_exit: a KVM_EXIT_DEBUG on the vCPU's thread. */
static void gdb_debug_exit(struct vcpu *vcpu, struct vm_exit *exit)
{
	struct gdb_stub *s = vcpu->vm->debugger;
	struct gdb_cpu *c = &s->cpus[vcpu->id];
	bool stepped = exit->debug.dr6 & X86_DR6_BS;
	char why[48] = "";

	pthread_mutex_lock(&s->lock);
	c->vcpu = vcpu;
	if (exit->debug.exception == 3) {
		if (gdb_sw_find(&s->bps, exit->debug.pc)) {
			halt_locked(s, vcpu->id, SIGTRAP_NR, "swbreak:;");
		} else {
			/* The guest's own int3 (kprobes, text_poke): give it back. */
			c->inject_bp = true;
			cpu_arm(s, c);
		}
	} else if (c->step_over && stepped) {
		/* Past the breakpoint: arm everything again and go on. */
		c->step_over = c->mask = false;
		cpu_arm(s, c);
	} else if (hw_hit_why(s, exit->debug.dr6, why, sizeof(why)) ||
		   (c->step && stepped)) {
		c->step = c->step_over = c->mask = false;
		halt_locked(s, vcpu->id, SIGTRAP_NR, why);
	} else {
		/* Stale (a breakpoint removed while it ran): re-arm. */
		log_debug("gdb: vCPU %u: debug exit %u dr6 0x%llx not ours",
			  vcpu->id, exit->debug.exception,
			  (unsigned long long)exit->debug.dr6);
		cpu_arm(s, c);
	}
	pthread_mutex_unlock(&s->lock);
}

void gdb_allstop_install(struct gdb_stub *s, bool halted)
{
	struct vm *vm = s->vm;

	vm->debugger = s;
	vm->debug_park = gdb_park;
	vm->debug_exit = gdb_debug_exit;
	for (unsigned int i = 0; i < s->nr_cpus; i++)
		s->cpus[i].may_run = !halted;
	if (halted) {
		/* gdb will hear about vCPU 0 stopped at its first instruction. */
		s->halted = s->stop_new = true;
		s->stop_cpu = 0;
		s->stop_sig = SIGTRAP_NR;
		atomic_store(&vm->debug_pause, true);
	}
}

void gdb_allstop_uninstall(struct gdb_stub *s)
{
	struct vm *vm = s->vm;

	atomic_store(&vm->debug_pause, false);
	vm->debug_park = NULL;
	vm->debug_exit = NULL;
	vm->debugger = NULL;
}

int gdb_wait_parked(struct gdb_stub *s)
{
	int ret = 0;

	pthread_mutex_lock(&s->lock);
	while (!all_parked(s) && !atomic_load(&s->vm->stopping) &&
	       !atomic_load(&s->quit))
		wait_a_while(s);
	if (!all_parked(s))
		ret = -ESHUTDOWN;
	pthread_mutex_unlock(&s->lock);
	return ret;
}

void gdb_stop_reply(struct gdb_stub *s, char *reply, size_t len)
{
	snprintf(reply, len, "T%02xthread:%x;%s", s->stop_sig, s->stop_cpu + 1,
		 s->stop_why);
	/*
	 * gdb takes the stopped thread as current and sends no Hg before
	 * reading its registers (gdbserver does the same): without this it
	 * read another vCPU's pc, saw no breakpoint there and silently
	 * resumed, losing the stop.
	 */
	s->g_tid = s->stop_cpu + 1;
}

bool gdb_take_stop(struct gdb_stub *s, char *reply, size_t len)
{
	bool ready;

	pthread_mutex_lock(&s->lock);
	ready = s->stop_new && all_parked(s);
	if (ready) {
		s->stop_new = false;
		gdb_stop_reply(s, reply, len);
	}
	pthread_mutex_unlock(&s->lock);
	return ready;
}

void gdb_resume(struct gdb_stub *s, const enum gdb_action *acts)
{
	pthread_mutex_lock(&s->lock);
	for (unsigned int i = 0; i < s->nr_cpus; i++) {
		struct gdb_cpu *c = &s->cpus[i];
		struct x86_regs r;

		c->step = acts[i] == GDB_STEP;
		c->step_over = c->mask = false;
		if (acts[i] == GDB_STAY)
			continue;
		/*
		 * Resuming on one of our execution breakpoints would hit it
		 * again at once (RF does not help on emulating hosts): run
		 * that one instruction with it disarmed.
		 */
		if (c->vcpu && !hv_vcpu_get_regs(c->vcpu->hv, &r) &&
		    gdb_hw_exec_at(&s->bps, r.rip)) {
			c->mask = true;
			c->mask_pc = r.rip;
			c->step_over = !c->step;
		}
		c->may_run = true;
	}
	s->halted = false;
	s->stop_new = false;
	s->stop_why[0] = '\0';
	atomic_store(&s->vm->debug_pause, false);
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}

void gdb_wake_all(struct gdb_stub *s)
{
	pthread_mutex_lock(&s->lock);
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
}
