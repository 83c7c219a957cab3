/* SPDX-License-Identifier: MIT */
/*
 * x86_64 registers as gdb sees them: the target description (XML) and the
 * register file of the 'g'/'G'/'p'/'P' packets, both from one table, so
 * the packet layout always matches what the description announced.
 *
 * 'g' layout (bytes, little-endian; regnum in brackets):
 *   0 rax rbx rcx rdx rsi rdi rbp rsp r8..r15 [0-15]  8 each
 * 128 rip [16] 8, 136 eflags [17] 4, 140 cs ss ds es fs gs [18-23] 4 each
 * 164 st0..st7 [24-31] 10 each
 * 244 fctrl fstat ftag fiseg fioff foseg fooff fop [32-39] 4 each
 * 276 xmm0..xmm15 [40-55] 16 each, 532 mxcsr [56] 4
 * 536 fs_base gs_base k_gs_base [57-59] 8 each
 * 560 cr0 cr2 cr3 cr4 cr8 efer [60-65] 8 each; 608 bytes in all.
 */
#ifndef GDB_REGS_H
#define GDB_REGS_H

#include <stddef.h>
#include <stdint.h>

#include "vmm/regs_x86_64.h"

/* Everything gdb can read or write about one vCPU. */
struct gdb_cpu_state {
	struct x86_regs regs;
	struct x86_sregs sregs;
	struct x86_fpu fpu;
};

#define GDB_NR_REGS 66
#define GDB_G_SIZE 608

/* Write the target description into @buf. Its length, or -ENOSPC. */
int gdb_target_xml(char *buf, size_t cap);
/* Pack all registers in 'g' order into @out (GDB_G_SIZE bytes). */
void gdb_regs_pack(const struct gdb_cpu_state *st, uint8_t *out);
/* Unpack a 'G' register file; 0, or -EINVAL unless @len is GDB_G_SIZE. */
int gdb_regs_unpack(struct gdb_cpu_state *st, const uint8_t *in, size_t len);
/* Size in bytes of register @regno, or -EINVAL. */
int gdb_reg_size(unsigned int regno);
/* Offset of register @regno in the 'g' packet, or -EINVAL. */
int gdb_reg_offset(unsigned int regno);
/* Number of the register called @name, or -EINVAL. */
int gdb_reg_lookup(const char *name);
/* Copy register @regno to @out; returns its size, or -EINVAL. */
int gdb_reg_read(const struct gdb_cpu_state *st, unsigned int regno,
		 uint8_t *out);
/* Set register @regno from @len bytes (its size). 0 or -EINVAL. */
int gdb_reg_write(struct gdb_cpu_state *st, unsigned int regno,
		  const uint8_t *in, size_t len);

#endif
