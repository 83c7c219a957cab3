/* SPDX-License-Identifier: MIT */
/* Shared between the KVM backend files; nothing outside kvm/ includes it. */
#ifndef KVM_KVM_INTERNAL_H
#define KVM_KVM_INTERNAL_H

#include <linux/kvm.h>
#include <pthread.h>
#include <stdbool.h>

struct vm;

struct hv_vm {
	struct vm *vm;
	int kvm_fd, vm_fd;
	int run_size;
	unsigned int nr_slots;
	bool immediate_exit; /* KVM_CAP_IMMEDIATE_EXIT */
};

struct hv_vcpu {
	struct hv_vm *hv;
	unsigned int id;
	int fd;
	struct kvm_run *run;
	pthread_t thread;
};

/*
 * ioctl wrapper that names the failing request in the log. Returns the
 * ioctl's non-negative result or -errno.
 */
int kvm_ioctl(int fd, unsigned long req, void *arg, const char *name);
#define KVM_IOCTL(fd, req, arg) kvm_ioctl(fd, req, arg, #req)

/* Why opening /dev/kvm failed with @err, in words ("" if no hint). */
const char *kvm_open_hint(int err);

/* Architecture part of VM creation (irqchip, timers, special pages). */
int kvm_arch_vm_init(struct hv_vm *hv);
/* Architecture part of vCPU creation (CPUID, MSRs, LAPIC). */
int kvm_arch_vcpu_init(struct hv_vcpu *vcpu);

struct vm_exit;
/* Fill @exit from a KVM_EXIT_DEBUG (architecture-specific run->debug). */
void kvm_arch_exit_debug(struct hv_vcpu *vcpu, struct vm_exit *exit);

#endif
