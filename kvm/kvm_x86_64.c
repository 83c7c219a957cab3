// SPDX-License-Identifier: MIT
/* KVM backend, x86_64 part: irqchip, PIT, CPUID, MSRs, LAPIC, registers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "boot/boot.h"
#include "kvm/kvm_internal.h"
#include "vmm/hv.h"
#include "vmm/layout_x86_64.h"
#include "vmm/log.h"
#include "vmm/regs_x86_64.h"
#include "vmm/vm.h"

#define MSR_IA32_TSC 0x10
#define MSR_IA32_SYSENTER_CS 0x174
#define MSR_IA32_SYSENTER_ESP 0x175
#define MSR_IA32_SYSENTER_EIP 0x176
#define MSR_IA32_MISC_ENABLE 0x1a0
#define MSR_MTRR_DEF_TYPE 0x2ff
#define MSR_STAR 0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_CSTAR 0xc0000083
#define MSR_SYSCALL_MASK 0xc0000084
#define MSR_KERNEL_GS_BASE 0xc0000102

#define MISC_ENABLE_FAST_STRING 1ULL
#define MTRR_ENABLE (1ULL << 11)
#define MTRR_TYPE_WB 6ULL

#define APIC_LVT_LINT0 0x350
#define APIC_LVT_LINT1 0x360
#define APIC_MODE_NMI 0x4
#define APIC_MODE_EXTINT 0x7

#define X86_CR0_PE 0x1ULL
#define X86_CR0_ET 0x10ULL
#define X86_CR0_NE 0x20ULL
#define X86_CR0_PG 0x80000000ULL
#define X86_CR4_PAE 0x20ULL
#define EFER_LME 0x100ULL
#define EFER_LMA 0x400ULL

int kvm_arch_vm_init(struct hv_vm *hv)
{
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	uint64_t ident = LAYOUT_KVM_IDENTITY_MAP;
	int ret;

	/* Intel VT-x needs these pages below 4 GiB for real-mode emulation. */
	ret = KVM_IOCTL(hv->vm_fd, KVM_SET_IDENTITY_MAP_ADDR, &ident);
	if (ret < 0)
		log_debug(
			"KVM_SET_IDENTITY_MAP_ADDR not supported; continuing");
	ret = KVM_IOCTL(hv->vm_fd, KVM_SET_TSS_ADDR,
			(void *)(uintptr_t)LAYOUT_KVM_TSS);
	if (ret < 0)
		return ret;
	/* The PIT routes through the irqchip, so the irqchip comes first. */
	ret = KVM_IOCTL(hv->vm_fd, KVM_CREATE_IRQCHIP, NULL);
	if (ret < 0)
		return ret;
	ret = KVM_IOCTL(hv->vm_fd, KVM_CREATE_PIT2, &pit);
	return ret < 0 ? ret : 0;
}

/* Room kept after KVM's entries for the topology subleaves we add. */
#define CPUID_EXTRA 8

static struct kvm_cpuid2 *kvm_supported_cpuid(int kvm_fd)
{
	for (int nent = 64; nent <= 4096; nent *= 2) {
		struct kvm_cpuid2 *c = calloc(
			1,
			sizeof(*c) + (nent + CPUID_EXTRA) *
					     sizeof(struct kvm_cpuid_entry2));
		int ret;

		if (!c)
			return NULL;
		c->nent = nent;
		ret = KVM_IOCTL(kvm_fd, KVM_GET_SUPPORTED_CPUID, c);
		if (!ret)
			return c;
		free(c);
		if (ret != -E2BIG)
			return NULL;
	}
	return NULL;
}

static struct kvm_cpuid_entry2 *cpuid_find(struct kvm_cpuid2 *c, uint32_t fn,
					   uint32_t index)
{
	for (unsigned int i = 0; i < c->nent; i++)
		if (c->entries[i].function == fn &&
		    c->entries[i].index == index)
			return &c->entries[i];
	return NULL;
}

/* The highest leaf of the range starting at @base, 0 if absent. */
static uint32_t cpuid_max(struct kvm_cpuid2 *c, uint32_t base)
{
	struct kvm_cpuid_entry2 *e = cpuid_find(c, base, 0);

	return e ? e->eax : 0;
}

/* Append an empty entry unless present; cpuid_patch() fills it. */
static void cpuid_ensure(struct kvm_cpuid2 *c, unsigned int cap, uint32_t fn,
			 uint32_t index, uint32_t flags)
{
	if (cpuid_find(c, fn, index) || c->nent >= cap)
		return;
	c->entries[c->nent++] = (struct kvm_cpuid_entry2){ .function = fn,
							   .index = index,
							   .flags = flags };
}

/*
 * KVM may list only subleaf 0 of 0xB (seen on AMD hosts) or no 0x8000001E:
 * the guest would then read zeros there and put every vCPU in its own
 * package. Make each topology subleaf exist, up to the terminating one.
 */
static void cpuid_add_topology(struct kvm_cpuid2 *c, unsigned int cap)
{
	static const uint32_t leaves[] = { 0xb, 0x1f };

	for (size_t i = 0; i < sizeof(leaves) / sizeof(leaves[0]); i++)
		for (uint32_t sub = 0; sub < 3 && cpuid_max(c, 0) >= leaves[i];
		     sub++)
			cpuid_ensure(c, cap, leaves[i], sub,
				     KVM_CPUID_FLAG_SIGNIFCANT_INDEX);
	if (cpuid_max(c, 0x80000000) >= 0x8000001e)
		cpuid_ensure(c, cap, 0x8000001e, 0, 0);
}

/* Bits needed to hold @n distinct ids, as CPUID topology shifts count. */
static unsigned int order_base_2(unsigned int n)
{
	unsigned int s = 0;

	while ((1u << s) < n)
		s++;
	return s;
}

/*
 * One package of @nr cores with one thread each, said the same way in
 * every leaf Linux reads (Intel 1/4/0xB/0x1F, AMD 0x80000008/0x8000001E):
 * otherwise it builds a package per vCPU.
 */

/* Topology leaves 0xB/0x1F: one thread per core, all cores in a package. */
static void cpuid_topology(struct kvm_cpuid_entry2 *e, unsigned int id,
			   unsigned int nr)
{
	e->edx = id;
	if (e->index == 0) {
		e->eax = 0;
		e->ebx = 1;
		e->ecx = (1u << 8) | 0; /* SMT level */
	} else if (e->index == 1) {
		e->eax = order_base_2(nr);
		e->ebx = nr;
		e->ecx = (2u << 8) | 1; /* core level */
	} else {
		e->eax = e->ebx = 0;
		e->ecx = e->index;
	}
}

static void cpuid_patch(struct kvm_cpuid_entry2 *e, unsigned int id,
			unsigned int nr)
{
	switch (e->function) {
	case 1:
		e->ebx = (e->ebx & 0xffff) | (nr << 16) | (id << 24);
		e->ecx |= 1u << 31; /* hypervisor present */
		if (nr > 1)
			e->edx |= 1u << 28; /* HTT: the ebx count is valid */
		break;
	case 4:
		e->eax = (e->eax & 0x3ff) | ((nr - 1) << 26);
		break;
	case 0xa:
		/* No PMU: saves the guest probing counters it cannot use. */
		e->eax = e->ebx = e->ecx = e->edx = 0;
		break;
	case 0xb:
	case 0x1f:
		cpuid_topology(e, id, nr);
		break;
	case 0x80000008:
		/* AMD: NC (cores - 1) and the APIC id bits they take. */
		e->ecx = (e->ecx & ~0xf0ffu) | (order_base_2(nr) << 12) |
			 (nr - 1);
		break;
	case 0x8000001e:
		/* AMD TOPOEXT: extended APIC id, core id; 1 thread, 1 node. */
		e->eax = id;
		e->ebx = id & 0xff;
		e->ecx = 0;
		break;
	default:
		break;
	}
}

static int kvm_set_cpuid(struct hv_vcpu *vcpu)
{
	struct kvm_cpuid2 *c = kvm_supported_cpuid(vcpu->hv->kvm_fd);
	int ret;

	if (!c)
		return -EIO;
	cpuid_add_topology(c, c->nent + CPUID_EXTRA);
	for (unsigned int i = 0; i < c->nent; i++)
		cpuid_patch(&c->entries[i], vcpu->id, vcpu->hv->vm->nr_vcpus);
	ret = KVM_IOCTL(vcpu->fd, KVM_SET_CPUID2, c);
	free(c);
	return ret < 0 ? ret : 0;
}

static int kvm_set_msrs(struct hv_vcpu *vcpu)
{
	static const struct {
		uint32_t index;
		uint64_t value;
	} init[] = {
		{ MSR_IA32_SYSENTER_CS, 0 },
		{ MSR_IA32_SYSENTER_ESP, 0 },
		{ MSR_IA32_SYSENTER_EIP, 0 },
		{ MSR_STAR, 0 },
		{ MSR_CSTAR, 0 },
		{ MSR_KERNEL_GS_BASE, 0 },
		{ MSR_SYSCALL_MASK, 0 },
		{ MSR_LSTAR, 0 },
		{ MSR_IA32_TSC, 0 },
		{ MSR_IA32_MISC_ENABLE, MISC_ENABLE_FAST_STRING },
		/* Write-back by default, or Linux maps RAM uncached. */
		{ MSR_MTRR_DEF_TYPE, MTRR_ENABLE | MTRR_TYPE_WB },
	};
	enum { N = sizeof(init) / sizeof(init[0]) };
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e[N];
	} msrs = { .hdr.nmsrs = N };
	int ret;

	for (unsigned int i = 0; i < N; i++) {
		msrs.e[i].index = init[i].index;
		msrs.e[i].data = init[i].value;
	}
	ret = KVM_IOCTL(vcpu->fd, KVM_SET_MSRS, &msrs);
	if (ret < 0)
		return ret;
	/* KVM stops at the first MSR it refuses; the rest are optional. */
	if (ret < N)
		log_debug("vCPU %u: KVM refused MSR 0x%x", vcpu->id,
			  init[ret].index);
	return 0;
}

static void lapic_set_lvt(struct kvm_lapic_state *l, unsigned int reg,
			  unsigned int mode)
{
	uint32_t v;

	memcpy(&v, &l->regs[reg], sizeof(v));
	v = (v & ~0x700u) | (mode << 8);
	memcpy(&l->regs[reg], &v, sizeof(v));
}

/* LINT0 ExtINT and LINT1 NMI: the virtual-wire mode the PIC relies on. */
static int kvm_set_lapic(struct hv_vcpu *vcpu)
{
	struct kvm_lapic_state l;
	int ret = KVM_IOCTL(vcpu->fd, KVM_GET_LAPIC, &l);

	if (ret < 0)
		return ret;
	lapic_set_lvt(&l, APIC_LVT_LINT0, APIC_MODE_EXTINT);
	lapic_set_lvt(&l, APIC_LVT_LINT1, APIC_MODE_NMI);
	ret = KVM_IOCTL(vcpu->fd, KVM_SET_LAPIC, &l);
	return ret < 0 ? ret : 0;
}

int kvm_arch_vcpu_init(struct hv_vcpu *vcpu)
{
	int ret = kvm_set_cpuid(vcpu);

	if (!ret)
		ret = kvm_set_msrs(vcpu);
	if (!ret)
		ret = kvm_set_lapic(vcpu);
	if (ret)
		log_err("vCPU %u: setup failed: %s", vcpu->id, strerror(-ret));
	return ret;
}

static struct kvm_segment seg_flat(uint16_t sel, uint8_t type, bool code64)
{
	return (struct kvm_segment){
		.base = 0,
		.limit = 0xffffffff,
		.selector = sel,
		.type = type,
		.present = 1,
		.dpl = 0,
		.db = code64 ? 0 : 1,
		.s = 1,
		.l = code64 ? 1 : 0,
		.g = 1,
	};
}

/*
 * Long mode (64-bit entries) or 32-bit protected mode with paging off
 * (PVH: "CS 32-bit read/execute, DS/ES/SS read/write, base 0 limit 4G,
 * TR a 32-bit TSS, CR0.PE set, CR0.PG clear, CR4 0, EFLAGS IF/VM clear").
 */
static int kvm_set_boot_sregs(struct hv_vcpu *vcpu, const struct boot_entry *e)
{
	bool lm = e->mode == BOOT_MODE_LONG;
	struct kvm_sregs s;
	int ret = KVM_IOCTL(vcpu->fd, KVM_GET_SREGS, &s);

	if (ret < 0)
		return ret;
	s.cs = lm ? seg_flat(BOOT_GDT_CODE64, 0xb, true) :
		    seg_flat(BOOT_GDT_CODE32, 0xb, false);
	s.ds = s.es = s.fs = s.gs = s.ss = seg_flat(BOOT_GDT_DATA, 0x3, false);
	/* VMX insists on a usable busy TSS, even if unused. */
	s.tr = (struct kvm_segment){ .limit = 0x67, .type = 0xb, .present = 1 };
	s.ldt = (struct kvm_segment){ .type = 0x2, .unusable = 1 };
	s.gdt.base = e->gdt_base;
	s.gdt.limit = e->gdt_limit;
	s.idt.base = 0;
	s.idt.limit = 0;
	s.cr0 = X86_CR0_PE | X86_CR0_ET | X86_CR0_NE | (lm ? X86_CR0_PG : 0);
	s.cr3 = lm ? e->cr3 : 0;
	s.cr4 = lm ? X86_CR4_PAE : 0;
	s.efer = lm ? EFER_LME | EFER_LMA : 0;
	ret = KVM_IOCTL(vcpu->fd, KVM_SET_SREGS, &s);
	return ret < 0 ? ret : 0;
}

int hv_vcpu_set_boot(struct hv_vcpu *vcpu, const struct boot_entry *e)
{
	struct kvm_regs r = {
		.rflags = 0x2,
		.rip = e->rip,
		.rsi = e->rsi,
		.rsp = e->rsp,
		.rbx = e->rbx,
	};
	int ret = kvm_set_boot_sregs(vcpu, e);

	if (!ret)
		ret = KVM_IOCTL(vcpu->fd, KVM_SET_REGS, &r);
	if (ret < 0)
		log_err("vCPU %u: cannot set boot registers: %s", vcpu->id,
			strerror(-ret));
	return ret < 0 ? ret : 0;
}

uint64_t hv_vcpu_pc(struct hv_vcpu *vcpu)
{
	struct kvm_regs r;

	return KVM_IOCTL(vcpu->fd, KVM_GET_REGS, &r) < 0 ? 0 : r.rip;
}

/* Print up to 16 instruction bytes at the guest-virtual @rip. */
static void dump_code(struct hv_vcpu *vcpu, uint64_t rip)
{
	struct kvm_translation t = { .linear_address = rip };
	const uint8_t *p;
	char hex[16 * 3 + 1] = "";

	if (KVM_IOCTL(vcpu->fd, KVM_TRANSLATE, &t) < 0 || !t.valid) {
		log_err("  code: rip 0x%llx is not mapped",
			(unsigned long long)rip);
		return;
	}
	p = vm_gpa_to_hva(vcpu->hv->vm, t.physical_address, 16);
	if (!p) {
		log_err("  code: rip maps to 0x%llx, outside RAM",
			(unsigned long long)t.physical_address);
		return;
	}
	for (int i = 0; i < 16; i++)
		snprintf(hex + 3 * i, 4, "%02x ", p[i]);
	log_err("  code at rip (gpa 0x%llx): %s",
		(unsigned long long)t.physical_address, hex);
}

void hv_vcpu_dump(struct hv_vcpu *vcpu)
{
	struct kvm_regs r;
	struct kvm_sregs s;

	if (KVM_IOCTL(vcpu->fd, KVM_GET_REGS, &r) < 0 ||
	    KVM_IOCTL(vcpu->fd, KVM_GET_SREGS, &s) < 0) {
		log_err("  (registers unavailable)");
		return;
	}
	log_err("  rip %016llx rsp %016llx rflags %08llx",
		(unsigned long long)r.rip, (unsigned long long)r.rsp,
		(unsigned long long)r.rflags);
	log_err("  rax %016llx rbx %016llx rcx %016llx rdx %016llx",
		(unsigned long long)r.rax, (unsigned long long)r.rbx,
		(unsigned long long)r.rcx, (unsigned long long)r.rdx);
	log_err("  rsi %016llx rdi %016llx rbp %016llx",
		(unsigned long long)r.rsi, (unsigned long long)r.rdi,
		(unsigned long long)r.rbp);
	log_err("  cr0 %llx cr2 %llx cr3 %llx cr4 %llx efer %llx cs %x",
		(unsigned long long)s.cr0, (unsigned long long)s.cr2,
		(unsigned long long)s.cr3, (unsigned long long)s.cr4,
		(unsigned long long)s.efer, s.cs.selector);
	dump_code(vcpu, r.rip);
	if (hv_host_is_pvm())
		log_err("  hint: this host is PVM-based; its instruction emulator lacks some instructions (xsave, cmpxchg16b, int3, ...): see 'vmm probe'");
}

/* ---- debugger access: registers, FPU, guest debugging ---- */

void kvm_arch_exit_debug(struct hv_vcpu *vcpu, struct vm_exit *exit)
{
	struct kvm_debug_exit_arch *d = &vcpu->run->debug.arch;

	exit->reason = VM_EXIT_DEBUG;
	exit->debug.exception = d->exception;
	exit->debug.pc = d->pc;
	exit->debug.dr6 = d->dr6;
	exit->debug.dr7 = d->dr7;
}

int hv_vcpu_get_regs(struct hv_vcpu *vcpu, struct x86_regs *o)
{
	struct kvm_regs r;
	int ret = KVM_IOCTL(vcpu->fd, KVM_GET_REGS, &r);

	if (ret < 0)
		return ret;
	*o = (struct x86_regs){
		.rax = r.rax,
		.rbx = r.rbx,
		.rcx = r.rcx,
		.rdx = r.rdx,
		.rsi = r.rsi,
		.rdi = r.rdi,
		.rbp = r.rbp,
		.rsp = r.rsp,
		.r8 = r.r8,
		.r9 = r.r9,
		.r10 = r.r10,
		.r11 = r.r11,
		.r12 = r.r12,
		.r13 = r.r13,
		.r14 = r.r14,
		.r15 = r.r15,
		.rip = r.rip,
		.rflags = r.rflags,
	};
	return 0;
}

int hv_vcpu_set_regs(struct hv_vcpu *vcpu, const struct x86_regs *i)
{
	struct kvm_regs r = {
		.rax = i->rax,
		.rbx = i->rbx,
		.rcx = i->rcx,
		.rdx = i->rdx,
		.rsi = i->rsi,
		.rdi = i->rdi,
		.rbp = i->rbp,
		.rsp = i->rsp,
		.r8 = i->r8,
		.r9 = i->r9,
		.r10 = i->r10,
		.r11 = i->r11,
		.r12 = i->r12,
		.r13 = i->r13,
		.r14 = i->r14,
		.r15 = i->r15,
		.rip = i->rip,
		.rflags = i->rflags,
	};
	int ret = KVM_IOCTL(vcpu->fd, KVM_SET_REGS, &r);

	return ret < 0 ? ret : 0;
}

static void seg_from_kvm(struct x86_segment *o, const struct kvm_segment *k)
{
	*o = (struct x86_segment){
		.base = k->base,
		.limit = k->limit,
		.selector = k->selector,
		.type = k->type,
		.present = k->present,
		.dpl = k->dpl,
		.db = k->db,
		.s = k->s,
		.l = k->l,
		.g = k->g,
		.avl = k->avl,
		.unusable = k->unusable,
	};
}

static void seg_to_kvm(struct kvm_segment *k, const struct x86_segment *i)
{
	k->base = i->base;
	k->limit = i->limit;
	k->selector = i->selector;
	k->type = i->type;
	k->present = i->present;
	k->dpl = i->dpl;
	k->db = i->db;
	k->s = i->s;
	k->l = i->l;
	k->g = i->g;
	k->avl = i->avl;
	k->unusable = i->unusable;
}

/* One MSR through KVM_GET_MSRS / KVM_SET_MSRS. */
static int kvm_msr(struct hv_vcpu *vcpu, uint32_t index, uint64_t *value,
		   bool set)
{
	struct {
		struct kvm_msrs hdr;
		struct kvm_msr_entry e;
	} m = { .hdr.nmsrs = 1, .e = { .index = index, .data = *value } };
	int ret = set ? KVM_IOCTL(vcpu->fd, KVM_SET_MSRS, &m) :
			KVM_IOCTL(vcpu->fd, KVM_GET_MSRS, &m);

	if (ret < 0)
		return ret;
	if (ret != 1)
		return -EIO;
	*value = m.e.data;
	return 0;
}

int hv_vcpu_get_sregs(struct hv_vcpu *vcpu, struct x86_sregs *o)
{
	struct kvm_sregs s;
	int ret = KVM_IOCTL(vcpu->fd, KVM_GET_SREGS, &s);

	if (ret < 0)
		return ret;
	seg_from_kvm(&o->cs, &s.cs);
	seg_from_kvm(&o->ds, &s.ds);
	seg_from_kvm(&o->es, &s.es);
	seg_from_kvm(&o->fs, &s.fs);
	seg_from_kvm(&o->gs, &s.gs);
	seg_from_kvm(&o->ss, &s.ss);
	seg_from_kvm(&o->tr, &s.tr);
	seg_from_kvm(&o->ldt, &s.ldt);
	o->gdt = (struct x86_dtable){ s.gdt.base, s.gdt.limit };
	o->idt = (struct x86_dtable){ s.idt.base, s.idt.limit };
	o->cr0 = s.cr0;
	o->cr2 = s.cr2;
	o->cr3 = s.cr3;
	o->cr4 = s.cr4;
	o->cr8 = s.cr8;
	o->efer = s.efer;
	o->kernel_gs_base = 0;
	/* Optional: the rest is useful without it. */
	if (kvm_msr(vcpu, MSR_KERNEL_GS_BASE, &o->kernel_gs_base, false))
		o->kernel_gs_base = 0;
	return 0;
}

int hv_vcpu_set_sregs(struct hv_vcpu *vcpu, const struct x86_sregs *i)
{
	struct kvm_sregs s;
	uint64_t kgs = i->kernel_gs_base;
	/* Read first: keeps what the neutral struct does not carry. */
	int ret = KVM_IOCTL(vcpu->fd, KVM_GET_SREGS, &s);

	if (ret < 0)
		return ret;
	seg_to_kvm(&s.cs, &i->cs);
	seg_to_kvm(&s.ds, &i->ds);
	seg_to_kvm(&s.es, &i->es);
	seg_to_kvm(&s.fs, &i->fs);
	seg_to_kvm(&s.gs, &i->gs);
	seg_to_kvm(&s.ss, &i->ss);
	seg_to_kvm(&s.tr, &i->tr);
	seg_to_kvm(&s.ldt, &i->ldt);
	s.gdt.base = i->gdt.base;
	s.gdt.limit = i->gdt.limit;
	s.idt.base = i->idt.base;
	s.idt.limit = i->idt.limit;
	s.cr0 = i->cr0;
	s.cr2 = i->cr2;
	s.cr3 = i->cr3;
	s.cr4 = i->cr4;
	s.cr8 = i->cr8;
	s.efer = i->efer;
	ret = KVM_IOCTL(vcpu->fd, KVM_SET_SREGS, &s);
	if (ret < 0)
		return ret;
	return kvm_msr(vcpu, MSR_KERNEL_GS_BASE, &kgs, true);
}

/*
 * KVM keeps the abridged (FXSAVE) tag: one bit a register, set when it is
 * not empty. The full tag word says "valid" (00) or "empty" (11) here;
 * telling zero and special values apart would need the register contents.
 */
static uint16_t ftw_full(uint8_t abridged)
{
	uint16_t full = 0;

	for (int i = 0; i < 8; i++)
		if (!(abridged & (1u << i)))
			full |= 3u << (2 * i);
	return full;
}

static uint8_t ftw_abridged(uint16_t full)
{
	uint8_t ab = 0;

	for (int i = 0; i < 8; i++)
		if (((full >> (2 * i)) & 3) != 3)
			ab |= 1u << i;
	return ab;
}

int hv_vcpu_get_fpu(struct hv_vcpu *vcpu, struct x86_fpu *o)
{
	struct kvm_fpu f;
	int ret = KVM_IOCTL(vcpu->fd, KVM_GET_FPU, &f);

	if (ret < 0)
		return ret;
	memcpy(o->st, f.fpr, sizeof(o->st));
	o->fcw = f.fcw;
	o->fsw = f.fsw;
	o->ftw = ftw_full(f.ftwx);
	o->fop = f.last_opcode;
	o->fip = f.last_ip;
	o->fdp = f.last_dp;
	memcpy(o->xmm, f.xmm, sizeof(o->xmm));
	o->mxcsr = f.mxcsr;
	return 0;
}

int hv_vcpu_set_fpu(struct hv_vcpu *vcpu, const struct x86_fpu *i)
{
	struct kvm_fpu f = { 0 };
	int ret;

	memcpy(f.fpr, i->st, sizeof(f.fpr));
	f.fcw = i->fcw;
	f.fsw = i->fsw;
	f.ftwx = ftw_abridged(i->ftw);
	f.last_opcode = i->fop;
	f.last_ip = i->fip;
	f.last_dp = i->fdp;
	memcpy(f.xmm, i->xmm, sizeof(f.xmm));
	f.mxcsr = i->mxcsr;
	ret = KVM_IOCTL(vcpu->fd, KVM_SET_FPU, &f);
	return ret < 0 ? ret : 0;
}

int hv_vcpu_set_debug(struct hv_vcpu *vcpu, const struct x86_debug *d)
{
	struct kvm_guest_debug g = { 0 };
	int ret;

	if (d->flags & X86_DEBUG_ENABLE) {
		g.control = KVM_GUESTDBG_ENABLE;
		if (d->flags & X86_DEBUG_SINGLESTEP)
			g.control |= KVM_GUESTDBG_SINGLESTEP;
		if (d->flags & X86_DEBUG_SW_BP)
			g.control |= KVM_GUESTDBG_USE_SW_BP;
		if (d->flags & X86_DEBUG_HW_BP)
			g.control |= KVM_GUESTDBG_USE_HW_BP;
		if (d->flags & X86_DEBUG_BLOCKIRQ)
			g.control |= KVM_GUESTDBG_BLOCKIRQ;
		if (d->flags & X86_DEBUG_INJECT_BP)
			g.control |= KVM_GUESTDBG_INJECT_BP;
	}
	if (g.control & KVM_GUESTDBG_USE_HW_BP) {
		for (int i = 0; i < 4; i++)
			g.arch.debugreg[i] = d->dr[i];
		g.arch.debugreg[7] = d->dr7;
	}
	ret = KVM_IOCTL(vcpu->fd, KVM_SET_GUEST_DEBUG, &g);
	return ret < 0 ? ret : 0;
}

unsigned int hv_debug_caps(struct hv_vm *hv)
{
	unsigned int caps = 0;
	int v2;

	if (ioctl(hv->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_GUEST_DEBUG) > 0)
		caps = X86_DEBUG_ENABLE | X86_DEBUG_SINGLESTEP |
		       X86_DEBUG_SW_BP | X86_DEBUG_HW_BP | X86_DEBUG_INJECT_BP;
	/* SET_GUEST_DEBUG2 returns the control bits KVM accepts. */
	v2 = ioctl(hv->vm_fd, KVM_CHECK_EXTENSION, KVM_CAP_SET_GUEST_DEBUG2);
	if (caps && v2 > 0 && (v2 & KVM_GUESTDBG_BLOCKIRQ))
		caps |= X86_DEBUG_BLOCKIRQ;
	return caps;
}
