/* SPDX-License-Identifier: MIT */
/*
 * x86_64 vCPU state in a backend-neutral form: what a debugger reads and
 * writes through the backend seam (hv_vcpu_get_regs() and friends).
 */
#ifndef VMM_REGS_X86_64_H
#define VMM_REGS_X86_64_H

#include <stdint.h>

/* General registers, instruction pointer and flags. */
struct x86_regs {
	uint64_t rax, rbx, rcx, rdx, rsi, rdi, rbp, rsp;
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rip, rflags;
};

/* A segment register with its hidden part, as VMX/SVM keep it. */
struct x86_segment {
	uint64_t base;
	uint32_t limit;
	uint16_t selector;
	uint8_t type, present, dpl, db, s, l, g, avl, unusable;
};

struct x86_dtable {
	uint64_t base;
	uint16_t limit;
};

/* Segment, descriptor-table and control registers, EFER, KERNEL_GS_BASE. */
struct x86_sregs {
	struct x86_segment cs, ds, es, fs, gs, ss, tr, ldt;
	struct x86_dtable gdt, idt;
	uint64_t cr0, cr2, cr3, cr4, cr8, efer;
	uint64_t kernel_gs_base; /* MSR 0xc0000102, swapped in by swapgs */
};

/* x87 and SSE state; @ftw is the full 16-bit tag word (2 bits a register). */
struct x86_fpu {
	uint8_t st[8][16]; /* 80-bit values in the low 10 bytes */
	uint16_t fcw, fsw, ftw, fop;
	uint64_t fip, fdp; /* 64-bit FXSAVE layout: offset, then selector */
	uint8_t xmm[16][16];
	uint32_t mxcsr;
};

/* Guest debugging (x86_debug.flags); the backend reports what it supports. */
#define X86_DEBUG_ENABLE 0x1u /* debug exits on; nothing else without it */
#define X86_DEBUG_SINGLESTEP 0x2u /* a debug exit after each instruction */
#define X86_DEBUG_SW_BP 0x4u /* guest int3 makes a debug exit */
#define X86_DEBUG_HW_BP 0x8u /* dr[] and dr7 below are armed */
#define X86_DEBUG_BLOCKIRQ 0x10u /* no interrupt delivery while stepping */
#define X86_DEBUG_INJECT_BP 0x20u /* give the guest the #BP it raised */

/*
 * The debug registers the hypervisor arms on the guest's behalf: DR0-3
 * hold linear addresses, @dr7 enables them (global enable bits, R/W and
 * LEN fields as the SDM describes); the guest's own DRs are unaffected.
 */
struct x86_debug {
	unsigned int flags;
	uint64_t dr[4];
	uint64_t dr7;
};

/* DR6 status bits in a debug exit. */
#define X86_DR6_B(n) (1ull << (n)) /* breakpoint n matched */
#define X86_DR6_BS (1ull << 14) /* single step */

#define X86_CR0_PG_BIT (1ull << 31)
#define X86_CR4_PSE_BIT (1ull << 4)
#define X86_CR4_PAE_BIT (1ull << 5)
#define X86_CR4_LA57_BIT (1ull << 12)
#define X86_EFER_LMA_BIT (1ull << 10)

#endif
