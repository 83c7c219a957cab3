/* SPDX-License-Identifier: MIT */
/*
 * The backend seam: one implementation per hypervisor (kvm/, hvf/), chosen
 * at link time. The core never includes a backend header.
 */
#ifndef VMM_HV_H
#define VMM_HV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/exit.h"

struct vm;
struct hv_vm;
struct hv_vcpu;
struct boot_entry;

#define HV_PROT_READ 1u
#define HV_PROT_WRITE 2u
#define HV_PROT_EXEC 4u

/* What `vmm probe` reports about the host hypervisor. */
struct hv_probe {
	bool usable; /* a VM can be created */
	char reason[160]; /* why not, when !usable */
	int api_version;
	int max_vcpus;
	bool nested_pvm; /* PVM-based nested virtualisation (kvm_pvm) */
	struct {
		const char *name;
		bool present;
		bool required;
	} caps[24];
	unsigned int nr_caps;
};

/* Fill @out with what the host offers; never fails (reasons go in @out). */
void hv_probe(struct hv_probe *out);
/* True when the host is PVM-based; cheap, no /dev/kvm needed. */
bool hv_host_is_pvm(void);

/* Create the VM with its platform (irqchip, timer) for @vm's vCPU count. */
int hv_vm_create(struct vm *vm, struct hv_vm **out);
/* Tear down the VM; all vCPUs must have been destroyed. */
void hv_vm_destroy(struct hv_vm *hv);
/* Map host memory [hva, hva+len) at guest-physical @gpa. */
int hv_vm_map(struct hv_vm *hv, uint64_t gpa, void *hva, size_t len,
	      unsigned int prot);
/* Create vCPU @id; must be called on the thread that will run it. */
int hv_vcpu_create(struct hv_vm *hv, unsigned int id, struct hv_vcpu **out);
/* Destroy a vCPU created by hv_vcpu_create(). NULL is allowed. */
void hv_vcpu_destroy(struct hv_vcpu *vcpu);
/* Put the boot vCPU into the state @entry describes. */
int hv_vcpu_set_boot(struct hv_vcpu *vcpu, const struct boot_entry *entry);
/* Run until the next exit and describe it in @exit. 0 or -errno. */
int hv_vcpu_run(struct hv_vcpu *vcpu, struct vm_exit *exit);
/* Make hv_vcpu_run() return VM_EXIT_KICKED soon; safe from any thread. */
void hv_vcpu_kick(struct hv_vcpu *vcpu);
/* Print registers and the bytes at the guest PC (failure reports). */
void hv_vcpu_dump(struct hv_vcpu *vcpu);
/* Guest PC of the vCPU for status reports (0 if unknown). */
uint64_t hv_vcpu_pc(struct hv_vcpu *vcpu);
/* Set the level of legacy interrupt line @irq. */
int hv_irq_line(struct hv_vm *hv, unsigned int irq, bool level);
/* Inject the MSI @addr/@data; safe from any thread. 0/-errno. */
int hv_msi(struct hv_vm *hv, uint64_t addr, uint32_t data);
/*
 * Make a guest write of @len bytes to MMIO @gpa signal eventfd @fd in the
 * hypervisor, without an exit (@assign false removes it). -ENOTSUP if the
 * backend has no such fast path.
 */
int hv_ioeventfd(struct hv_vm *hv, uint64_t gpa, uint32_t len, int fd,
		 bool assign);

/*
 * Debugger access (gdb/), x86_64 types from vmm/regs_x86_64.h. Any thread
 * may call these while the vCPU is not inside hv_vcpu_run(); 0 or -errno.
 */
struct x86_regs;
struct x86_sregs;
struct x86_fpu;
struct x86_debug;
int hv_vcpu_get_regs(struct hv_vcpu *vcpu, struct x86_regs *regs);
int hv_vcpu_set_regs(struct hv_vcpu *vcpu, const struct x86_regs *regs);
int hv_vcpu_get_sregs(struct hv_vcpu *vcpu, struct x86_sregs *sregs);
int hv_vcpu_set_sregs(struct hv_vcpu *vcpu, const struct x86_sregs *sregs);
int hv_vcpu_get_fpu(struct hv_vcpu *vcpu, struct x86_fpu *fpu);
int hv_vcpu_set_fpu(struct hv_vcpu *vcpu, const struct x86_fpu *fpu);
/*
 * Arm or disarm guest debugging (X86_DEBUG_* flags, debug registers);
 * debug events then come back as VM_EXIT_DEBUG. Replaces the last setting.
 */
int hv_vcpu_set_debug(struct hv_vcpu *vcpu, const struct x86_debug *dbg);
/* The X86_DEBUG_* flags this backend supports (0: no guest debugging). */
unsigned int hv_debug_caps(struct hv_vm *hv);

#endif
