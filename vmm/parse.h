/* SPDX-License-Identifier: MIT */
/* Parsers for command-line values, kept out of main.c so they are tested. */
#ifndef VMM_PARSE_H
#define VMM_PARSE_H

#include <stdint.h>

/*
 * Parse a memory size: a number with an optional K, M, G or T suffix
 * (binary units, case-insensitive, optional trailing "iB"/"B"); a bare
 * number means MiB. Returns 0, or -EINVAL (malformed) / -ERANGE (overflow).
 */
int parse_mem_size(const char *s, uint64_t *out);
/* Parse an unsigned integer in [min, max]. Returns 0, -EINVAL or -ERANGE. */
int parse_uint(const char *s, unsigned int min, unsigned int max,
	       unsigned int *out);

/* Parse an address: decimal or 0x-prefixed hex. Returns 0 or -EINVAL. */
int parse_addr(const char *s, uint64_t *out);

#endif
