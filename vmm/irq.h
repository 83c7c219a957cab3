/* SPDX-License-Identifier: MIT */
/* An interrupt pin handed to a device, so devices never see the backend. */
#ifndef VMM_IRQ_H
#define VMM_IRQ_H

#include <stdbool.h>
#include <stddef.h>

struct irq_pin {
	/* NULL: the pin is not wired and level changes go nowhere. */
	int (*set)(void *opaque, unsigned int irq, bool level);
	void *opaque;
	unsigned int irq;
};

/* Drive the pin to @level; a no-op for an unwired pin. Returns 0/-errno. */
static inline int irq_pin_set(const struct irq_pin *pin, bool level)
{
	return pin->set ? pin->set(pin->opaque, pin->irq, level) : 0;
}

#endif
