/* SPDX-License-Identifier: MIT */
/*
 * The ACPI PM1 register blocks at the ports the FADT names: PM1a_EVT
 * (status, enable) and PM1a_CNT (SCI_EN, SLP_TYP, SLP_EN). Enough for the
 * guest's ACPI core to find ACPI enabled and to power off via \_S5.
 */
#ifndef VMM_ACPI_PM_H
#define VMM_ACPI_PM_H

#include "vmm/bus.h"

/* The SLP_TYP value of \_S5 in the DSDT; writing it with SLP_EN powers off. */
#define ACPI_PM_SLP_TYP_S5 5

struct vm;
struct acpi_pm;

extern const struct bus_ops acpi_pm_evt_ops; /* LAYOUT_PM1_EVT, 4 bytes */
extern const struct bus_ops acpi_pm_cnt_ops; /* LAYOUT_PM1_CNT, 2 bytes */

/* Create the PM1 state for @vm; both ops take it as opaque. 0 or -ENOMEM. */
int acpi_pm_create(struct vm *vm, struct acpi_pm **out);
/* Free it. NULL is allowed. */
void acpi_pm_destroy(struct acpi_pm *pm);

#endif
