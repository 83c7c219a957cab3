// SPDX-License-Identifier: MIT
#include "gdb/regs.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "register packing assumes a little-endian host, as gdb's x86 target"
#endif

enum { F_CORE, F_SSE, F_SEGMENTS, F_SYS, F_NR };

/*
 * One register: gdb's size, and where its value lives in gdb_cpu_state
 * (@field bytes at @off; narrower fields are zero-extended for gdb, wider
 * ones keep their upper bytes on writes).
 */
struct reg_def {
	const char *name, *type, *group;
	uint16_t bits, off;
	uint8_t field, feature;
};

#define OFF(m) offsetof(struct gdb_cpu_state, m)
#define SZ(m) sizeof(((struct gdb_cpu_state *)0)->m)
#define GPR(n, t)                                       \
	{                                               \
#n, t, NULL, 64, OFF(regs.n), 8, F_CORE \
	}
#define SEG(n)                                                          \
	{                                                               \
#n, "int32", NULL, 32, OFF(sregs.n.selector), 2, F_CORE \
	}
#define ST(i)                                                             \
	{                                                                 \
		"st" #i, "i387_ext", NULL, 80, OFF(fpu.st[i]), 10, F_CORE \
	}
#define FPC(n, m, o, f)                                          \
	{                                                        \
		n, "int", "float", 32, OFF(fpu.m) + o, f, F_CORE \
	}
#define XMM(i)                                                            \
	{                                                                 \
		"xmm" #i, "vec128", NULL, 128, OFF(fpu.xmm[i]), 16, F_SSE \
	}
#define SYS(n, m)                                            \
	{                                                    \
		n, "int64", NULL, 64, OFF(sregs.m), 8, F_SYS \
	}

static const struct reg_def regs[GDB_NR_REGS] = {
	GPR(rax, "int64"),
	GPR(rbx, "int64"),
	GPR(rcx, "int64"),
	GPR(rdx, "int64"),
	GPR(rsi, "int64"),
	GPR(rdi, "int64"),
	GPR(rbp, "data_ptr"),
	GPR(rsp, "data_ptr"),
	GPR(r8, "int64"),
	GPR(r9, "int64"),
	GPR(r10, "int64"),
	GPR(r11, "int64"),
	GPR(r12, "int64"),
	GPR(r13, "int64"),
	GPR(r14, "int64"),
	GPR(r15, "int64"),
	GPR(rip, "code_ptr"),
	{ "eflags", "i386_eflags", NULL, 32, OFF(regs.rflags), 8, F_CORE },
	SEG(cs),
	SEG(ss),
	SEG(ds),
	SEG(es),
	SEG(fs),
	SEG(gs),
	ST(0),
	ST(1),
	ST(2),
	ST(3),
	ST(4),
	ST(5),
	ST(6),
	ST(7),
	FPC("fctrl", fcw, 0, 2),
	FPC("fstat", fsw, 0, 2),
	FPC("ftag", ftw, 0, 2),
	FPC("fiseg", fip, 4, 4),
	FPC("fioff", fip, 0, 4),
	FPC("foseg", fdp, 4, 4),
	FPC("fooff", fdp, 0, 4),
	FPC("fop", fop, 0, 2),
	XMM(0),
	XMM(1),
	XMM(2),
	XMM(3),
	XMM(4),
	XMM(5),
	XMM(6),
	XMM(7),
	XMM(8),
	XMM(9),
	XMM(10),
	XMM(11),
	XMM(12),
	XMM(13),
	XMM(14),
	XMM(15),
	{ "mxcsr", "i386_mxcsr", "vector", 32, OFF(fpu.mxcsr), 4, F_SSE },
	{ "fs_base", "int", NULL, 64, OFF(sregs.fs.base), 8, F_SEGMENTS },
	{ "gs_base", "int", NULL, 64, OFF(sregs.gs.base), 8, F_SEGMENTS },
	SYS("k_gs_base", kernel_gs_base),
	SYS("cr0", cr0),
	SYS("cr2", cr2),
	SYS("cr3", cr3),
	SYS("cr4", cr4),
	SYS("cr8", cr8),
	SYS("efer", efer),
};

_Static_assert(SZ(regs.rflags) == 8 && SZ(sregs.cs.selector) == 2 &&
		       SZ(fpu.fcw) == 2 && SZ(fpu.fip) == 8,
	       "the table's field sizes follow vmm/regs_x86_64.h");

static const char eflags_type[] =
	"<flags id=\"i386_eflags\" size=\"4\">"
	"<field name=\"CF\" start=\"0\" end=\"0\"/>"
	"<field name=\"\" start=\"1\" end=\"1\"/>"
	"<field name=\"PF\" start=\"2\" end=\"2\"/>"
	"<field name=\"AF\" start=\"4\" end=\"4\"/>"
	"<field name=\"ZF\" start=\"6\" end=\"6\"/>"
	"<field name=\"SF\" start=\"7\" end=\"7\"/>"
	"<field name=\"TF\" start=\"8\" end=\"8\"/>"
	"<field name=\"IF\" start=\"9\" end=\"9\"/>"
	"<field name=\"DF\" start=\"10\" end=\"10\"/>"
	"<field name=\"OF\" start=\"11\" end=\"11\"/>"
	"<field name=\"NT\" start=\"14\" end=\"14\"/>"
	"<field name=\"RF\" start=\"16\" end=\"16\"/>"
	"<field name=\"VM\" start=\"17\" end=\"17\"/>"
	"<field name=\"AC\" start=\"18\" end=\"18\"/>"
	"<field name=\"VIF\" start=\"19\" end=\"19\"/>"
	"<field name=\"VIP\" start=\"20\" end=\"20\"/>"
	"<field name=\"ID\" start=\"21\" end=\"21\"/>"
	"</flags>";

static const char sse_types[] =
	"<vector id=\"v4f\" type=\"ieee_single\" count=\"4\"/>"
	"<vector id=\"v2d\" type=\"ieee_double\" count=\"2\"/>"
	"<vector id=\"v16i8\" type=\"int8\" count=\"16\"/>"
	"<vector id=\"v8i16\" type=\"int16\" count=\"8\"/>"
	"<vector id=\"v4i32\" type=\"int32\" count=\"4\"/>"
	"<vector id=\"v2i64\" type=\"int64\" count=\"2\"/>"
	"<union id=\"vec128\">"
	"<field name=\"v4_float\" type=\"v4f\"/>"
	"<field name=\"v2_double\" type=\"v2d\"/>"
	"<field name=\"v16_int8\" type=\"v16i8\"/>"
	"<field name=\"v8_int16\" type=\"v8i16\"/>"
	"<field name=\"v4_int32\" type=\"v4i32\"/>"
	"<field name=\"v2_int64\" type=\"v2i64\"/>"
	"<field name=\"uint128\" type=\"uint128\"/>"
	"</union>"
	"<flags id=\"i386_mxcsr\" size=\"4\">"
	"<field name=\"IE\" start=\"0\" end=\"0\"/>"
	"<field name=\"DE\" start=\"1\" end=\"1\"/>"
	"<field name=\"ZE\" start=\"2\" end=\"2\"/>"
	"<field name=\"OE\" start=\"3\" end=\"3\"/>"
	"<field name=\"UE\" start=\"4\" end=\"4\"/>"
	"<field name=\"PE\" start=\"5\" end=\"5\"/>"
	"<field name=\"DAZ\" start=\"6\" end=\"6\"/>"
	"<field name=\"IM\" start=\"7\" end=\"7\"/>"
	"<field name=\"DM\" start=\"8\" end=\"8\"/>"
	"<field name=\"ZM\" start=\"9\" end=\"9\"/>"
	"<field name=\"OM\" start=\"10\" end=\"10\"/>"
	"<field name=\"UM\" start=\"11\" end=\"11\"/>"
	"<field name=\"PM\" start=\"12\" end=\"12\"/>"
	"<field name=\"FZ\" start=\"15\" end=\"15\"/>"
	"</flags>";

static const struct {
	const char *name, *types;
} features[F_NR] = {
	[F_CORE] = { "org.gnu.gdb.i386.core", eflags_type },
	[F_SSE] = { "org.gnu.gdb.i386.sse", sse_types },
	[F_SEGMENTS] = { "org.gnu.gdb.i386.segments", "" },
	/* Ours: gdb shows these as plain registers ($cr3, $efer, ...). */
	[F_SYS] = { "org.vmm.gdb.x86.sys", "" },
};

/* snprintf into @buf at *@n; remembers overflow in *@n = cap + 1. */
static void __attribute__((format(printf, 4, 5)))
xml_add(char *buf, size_t cap, size_t *n, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (*n >= cap)
		return;
	va_start(ap, fmt);
	r = vsnprintf(buf + *n, cap - *n, fmt, ap);
	va_end(ap);
	*n = r < 0 || (size_t)r >= cap - *n ? cap + 1 : *n + (size_t)r;
}

int gdb_target_xml(char *buf, size_t cap)
{
	size_t n = 0;

	xml_add(buf, cap, &n, "%s",
		"<?xml version=\"1.0\"?>"
		"<!DOCTYPE target SYSTEM \"gdb-target.dtd\">"
		"<target version=\"1.0\">"
		"<architecture>i386:x86-64</architecture>");
	for (int f = 0; f < F_NR; f++) {
		xml_add(buf, cap, &n, "<feature name=\"%s\">%s",
			features[f].name, features[f].types);
		for (unsigned int i = 0; i < GDB_NR_REGS; i++) {
			const struct reg_def *r = &regs[i];

			if (r->feature != f)
				continue;
			xml_add(buf, cap, &n,
				"<reg name=\"%s\" bitsize=\"%u\" type=\"%s\" regnum=\"%u\"%s%s%s/>",
				r->name, r->bits, r->type, i,
				r->group ? " group=\"" : "",
				r->group ? r->group : "", r->group ? "\"" : "");
		}
		xml_add(buf, cap, &n, "</feature>");
	}
	xml_add(buf, cap, &n, "</target>");
	return n > cap || n == cap ? -ENOSPC : (int)n;
}

int gdb_reg_size(unsigned int regno)
{
	return regno < GDB_NR_REGS ? regs[regno].bits / 8 : -EINVAL;
}

int gdb_reg_offset(unsigned int regno)
{
	int off = 0;

	if (regno >= GDB_NR_REGS)
		return -EINVAL;
	for (unsigned int i = 0; i < regno; i++)
		off += regs[i].bits / 8;
	return off;
}

int gdb_reg_lookup(const char *name)
{
	for (unsigned int i = 0; i < GDB_NR_REGS; i++)
		if (!strcmp(regs[i].name, name))
			return (int)i;
	return -EINVAL;
}

int gdb_reg_read(const struct gdb_cpu_state *st, unsigned int regno,
		 uint8_t *out)
{
	const struct reg_def *r;
	size_t size;

	if (regno >= GDB_NR_REGS)
		return -EINVAL;
	r = &regs[regno];
	size = r->bits / 8;
	memset(out, 0, size);
	memcpy(out, (const uint8_t *)st + r->off,
	       r->field < size ? r->field : size);
	return (int)size;
}

int gdb_reg_write(struct gdb_cpu_state *st, unsigned int regno,
		  const uint8_t *in, size_t len)
{
	const struct reg_def *r;

	if (regno >= GDB_NR_REGS || len != regs[regno].bits / 8u)
		return -EINVAL;
	r = &regs[regno];
	memcpy((uint8_t *)st + r->off, in, r->field < len ? r->field : len);
	return 0;
}

void gdb_regs_pack(const struct gdb_cpu_state *st, uint8_t *out)
{
	for (unsigned int i = 0; i < GDB_NR_REGS; i++)
		out += gdb_reg_read(st, i, out);
}

int gdb_regs_unpack(struct gdb_cpu_state *st, const uint8_t *in, size_t len)
{
	if (len != GDB_G_SIZE)
		return -EINVAL;
	for (unsigned int i = 0; i < GDB_NR_REGS; i++) {
		size_t size = regs[i].bits / 8;

		gdb_reg_write(st, i, in, size);
		in += size;
	}
	return 0;
}
