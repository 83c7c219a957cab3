/* SPDX-License-Identifier: MIT */
/*
 * Little-endian loads and stores on byte buffers: guest structures and
 * image headers are little-endian and may be unaligned, so never cast.
 */
#ifndef VMM_LE_H
#define VMM_LE_H

#include <stdint.h>

/* Read a little-endian 16-bit value at @p. */
static inline uint16_t get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* Read a little-endian 32-bit value at @p. */
static inline uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)get_le16(p) | (uint32_t)get_le16(p + 2) << 16;
}

/* Read a little-endian 64-bit value at @p. */
static inline uint64_t get_le64(const uint8_t *p)
{
	return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

/* Store @v little-endian at @p. */
static inline void put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

/* Store @v little-endian at @p. */
static inline void put_le32(uint8_t *p, uint32_t v)
{
	put_le16(p, (uint16_t)v);
	put_le16(p + 2, (uint16_t)(v >> 16));
}

/* Store @v little-endian at @p. */
static inline void put_le64(uint8_t *p, uint64_t v)
{
	put_le32(p, (uint32_t)v);
	put_le32(p + 4, (uint32_t)(v >> 32));
}

#endif
