// SPDX-License-Identifier: MIT
#include "gdb/bp.h"

#include <errno.h>
#include <stddef.h>

#define DR7_RESERVED (1ull << 10) /* reads as 1 */

static bool slot_match(const struct gdb_hw_slot *s, enum gdb_bp_type type,
		       uint64_t addr, uint64_t len, bool from_sw)
{
	return s->used && s->type == type && s->addr == addr &&
	       s->from_sw == from_sw && (type == GDB_BP_HW || s->len == len);
}

int gdb_hw_insert(struct gdb_bps *b, enum gdb_bp_type type, uint64_t addr,
		  uint64_t len, bool from_sw)
{
	struct gdb_hw_slot *free_slot = NULL;

	if (type != GDB_BP_HW && type != GDB_WP_WRITE && type != GDB_WP_ACCESS)
		return -EINVAL;
	if (type != GDB_BP_HW &&
	    (len == 0 || len > 8 || (len & (len - 1)) || (addr & (len - 1))))
		return -EINVAL;
	for (int i = 0; i < GDB_HW_SLOTS; i++) {
		if (slot_match(&b->hw[i], type, addr, len, from_sw))
			return 0;
		if (!b->hw[i].used && !free_slot)
			free_slot = &b->hw[i];
	}
	if (!free_slot)
		return -ENOSPC;
	*free_slot = (struct gdb_hw_slot){ .used = true,
					   .from_sw = from_sw,
					   .type = (uint8_t)type,
					   .len = type == GDB_BP_HW ?
							  1 :
							  (uint8_t)len,
					   .addr = addr };
	return 0;
}

void gdb_hw_remove(struct gdb_bps *b, enum gdb_bp_type type, uint64_t addr,
		   uint64_t len, bool from_sw)
{
	for (int i = 0; i < GDB_HW_SLOTS; i++)
		if (slot_match(&b->hw[i], type, addr, len, from_sw)) {
			b->hw[i].used = false;
			return;
		}
}

/* DR7 R/W field: 00 execute, 01 write, 11 read or write. */
static uint64_t dr7_rw(uint8_t type)
{
	return type == GDB_WP_WRITE ? 1 : type == GDB_WP_ACCESS ? 3 : 0;
}

/* DR7 LEN field: 00 one byte, 01 two, 11 four, 10 eight. */
static uint64_t dr7_len(uint8_t len)
{
	return len == 2 ? 1 : len == 4 ? 3 : len == 8 ? 2 : 0;
}

void gdb_hw_debugregs(const struct gdb_bps *b, uint64_t dr[4], uint64_t *dr7)
{
	uint64_t v = DR7_RESERVED;

	for (int i = 0; i < GDB_HW_SLOTS; i++) {
		const struct gdb_hw_slot *s = &b->hw[i];

		dr[i] = s->used ? s->addr : 0;
		if (!s->used)
			continue;
		v |= 2ull << (2 * i); /* Gn */
		v |= dr7_rw(s->type) << (16 + 4 * i);
		v |= (s->type == GDB_BP_HW ? 0 : dr7_len(s->len))
		     << (18 + 4 * i);
	}
	*dr7 = v;
}

bool gdb_hw_any(const struct gdb_bps *b)
{
	for (int i = 0; i < GDB_HW_SLOTS; i++)
		if (b->hw[i].used)
			return true;
	return false;
}

int gdb_hw_hit(const struct gdb_bps *b, uint64_t dr6)
{
	for (int i = 0; i < GDB_HW_SLOTS; i++)
		if (b->hw[i].used && (dr6 & (1ull << i)))
			return i;
	return -1;
}

bool gdb_hw_exec_at(const struct gdb_bps *b, uint64_t pc)
{
	for (int i = 0; i < GDB_HW_SLOTS; i++)
		if (b->hw[i].used && b->hw[i].type == GDB_BP_HW &&
		    b->hw[i].addr == pc)
			return true;
	return false;
}

struct gdb_sw_bp *gdb_sw_find(struct gdb_bps *b, uint64_t addr)
{
	for (int i = 0; i < GDB_SW_MAX; i++)
		if (b->sw[i].used && b->sw[i].addr == addr)
			return &b->sw[i];
	return NULL;
}

struct gdb_sw_bp *gdb_sw_alloc(struct gdb_bps *b)
{
	for (int i = 0; i < GDB_SW_MAX; i++)
		if (!b->sw[i].used)
			return &b->sw[i];
	return NULL;
}

bool gdb_sw_any(const struct gdb_bps *b)
{
	for (int i = 0; i < GDB_SW_MAX; i++)
		if (b->sw[i].used)
			return true;
	return false;
}
