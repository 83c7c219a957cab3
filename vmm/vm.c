// SPDX-License-Identifier: MIT
#include "vmm/vm.h"

#include <errno.h>
#include <string.h>
#include <time.h>
#include <sys/eventfd.h>
#include <linux/mman.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vmm/layout_x86_64.h"
#include "vmm/log.h"

static void vm_add_region(struct vm *vm, uint64_t gpa, uint64_t size,
			  uint8_t *hva)
{
	vm->regions[vm->nr_regions++] =
		(struct vm_mem_region){ .gpa = gpa, .size = size, .hva = hva };
}

/*
 * Lazily populated: untouched guest pages cost the host nothing. Huge
 * pages are reserved up front instead (no MAP_NORESERVE): a pool that
 * runs dry at fault time would kill the VMM with SIGBUS mid-run.
 */
static void *vm_map_ram(uint64_t size, bool huge)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS;

	flags |= huge ? MAP_HUGETLB | MAP_HUGE_2MB : MAP_NORESERVE;
	return mmap(NULL, size, PROT_READ | PROT_WRITE, flags, -1, 0);
}

int vm_init(struct vm *vm, uint64_t ram_size)
{
	return vm_init_flags(vm, ram_size, 0);
}

int vm_init_flags(struct vm *vm, uint64_t ram_size, unsigned int flags)
{
	bool huge = flags & VM_RAM_HUGEPAGES;
	uint64_t low;
	int ret;

	memset(vm, 0, sizeof(*vm));
	vm->stop_fd = -1;
	if (ram_size < LAYOUT_MIN_RAM || (huge && ram_size % VM_HUGE_PAGE))
		return -EINVAL;
	vm->ram = vm_map_ram(ram_size, huge);
	if (vm->ram == MAP_FAILED) {
		vm->ram = NULL;
		return -errno;
	}
	vm->ram_size = ram_size;
	low = ram_size < LAYOUT_MMIO_HOLE ? ram_size : LAYOUT_MMIO_HOLE;
	vm_add_region(vm, 0, low, vm->ram);
	if (ram_size > low)
		vm_add_region(vm, LAYOUT_HIGH_RAM, ram_size - low,
			      vm->ram + low);

	ret = bus_init(&vm->pio, "port I/O");
	if (!ret)
		ret = bus_init(&vm->mmio, "MMIO");
	if (ret) {
		vm_destroy(vm);
		return ret;
	}
	vm->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (vm->stop_fd < 0) {
		ret = -errno;
		vm_destroy(vm);
		return ret;
	}
	pthread_mutex_init(&vm->stop_lock, NULL);
	pthread_cond_init(&vm->stop_cond, NULL);
	return 0;
}

void vm_destroy(struct vm *vm)
{
	bus_destroy(&vm->pio);
	bus_destroy(&vm->mmio);
	if (vm->ram)
		munmap(vm->ram, vm->ram_size);
	if (vm->stop_fd >= 0)
		close(vm->stop_fd);
	vm->stop_fd = -1;
	vm->ram = NULL;
	vm->nr_regions = 0;
}

void *vm_gpa_to_hva(const struct vm *vm, uint64_t gpa, uint64_t len)
{
	for (unsigned int i = 0; i < vm->nr_regions; i++) {
		const struct vm_mem_region *r = &vm->regions[i];

		/* Written so that no sum can overflow on hostile input. */
		if (gpa >= r->gpa && gpa - r->gpa <= r->size &&
		    len <= r->size - (gpa - r->gpa))
			return r->hva + (gpa - r->gpa);
	}
	return NULL;
}

uint64_t vm_low_ram_top(const struct vm *vm)
{
	return vm->nr_regions ? vm->regions[0].size : 0;
}

int vm_e820(const struct vm *vm, struct e820_entry *out, unsigned int max)
{
	struct e820_entry map[6];
	unsigned int n = 0;

	map[n++] = (struct e820_entry){ 0, LAYOUT_EBDA, E820_RAM };
	/* EBDA, VGA window, option ROMs and BIOS area: never RAM to Linux. */
	map[n++] = (struct e820_entry){ LAYOUT_EBDA, LAYOUT_HIMEM - LAYOUT_EBDA,
					E820_RESERVED };
	map[n++] = (struct e820_entry){ LAYOUT_HIMEM,
					vm_low_ram_top(vm) - LAYOUT_HIMEM,
					E820_RAM };
	/* PCI ECAM (the ACPI MCFG window): Linux wants it reserved here. */
	map[n++] = (struct e820_entry){ LAYOUT_PCI_ECAM, LAYOUT_PCI_ECAM_SIZE,
					E820_RESERVED };
	map[n++] = (struct e820_entry){ LAYOUT_KVM_IDENTITY_MAP,
					LAYOUT_MMIO_HOLE_END -
						LAYOUT_KVM_IDENTITY_MAP,
					E820_RESERVED };
	if (vm->nr_regions > 1)
		map[n++] = (struct e820_entry){ vm->regions[1].gpa,
						vm->regions[1].size, E820_RAM };
	if (n > max)
		return -ENOSPC;
	memcpy(out, map, n * sizeof(*map));
	return (int)n;
}

int vm_exit_status(enum vm_stop_reason reason, int guest_code)
{
	switch (reason) {
	case VM_STOP_GUEST_EXIT:
		return guest_code & 0xff;
	case VM_STOP_TIMEOUT:
		return VMM_EXIT_TIMEOUT;
	case VM_STOP_POWEROFF:
	case VM_STOP_REBOOT:
		return VMM_EXIT_OK;
	case VM_STOP_PANIC:
		return VMM_EXIT_PANIC;
	case VM_STOP_TRIPLE_FAULT:
		return VMM_EXIT_TRIPLE_FAULT;
	case VM_STOP_USER:
		return VMM_EXIT_STOPPED;
	default:
		return VMM_EXIT_HOST_ERROR;
	}
}

const char *vm_stop_name(enum vm_stop_reason reason)
{
	static const char *const names[] = {
		[VM_STOP_NONE] = "running",
		[VM_STOP_POWEROFF] = "guest powered off",
		[VM_STOP_REBOOT] = "guest rebooted",
		[VM_STOP_PANIC] = "guest kernel panic",
		[VM_STOP_TRIPLE_FAULT] = "guest triple fault (shutdown)",
		[VM_STOP_USER] = "stopped on the host",
		[VM_STOP_ERROR] = "host error",
		[VM_STOP_GUEST_EXIT] = "guest exit through the debug-exit port",
		[VM_STOP_TIMEOUT] = "timeout",
	};

	if ((unsigned int)reason < sizeof(names) / sizeof(names[0]))
		return names[reason];
	return "unknown";
}

void vm_request_exit(struct vm *vm, int code)
{
	pthread_mutex_lock(&vm->stop_lock);
	if (vm->stop_reason == VM_STOP_NONE)
		vm->guest_exit_code = code;
	pthread_mutex_unlock(&vm->stop_lock);
	vm_request_stop(vm, VM_STOP_GUEST_EXIT);
}

void vm_mark_time(atomic_bool *seen, struct timespec *t)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (!atomic_load(seen) && !atomic_exchange(seen, true))
		*t = now;
}

void vm_request_stop(struct vm *vm, enum vm_stop_reason reason)
{
	bool first = false;

	pthread_mutex_lock(&vm->stop_lock);
	if (vm->stop_reason == VM_STOP_NONE) {
		vm->stop_reason = reason;
		first = true;
		atomic_store(&vm->stopping, true);
		pthread_cond_broadcast(&vm->stop_cond);
	}
	pthread_mutex_unlock(&vm->stop_lock);
	if (first) {
		uint64_t one = 1;

		if (write(vm->stop_fd, &one, sizeof(one)) < 0)
			log_debug("stop eventfd: %s", strerror(errno));
		log_debug("stopping: %s", vm_stop_name(reason));
		if (vm->kick_all)
			vm->kick_all(vm);
	}
}

enum vm_stop_reason vm_wait_stop(struct vm *vm)
{
	enum vm_stop_reason reason;

	pthread_mutex_lock(&vm->stop_lock);
	while (vm->stop_reason == VM_STOP_NONE)
		pthread_cond_wait(&vm->stop_cond, &vm->stop_lock);
	reason = vm->stop_reason;
	pthread_mutex_unlock(&vm->stop_lock);
	return reason;
}

void vm_guest_reset(struct vm *vm)
{
	/* With panic=-1 a panicking Linux resets at once: report the panic. */
	vm_request_stop(vm, atomic_load(&vm->guest_panicked) ? VM_STOP_PANIC :
							       VM_STOP_REBOOT);
}

static int vm_isa_irq_set(void *opaque, unsigned int irq, bool level)
{
	struct vm *vm = opaque;
	int ret = vm->irq_line ? vm->irq_line(vm, irq, level) : -ENODEV;

	if (!ret && level && irq < VM_STATS_IRQS)
		atomic_fetch_add_explicit(&vm->stats.irq_raised[irq], 1,
					  memory_order_relaxed);
	return ret;
}

struct irq_pin vm_isa_irq(struct vm *vm, unsigned int irq)
{
	return (struct irq_pin){ .set = vm_isa_irq_set,
				 .opaque = vm,
				 .irq = irq };
}

int vm_msi(struct vm *vm, uint64_t addr, uint32_t data)
{
	return vm->msi ? vm->msi(vm, addr, data) : -ENOTSUP;
}

int vm_ioeventfd(struct vm *vm, uint64_t gpa, uint32_t len, int fd, bool assign)
{
	return vm->ioeventfd ? vm->ioeventfd(vm, gpa, len, fd, assign) :
			       -ENOTSUP;
}
