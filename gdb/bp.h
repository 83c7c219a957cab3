/* SPDX-License-Identifier: MIT */
/*
 * Breakpoints and watchpoints: the four debug-register slots (DR0-3, DR7)
 * and the int3 breakpoints patched into guest memory. Bookkeeping only;
 * the stub does the memory patching and arms the vCPUs.
 */
#ifndef GDB_BP_H
#define GDB_BP_H

#include <stdbool.h>
#include <stdint.h>

/* Z packet types. */
enum gdb_bp_type {
	GDB_BP_SW = 0,
	GDB_BP_HW = 1,
	GDB_WP_WRITE = 2,
	GDB_WP_READ = 3, /* x86 has none; gdb falls back to access ones */
	GDB_WP_ACCESS = 4,
};

#define GDB_HW_SLOTS 4
#define GDB_SW_MAX 64

struct gdb_hw_slot {
	bool used;
	bool from_sw; /* a Z0 we serve with a debug register */
	uint8_t type; /* GDB_BP_HW, GDB_WP_WRITE or GDB_WP_ACCESS */
	uint8_t len;
	uint64_t addr;
};

struct gdb_sw_bp {
	bool used;
	uint64_t addr, gpa;
	uint8_t orig; /* the byte under the int3 */
};

struct gdb_bps {
	struct gdb_hw_slot hw[GDB_HW_SLOTS];
	struct gdb_sw_bp sw[GDB_SW_MAX];
};

/*
 * Take a debug-register slot for @type at @addr (@len 1, 2, 4 or 8 bytes
 * and aligned for watchpoints; ignored for execution). Idempotent, as the
 * protocol asks. 0, -ENOSPC (all four taken) or -EINVAL.
 */
int gdb_hw_insert(struct gdb_bps *b, enum gdb_bp_type type, uint64_t addr,
		  uint64_t len, bool from_sw);
/* Free the matching slot; 0 even if there was none (idempotent). */
void gdb_hw_remove(struct gdb_bps *b, enum gdb_bp_type type, uint64_t addr,
		   uint64_t len, bool from_sw);
/* DR0-3 and DR7 (global enables) for the slots in use. */
void gdb_hw_debugregs(const struct gdb_bps *b, uint64_t dr[4], uint64_t *dr7);
/* True if some slot is in use. */
bool gdb_hw_any(const struct gdb_bps *b);
/* The lowest slot whose DR6 bit is set and that we armed, or -1. */
int gdb_hw_hit(const struct gdb_bps *b, uint64_t dr6);
/* True if an execution breakpoint is armed at @pc. */
bool gdb_hw_exec_at(const struct gdb_bps *b, uint64_t pc);

/* The int3 breakpoint at @addr, or NULL. */
struct gdb_sw_bp *gdb_sw_find(struct gdb_bps *b, uint64_t addr);
/* A free int3 entry, or NULL when GDB_SW_MAX are in use. */
struct gdb_sw_bp *gdb_sw_alloc(struct gdb_bps *b);
/* True if some int3 breakpoint is in use. */
bool gdb_sw_any(const struct gdb_bps *b);

#endif
