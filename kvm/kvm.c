// SPDX-License-Identifier: MIT
/* KVM backend, architecture-neutral part: VM, memory slots, KVM_RUN. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvm/kvm_internal.h"
#include "vmm/hv.h"
#include "vmm/log.h"
#include "vmm/vcpu.h"
#include "vmm/vm.h"

int kvm_ioctl(int fd, unsigned long req, void *arg, const char *name)
{
	int ret;

	do
		ret = ioctl(fd, req, arg);
	while (ret < 0 && errno == EINTR && req != KVM_RUN);
	if (ret < 0) {
		ret = -errno;
		if (req != KVM_RUN)
			log_debug("%s: %s", name, strerror(-ret));
	}
	return ret;
}

static int kvm_open_checked(void)
{
	int fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		int err = errno;

		log_err("/dev/kvm: %s%s", strerror(err), kvm_open_hint(err));
		return -err;
	}
	if (ioctl(fd, KVM_GET_API_VERSION, 0) != KVM_API_VERSION) {
		log_err("/dev/kvm: unsupported KVM API version");
		close(fd);
		return -ENOTSUP;
	}
	return fd;
}

/* KVM_CAP_MAX_VCPUS, falling back to the recommended count (API doc). */
static int kvm_check_vcpus(int kvm_fd, unsigned int want)
{
	int max = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);

	if (max <= 0)
		max = ioctl(kvm_fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	if (max <= 0)
		max = 4;
	if (want > (unsigned int)max) {
		log_err("--cpus %u: this host's KVM allows at most %d vCPUs",
			want, max);
		return -EINVAL;
	}
	return 0;
}

int hv_vm_create(struct vm *vm, struct hv_vm **out)
{
	struct hv_vm *hv = calloc(1, sizeof(*hv));
	int ret;

	if (!hv)
		return -ENOMEM;
	hv->vm = vm;
	hv->vm_fd = -1;
	hv->kvm_fd = kvm_open_checked();
	if (hv->kvm_fd < 0) {
		ret = hv->kvm_fd;
		free(hv);
		return ret;
	}
	hv->run_size = ioctl(hv->kvm_fd, KVM_GET_VCPU_MMAP_SIZE, 0);
	hv->immediate_exit = ioctl(hv->kvm_fd, KVM_CHECK_EXTENSION,
				   KVM_CAP_IMMEDIATE_EXIT) > 0;
	ret = kvm_check_vcpus(hv->kvm_fd, vm->nr_vcpus);
	if (ret) {
		hv_vm_destroy(hv);
		return ret;
	}
	hv->vm_fd = KVM_IOCTL(hv->kvm_fd, KVM_CREATE_VM, 0);
	ret = hv->vm_fd < 0 ? hv->vm_fd : 0;
	if (!ret && hv->run_size <= 0)
		ret = -EINVAL;
	if (!ret)
		ret = kvm_arch_vm_init(hv);
	if (ret) {
		log_err("cannot create a KVM VM: %s", strerror(-ret));
		hv_vm_destroy(hv);
		return ret;
	}
	*out = hv;
	return 0;
}

void hv_vm_destroy(struct hv_vm *hv)
{
	if (!hv)
		return;
	if (hv->vm_fd >= 0)
		close(hv->vm_fd);
	if (hv->kvm_fd >= 0)
		close(hv->kvm_fd);
	free(hv);
}

int hv_vm_map(struct hv_vm *hv, uint64_t gpa, void *hva, size_t len,
	      unsigned int prot)
{
	struct kvm_userspace_memory_region region = {
		.slot = hv->nr_slots,
		.flags = (prot & HV_PROT_WRITE) ? 0 : KVM_MEM_READONLY,
		.guest_phys_addr = gpa,
		.memory_size = len,
		.userspace_addr = (uintptr_t)hva,
	};
	int ret = KVM_IOCTL(hv->vm_fd, KVM_SET_USER_MEMORY_REGION, &region);

	if (ret < 0) {
		log_err("cannot map %zu MiB of guest RAM at 0x%llx: %s",
			len >> 20, (unsigned long long)gpa, strerror(-ret));
		return ret;
	}
	hv->nr_slots++;
	return 0;
}

int hv_vcpu_create(struct hv_vm *hv, unsigned int id, struct hv_vcpu **out)
{
	struct hv_vcpu *vcpu = calloc(1, sizeof(*vcpu));
	int ret;

	if (!vcpu)
		return -ENOMEM;
	vcpu->hv = hv;
	vcpu->id = id;
	vcpu->thread = pthread_self();
	vcpu->fd = KVM_IOCTL(hv->vm_fd, KVM_CREATE_VCPU, (void *)(uintptr_t)id);
	if (vcpu->fd < 0) {
		ret = vcpu->fd;
		free(vcpu);
		return ret;
	}
	vcpu->run = mmap(NULL, hv->run_size, PROT_READ | PROT_WRITE, MAP_SHARED,
			 vcpu->fd, 0);
	if (vcpu->run == MAP_FAILED) {
		ret = -errno;
		vcpu->run = NULL;
		hv_vcpu_destroy(vcpu);
		return ret;
	}
	ret = kvm_arch_vcpu_init(vcpu);
	if (ret) {
		hv_vcpu_destroy(vcpu);
		return ret;
	}
	*out = vcpu;
	return 0;
}

void hv_vcpu_destroy(struct hv_vcpu *vcpu)
{
	if (!vcpu)
		return;
	if (vcpu->run)
		munmap(vcpu->run, vcpu->hv->run_size);
	close(vcpu->fd);
	free(vcpu);
}

static void kvm_exit_io(struct kvm_run *run, struct vm_exit *exit)
{
	exit->reason = VM_EXIT_PIO;
	exit->io.addr = run->io.port;
	exit->io.data = (uint8_t *)run + run->io.data_offset;
	exit->io.len = run->io.size;
	exit->io.count = run->io.count;
	exit->io.write = run->io.direction == KVM_EXIT_IO_OUT;
}

static void kvm_exit_mmio(struct kvm_run *run, struct vm_exit *exit)
{
	exit->reason = VM_EXIT_MMIO;
	exit->io.addr = run->mmio.phys_addr;
	exit->io.data = run->mmio.data;
	exit->io.len = run->mmio.len;
	exit->io.count = 1;
	exit->io.write = run->mmio.is_write;
}

static void kvm_exit_fail(struct vm_exit *exit, uint64_t code, const char *what)
{
	exit->reason = VM_EXIT_FAILED;
	exit->fail.code = code;
	exit->fail.what = what;
}

static void kvm_exit_system_event(struct kvm_run *run, struct vm_exit *exit)
{
	switch (run->system_event.type) {
	case KVM_SYSTEM_EVENT_SHUTDOWN:
		exit->reason = VM_EXIT_SYSTEM_OFF;
		break;
	case KVM_SYSTEM_EVENT_RESET:
		exit->reason = VM_EXIT_RESET;
		break;
	default:
		kvm_exit_fail(exit, run->system_event.type,
			      "KVM system event (crash)");
	}
}

static void kvm_exit_internal(struct kvm_run *run, struct vm_exit *exit)
{
	kvm_exit_fail(
		exit, run->internal.suberror,
		run->internal.suberror == KVM_INTERNAL_ERROR_EMULATION ?
			"KVM internal error: instruction emulation failed" :
			"KVM internal error");
}

static void kvm_translate_exit(struct hv_vcpu *vcpu, struct vm_exit *exit)
{
	struct kvm_run *run = vcpu->run;

	exit->fail.pc = 0;
	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		return kvm_exit_io(run, exit);
	case KVM_EXIT_MMIO:
		return kvm_exit_mmio(run, exit);
	case KVM_EXIT_HLT:
		exit->reason = VM_EXIT_HALT;
		return;
	case KVM_EXIT_SHUTDOWN:
		exit->reason = VM_EXIT_SHUTDOWN;
		return;
	case KVM_EXIT_DEBUG:
		kvm_arch_exit_debug(vcpu, exit);
		return;
	case KVM_EXIT_INTR:
		exit->reason = VM_EXIT_KICKED;
		return;
	case KVM_EXIT_SYSTEM_EVENT:
		return kvm_exit_system_event(run, exit);
	case KVM_EXIT_INTERNAL_ERROR:
		kvm_exit_internal(run, exit);
		break;
	case KVM_EXIT_FAIL_ENTRY:
		kvm_exit_fail(exit,
			      run->fail_entry.hardware_entry_failure_reason,
			      "KVM_RUN entry failed");
		break;
	default:
		kvm_exit_fail(exit, run->exit_reason, "unexpected KVM exit");
	}
	exit->fail.pc = hv_vcpu_pc(vcpu);
}

int hv_vcpu_run(struct hv_vcpu *vcpu, struct vm_exit *exit)
{
	int ret = KVM_IOCTL(vcpu->fd, KVM_RUN, NULL);

	if (ret == -EINTR || ret == -EAGAIN) {
		vcpu->run->immediate_exit = 0;
		exit->reason = VM_EXIT_KICKED;
		return 0;
	}
	if (ret < 0)
		return ret;
	kvm_translate_exit(vcpu, exit);
	return 0;
}

void hv_vcpu_kick(struct hv_vcpu *vcpu)
{
	/* immediate_exit covers a kick that lands just before KVM_RUN. */
	if (vcpu->hv->immediate_exit)
		__atomic_store_n(&vcpu->run->immediate_exit, 1,
				 __ATOMIC_SEQ_CST);
	pthread_kill(vcpu->thread, VCPU_KICK_SIGNAL);
}

int hv_irq_line(struct hv_vm *hv, unsigned int irq, bool level)
{
	struct kvm_irq_level l = { .irq = irq, .level = level };
	int ret = KVM_IOCTL(hv->vm_fd, KVM_IRQ_LINE, &l);

	return ret < 0 ? ret : 0;
}

int hv_msi(struct hv_vm *hv, uint64_t addr, uint32_t data)
{
	struct kvm_msi msi = { .address_lo = (uint32_t)addr,
			       .address_hi = (uint32_t)(addr >> 32),
			       .data = data };
	int ret = KVM_IOCTL(hv->vm_fd, KVM_SIGNAL_MSI, &msi);

	/* 0 means the guest blocked it (e.g. masked in the LAPIC): fine. */
	return ret < 0 ? ret : 0;
}

int hv_ioeventfd(struct hv_vm *hv, uint64_t gpa, uint32_t len, int fd,
		 bool assign)
{
	struct kvm_ioeventfd io = {
		.addr = gpa,
		.len = len,
		.fd = fd,
		.flags = assign ? 0 : KVM_IOEVENTFD_FLAG_DEASSIGN
	};
	int ret = KVM_IOCTL(hv->vm_fd, KVM_IOEVENTFD, &io);

	return ret < 0 ? ret : 0;
}
