// SPDX-License-Identifier: MIT
#include "vmm/machine.h"

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "boot/kernel.h"
#include "boot/x86_tables.h"
#include "gdb/stub.h"
#include "pci/pci.h"
#include "virtio/blk.h"
#include "virtio/net.h"
#include "virtio/rng.h"
#include "vmm/hv.h"
#include "vmm/layout_x86_64.h"
#include "vmm/log.h"
#include "vmm/memstat.h"
#include "vmm/platform.h"
#include "vmm/vcpu.h"

/* Everything one boot owns, so tear-down is one function. */
struct machine {
	const struct machine_config *cfg;
	struct vm vm;
	bool vm_ready;
	struct gdb_stub *gdb; /* --gdb, or NULL */
	struct kernel_files files;
	struct console *con;
	struct platform *platform;
	struct pci_bus pci;
	bool pci_ready;
	struct blk *disks[MACHINE_MAX_DISKS];
	struct net *nets[MACHINE_MAX_NETS];
	struct rng *rng;
	struct boot_entry entry;
	int sig_fd;
	int sample_fd; /* timerfd driving --pc-samples, or -1 */
	int timeout_fd; /* timerfd for --timeout, or -1 */
	struct timespec t_init; /* the "Run /init" line was seen */
	bool seen_init;
	struct timespec t_start, t_first_output;
	bool seen_output;
	/*
	 * Console input the guest has not taken yet (its RX FIFO was full):
	 * bytes, and INPUT_BREAK for a break, in arrival order. While it is
	 * full, stdin is not read; the main loop keeps serving signals.
	 */
	uint16_t pending[4096];
	size_t nr_pending;
};

#define INPUT_BREAK 0x100
#define PENDING_MAX (sizeof(((struct machine *)0)->pending) / sizeof(uint16_t))

/* Append @c to @buf at *@n, %XX-encoded unless plainly safe. */
static int run_put(char *buf, size_t len, size_t *n, char c)
{
	static const char safe[] = "/-_.=,:+@";
	bool plain = isalnum((unsigned char)c) || (c && strchr(safe, c));

	if (*n + 4 > len) /* "%XX" and the NUL */
		return -E2BIG;
	*n += (size_t)(plain ? sprintf(buf + *n, "%c", c) :
			       sprintf(buf + *n, "%%%02X", (unsigned char)c));
	return 0;
}

/* Append @word in single quotes, as sh reads it back: ' becomes '\''. */
static int run_put_quoted(char *buf, size_t len, size_t *n, const char *word)
{
	int ret = run_put(buf, len, n, '\'');

	for (const char *c = word; *c && !ret; c++) {
		if (*c != '\'') {
			ret = run_put(buf, len, n, *c);
			continue;
		}
		/* Close the quotes, an escaped quote, open them again. */
		for (const char *q = "'\\''"; *q && !ret; q++)
			ret = run_put(buf, len, n, *q);
	}
	return ret ? ret : run_put(buf, len, n, '\'');
}

/*
 * Append " vmm.run=CMD", %XX-encoded; the test init runs it with sh -c.
 * One word is a shell command line as is (-- 'make; echo $?'); several
 * are quoted so the guest's argv is the one given (-- sh -c 'a; b'), as
 * with timeout(1) or env(1).
 */
static int append_run(const struct machine_config *cfg, char *buf, size_t len)
{
	size_t n = strlen(buf);
	int ret = 0;

	if (n + 10 > len)
		return -E2BIG;
	n += (size_t)sprintf(buf + n, "%svmm.run=", n ? " " : "");
	if (cfg->run_argc == 1) {
		for (const char *c = cfg->run_argv[0]; *c && !ret; c++)
			ret = run_put(buf, len, &n, *c);
		return ret;
	}
	for (int i = 0; i < cfg->run_argc && !ret; i++) {
		if (i)
			ret = run_put(buf, len, &n, ' ');
		if (!ret)
			ret = run_put_quoted(buf, len, &n, cfg->run_argv[i]);
	}
	return ret;
}

int machine_cmdline(const struct machine_config *cfg, bool pvm_host, char *buf,
		    size_t len)
{
	const char *base = cfg->cmdline ? cfg->cmdline :
					  MACHINE_DEFAULT_CMDLINE;
	const char *quirks =
		pvm_host && cfg->host_quirks ? MACHINE_PVM_CMDLINE : "";
	const char *append = cfg->append ? cfg->append : "";
	int n = snprintf(buf, len, "%s%s%s%s%s", base,
			 *base && *quirks ? " " : "", quirks,
			 (*base || *quirks) && *append ? " " : "", append);

	if (n < 0 || (size_t)n >= len)
		return -E2BIG;
	return cfg->run_argc ? append_run(cfg, buf, len) : 0;
}

static double ms_between(const struct timespec *a, const struct timespec *b)
{
	return (b->tv_sec - a->tv_sec) * 1e3 + (b->tv_nsec - a->tv_nsec) / 1e6;
}

static double elapsed_ms(const struct timespec *from)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return ms_between(from, &now);
}

static void machine_on_line(void *opaque, const char *line)
{
	struct machine *m = opaque;

	if (strstr(line, "Kernel panic - not syncing"))
		atomic_store(&m->vm.guest_panicked, true);
	if (!m->seen_init && strstr(line, "Run /init as init process")) {
		m->seen_init = true;
		clock_gettime(CLOCK_MONOTONIC, &m->t_init);
		if (m->cfg->stats)
			log_info("reached 'Run /init' after %.0f ms",
				 elapsed_ms(&m->t_start));
	}
}

static void machine_output(void *opaque, const uint8_t *buf, size_t len)
{
	struct machine *m = opaque;

	if (!m->seen_output) {
		m->seen_output = true;
		clock_gettime(CLOCK_MONOTONIC, &m->t_first_output);
	}
	console_output(m->con, buf, len);
}

static int machine_irq_line(struct vm *vm, unsigned int irq, bool level)
{
	return hv_irq_line(vm->hv, irq, level);
}

static int machine_msi(struct vm *vm, uint64_t addr, uint32_t data)
{
	return vm->hv ? hv_msi(vm->hv, addr, data) : -ENODEV;
}

static int machine_ioeventfd(struct vm *vm, uint64_t gpa, uint32_t len, int fd,
			     bool assign)
{
	return vm->hv ? hv_ioeventfd(vm->hv, gpa, len, fd, assign) : -ENOTSUP;
}

static bool machine_wants_rng(const struct machine *m)
{
	if (m->cfg->rng == MACHINE_RNG_AUTO)
		return m->files.format != KERNEL_RAW;
	return m->cfg->rng == MACHINE_RNG_ON;
}

/*
 * The PCI bus and its devices: disks in --disk order (vda, vdb, ...),
 * then network devices in --net order (eth0, ...), then the rng.
 */
static int machine_pci(struct machine *m)
{
	const struct machine_config *cfg = m->cfg;
	int ret = pci_bus_init(&m->pci, &m->vm);

	m->pci_ready = !ret;
	for (unsigned int i = 0; !ret && i < cfg->nr_disks; i++)
		ret = blk_create(&m->vm, &m->pci, &cfg->disks[i], &m->disks[i]);
	for (unsigned int i = 0; !ret && i < cfg->nr_nets; i++)
		ret = net_create(&m->vm, &m->pci, &cfg->nets[i], i,
				 &m->nets[i]);
	if (!ret && machine_wants_rng(m))
		ret = rng_create(&m->vm, &m->pci, &m->rng);
	return ret;
}

/* Stop the devices' threads; with --stats, print what they moved. */
static void machine_destroy_devices(struct machine *m)
{
	bool stats = m->cfg->stats && m->vm_ready;
	uint64_t bytes = 0;

	for (unsigned int i = 0; i < MACHINE_MAX_DISKS; i++)
		blk_destroy(m->disks[i]);
	for (unsigned int i = 0; i < MACHINE_MAX_NETS; i++) {
		struct net_stats st;

		if (!m->nets[i])
			continue;
		net_destroy(m->nets[i], &st);
		if (stats)
			log_info("eth%u (%s): rx %llu packets %llu bytes "
				 "%llu dropped %llu largest, tx %llu packets "
				 "%llu bytes %llu dropped %llu largest",
				 i,
				 m->cfg->nets[i].kind == NET_TAP ? "tap" :
								   "user",
				 (unsigned long long)st.rx_packets,
				 (unsigned long long)st.rx_bytes,
				 (unsigned long long)st.rx_dropped,
				 (unsigned long long)st.rx_largest,
				 (unsigned long long)st.tx_packets,
				 (unsigned long long)st.tx_bytes,
				 (unsigned long long)st.tx_dropped,
				 (unsigned long long)st.tx_largest);
	}
	if (m->rng) {
		rng_destroy(m->rng, &bytes);
		if (stats)
			log_info("rng: %llu bytes to the guest",
				 (unsigned long long)bytes);
	}
}

static int machine_load(struct machine *m, const char *cmdline)
{
	const struct machine_config *cfg = m->cfg;
	struct boot_params bp = { .cmdline = cmdline,
				  .load_addr = cfg->load_addr,
				  .entry = cfg->entry };
	int ret = vm_init_flags(&m->vm, cfg->mem_size,
				cfg->hugepages ? VM_RAM_HUGEPAGES : 0);

	if (ret) {
		log_err("cannot allocate %llu MiB of guest RAM%s: %s%s",
			(unsigned long long)(cfg->mem_size >> 20),
			cfg->hugepages ? " in 2 MiB huge pages" : "",
			strerror(-ret),
			cfg->hugepages && ret == -ENOMEM ?
				" (the host's pool: /proc/sys/vm/nr_hugepages)" :
			cfg->hugepages && ret == -EINVAL ?
				" (--memory must be a multiple of 2 MiB)" :
				"");
		return ret;
	}
	m->vm_ready = true;
	m->vm.nr_vcpus = cfg->cpus;
	ret = x86_tables_write(&m->vm, cfg->cpus, &bp.rsdp);
	if (!ret)
		ret = kernel_load(&m->vm, &m->files, &bp, &m->entry);
	/* The images are in guest RAM now: their host copies would only
	 * add to the VMM's RSS for the whole run (18 MiB for a vmlinux). */
	kernel_release(&m->files);
	return ret;
}

static int machine_devices(struct machine *m)
{
	struct console_config cc = m->cfg->console;
	struct uart_sink sink = { machine_output, m };
	int ret;

	cc.on_line = machine_on_line;
	cc.opaque = m;
	ret = console_open(&m->con, &cc);
	if (!ret)
		ret = platform_create(&m->vm, sink, &m->platform);
	return ret;
}

static int machine_hv(struct machine *m)
{
	struct vm *vm = &m->vm;
	int ret = hv_vm_create(vm, &vm->hv);

	for (unsigned int i = 0; !ret && i < vm->nr_regions; i++)
		ret = hv_vm_map(vm->hv, vm->regions[i].gpa, vm->regions[i].hva,
				vm->regions[i].size,
				HV_PROT_READ | HV_PROT_WRITE | HV_PROT_EXEC);
	vm->irq_line = machine_irq_line;
	vm->msi = machine_msi;
	vm->ioeventfd = machine_ioeventfd;
	return ret;
}

static const int stop_signals[] = { SIGINT, SIGTERM, SIGHUP };
/* A stop signal that came during set-up, before the signalfd took over. */
static volatile sig_atomic_t setup_stop_signal;

static void setup_signal_handler(int sig)
{
	setup_stop_signal = sig;
}

/*
 * From the start, a stop signal must mean exit 130 as it does later, not
 * death by its default action. The handler has no SA_RESTART so a set-up
 * step blocked in open() or read() (a FIFO as --kernel) returns EINTR.
 * Signals the parent ignores (nohup) stay ignored, as they do later.
 */
static void machine_setup_signals(void)
{
	struct sigaction sa = { .sa_handler = setup_signal_handler }, old;

	sigemptyset(&sa.sa_mask);
	setup_stop_signal = 0;
	for (size_t i = 0; i < sizeof(stop_signals) / sizeof(*stop_signals);
	     i++)
		if (!sigaction(stop_signals[i], NULL, &old) &&
		    old.sa_handler != SIG_IGN)
			sigaction(stop_signals[i], &sa, NULL);
}

/* Signals: vCPU threads see only the kick; the main loop reads the rest. */
static int machine_signals(struct machine *m)
{
	sigset_t set;
	int ret;

	sigemptyset(&set);
	for (size_t i = 0; i < sizeof(stop_signals) / sizeof(*stop_signals);
	     i++)
		sigaddset(&set, stop_signals[i]);
	sigaddset(&set, VCPU_KICK_SIGNAL);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	/* Blocked now: one that came before is reported, not lost. */
	if (setup_stop_signal)
		return -EINTR;
	sigdelset(&set, VCPU_KICK_SIGNAL);
	m->sig_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (m->sig_fd < 0)
		return -errno;
	ret = vcpus_init_signals();
	signal(SIGPIPE, SIG_IGN);
	return ret;
}

static void machine_escape_action(struct machine *m, enum console_action act)
{
	switch (act) {
	case CONSOLE_QUIT:
		log_info("stopping the guest (Ctrl-A x)");
		vm_request_stop(&m->vm, VM_STOP_USER);
		break;
	case CONSOLE_BREAK:
		m->pending[m->nr_pending++] = INPUT_BREAK;
		break;
	case CONSOLE_HELP:
		if (write(STDERR_FILENO, console_escape_help,
			  strlen(console_escape_help)) < 0)
			break;
		break;
	default:
		break;
	}
}

/* Hand queued input to COM1 in order, as far as its FIFO has room. */
static void machine_flush_input(struct machine *m)
{
	struct uart *uart = platform_console_uart(m->platform);
	size_t done = 0;

	while (done < m->nr_pending) {
		uint16_t item = m->pending[done];
		uint8_t byte = (uint8_t)item;

		if (item == INPUT_BREAK) {
			if (!uart_rx_space(uart))
				break;
			uart_send_break(uart);
		} else if (!uart_receive(uart, &byte, 1)) {
			break;
		}
		done++;
	}
	memmove(m->pending, m->pending + done,
		(m->nr_pending - done) * sizeof(m->pending[0]));
	m->nr_pending -= done;
}

/* Escapes act at once; guest bytes queue behind earlier input. */
static void machine_input(struct machine *m, const uint8_t *buf, size_t n,
			  struct console_escape *esc)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t out;
		enum console_action act =
			console_escape_feed(esc, buf[i], &out);

		if (act == CONSOLE_PASS)
			m->pending[m->nr_pending++] = out;
		else
			machine_escape_action(m, act);
	}
	machine_flush_input(m);
}

static void machine_signal(struct machine *m)
{
	struct signalfd_siginfo si;

	if (read(m->sig_fd, &si, sizeof(si)) != sizeof(si))
		return;
	log_info("stopping the guest (signal %u)", si.ssi_signo);
	vm_request_stop(&m->vm, VM_STOP_USER);
}

/* 100 Hz: enough to see where seconds go, cheap in kicks. */
#define PC_SAMPLE_NS 10000000L

static int machine_sampling(struct machine *m)
{
	struct itimerspec its = { .it_interval.tv_nsec = PC_SAMPLE_NS,
				  .it_value.tv_nsec = PC_SAMPLE_NS };

	if (!m->cfg->pc_samples)
		return 0;
	m->sample_fd =
		timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (m->sample_fd < 0 || timerfd_settime(m->sample_fd, 0, &its, NULL))
		return -errno;
	return 0;
}

static int machine_timeout(struct machine *m)
{
	struct itimerspec its = { .it_value.tv_sec = m->cfg->timeout_s };

	if (!m->cfg->timeout_s)
		return 0;
	m->timeout_fd =
		timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (m->timeout_fd < 0 || timerfd_settime(m->timeout_fd, 0, &its, NULL))
		return -errno;
	return 0;
}

static void machine_timeout_expired(struct machine *m)
{
	log_err("timeout: the guest was still running after %u s (--timeout)",
		m->cfg->timeout_s);
	vm_request_stop(&m->vm, VM_STOP_TIMEOUT);
}

/* What the guest was doing when time ran out: for the CI log. */
static void machine_report_timeout(struct machine *m)
{
	for (unsigned int i = 0; m->vm.vcpus && i < m->vm.nr_vcpus; i++)
		if (m->vm.vcpus[i] && m->vm.vcpus[i]->hv)
			log_err("timeout: vCPU %u was at pc 0x%llx", i,
				(unsigned long long)hv_vcpu_pc(
					m->vm.vcpus[i]->hv));
	log_err("timeout: last console line: %s", console_last_line(m->con));
}

static void machine_sample_tick(struct machine *m)
{
	uint64_t ticks;

	if (read(m->sample_fd, &ticks, sizeof(ticks)) == sizeof(ticks))
		vcpus_request_pc_sample(&m->vm);
}

/* Read no more than the pending queue can take, so nothing is dropped. */
static void machine_stdin(struct machine *m, struct pollfd *pfd,
			  struct console_escape *esc)
{
	uint8_t buf[256];
	size_t room = PENDING_MAX - m->nr_pending;
	ssize_t n = read(pfd->fd, buf, room < sizeof(buf) ? room : sizeof(buf));

	if (n > 0)
		machine_input(m, buf, (size_t)n, esc);
	else if (n == 0 || errno != EINTR)
		pfd->fd = -1; /* EOF: the guest keeps running */
}

static void machine_loop(struct machine *m)
{
	struct console_escape esc = { 0 };
	int in_fd = console_input_fd(m->con);
	struct pollfd pfd[5] = {
		{ .fd = m->vm.stop_fd, .events = POLLIN },
		{ .fd = m->sig_fd, .events = POLLIN },
		{ .fd = m->sample_fd, .events = POLLIN },
		{ .fd = in_fd, .events = POLLIN },
		{ .fd = m->timeout_fd, .events = POLLIN },
	};

	while (!atomic_load(&m->vm.stopping)) {
		/* A full queue pauses stdin; pending input is retried often. */
		pfd[3].events = m->nr_pending < PENDING_MAX ? POLLIN : 0;
		if (poll(pfd, 5, m->nr_pending ? 10 : -1) < 0) {
			if (errno == EINTR)
				continue;
			log_err("poll: %s", strerror(errno));
			vm_request_stop(&m->vm, VM_STOP_ERROR);
			break;
		}
		if (pfd[1].revents & POLLIN)
			machine_signal(m);
		if (pfd[2].revents & POLLIN)
			machine_sample_tick(m);
		if (pfd[4].revents & POLLIN)
			machine_timeout_expired(m);
		if (m->nr_pending)
			machine_flush_input(m);
		if (pfd[3].revents & (POLLIN | POLLHUP | POLLERR))
			machine_stdin(m, &pfd[3], &esc);
	}
}

static void machine_write_samples(struct machine *m)
{
	FILE *f = fopen(m->cfg->pc_samples, "w");
	int ret;

	if (!f) {
		log_err("pc samples %s: %s", m->cfg->pc_samples,
			strerror(errno));
		return;
	}
	ret = vcpus_write_pc_samples(&m->vm, f);
	/* fclose() exactly once, and its error counts too (a full disk). */
	if (fclose(f) && !ret)
		ret = -errno;
	if (ret)
		log_err("pc samples %s: %s", m->cfg->pc_samples,
			strerror(-ret));
}

static void machine_print_stats(struct machine *m)
{
	struct vm *vm = &m->vm;
	struct memstat mem;

	log_info("ran for %.0f ms", elapsed_ms(&m->t_start));
	if (m->seen_output)
		log_info("first guest output after %.0f ms",
			 ms_between(&m->t_start, &m->t_first_output));
	else
		log_info("no guest output");
	for (int i = 0; i < VM_EXIT_NR; i++) {
		uint64_t n = atomic_load(&vm->stats.exits[i]);

		if (n)
			log_info("exits %-10s %llu", vm_exit_name(i),
				 (unsigned long long)n);
	}
	for (int i = 0; i < VM_STATS_IRQS; i++) {
		uint64_t n = atomic_load(&vm->stats.irq_raised[i]);

		if (n)
			log_info("irq %-2d raised %llu times by devices", i,
				 (unsigned long long)n);
	}
	log_info("unclaimed accesses: port I/O %llu, MMIO %llu",
		 (unsigned long long)vm->pio.unclaimed,
		 (unsigned long long)vm->mmio.unclaimed);
	if (!memstat_read(vm->ram, &mem))
		log_info(
			"memory: RSS %llu KiB = guest RAM touched %llu KiB + VMM %llu KiB",
			(unsigned long long)mem.rss_kib,
			(unsigned long long)mem.guest_kib,
			(unsigned long long)(mem.rss_kib - mem.guest_kib));
}

static void trace_line(const struct machine *m, const char *what, bool seen,
		       const struct timespec *t)
{
	if (seen)
		log_info("boot trace: %-28s %8.1f ms", what,
			 ms_between(&m->cfg->t_process, t));
	else
		log_info("boot trace: %-28s    never", what);
}

/* The timeline from process start (--boot-trace), then the exit counts. */
static void machine_print_trace(struct machine *m)
{
	struct vm *vm = &m->vm;
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	trace_line(m, "first guest instruction",
		   atomic_load(&vm->first_run_seen), &vm->t_first_run);
	trace_line(m, "first console output", m->seen_output,
		   &m->t_first_output);
	trace_line(m, "'Run /init' on the console", m->seen_init, &m->t_init);
	trace_line(m, "user space marker (port)", atomic_load(&vm->marker_seen),
		   &vm->t_marker);
	trace_line(m, "VM stopped", true, &now);
}

static void machine_teardown(struct machine *m)
{
	vcpus_join(&m->vm);
	gdb_stub_stop(m->gdb); /* before the vCPUs are freed */
	if (m->vm_ready && m->vm.stop_reason == VM_STOP_TIMEOUT)
		machine_report_timeout(m);
	if (m->cfg->boot_trace && m->vm_ready)
		machine_print_trace(m);
	if (m->cfg->stats && m->vm_ready)
		machine_print_stats(m);
	if (m->cfg->pc_samples && m->vm.vcpus)
		machine_write_samples(m);
	vcpus_free(&m->vm);
	/* Off the buses first, then the devices stop their threads. */
	if (m->pci_ready)
		pci_bus_destroy(&m->pci);
	machine_destroy_devices(m);
	platform_destroy(m->platform);
	console_close(m->con);
	if (m->vm.hv)
		hv_vm_destroy(m->vm.hv);
	if (m->vm_ready)
		vm_destroy(&m->vm);
	if (m->sig_fd >= 0)
		close(m->sig_fd);
	if (m->sample_fd >= 0)
		close(m->sample_fd);
	if (m->timeout_fd >= 0)
		close(m->timeout_fd);
	kernel_release(&m->files);
}

static int machine_setup(struct machine *m)
{
	const struct machine_config *cfg = m->cfg;
	char cmdline[LAYOUT_CMDLINE_MAX];
	bool pvm = hv_host_is_pvm();
	/* Files first: a bad kernel is reported before RAM is allocated. */
	int ret = kernel_prepare(&m->files, cfg->kernel, cfg->initrd,
				 cfg->kernel_format,
				 cfg->load_addr || cfg->entry);

	if (ret)
		return ret;
	if (machine_cmdline(cfg, pvm, cmdline, sizeof(cmdline))) {
		log_err("kernel command line too long");
		return -E2BIG;
	}
	/* A raw image gets no command line: nothing to say about it then. */
	if (pvm && cfg->host_quirks && m->files.format != KERNEL_RAW)
		log_info(
			"PVM-based host: adding the kernel options it needs (--no-host-quirks turns this off)");
	log_debug("kernel command line: %s", cmdline);
	/*
	 * Before any thread exists: threads inherit the mask, and a device
	 * I/O thread with SIGTERM unblocked would die of it, not report 130.
	 */
	ret = machine_signals(m);
	if (!ret)
		ret = machine_load(m, cmdline);
	if (!ret)
		ret = machine_devices(m);
	if (!ret)
		ret = machine_hv(m);
	/* After the backend: devices register ioeventfds as they plug in. */
	if (!ret)
		ret = machine_pci(m);
	if (!ret)
		ret = machine_sampling(m);
	if (!ret)
		ret = machine_timeout(m);
	/* Last: the backend exists, the vCPUs do not run yet. */
	if (!ret && cfg->gdb.enabled)
		ret = gdb_stub_start(&m->vm, &cfg->gdb, &m->gdb);
	return ret;
}

int machine_boot(const struct machine_config *cfg, struct machine_result *res)
{
	struct machine m = {
		.cfg = cfg, .sig_fd = -1, .sample_fd = -1, .timeout_fd = -1
	};
	int ret;

	clock_gettime(CLOCK_MONOTONIC, &m.t_start);
	machine_setup_signals();
	ret = machine_setup(&m);
	if (ret && setup_stop_signal) {
		log_info("stopping during set-up (signal %d)",
			 (int)setup_stop_signal);
		res->reason = VM_STOP_USER;
		res->guest_code = 0;
		machine_teardown(&m);
		return 0;
	}
	if (!ret)
		ret = vcpus_start(&m.vm, &m.entry);
	if (!ret) {
		machine_loop(&m);
		res->reason = vm_wait_stop(&m.vm);
		res->guest_code = m.vm.guest_exit_code;
	} else if (m.vm_ready && m.vm.vcpus) {
		vm_request_stop(&m.vm, VM_STOP_ERROR);
	}
	machine_teardown(&m);
	return ret;
}
