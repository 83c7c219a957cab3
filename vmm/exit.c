// SPDX-License-Identifier: MIT
#include "vmm/exit.h"

const char *vm_exit_name(enum vm_exit_reason reason)
{
	static const char *const names[VM_EXIT_NR] = {
		[VM_EXIT_PIO] = "pio",
		[VM_EXIT_MMIO] = "mmio",
		[VM_EXIT_HALT] = "halt",
		[VM_EXIT_SHUTDOWN] = "shutdown",
		[VM_EXIT_RESET] = "reset",
		[VM_EXIT_SYSTEM_OFF] = "system-off",
		[VM_EXIT_DEBUG] = "debug",
		[VM_EXIT_KICKED] = "kicked",
		[VM_EXIT_FAILED] = "failed",
	};

	return (unsigned int)reason < VM_EXIT_NR ? names[reason] : "unknown";
}
