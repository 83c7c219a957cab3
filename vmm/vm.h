/* SPDX-License-Identifier: MIT */
/* The backend-neutral VM: guest RAM, memory map, buses and power state. */
#ifndef VMM_VM_H
#define VMM_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/bus.h"
#include "vmm/exit.h"
#include "vmm/irq.h"

struct hv_vm;
struct vcpu;

#define VM_MAX_MEM_REGIONS 2

/* A contiguous piece of guest RAM, backed by part of one host mapping. */
struct vm_mem_region {
	uint64_t gpa, size;
	uint8_t *hva;
};

/* Why the VM stopped; each maps to one documented exit code in main.c. */
enum vm_stop_reason {
	VM_STOP_NONE,
	VM_STOP_POWEROFF, /* guest powered off */
	VM_STOP_REBOOT, /* guest rebooted (we do not restart it) */
	VM_STOP_PANIC, /* guest kernel panicked */
	VM_STOP_TRIPLE_FAULT, /* triple fault / shutdown */
	VM_STOP_USER, /* escape key or signal on the host */
	VM_STOP_ERROR, /* host-side failure while running */
	VM_STOP_GUEST_EXIT, /* the guest wrote its status to the debug-exit port */
	VM_STOP_TIMEOUT, /* --timeout expired */
};

/* Exit statuses: a contract with scripts (README "Exit status"). */
enum vmm_exit_status {
	VMM_EXIT_OK = 0, /* guest powered off or rebooted */
	VMM_EXIT_HOST_ERROR = 1, /* the VMM failed while the guest ran */
	VMM_EXIT_USAGE = 2, /* bad command line */
	VMM_EXIT_SETUP = 3, /* could not start: files, KVM, memory */
	VMM_EXIT_PANIC = 4, /* guest kernel panic */
	VMM_EXIT_TRIPLE_FAULT = 5, /* guest triple fault / shutdown */
	VMM_EXIT_TIMEOUT = 124, /* --timeout expired (as timeout(1)) */
	VMM_EXIT_STOPPED = 130, /* stopped on the host: Ctrl-A x or a signal */
};

/* E820 memory types, as the zero page spells them. */
enum e820_type { E820_RAM = 1, E820_RESERVED = 2 };

struct e820_entry {
	uint64_t addr, size;
	uint32_t type;
} __attribute__((packed));

#define VM_STATS_IRQS 24

struct vm_stats {
	_Atomic uint64_t exits[VM_EXIT_NR];
	_Atomic uint64_t irq_raised[VM_STATS_IRQS]; /* rising edges we drove */
};

struct vm {
	uint8_t *ram; /* one anonymous mapping holding all RAM */
	uint64_t ram_size;
	struct vm_mem_region regions[VM_MAX_MEM_REGIONS];
	unsigned int nr_regions;

	struct bus pio, mmio;
	struct hv_vm *hv;

	unsigned int nr_vcpus;
	struct vcpu **vcpus;

	pthread_mutex_t stop_lock;
	pthread_cond_t stop_cond;
	enum vm_stop_reason stop_reason; /* first stop request wins */
	atomic_bool stopping;
	int stop_fd; /* eventfd, readable once a stop was requested */
	atomic_bool
		guest_panicked; /* seen on the console; turns reboot into panic */
	int guest_exit_code; /* VM_STOP_GUEST_EXIT: what the guest wrote */

	/* Boot timeline (CLOCK_MONOTONIC), each set once by whoever sees it. */
	struct timespec t_first_run; /* vCPU 0 entered the guest */
	struct timespec t_marker; /* the guest wrote the boot-timer port */
	atomic_bool first_run_seen, marker_seen;

	struct vm_stats stats;

	/* Hooks set by whoever owns the backend; unit tests set fakes. */
	int (*irq_line)(struct vm *vm, unsigned int irq, bool level);
	void (*kick_all)(struct vm *vm);
	int (*msi)(struct vm *vm, uint64_t addr, uint32_t data);
	int (*ioeventfd)(struct vm *vm, uint64_t gpa, uint32_t len, int fd,
			 bool assign);

	/*
	 * A debugger (gdb/), NULL without one. debug_exit gets every
	 * VM_EXIT_DEBUG; while debug_pause is set, each vCPU calls debug_park
	 * before it enters the guest, which returns once it may run (or the
	 * VM is stopping).
	 */
	void (*debug_exit)(struct vcpu *vcpu, struct vm_exit *exit);
	void (*debug_park)(struct vcpu *vcpu);
	atomic_bool debug_pause;
	void *debugger;
};

/*
 * Allocate @ram_size bytes of guest RAM and lay it out: low RAM up to the
 * 32-bit MMIO hole, the rest above 4 GiB. Also sets up buses and stop state.
 * Returns 0 or -errno (-EINVAL for a size below LAYOUT_MIN_RAM).
 */
int vm_init(struct vm *vm, uint64_t ram_size);
#define VM_RAM_HUGEPAGES 1u /* back RAM with reserved 2 MiB huge pages */
#define VM_HUGE_PAGE (2ULL << 20)
/*
 * vm_init() with VM_RAM_* @flags. With VM_RAM_HUGEPAGES the size must be
 * a multiple of 2 MiB (-EINVAL) and the pages are reserved at once
 * (-ENOMEM when the host's huge page pool is too small).
 */
int vm_init_flags(struct vm *vm, uint64_t ram_size, unsigned int flags);
/* Release what vm_init() set up (not the backend or vCPUs). */
void vm_destroy(struct vm *vm);

/*
 * The checked guest-physical to host-virtual translation: returns a pointer
 * to [gpa, gpa+len) if that whole range is guest RAM, else NULL. Every guest
 * memory access goes through here.
 */
void *vm_gpa_to_hva(const struct vm *vm, uint64_t gpa, uint64_t len);
/* Top of the RAM below the 32-bit hole (exclusive). */
uint64_t vm_low_ram_top(const struct vm *vm);
/*
 * Fill @out with the guest's E820 map (at most @max entries, sorted).
 * Returns the number of entries, or -ENOSPC if @max is too small.
 */
int vm_e820(const struct vm *vm, struct e820_entry *out, unsigned int max);

/*
 * Ask the VM to stop for @reason. The first request wins; all vCPUs are
 * kicked. Safe from any thread, including device handlers on vCPU threads.
 */
void vm_request_stop(struct vm *vm, enum vm_stop_reason reason);
/* Stop with VM_STOP_GUEST_EXIT and the guest's chosen exit @code. */
void vm_request_exit(struct vm *vm, int code);
/* Record a boot timeline event in @t once (first caller wins). */
void vm_mark_time(atomic_bool *seen, struct timespec *t);
/* Block until some thread has called vm_request_stop(); return the reason. */
enum vm_stop_reason vm_wait_stop(struct vm *vm);
/* Guest reset (i8042, triple fault path): reboot, or panic if one was seen. */
void vm_guest_reset(struct vm *vm);
/*
 * The exit status for a VM that stopped for @reason; @guest_code is what
 * the guest wrote to the debug-exit port (VM_STOP_GUEST_EXIT).
 */
int vm_exit_status(enum vm_stop_reason reason, int guest_code);
/* Stable name of a stop reason for messages. */
const char *vm_stop_name(enum vm_stop_reason reason);

/* Send an MSI (address/data as the guest programmed them). 0/-errno. */
int vm_msi(struct vm *vm, uint64_t addr, uint32_t data);
/*
 * Have any guest write of @len bytes at MMIO @gpa signal eventfd @fd
 * instead of exiting (@assign false undoes it). -ENOTSUP when the backend
 * cannot: the caller then handles the write on the MMIO bus as usual.
 */
int vm_ioeventfd(struct vm *vm, uint64_t gpa, uint32_t len, int fd,
		 bool assign);

/* An irq_pin that drives ISA interrupt line @irq of this VM. */
struct irq_pin vm_isa_irq(struct vm *vm, unsigned int irq);

#endif
