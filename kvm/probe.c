// SPDX-License-Identifier: MIT
/* What the host's KVM offers, for `vmm probe` and for host quirks. */
#include <errno.h>
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "kvm/kvm_internal.h"
#include "vmm/hv.h"

/* The PVM flavour of KVM (nested, kernel mode emulated) is a module. */
bool hv_host_is_pvm(void)
{
	return access("/sys/module/kvm_pvm", F_OK) == 0;
}

static const struct {
	const char *name;
	int cap;
	bool required;
} probe_caps[] = {
	{ "user memory", KVM_CAP_USER_MEMORY, true },
	{ "in-kernel irqchip", KVM_CAP_IRQCHIP, true },
	{ "PIT2", KVM_CAP_PIT2, true },
	{ "TSS address", KVM_CAP_SET_TSS_ADDR, true },
	{ "extended CPUID", KVM_CAP_EXT_CPUID, true },
	{ "immediate exit", KVM_CAP_IMMEDIATE_EXIT, false },
	{ "identity map address", KVM_CAP_SET_IDENTITY_MAP_ADDR, false },
	{ "ioeventfd", KVM_CAP_IOEVENTFD, false },
	{ "irqfd", KVM_CAP_IRQFD, false },
	{ "MSI injection", KVM_CAP_SIGNAL_MSI, false },
	{ "guest debug", KVM_CAP_SET_GUEST_DEBUG, false },
	{ "TSC deadline timer", KVM_CAP_TSC_DEADLINE_TIMER, false },
	{ "x2APIC API", KVM_CAP_X2APIC_API, false },
	{ "KVM clock control", KVM_CAP_ADJUST_CLOCK, false },
	{ "read-only memory", KVM_CAP_READONLY_MEM, false },
};

const char *kvm_open_hint(int err)
{
	switch (err) {
	case ENOENT:
		return " (no KVM on this host: load kvm_intel or kvm_amd, or enable nested virtualisation)";
	case EACCES:
		return " (add your user to the kvm group)";
	default:
		return "";
	}
}

static void probe_reason(struct hv_probe *out, int err)
{
	snprintf(out->reason, sizeof(out->reason), "/dev/kvm: %s%s",
		 strerror(err), kvm_open_hint(err));
}

static void probe_caps_of(int fd, struct hv_probe *out)
{
	out->nr_caps = 0;
	for (size_t i = 0; i < sizeof(probe_caps) / sizeof(probe_caps[0]);
	     i++) {
		int r = ioctl(fd, KVM_CHECK_EXTENSION, probe_caps[i].cap);

		out->caps[out->nr_caps].name = probe_caps[i].name;
		out->caps[out->nr_caps].present = r > 0;
		out->caps[out->nr_caps].required = probe_caps[i].required;
		if (probe_caps[i].required && r <= 0 && out->usable) {
			out->usable = false;
			snprintf(out->reason, sizeof(out->reason),
				 "KVM lacks a required capability: %s",
				 probe_caps[i].name);
		}
		out->nr_caps++;
	}
}

void hv_probe(struct hv_probe *out)
{
	int fd, vm;

	memset(out, 0, sizeof(*out));
	out->nested_pvm = hv_host_is_pvm();
	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		probe_reason(out, errno);
		return;
	}
	out->api_version = ioctl(fd, KVM_GET_API_VERSION, 0);
	out->max_vcpus = ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_MAX_VCPUS);
	if (out->max_vcpus <= 0)
		out->max_vcpus =
			ioctl(fd, KVM_CHECK_EXTENSION, KVM_CAP_NR_VCPUS);
	out->usable = out->api_version == KVM_API_VERSION;
	if (!out->usable)
		snprintf(out->reason, sizeof(out->reason),
			 "KVM API version %d, need %d", out->api_version,
			 KVM_API_VERSION);
	probe_caps_of(fd, out);
	vm = out->usable ? ioctl(fd, KVM_CREATE_VM, 0) : -1;
	if (out->usable && vm < 0) {
		out->usable = false;
		snprintf(out->reason, sizeof(out->reason), "KVM_CREATE_VM: %s",
			 strerror(errno));
	}
	if (vm >= 0)
		close(vm);
	close(fd);
}
