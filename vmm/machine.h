/* SPDX-License-Identifier: MIT */
/* One boot of one guest: set-up, run, tear-down, in an explicit order. */
#ifndef VMM_MACHINE_H
#define VMM_MACHINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "boot/kernel.h"
#include "gdb/stub.h"
#include "serial/console.h"
#include "net/backend.h"
#include "virtio/disk.h"

#define MACHINE_MAX_DISKS 16
#define MACHINE_MAX_NETS 8
#include "vmm/vm.h"

/* The kernel command line used when --cmdline is not given. */
#define MACHINE_DEFAULT_CMDLINE \
	"console=ttyS0 reboot=k panic=-1 i8042.noaux i8042.nomux i8042.nopnp i8042.dumbkbd"

/*
 * What a PVM-based nested host needs (see docs): no XSAVE, and no CPU
 * features whose instructions its emulator lacks.
 */
#define MACHINE_PVM_CMDLINE \
	"noxsave clearcpuid=smap,smep,popcnt,rdrand,rdseed,clflushopt,clwb,movbe,bmi1,bmi2,sse4_2,sse4_1,ssse3,aes,pclmulqdq,avx,avx2,fma,f16c,erms,fsrm,movdiri,movdir64b,invpcid,pcid,fsgsbase,rdpid,umip,pku,xsave,avx512f"

enum machine_rng {
	MACHINE_RNG_AUTO, /* on for Linux kernels, off for raw images */
	MACHINE_RNG_ON,
	MACHINE_RNG_OFF,
};

struct machine_config {
	const char *kernel, *initrd;
	enum kernel_format kernel_format; /* KERNEL_AUTO: by content */
	uint64_t load_addr, entry; /* raw images; 0 = default */
	const char *cmdline; /* NULL: MACHINE_DEFAULT_CMDLINE */
	const char *append; /* added after the cmdline, may be NULL */
	uint64_t mem_size;
	unsigned int cpus;
	struct console_config console;
	bool host_quirks; /* add what this host needs to the cmdline */
	bool hugepages; /* back guest RAM with reserved 2 MiB huge pages */
	bool stats; /* print exit statistics at the end */
	const char *pc_samples; /* write guest PC samples (100 Hz) here */
	unsigned int timeout_s; /* --timeout: stop after this long, 0: never */
	bool boot_trace; /* print the boot timeline at the end */
	struct timespec t_process; /* when the process started (monotonic) */
	/* "vmm boot ... -- CMD": for the test initramfs (vmm.run=) */
	const char *const *run_argv;
	int run_argc;
	struct gdb_config gdb; /* --gdb, --gdb-wait */
	struct disk_spec disks[MACHINE_MAX_DISKS]; /* vda, vdb, ... */
	unsigned int nr_disks;
	struct net_spec nets[MACHINE_MAX_NETS]; /* eth0, eth1, ... */
	unsigned int nr_nets;
	bool net_none; /* --net none was given */
	enum machine_rng rng;
};

/*
 * Build the guest command line into @buf: base (or default), the host's
 * options when @pvm_host and quirks are on, the append string, then
 * vmm.run= with the "--" command, %XX-encoded (test-images/init decodes).
 * Returns 0, or -E2BIG if it does not fit in @len.
 */
int machine_cmdline(const struct machine_config *cfg, bool pvm_host, char *buf,
		    size_t len);

/* How a guest that ran ended. */
struct machine_result {
	enum vm_stop_reason reason;
	int guest_code; /* VM_STOP_GUEST_EXIT: the status the guest chose */
};

/*
 * Boot the guest and run it until it stops. Returns 0 and how it ended in
 * @res once it ran, or -errno if set-up failed (already logged).
 */
int machine_boot(const struct machine_config *cfg, struct machine_result *res);

#endif
