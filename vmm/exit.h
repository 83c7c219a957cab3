/* SPDX-License-Identifier: MIT */
/* struct vm_exit: what a backend reports when a vCPU stops running. */
#ifndef VMM_EXIT_H
#define VMM_EXIT_H

#include <stdbool.h>
#include <stdint.h>

enum vm_exit_reason {
	VM_EXIT_PIO,
	VM_EXIT_MMIO,
	VM_EXIT_HALT,
	VM_EXIT_SHUTDOWN, /* triple fault */
	VM_EXIT_RESET, /* backend-reported reset request */
	VM_EXIT_SYSTEM_OFF, /* backend-reported power off */
	VM_EXIT_DEBUG,
	VM_EXIT_KICKED, /* another thread asked the vCPU to stop */
	VM_EXIT_FAILED, /* the backend could not go on running */
	VM_EXIT_NR
};

struct vm_exit {
	enum vm_exit_reason reason;
	union {
		/*
		 * PIO and MMIO. @data holds @count items of @len bytes each
		 * (count > 1 only for string port I/O). It belongs to the
		 * backend until the next hv_vcpu_run(): for a read the handler
		 * fills it and the backend completes the access on re-entry.
		 */
		struct {
			uint64_t addr;
			uint8_t *data;
			uint32_t len, count;
			bool write;
		} io;
		/*
		 * DEBUG: the exception (1 = #DB, 3 = #BP), the linear guest PC
		 * and DR6/DR7 as the hypervisor saw them.
		 */
		struct {
			uint64_t pc, dr6, dr7;
			uint32_t exception;
		} debug;
		/* FAILED: backend-specific code, guest PC, and a description. */
		struct {
			uint64_t code, pc;
			const char *what;
		} fail;
	};
};

/* Short human-readable name of an exit reason, for logs and statistics. */
const char *vm_exit_name(enum vm_exit_reason reason);

#endif
