// SPDX-License-Identifier: MIT
/*
 * The gdb server: a thread that listens, accepts one debugger at a time,
 * reads its bytes into packets (stub.c answers them) and sends the stop
 * reply when the vCPUs report one (allstop.c).
 */
#include "gdb/stub.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "gdb/regs.h"
#include "gdb/stub_internal.h"
#include "vmm/hv.h"
#include "vmm/log.h"
#include "vmm/vm.h"

#define SIGTRAP_NR 5
#define XML_MAX 16384

int gdb_config_parse(const char *arg, struct gdb_config *cfg)
{
	const char *colon, *port_s;
	char *end;
	unsigned long port;
	size_t hlen = 0;

	if (!strncmp(arg, "tcp:", 4))
		arg += 4;
	snprintf(cfg->host, sizeof(cfg->host), "127.0.0.1");
	if (arg[0] == '[') { /* [v6addr]:PORT */
		colon = strstr(arg, "]:");
		if (!colon)
			return -EINVAL;
		hlen = (size_t)(colon - arg - 1);
		arg++;
		port_s = colon + 2;
	} else {
		colon = strrchr(arg, ':');
		hlen = colon ? (size_t)(colon - arg) : 0;
		port_s = colon ? colon + 1 : arg;
	}
	if (hlen >= sizeof(cfg->host))
		return -EINVAL;
	if (hlen)
		snprintf(cfg->host, sizeof(cfg->host), "%.*s", (int)hlen, arg);
	if (!*port_s || *port_s == '-' || *port_s == '+')
		return -EINVAL;
	errno = 0;
	port = strtoul(port_s, &end, 10);
	if (errno || *end || port > 65535)
		return -EINVAL;
	cfg->port = (unsigned int)port;
	cfg->enabled = true;
	return 0;
}

void gdb_send_raw(struct gdb_stub *s, const char *buf, size_t len)
{
	while (len && s->conn_fd >= 0) {
		ssize_t n = send(s->conn_fd, buf, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) /* the reader sees the hang-up and ends it */
			return;
		buf += n;
		len -= (size_t)n;
	}
}

void gdb_put_packet(struct gdb_stub *s, const void *data, size_t len)
{
	ssize_t n = gdb_frame(data, len, s->last, sizeof(s->last));

	if (n < 0)
		n = gdb_frame("E01", 3, s->last, sizeof(s->last));
	s->last_len = (size_t)n;
	gdb_send_raw(s, s->last, s->last_len);
}

void gdb_reply(struct gdb_stub *s, const char *str)
{
	gdb_put_packet(s, str, strlen(str));
}

void gdb_session_close(struct gdb_stub *s)
{
	if (s->conn_fd >= 0)
		close(s->conn_fd);
	s->conn_fd = -1;
	s->running = false;
}

/*
 * The debugger left (D, hang-up): take our breakpoints out and let the
 * guest run as if it had never been there.
 */
void gdb_session_detach(struct gdb_stub *s)
{
	enum gdb_action acts[GDB_MAX_CPUS];

	gdb_session_close(s);
	gdb_halt(s, 0, SIGTRAP_NR);
	if (gdb_wait_parked(s))
		return;
	gdb_bp_clear_all(s);
	for (unsigned int i = 0; i < s->nr_cpus; i++)
		acts[i] = GDB_CONT;
	gdb_resume(s, acts);
	log_info("gdb: debugger detached; the guest runs on");
}

/* The status vmm will exit with, for gdb's W reply. */
static int exit_status(struct vm *vm)
{
	enum vm_stop_reason r;
	int code;

	pthread_mutex_lock(&vm->stop_lock);
	r = vm->stop_reason;
	code = vm->guest_exit_code;
	pthread_mutex_unlock(&vm->stop_lock);
	return vm_exit_status(r, code);
}

static void session_begin(struct gdb_stub *s, int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	s->conn_fd = fd;
	gdb_rx_init(&s->rx);
	s->no_ack = false;
	s->running = false;
	s->g_tid = s->c_tid = 0;
	s->last_len = 0;
	log_info("gdb: debugger connected");
	/* gdb expects a stopped target; with --gdb-wait it already is. */
	gdb_halt(s, 0, SIGTRAP_NR);
	gdb_wait_parked(s);
}

static void drain(int fd)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_debug("gdb: eventfd: %s", strerror(errno));
}

static void serve_conn(struct gdb_stub *s)
{
	struct pollfd pfd[3] = {
		{ .fd = s->conn_fd, .events = POLLIN },
		{ .fd = s->wake_fd, .events = POLLIN },
		{ .fd = s->vm->stop_fd, .events = POLLIN },
	};
	uint8_t buf[4096];
	ssize_t n;

	if (poll(pfd, 3, 500) <= 0)
		return;
	if (pfd[1].revents & POLLIN) {
		drain(s->wake_fd);
		if (s->running &&
		    gdb_take_stop(s, s->reply, sizeof(s->reply))) {
			s->running = false;
			gdb_reply(s, s->reply);
		}
	}
	if (pfd[0].revents & (POLLIN | POLLHUP | POLLERR)) {
		n = recv(s->conn_fd, buf, sizeof(buf), 0);
		if (n > 0)
			gdb_handle_input(s, buf, (size_t)n);
		else if (n == 0 || errno != EINTR)
			gdb_session_detach(s);
	}
}

static void accept_conn(struct gdb_stub *s)
{
	struct pollfd pfd[2] = {
		{ .fd = s->listen_fd, .events = POLLIN },
		{ .fd = s->wake_fd, .events = POLLIN },
	};
	int fd;

	if (poll(pfd, 2, 500) <= 0)
		return;
	if (pfd[1].revents & POLLIN)
		drain(s->wake_fd);
	if (!(pfd[0].revents & POLLIN))
		return;
	fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd >= 0)
		session_begin(s, fd);
}

static void *gdb_server(void *arg)
{
	struct gdb_stub *s = arg;

	if (s->conn_fd >= 0) /* gdb_stub_start_fd() */
		session_begin(s, s->conn_fd);
	while (!atomic_load(&s->quit) && !atomic_load(&s->vm->stopping)) {
		if (s->conn_fd >= 0)
			serve_conn(s);
		else if (s->listen_fd >= 0)
			accept_conn(s);
		else
			break; /* a unit test's one connection ended */
	}
	if (s->conn_fd >= 0 && atomic_load(&s->vm->stopping) && s->running) {
		char w[8];

		snprintf(w, sizeof(w), "W%02x", exit_status(s->vm));
		gdb_reply(s, w);
	}
	gdb_session_close(s);
	gdb_wake_all(s);
	return NULL;
}

static int listen_on(const struct gdb_config *cfg, int *out)
{
	struct addrinfo hints = { .ai_family = AF_UNSPEC,
				  .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_PASSIVE };
	struct addrinfo *ai;
	char port[8];
	int fd, one = 1, ret;

	snprintf(port, sizeof(port), "%u", cfg->port);
	ret = getaddrinfo(cfg->host, port, &hints, &ai);
	if (ret) {
		log_err("gdb: %s: %s", cfg->host, gai_strerror(ret));
		return -EINVAL;
	}
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (fd < 0 || bind(fd, ai->ai_addr, ai->ai_addrlen) || listen(fd, 1)) {
		ret = -errno;
		log_err("gdb: cannot listen on %s:%u: %s", cfg->host, cfg->port,
			strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(ai);
		return ret;
	}
	freeaddrinfo(ai);
	*out = fd;
	return 0;
}

static unsigned int bound_port(int fd)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (getsockname(fd, (struct sockaddr *)&ss, &len))
		return 0;
	if (ss.ss_family == AF_INET6)
		return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static int stub_create(struct vm *vm, struct gdb_stub **out)
{
	struct gdb_stub *s = calloc(1, sizeof(*s));
	pthread_condattr_t ca;

	if (!s)
		return -ENOMEM;
	if (vm->nr_vcpus > GDB_MAX_CPUS) {
		free(s);
		return -EINVAL;
	}
	s->vm = vm;
	s->nr_cpus = vm->nr_vcpus;
	s->listen_fd = s->conn_fd = -1;
	s->cpus = calloc(vm->nr_vcpus ? vm->nr_vcpus : 1, sizeof(*s->cpus));
	s->xml = malloc(XML_MAX);
	s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!s->cpus || !s->xml || s->wake_fd < 0) {
		free(s->cpus);
		free(s->xml);
		if (s->wake_fd >= 0)
			close(s->wake_fd);
		free(s);
		return -ENOMEM;
	}
	s->xml_len = gdb_target_xml(s->xml, XML_MAX);
	pthread_mutex_init(&s->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->cond, &ca);
	pthread_condattr_destroy(&ca);
	s->caps = vm->hv ? hv_debug_caps(vm->hv) : 0;
	/* PVM hosts emulate guest kernel code: no int3, no data breakpoints. */
	s->int3_ok = !hv_host_is_pvm() && (s->caps & X86_DEBUG_SW_BP);
	s->watch_ok = !hv_host_is_pvm() && (s->caps & X86_DEBUG_HW_BP);
	*out = s;
	return 0;
}

static void stub_free(struct gdb_stub *s)
{
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	gdb_session_close(s);
	close(s->wake_fd);
	pthread_cond_destroy(&s->cond);
	pthread_mutex_destroy(&s->lock);
	free(s->xml);
	free(s->cpus);
	free(s);
}

static int stub_run(struct gdb_stub *s, bool wait)
{
	int ret;

	if (!(s->caps & X86_DEBUG_ENABLE))
		log_warn(
			"gdb: this hypervisor has no guest debugging: no breakpoints or stepping");
	gdb_allstop_install(s, wait);
	ret = -pthread_create(&s->thread, NULL, gdb_server, s);
	if (ret) {
		gdb_allstop_uninstall(s);
		return ret;
	}
	s->thread_started = true;
	return 0;
}

int gdb_stub_start(struct vm *vm, const struct gdb_config *cfg,
		   struct gdb_stub **out)
{
	struct gdb_stub *s;
	int ret = stub_create(vm, &s);

	if (ret)
		return ret;
	ret = listen_on(cfg, &s->listen_fd);
	if (!ret)
		ret = stub_run(s, cfg->wait);
	if (ret) {
		stub_free(s);
		return ret;
	}
	if (cfg->wait)
		log_info("gdb: waiting for a debugger on %s:%u", cfg->host,
			 bound_port(s->listen_fd));
	else
		log_info("gdb: listening on %s:%u", cfg->host,
			 bound_port(s->listen_fd));
	*out = s;
	return 0;
}

int gdb_stub_start_fd(struct vm *vm, bool wait, int fd, struct gdb_stub **out)
{
	struct gdb_stub *s;
	int ret = stub_create(vm, &s);

	if (ret)
		return ret;
	s->conn_fd = fd;
	gdb_rx_init(&s->rx);
	ret = stub_run(s, wait);
	if (ret) {
		s->conn_fd = -1;
		stub_free(s);
		return ret;
	}
	*out = s;
	return 0;
}

void gdb_stub_stop(struct gdb_stub *s)
{
	if (!s)
		return;
	atomic_store(&s->quit, true);
	gdb_notify(s);
	if (s->thread_started)
		pthread_join(s->thread, NULL);
	gdb_allstop_uninstall(s);
	stub_free(s);
}
