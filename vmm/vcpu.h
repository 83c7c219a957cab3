/* SPDX-License-Identifier: MIT */
/* vCPU threads: one pthread per vCPU running Run -> exit -> dispatch. */
#ifndef VMM_VCPU_H
#define VMM_VCPU_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "vmm/exit.h"

struct vm;
struct hv_vcpu;
struct boot_entry;

struct vcpu {
	struct vm *vm;
	unsigned int id;
	struct hv_vcpu *hv;
	pthread_t thread;
	bool started;
	const struct boot_entry *boot; /* boot vCPU only */
	atomic_bool sample; /* a PC sample was requested by a kick */
	uint64_t *samples; /* guest PCs sampled on kicks (--pc-samples) */
	size_t nr_samples, cap_samples;
	int ret; /* 0 or -errno of creation / run */
};

enum vcpu_action { VCPU_CONTINUE, VCPU_STOP };

/*
 * Dispatch one exit: I/O to the buses, power events to the VM. Pure
 * dispatch without backend calls except for failure dumps; unit-tested.
 */
enum vcpu_action vcpu_handle_exit(struct vcpu *vcpu, struct vm_exit *exit);

/*
 * Create vm->nr_vcpus vCPU threads (vCPU 0 starts at @boot), wait until all
 * are created, then let them run. Returns 0 or the first creation error.
 */
int vcpus_start(struct vm *vm, const struct boot_entry *boot);
/* Kick every vCPU out of the hypervisor (the VM's kick_all hook). */
void vcpus_kick_all(struct vm *vm);
/* Wait for all vCPU threads to end (the vCPUs stay for inspection). */
void vcpus_join(struct vm *vm);
/* Destroy and free the vCPUs after vcpus_join(). */
void vcpus_free(struct vm *vm);
/* Ask every vCPU to record its guest PC once (a kick; for profiling). */
void vcpus_request_pc_sample(struct vm *vm);
/* Write "vcpu pc" lines of all recorded samples to @f. 0 or -errno. */
int vcpus_write_pc_samples(struct vm *vm, FILE *f);
/* Install the no-op signal handler used by kicks; call before vcpus_start. */
int vcpus_init_signals(void);
/* The signal used to kick vCPUs out of the hypervisor. */
#define VCPU_KICK_SIGNAL SIGUSR1

#endif
