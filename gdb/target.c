// SPDX-License-Identifier: MIT
/*
 * What gdb commands act on: a parked vCPU's registers, guest memory
 * through its page tables, and the breakpoints (int3 patches and debug
 * registers). Runs on the server thread while every vCPU is parked.
 */
#include <errno.h>
#include <string.h>

#include "gdb/pagewalk.h"
#include "gdb/regs.h"
#include "gdb/stub_internal.h"
#include "vmm/hv.h"
#include "vmm/log.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

/* The vCPU index a thread id names (0 and -1: the one that stopped). */
unsigned int gdb_tid_cpu(struct gdb_stub *s, long tid)
{
	unsigned int cpu;

	pthread_mutex_lock(&s->lock);
	cpu = tid > 0 && (unsigned long)tid <= s->nr_cpus ?
		      (unsigned int)tid - 1 :
		      s->stop_cpu;
	pthread_mutex_unlock(&s->lock);
	return cpu;
}

static struct hv_vcpu *cpu_hv(struct gdb_stub *s, unsigned int cpu)
{
	struct vcpu *v = s->cpus[cpu].vcpu;

	return v ? v->hv : NULL;
}

int gdb_state_get(struct gdb_stub *s, unsigned int cpu,
		  struct gdb_cpu_state *st)
{
	struct hv_vcpu *hv = cpu_hv(s, cpu);
	int ret;

	memset(st, 0, sizeof(*st));
	if (!hv)
		return -ESRCH;
	ret = hv_vcpu_get_regs(hv, &st->regs);
	if (!ret)
		ret = hv_vcpu_get_sregs(hv, &st->sregs);
	/* Without the FPU state gdb still gets the rest (as zeros). */
	if (!ret && hv_vcpu_get_fpu(hv, &st->fpu))
		memset(&st->fpu, 0, sizeof(st->fpu));
	return ret;
}

/* Write back only what changed: set_sregs is not free of side effects. */
int gdb_state_put(struct gdb_stub *s, unsigned int cpu,
		  const struct gdb_cpu_state *old,
		  const struct gdb_cpu_state *st)
{
	struct hv_vcpu *hv = cpu_hv(s, cpu);
	int ret = 0;

	if (!hv)
		return -ESRCH;
	if (memcmp(&old->regs, &st->regs, sizeof(st->regs)))
		ret = hv_vcpu_set_regs(hv, &st->regs);
	if (!ret && memcmp(&old->sregs, &st->sregs, sizeof(st->sregs)))
		ret = hv_vcpu_set_sregs(hv, &st->sregs);
	if (!ret && memcmp(&old->fpu, &st->fpu, sizeof(st->fpu)))
		ret = hv_vcpu_set_fpu(hv, &st->fpu);
	return ret;
}

/*
 * Copy between @buf and guest-virtual [va, va+len) as vCPU @cpu sees it.
 * Returns the bytes done (less at an unmapped page), or -EFAULT for none.
 */
ssize_t gdb_mem_access(struct gdb_stub *s, unsigned int cpu, uint64_t va,
		       uint8_t *buf, size_t len, bool write)
{
	struct hv_vcpu *hv = cpu_hv(s, cpu);
	struct x86_sregs sr;
	size_t done = 0;

	if (!hv || hv_vcpu_get_sregs(hv, &sr))
		return -EFAULT;
	while (done < len) {
		uint64_t gpa, left, n = len - done;
		uint8_t *p;

		if (pagewalk(s->vm, &sr, va + done, &gpa, &left))
			break;
		/* Stay in one 4K page: RAM regions are page-aligned. */
		n = n < left ? n : left;
		n = n < 4096 - (gpa & 4095) ? n : 4096 - (gpa & 4095);
		p = vm_gpa_to_hva(s->vm, gpa, n);
		if (!p)
			break;
		if (write)
			memcpy(p, buf + done, n);
		else
			memcpy(buf + done, p, n);
		done += n;
	}
	return done ? (ssize_t)done : -EFAULT;
}

/* One guest byte's host address, or NULL. */
static uint8_t *mem_byte(struct gdb_stub *s, unsigned int cpu, uint64_t va,
			 uint64_t *gpa)
{
	struct hv_vcpu *hv = cpu_hv(s, cpu);
	struct x86_sregs sr;
	uint64_t left;

	if (!hv || hv_vcpu_get_sregs(hv, &sr) ||
	    pagewalk(s->vm, &sr, va, gpa, &left))
		return NULL;
	return vm_gpa_to_hva(s->vm, *gpa, 1);
}

/* Reads show the bytes under our int3s; writes there update them. */
void gdb_mem_fix_sw(struct gdb_stub *s, uint64_t va, uint8_t *buf, size_t len,
		    bool write)
{
	for (int i = 0; i < GDB_SW_MAX; i++) {
		struct gdb_sw_bp *b = &s->bps.sw[i];
		uint8_t *p;

		if (!b->used || b->addr < va || b->addr - va >= len)
			continue;
		if (!write) {
			buf[b->addr - va] = b->orig;
			continue;
		}
		b->orig = buf[b->addr - va];
		p = vm_gpa_to_hva(s->vm, b->gpa, 1);
		if (p)
			*p = 0xcc;
	}
}

static int sw_insert(struct gdb_stub *s, unsigned int cpu, uint64_t addr)
{
	struct gdb_sw_bp *b;
	uint64_t gpa;
	uint8_t *p;

	if (gdb_sw_find(&s->bps, addr))
		return 0;
	p = mem_byte(s, cpu, addr, &gpa);
	b = gdb_sw_alloc(&s->bps);
	if (!p || !b)
		return -EFAULT;
	*b = (struct gdb_sw_bp){ .used = true, .addr = addr, .gpa = gpa };
	b->orig = *p;
	*p = 0xcc;
	return 0;
}

static void sw_remove(struct gdb_sw_bp *b, struct vm *vm)
{
	uint8_t *p = vm_gpa_to_hva(vm, b->gpa, 1);

	/* Unless the guest rewrote it meanwhile (module unload, patching). */
	if (p && *p == 0xcc)
		*p = b->orig;
	b->used = false;
}

static void warn_watch_once(void)
{
	static bool warned;

	if (!warned)
		log_warn(
			"gdb: watchpoints refused: this PVM-based host emulates guest kernel code and its emulator ignores data breakpoints");
	warned = true;
}

/* Z and z. Returns 0, -errno, or 1 for "not supported" (empty reply). */
int gdb_bp_change(struct gdb_stub *s, bool insert, unsigned int type,
		  uint64_t addr, uint64_t kind)
{
	unsigned int cpu = gdb_tid_cpu(s, s->g_tid);
	struct gdb_sw_bp *b;
	int ret = 0;

	if (type == GDB_WP_READ) /* gdb then uses an access watchpoint */
		return 1;
	if (!(s->caps & X86_DEBUG_ENABLE)) /* no guest debugging at all */
		return insert ? -ENOTSUP : 0;
	if ((type == GDB_WP_WRITE || type == GDB_WP_ACCESS) && !s->watch_ok) {
		if (insert)
			warn_watch_once();
		return insert ? -ENOTSUP : 0;
	}
	pthread_mutex_lock(&s->lock);
	if (type != GDB_BP_SW) {
		if (insert)
			ret = gdb_hw_insert(&s->bps, type, addr, kind, false);
		else
			gdb_hw_remove(&s->bps, type, addr, kind, false);
	} else if (!insert) {
		b = gdb_sw_find(&s->bps, addr);
		if (b)
			sw_remove(b, s->vm);
		else
			gdb_hw_remove(&s->bps, GDB_BP_HW, addr, 1, true);
	} else if (!s->int3_ok || sw_insert(s, cpu, addr)) {
		/*
		 * No int3 on PVM hosts (their emulator cannot run it), and
		 * none where the page is not mapped yet (a kernel's virtual
		 * address before it turns paging on): a debug register will
		 * do, as long as one is free.
		 */
		ret = gdb_hw_insert(&s->bps, GDB_BP_HW, addr, 1, true);
	}
	pthread_mutex_unlock(&s->lock);
	return ret;
}

void gdb_bp_clear_all(struct gdb_stub *s)
{
	pthread_mutex_lock(&s->lock);
	for (int i = 0; i < GDB_SW_MAX; i++)
		if (s->bps.sw[i].used)
			sw_remove(&s->bps.sw[i], s->vm);
	memset(s->bps.hw, 0, sizeof(s->bps.hw));
	pthread_mutex_unlock(&s->lock);
}

/* Set vCPU @cpu's rip (c ADDR, s ADDR). */
int gdb_set_pc(struct gdb_stub *s, unsigned int cpu, uint64_t pc)
{
	struct gdb_cpu_state old, st;

	if (gdb_state_get(s, cpu, &old))
		return -ESRCH;
	st = old;
	st.regs.rip = pc;
	return gdb_state_put(s, cpu, &old, &st);
}
