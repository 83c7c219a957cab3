// SPDX-License-Identifier: MIT
#include "vmm/parse.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <strings.h>

static int suffix_shift(const char *end, unsigned int *shift)
{
	static const char units[] = "KMGT";

	if (!*end) {
		*shift = 20; /* bare numbers are MiB, as in other VMMs */
		return 0;
	}
	for (unsigned int i = 0; units[i]; i++) {
		if (toupper((unsigned char)*end) != units[i])
			continue;
		*shift = 10 * (i + 1);
		end++;
		if (!*end || !strcasecmp(end, "B") || !strcasecmp(end, "iB"))
			return 0;
		return -EINVAL;
	}
	if (!strcasecmp(end, "B")) {
		*shift = 0;
		return 0;
	}
	return -EINVAL;
}

int parse_mem_size(const char *s, uint64_t *out)
{
	unsigned long long v;
	unsigned int shift;
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -ERANGE;
	if (suffix_shift(end, &shift))
		return -EINVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*out = (uint64_t)v << shift;
	return 0;
}

int parse_uint(const char *s, unsigned int min, unsigned int max,
	       unsigned int *out)
{
	unsigned long v;
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (*end)
		return -EINVAL;
	if (errno || v < min || v > max)
		return -ERANGE;
	*out = (unsigned int)v;
	return 0;
}

int parse_addr(const char *s, uint64_t *out)
{
	unsigned long long v;
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || *end)
		return -EINVAL;
	*out = v;
	return 0;
}
