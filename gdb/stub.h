/* SPDX-License-Identifier: MIT */
/*
 * The gdb stub: a TCP server speaking the GDB remote serial protocol for
 * one debugger at a time, all-stop, one gdb thread per vCPU (ids 1..N).
 */
#ifndef GDB_STUB_H
#define GDB_STUB_H

#include <stdbool.h>

struct vm;
struct gdb_stub;

struct gdb_config {
	bool enabled; /* --gdb given */
	bool wait; /* --gdb-wait: vCPUs wait for the debugger's first resume */
	char host[64]; /* numeric address or name; default 127.0.0.1 */
	unsigned int port; /* 0: any free port (the log says which) */
};

/*
 * Parse a --gdb argument into @cfg: "tcp:HOST:PORT", "tcp::PORT",
 * "HOST:PORT", ":PORT" or "PORT" ("[v6addr]:PORT" too). 0 or -EINVAL.
 */
int gdb_config_parse(const char *arg, struct gdb_config *cfg);

/*
 * Listen as @cfg says and serve debuggers on a thread of our own. Call
 * after the backend VM exists and before the vCPUs start: with @cfg->wait
 * the vCPUs stop before their first instruction until gdb resumes them.
 * Installs the vm->debug_* hooks. 0 or -errno (logged).
 */
int gdb_stub_start(struct vm *vm, const struct gdb_config *cfg,
		   struct gdb_stub **out);
/* Serve the already connected socket @fd, then stop (for unit tests). */
int gdb_stub_start_fd(struct vm *vm, bool wait, int fd, struct gdb_stub **out);
/*
 * Stop serving and free the stub; NULL is fine. Call after the vCPU
 * threads ended (vcpus_join) and before the vCPUs are freed.
 */
void gdb_stub_stop(struct gdb_stub *s);

#endif
