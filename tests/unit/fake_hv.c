// SPDX-License-Identifier: MIT
/*
 * A fake backend for unit tests: it replays a script of exits and records
 * kicks and interrupt lines, so the core runs without /dev/kvm.
 */
#include "tests/unit/fake_hv.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct fake_hv_state fake_hv;

struct hv_vm {
	struct vm *vm;
};

struct hv_vcpu {
	unsigned int id;
	size_t next; /* next scripted exit */
	struct x86_regs regs; /* what the debugger reads and writes */
	struct x86_sregs sregs;
	struct x86_fpu fpu;
};

void fake_hv_reset(void)
{
	memset(&fake_hv, 0, sizeof(fake_hv));
}

void hv_probe(struct hv_probe *out)
{
	memset(out, 0, sizeof(*out));
	out->usable = true;
}

bool hv_host_is_pvm(void)
{
	return fake_hv.pvm;
}

int hv_vm_create(struct vm *vm, struct hv_vm **out)
{
	struct hv_vm *hv;

	if (fake_hv.fail_vm_create)
		return fake_hv.fail_vm_create;
	hv = calloc(1, sizeof(*hv));
	if (!hv)
		return -ENOMEM;
	hv->vm = vm;
	*out = hv;
	return 0;
}

void hv_vm_destroy(struct hv_vm *hv)
{
	free(hv);
}

int hv_vm_map(struct hv_vm *hv, uint64_t gpa, void *hva, size_t len,
	      unsigned int prot)
{
	fake_hv.maps++;
	return 0;
}

int hv_vcpu_create(struct hv_vm *hv, unsigned int id, struct hv_vcpu **out)
{
	struct hv_vcpu *v = calloc(1, sizeof(*v));

	if (!v)
		return -ENOMEM;
	v->id = id;
	*out = v;
	return 0;
}

void hv_vcpu_destroy(struct hv_vcpu *vcpu)
{
	free(vcpu);
}

int hv_vcpu_set_boot(struct hv_vcpu *vcpu, const struct boot_entry *entry)
{
	fake_hv.boot_set++;
	return 0;
}

int hv_vcpu_run(struct hv_vcpu *vcpu, struct vm_exit *exit)
{
	if (vcpu->next >= fake_hv.nr_exits)
		return -EIO; /* script exhausted: the run loop must stop */
	*exit = fake_hv.exits[vcpu->next++];
	fake_hv.runs++;
	return 0;
}

void hv_vcpu_kick(struct hv_vcpu *vcpu)
{
	__atomic_add_fetch(&fake_hv.kicks, 1, __ATOMIC_SEQ_CST);
}

void hv_vcpu_dump(struct hv_vcpu *vcpu)
{
	fake_hv.dumps++;
}

uint64_t hv_vcpu_pc(struct hv_vcpu *vcpu)
{
	return 0;
}

int hv_irq_line(struct hv_vm *hv, unsigned int irq, bool level)
{
	if (irq < FAKE_HV_IRQS)
		fake_hv.irq_level[irq] = level;
	return 0;
}

int hv_msi(struct hv_vm *hv, uint64_t addr, uint32_t data)
{
	fake_hv.msis++;
	return 0;
}

int hv_ioeventfd(struct hv_vm *hv, uint64_t gpa, uint32_t len, int fd,
		 bool assign)
{
	return -ENOTSUP;
}

int hv_vcpu_get_regs(struct hv_vcpu *vcpu, struct x86_regs *regs)
{
	*regs = vcpu->regs;
	return 0;
}

int hv_vcpu_set_regs(struct hv_vcpu *vcpu, const struct x86_regs *regs)
{
	vcpu->regs = *regs;
	return 0;
}

int hv_vcpu_get_sregs(struct hv_vcpu *vcpu, struct x86_sregs *sregs)
{
	*sregs = vcpu->sregs;
	return 0;
}

int hv_vcpu_set_sregs(struct hv_vcpu *vcpu, const struct x86_sregs *sregs)
{
	vcpu->sregs = *sregs;
	return 0;
}

int hv_vcpu_get_fpu(struct hv_vcpu *vcpu, struct x86_fpu *fpu)
{
	*fpu = vcpu->fpu;
	return 0;
}

int hv_vcpu_set_fpu(struct hv_vcpu *vcpu, const struct x86_fpu *fpu)
{
	vcpu->fpu = *fpu;
	return 0;
}

int hv_vcpu_set_debug(struct hv_vcpu *vcpu, const struct x86_debug *dbg)
{
	if (vcpu->id < FAKE_HV_VCPUS)
		fake_hv.debug[vcpu->id] = *dbg;
	__atomic_add_fetch(&fake_hv.debug_sets, 1, __ATOMIC_SEQ_CST);
	return 0;
}

unsigned int hv_debug_caps(struct hv_vm *hv)
{
	return fake_hv.debug_caps;
}
