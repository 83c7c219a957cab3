// SPDX-License-Identifier: MIT
/*
 * vmm: boot a Linux kernel in a KVM guest from the command line.
 * The only file that calls exit(); everything else returns -errno.
 */
#include <argp.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vmm/hv.h"
#include "vmm/log.h"
#include "vmm/machine.h"
#include "vmm/parse.h"

#define EXIT_CODES_DOC                                                           \
	"Exit status:\n"                                                         \
	"  0    the guest powered off or rebooted\n"                             \
	"  1    host error while the guest ran (KVM failure, emulation error)\n" \
	"  2    usage error\n"                                                   \
	"  3    set-up error (kernel/initrd file, KVM unusable, memory)\n"       \
	"  4    the guest kernel panicked\n"                                     \
	"  5    the guest triple-faulted (CPU shutdown)\n"                       \
	"  N    the guest wrote N to the debug-exit port 0x501\n"                \
	"  124  --timeout expired\n"                                             \
	"  130  stopped on the host (Ctrl-A x, SIGINT, SIGTERM, SIGHUP)\n"

const char *argp_program_version = "vmm " VMM_VERSION;
const char *argp_program_bug_address = "the project's issue tracker";

enum {
	OPT_CPUS = 0x100,
	OPT_CONSOLE,
	OPT_NO_QUIRKS,
	OPT_STATS,
	OPT_PC_SAMPLES,
	OPT_FORMAT,
	OPT_LOAD_ADDR,
	OPT_ENTRY,
	OPT_DISK,
	OPT_TIMEOUT,
	OPT_BOOT_TRACE,
	OPT_CONSOLE_LOG,
	OPT_HUGEPAGES,
	OPT_GDB,
	OPT_GDB_WAIT,
	OPT_NET,
	OPT_RNG,
	OPT_NO_RNG,
};

/* ACPI MADT and MP table entries hold 8-bit APIC ids; one is the IOAPIC. */
#define MAX_CPUS 254

static const struct argp_option boot_options[] = {
	{ "kernel", 'k', "FILE", 0,
	  "Kernel to boot: bzImage, vmlinux (PVH or 64-bit ELF), raw binary; gzip-compressed is fine",
	  0 },
	{ "initrd", 'i', "FILE", 0,
	  "Initial ramdisk (cpio archive, gzip inflated by the VMM)", 0 },
	{ "kernel-format", OPT_FORMAT, "FMT", 0,
	  "auto (default: by content), bzimage, pvh, elf or raw", 0 },
	{ "load-addr", OPT_LOAD_ADDR, "ADDR", 0,
	  "Raw images: guest-physical load address (default 0x100000)", 0 },
	{ "entry", OPT_ENTRY, "ADDR", 0,
	  "Raw images: entry point, entered in 64-bit mode with the low 4 GiB identity-mapped (default: the load address)",
	  0 },
	{ "cmdline", 'c', "STRING", 0,
	  "Kernel command line, replacing the default (" MACHINE_DEFAULT_CMDLINE
	  ")",
	  0 },
	{ "append", 'a', "STRING", 0, "Add to the kernel command line", 0 },
	{ "memory", 'm', "SIZE", 0,
	  "Guest RAM, e.g. 512M or 2G; a bare number is MiB (default 256M)",
	  0 },
	{ "disk", OPT_DISK, "PATH[,ro][,serial=ID][,cache=none|writeback]", 0,
	  "Attach a raw image or block device as virtio-blk (repeatable: vda, vdb, ...); locked against a second writer",
	  0 },
	{ "net", OPT_NET, "SPEC", 0,
	  "Attach a virtio-net device (repeatable: eth0, eth1, ...). SPEC: "
	  "user[,hostfwd=tcp:[HOSTADDR]:HOSTPORT-[GUESTADDR]:GUESTPORT]... "
	  "(no root needed: DHCP 10.0.2.15, gateway 10.0.2.2 reaches the "
	  "host's 127.0.0.1, DNS 10.0.2.3), tap[,ifname=NAME] (an existing "
	  "tap, or a new one when root), or none (the default); all take "
	  ",mac=52:54:00:xx:xx:xx",
	  0 },
	{ "rng", OPT_RNG, NULL, 0,
	  "Give the guest a virtio-rng entropy source fed by the host's "
	  "getrandom() (default for Linux kernels; not for raw images)",
	  0 },
	{ "no-rng", OPT_NO_RNG, NULL, 0, "No virtio-rng device", 0 },
	{ "hugepages", OPT_HUGEPAGES, NULL, 0,
	  "Back guest RAM with 2 MiB huge pages, reserved at start from the host's pool (/proc/sys/vm/nr_hugepages)",
	  0 },
	{ "cpus", OPT_CPUS, "N", 0,
	  "Number of vCPUs, 1-254 and at most KVM's limit (default 1)", 0 },
	{ "console", OPT_CONSOLE, "WHERE", 0,
	  "Guest console: stdio (default), file:PATH or none", 0 },
	{ "console-log", OPT_CONSOLE_LOG, "FILE", 0,
	  "Also write all guest output to FILE (unbuffered)", 0 },
	{ "timeout", OPT_TIMEOUT, "SECONDS", 0,
	  "Stop the guest after SECONDS and exit 124, printing where the vCPUs were and the last console line",
	  0 },
	{ "boot-trace", OPT_BOOT_TRACE, NULL, 0,
	  "Print the boot timeline (process start to first guest instruction, first console output, 'Run /init', the guest's boot-timer port write) and exit counts",
	  0 },
	{ "no-host-quirks", OPT_NO_QUIRKS, NULL, 0,
	  "Do not add the kernel options this host needs (on PVM-based nested hosts: noxsave clearcpuid=...)",
	  0 },
	{ "stats", OPT_STATS, NULL, 0,
	  "Print boot timing and VM exit counts per kind at the end", 0 },
	{ "pc-samples", OPT_PC_SAMPLES, "FILE", 0,
	  "Sample the guest PC of every vCPU at 100 Hz into FILE (see scripts/pc-profile.py)",
	  0 },
	{ "gdb", OPT_GDB, "[tcp:][HOST:]PORT", 0,
	  "Serve a gdb remote stub on HOST (default 127.0.0.1) and PORT: target remote :PORT",
	  0 },
	{ "gdb-wait", OPT_GDB_WAIT, NULL, 0,
	  "With --gdb: hold the guest at its first instruction until a debugger attaches and continues",
	  0 },
	{ "verbose", 'v', NULL, 0, "Debug messages and --stats", 0 },
	{ "quiet", 'q', NULL, 0, "Only print errors", 0 },
	{ 0 }
};

static int __attribute__((format(printf, 2, 3)))
usage_error(struct argp_state *state, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	argp_error(state, "%s", msg); /* exits with VMM_EXIT_USAGE */
	return EINVAL;
}

static error_t parse_disk(struct argp_state *state, struct machine_config *cfg,
			  const char *arg)
{
	char err[160];

	if (cfg->nr_disks == MACHINE_MAX_DISKS)
		return usage_error(state, "at most %d --disk options",
				   MACHINE_MAX_DISKS);
	if (disk_parse(arg, &cfg->disks[cfg->nr_disks], err, sizeof(err)))
		return usage_error(state, "invalid --disk '%s': %s", arg, err);
	cfg->nr_disks++;
	return 0;
}

static error_t parse_net(struct argp_state *state, struct machine_config *cfg,
			 const char *arg)
{
	struct net_spec spec;
	char err[256];

	if (net_parse(arg, &spec, err, sizeof(err)))
		return usage_error(state, "invalid --net '%s': %s", arg, err);
	if (spec.kind == NET_NONE)
		cfg->net_none = true;
	else if (cfg->nr_nets == MACHINE_MAX_NETS)
		return usage_error(state, "at most %d --net devices",
				   MACHINE_MAX_NETS);
	else
		cfg->nets[cfg->nr_nets++] = spec;
	if (cfg->net_none && cfg->nr_nets)
		return usage_error(
			state, "--net none cannot be combined with devices");
	return 0;
}

static error_t boot_parse_opt(int key, char *arg, struct argp_state *state)
{
	struct machine_config *cfg = state->input;

	switch (key) {
	case 'k':
		cfg->kernel = arg;
		break;
	case 'i':
		cfg->initrd = arg;
		break;
	case 'c':
		cfg->cmdline = arg;
		break;
	case 'a':
		cfg->append = arg;
		break;
	case 'm':
		if (parse_mem_size(arg, &cfg->mem_size))
			return usage_error(
				state,
				"invalid memory size '%s' (try 512M or 2G)",
				arg);
		break;
	case OPT_CPUS:
		if (parse_uint(arg, 1, MAX_CPUS, &cfg->cpus))
			return usage_error(state,
					   "invalid --cpus '%s' (1 to %d)", arg,
					   MAX_CPUS);
		break;
	case OPT_FORMAT:
		if (kernel_format_parse(arg, &cfg->kernel_format))
			return usage_error(
				state,
				"invalid --kernel-format '%s' (auto, bzimage, pvh, elf or raw)",
				arg);
		break;
	case OPT_DISK:
		return parse_disk(state, cfg, arg);
	case OPT_NET:
		return parse_net(state, cfg, arg);
	case OPT_RNG:
	case OPT_NO_RNG:
		cfg->rng = key == OPT_RNG ? MACHINE_RNG_ON : MACHINE_RNG_OFF;
		return 0;
	case OPT_TIMEOUT:
		if (parse_uint(arg, 1, 86400 * 365, &cfg->timeout_s))
			return usage_error(
				state, "invalid --timeout '%s' (seconds)", arg);
		break;
	case OPT_BOOT_TRACE:
		cfg->boot_trace = true;
		cfg->stats = true;
		break;
	case OPT_CONSOLE_LOG:
		cfg->console.log_path = arg;
		break;
	case OPT_HUGEPAGES:
		cfg->hugepages = true;
		break;
	case OPT_LOAD_ADDR:
	case OPT_ENTRY:
		if (parse_addr(arg, key == OPT_ENTRY ? &cfg->entry :
						       &cfg->load_addr))
			return usage_error(
				state, "invalid address '%s' (e.g. 0x100000)",
				arg);
		break;
	case OPT_CONSOLE:
		if (console_parse(arg, &cfg->console))
			return usage_error(
				state,
				"invalid --console '%s' (use stdio, none or file:PATH)",
				arg);
		break;
	case OPT_NO_QUIRKS:
		cfg->host_quirks = false;
		break;
	case OPT_STATS:
		cfg->stats = true;
		break;
	case OPT_PC_SAMPLES:
		cfg->pc_samples = arg;
		break;
	case 'v':
		log_set_level(LOG_DEBUG);
		cfg->stats = true;
		break;
	case 'q':
		log_set_level(LOG_ERR);
		break;
	case ARGP_KEY_ARG:
		return usage_error(state, "unexpected argument '%s'", arg);
	case OPT_GDB:
		if (gdb_config_parse(arg, &cfg->gdb))
			return usage_error(
				state,
				"invalid --gdb '%s' (try tcp:127.0.0.1:1234 or 1234)",
				arg);
		break;
	case OPT_GDB_WAIT:
		cfg->gdb.wait = true;
		break;
	case ARGP_KEY_END:
		if (!cfg->kernel)
			argp_error(state, "--kernel is required");
		if (cfg->gdb.wait && !cfg->gdb.enabled)
			argp_error(state, "--gdb-wait needs --gdb");
		if ((cfg->load_addr || cfg->entry) &&
		    cfg->kernel_format != KERNEL_AUTO &&
		    cfg->kernel_format != KERNEL_RAW)
			argp_error(
				state,
				"--load-addr and --entry are for raw images");
		break;
	default:
		return ARGP_ERR_UNKNOWN;
	}
	return 0;
}

static const struct argp boot_argp = {
	boot_options,
	boot_parse_opt,
	"[-- CMD [ARG...]]",
	"Boot a Linux kernel in a new VM with its console on this terminal.\v"
	"-- CMD: the test initramfs (test-images/init) runs CMD and vmm exits "
	"with its status.\n\n"
	"Console escapes: Ctrl-A x quits, Ctrl-A b sends a break (then a key "
	"for Magic SysRq), Ctrl-A h helps.\n\n" EXIT_CODES_DOC,
	NULL,
	NULL,
	NULL
};

static int cmd_boot(int argc, char **argv)
{
	struct machine_config cfg = {
		.mem_size = 256ULL << 20,
		.cpus = 1,
		.console = { .kind = CONSOLE_STDIO },
		.host_quirks = true,
	};
	struct machine_result res = { VM_STOP_NONE, 0 };
	int code, cmd_at = argc;

	clock_gettime(CLOCK_MONOTONIC, &cfg.t_process);
	/* "-- CMD ARGS": a command for the test initramfs to run. */
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--")) {
			cmd_at = i;
			break;
		}
	}
	if (cmd_at < argc) {
		cfg.run_argv = (const char *const *)argv + cmd_at + 1;
		cfg.run_argc = argc - cmd_at - 1;
	}
	argp_parse(&boot_argp, cmd_at, argv, 0, NULL, &cfg);
	if (cmd_at < argc && !cfg.run_argc) {
		fprintf(stderr, "vmm boot: nothing after '--'\n");
		return VMM_EXIT_USAGE;
	}
	if (machine_boot(&cfg, &res))
		return VMM_EXIT_SETUP;
	code = vm_exit_status(res.reason, res.guest_code);
	log_info("%s (exit status %d)", vm_stop_name(res.reason), code);
	return code;
}

static int cmd_probe(int argc, char **argv)
{
	static const struct argp probe_argp = {
		NULL,
		NULL,
		NULL,
		"Report what the host hypervisor offers; exit 3 if it cannot run VMs.",
		NULL,
		NULL,
		NULL
	};
	struct hv_probe p;

	argp_parse(&probe_argp, argc, argv, 0, NULL, NULL);
	hv_probe(&p);
	printf("hypervisor:       KVM (/dev/kvm)\n");
	printf("usable:           %s%s%s\n", p.usable ? "yes" : "no",
	       p.usable ? "" : ": ", p.usable ? "" : p.reason);
	printf("api version:      %d\n", p.api_version);
	printf("max vcpus:        %d\n", p.max_vcpus);
	printf("pvm-based nested: %s\n",
	       p.nested_pvm ?
		       "yes (guest kernel mode is emulated; vmm adds the kernel options it needs)" :
		       "no");
	for (unsigned int i = 0; i < p.nr_caps; i++)
		printf("cap %-22s %s%s\n", p.caps[i].name,
		       p.caps[i].present ? "yes" : "no",
		       p.caps[i].required ? " (required)" : "");
	return p.usable ? 0 : VMM_EXIT_SETUP;
}

static const char top_doc[] =
	"Usage: vmm COMMAND [OPTION...]\n"
	"A small VMM that boots Linux kernels on KVM.\n\n"
	"Commands:\n"
	"  boot      boot a kernel (vmm boot --help for options)\n"
	"  probe     report what the host hypervisor offers\n"
	"  version   print the version\n\n"
	"Example:\n"
	"  vmm boot --kernel bzImage --initrd initramfs.cpio\n\n" EXIT_CODES_DOC;

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	argp_err_exit_status = VMM_EXIT_USAGE;
	if (!cmd) {
		fputs(top_doc, stderr);
		return VMM_EXIT_USAGE;
	}
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") ||
	    !strcmp(cmd, "help")) {
		fputs(top_doc, stdout);
		return 0;
	}
	if (!strcmp(cmd, "version") || !strcmp(cmd, "--version")) {
		printf("%s\n", argp_program_version);
		return 0;
	}
	argv[1] = strcmp(cmd, "boot") == 0 ? "vmm boot" : "vmm probe";
	if (!strcmp(cmd, "boot"))
		return cmd_boot(argc - 1, argv + 1);
	if (!strcmp(cmd, "probe"))
		return cmd_probe(argc - 1, argv + 1);
	fprintf(stderr, "vmm: unknown command '%s'\n\n%s", cmd, top_doc);
	return VMM_EXIT_USAGE;
}
