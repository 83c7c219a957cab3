// SPDX-License-Identifier: MIT
#include "vmm/vcpu.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/hv.h"
#include "vmm/log.h"
#include "vmm/vm.h"

/*
 * Start-up handshake: every vCPU exists before any of them runs. File-wide
 * state, as vmm runs one VM per process.
 */
static pthread_mutex_t start_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t start_cond = PTHREAD_COND_INITIALIZER;
static unsigned int nr_ready;
static bool go, abort_start;

static void vcpu_io(struct bus *bus, struct vm_exit *exit)
{
	for (uint32_t i = 0; i < exit->io.count; i++)
		bus_access(bus, exit->io.addr, exit->io.data + i * exit->io.len,
			   exit->io.len, exit->io.write);
}

static enum vcpu_action vcpu_failed(struct vcpu *vcpu, struct vm_exit *exit)
{
	log_err("vCPU %u: %s (code 0x%llx) at pc 0x%llx", vcpu->id,
		exit->fail.what ? exit->fail.what : "hypervisor failure",
		(unsigned long long)exit->fail.code,
		(unsigned long long)exit->fail.pc);
	hv_vcpu_dump(vcpu->hv);
	vm_request_stop(vcpu->vm, VM_STOP_ERROR);
	return VCPU_STOP;
}

/* Keep the sample; drop it rather than fail when memory runs short. */
static void vcpu_record_pc(struct vcpu *vcpu)
{
	if (vcpu->nr_samples == vcpu->cap_samples) {
		size_t cap = vcpu->cap_samples ? vcpu->cap_samples * 2 : 4096;
		uint64_t *s = realloc(vcpu->samples, cap * sizeof(*s));

		if (!s)
			return;
		vcpu->samples = s;
		vcpu->cap_samples = cap;
	}
	vcpu->samples[vcpu->nr_samples++] = hv_vcpu_pc(vcpu->hv);
}

enum vcpu_action vcpu_handle_exit(struct vcpu *vcpu, struct vm_exit *exit)
{
	struct vm *vm = vcpu->vm;

	switch (exit->reason) {
	case VM_EXIT_PIO:
		vcpu_io(&vm->pio, exit);
		return VCPU_CONTINUE;
	case VM_EXIT_MMIO:
		vcpu_io(&vm->mmio, exit);
		return VCPU_CONTINUE;
	case VM_EXIT_HALT:
		return VCPU_CONTINUE;
	case VM_EXIT_DEBUG:
		if (vm->debug_exit)
			vm->debug_exit(vcpu, exit);
		return VCPU_CONTINUE;
	case VM_EXIT_KICKED:
		if (atomic_exchange(&vcpu->sample, false))
			vcpu_record_pc(vcpu);
		return atomic_load(&vm->stopping) ? VCPU_STOP : VCPU_CONTINUE;
	case VM_EXIT_SHUTDOWN:
		/* A panicking kernel whose reset failed also ends up here. */
		vm_request_stop(vm, atomic_load(&vm->guest_panicked) ?
					    VM_STOP_PANIC :
					    VM_STOP_TRIPLE_FAULT);
		return VCPU_STOP;
	case VM_EXIT_RESET:
		vm_guest_reset(vm);
		return VCPU_STOP;
	case VM_EXIT_SYSTEM_OFF:
		vm_request_stop(vm, VM_STOP_POWEROFF);
		return VCPU_STOP;
	case VM_EXIT_FAILED:
	case VM_EXIT_NR:
		break;
	}
	return vcpu_failed(vcpu, exit);
}

static void vcpu_run_loop(struct vcpu *vcpu)
{
	struct vm *vm = vcpu->vm;
	struct vm_exit exit;
	int ret;

	if (vcpu->id == 0)
		vm_mark_time(&vm->first_run_seen, &vm->t_first_run);
	while (!atomic_load(&vm->stopping)) {
		/* A debugger holds the vCPUs (all-stop); see vm.h. */
		if (atomic_load(&vm->debug_pause) && vm->debug_park) {
			vm->debug_park(vcpu);
			if (atomic_load(&vm->stopping))
				break;
		}
		ret = hv_vcpu_run(vcpu->hv, &exit);
		if (ret) {
			log_err("vCPU %u: run failed: %s", vcpu->id,
				strerror(-ret));
			vcpu->ret = ret;
			vm_request_stop(vm, VM_STOP_ERROR);
			return;
		}
		if ((unsigned int)exit.reason < VM_EXIT_NR)
			atomic_fetch_add_explicit(&vm->stats.exits[exit.reason],
						  1, memory_order_relaxed);
		if (vcpu_handle_exit(vcpu, &exit) == VCPU_STOP)
			return;
	}
}

/* Report creation to vcpus_start() and wait for the go signal. */
static bool vcpu_wait_go(struct vcpu *vcpu)
{
	bool run;

	pthread_mutex_lock(&start_lock);
	nr_ready++;
	pthread_cond_broadcast(&start_cond);
	while (!go && !abort_start)
		pthread_cond_wait(&start_cond, &start_lock);
	run = go && !vcpu->ret;
	pthread_mutex_unlock(&start_lock);
	return run;
}

static void *vcpu_thread(void *arg)
{
	struct vcpu *vcpu = arg;
	sigset_t set;

	/* Only this signal reaches vCPU threads: it breaks KVM_RUN. */
	sigemptyset(&set);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);

	vcpu->ret = hv_vcpu_create(vcpu->vm->hv, vcpu->id, &vcpu->hv);
	if (!vcpu->ret && vcpu->boot)
		vcpu->ret = hv_vcpu_set_boot(vcpu->hv, vcpu->boot);
	if (vcpu->ret)
		log_err("vCPU %u: cannot create: %s", vcpu->id,
			strerror(-vcpu->ret));
	if (vcpu_wait_go(vcpu))
		vcpu_run_loop(vcpu);
	return NULL;
}

static void vcpu_kick_handler(int sig)
{
	(void)sig;
}

int vcpus_init_signals(void)
{
	struct sigaction sa = { .sa_handler = vcpu_kick_handler };

	/* No SA_RESTART: the point is to make KVM_RUN return EINTR. */
	sigemptyset(&sa.sa_mask);
	return sigaction(VCPU_KICK_SIGNAL, &sa, NULL) ? -errno : 0;
}

static int vcpus_spawn(struct vm *vm, const struct boot_entry *boot)
{
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *vcpu = calloc(1, sizeof(*vcpu));
		int ret;

		if (!vcpu)
			return -ENOMEM;
		vcpu->vm = vm;
		vcpu->id = i;
		vcpu->boot = i == 0 ? boot : NULL;
		vm->vcpus[i] = vcpu;
		ret = pthread_create(&vcpu->thread, NULL, vcpu_thread, vcpu);
		if (ret)
			return -ret;
		vcpu->started = true;
	}
	return 0;
}

int vcpus_start(struct vm *vm, const struct boot_entry *boot)
{
	unsigned int started = 0;
	int ret;

	vm->vcpus = calloc(vm->nr_vcpus, sizeof(*vm->vcpus));
	if (!vm->vcpus)
		return -ENOMEM;
	vm->kick_all = vcpus_kick_all;
	ret = vcpus_spawn(vm, boot);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++)
		started += vm->vcpus[i] && vm->vcpus[i]->started;

	pthread_mutex_lock(&start_lock);
	while (nr_ready < started)
		pthread_cond_wait(&start_cond, &start_lock);
	for (unsigned int i = 0; i < started && !ret; i++)
		ret = vm->vcpus[i]->ret;
	if (ret)
		abort_start = true;
	else
		go = true;
	pthread_cond_broadcast(&start_cond);
	pthread_mutex_unlock(&start_lock);
	return ret;
}

void vcpus_kick_all(struct vm *vm)
{
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *vcpu = vm->vcpus ? vm->vcpus[i] : NULL;

		if (vcpu && vcpu->hv)
			hv_vcpu_kick(vcpu->hv);
	}
}

void vcpus_join(struct vm *vm)
{
	for (unsigned int i = 0; vm->vcpus && i < vm->nr_vcpus; i++) {
		struct vcpu *vcpu = vm->vcpus[i];

		if (vcpu && vcpu->started) {
			pthread_join(vcpu->thread, NULL);
			vcpu->started = false;
		}
	}
}

void vcpus_free(struct vm *vm)
{
	if (!vm->vcpus)
		return;
	vcpus_join(vm);
	for (unsigned int i = 0; i < vm->nr_vcpus; i++) {
		struct vcpu *vcpu = vm->vcpus[i];

		if (!vcpu)
			continue;
		hv_vcpu_destroy(vcpu->hv);
		free(vcpu->samples);
		free(vcpu);
	}
	free(vm->vcpus);
	vm->vcpus = NULL;
}

void vcpus_request_pc_sample(struct vm *vm)
{
	for (unsigned int i = 0; vm->vcpus && i < vm->nr_vcpus; i++)
		if (vm->vcpus[i])
			atomic_store(&vm->vcpus[i]->sample, true);
	vcpus_kick_all(vm);
}

int vcpus_write_pc_samples(struct vm *vm, FILE *f)
{
	for (unsigned int i = 0; vm->vcpus && i < vm->nr_vcpus; i++) {
		struct vcpu *vcpu = vm->vcpus[i];

		for (size_t j = 0; vcpu && j < vcpu->nr_samples; j++)
			if (fprintf(f, "%u 0x%llx\n", i,
				    (unsigned long long)vcpu->samples[j]) < 0)
				return -EIO;
	}
	return 0;
}
