// SPDX-License-Identifier: MIT
/*
 * The floor for exit cost: a raw KVM_RUN loop with nothing but the exit
 * counting, running the same raw guest as `vmm boot --kernel-format raw`
 * (same RAM layout, page tables and entry state from boot/). The VMM's
 * per-exit cost is compared against this in the same benchmark run.
 *
 * Usage: kvm_floor GUEST.bin   (prints "exits pio N mmio M" and times)
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "boot/boot.h"
#include "boot/raw.h"
#include "vmm/layout_x86_64.h"
#include "vmm/log.h"
#include "vmm/vm.h"

static int die(const char *what)
{
	fprintf(stderr, "kvm_floor: %s: %s\n", what, strerror(errno));
	return 1;
}

static struct kvm_cpuid2 *supported_cpuid(int kvm)
{
	struct kvm_cpuid2 *c =
		calloc(1, sizeof(*c) + 256 * sizeof(struct kvm_cpuid_entry2));

	c->nent = 256;
	return ioctl(kvm, KVM_GET_SUPPORTED_CPUID, c) ? NULL : c;
}

static int set_long_mode(int vcpu, const struct boot_entry *e)
{
	struct kvm_segment cs = { .limit = 0xffffffff,
				  .selector = 0x10,
				  .type = 0xb,
				  .present = 1,
				  .s = 1,
				  .l = 1,
				  .g = 1 };
	struct kvm_segment ds = { .limit = 0xffffffff,
				  .selector = 0x18,
				  .type = 0x3,
				  .present = 1,
				  .s = 1,
				  .db = 1,
				  .g = 1 };
	struct kvm_regs r = { .rip = e->rip, .rsp = e->rsp, .rflags = 2 };
	struct kvm_sregs s;

	if (ioctl(vcpu, KVM_GET_SREGS, &s))
		return -1;
	s.cs = cs;
	s.ds = s.es = s.fs = s.gs = s.ss = ds;
	s.tr = (struct kvm_segment){ .limit = 0x67, .type = 0xb, .present = 1 };
	s.gdt.base = e->gdt_base;
	s.gdt.limit = e->gdt_limit;
	s.cr0 = 0x80000033;
	s.cr3 = e->cr3;
	s.cr4 = 0x20;
	s.efer = 0x500;
	return ioctl(vcpu, KVM_SET_SREGS, &s) || ioctl(vcpu, KVM_SET_REGS, &r);
}

int main(int argc, char **argv)
{
	struct boot_params bp = { 0 };
	struct boot_image img;
	struct boot_entry entry;
	struct vm vm;
	struct kvm_cpuid2 *cpuid;
	struct kvm_run *run;
	unsigned long pio = 0, mmio = 0;
	struct timespec t0, t1;
	struct rusage ru;
	int kvm, vmfd, vcpu;

	if (argc != 2)
		return 2;
	log_set_level(LOG_ERR);
	if (boot_read_file(argv[1], "guest", &img) || vm_init(&vm, 64 << 20) ||
	    raw_load(&vm, &img, &bp, &entry))
		return 1;
	kvm = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (kvm < 0)
		return die("/dev/kvm");
	vmfd = ioctl(kvm, KVM_CREATE_VM, 0);
	if (vmfd < 0 || ioctl(vmfd, KVM_SET_TSS_ADDR, LAYOUT_KVM_TSS))
		return die("KVM_CREATE_VM");
	struct kvm_userspace_memory_region mem = {
		.memory_size = vm.regions[0].size,
		.userspace_addr = (uintptr_t)vm.regions[0].hva,
	};
	if (ioctl(vmfd, KVM_SET_USER_MEMORY_REGION, &mem))
		return die("KVM_SET_USER_MEMORY_REGION");
	vcpu = ioctl(vmfd, KVM_CREATE_VCPU, 0);
	cpuid = supported_cpuid(kvm);
	if (vcpu < 0 || !cpuid || ioctl(vcpu, KVM_SET_CPUID2, cpuid) ||
	    set_long_mode(vcpu, &entry))
		return die("vCPU set-up");
	run = mmap(NULL, (size_t)ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0),
		   PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	if (run == MAP_FAILED)
		return die("mmap kvm_run");
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if (ioctl(vcpu, KVM_RUN, 0) && errno != EINTR)
			return die("KVM_RUN");
		if (run->exit_reason == KVM_EXIT_IO)
			pio++;
		else if (run->exit_reason == KVM_EXIT_MMIO)
			mmio++;
		else
			break; /* the guest's ud2: shutdown */
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	getrusage(RUSAGE_SELF, &ru);
	printf("exits pio %lu mmio %lu wall_s %.6f user_s %.6f sys_s %.6f\n",
	       pio, mmio,
	       (t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9,
	       ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6,
	       ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6);
	return 0;
}
