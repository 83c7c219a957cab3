/* SPDX-License-Identifier: MIT */
/*
 * The host side of the guest console: where guest output goes (stdout, a
 * file, nowhere), raw terminal mode for stdin (always restored), the escape
 * key sequence, and a line watcher that lets the VMM notice a guest panic.
 */
#ifndef SERIAL_CONSOLE_H
#define SERIAL_CONSOLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum console_kind { CONSOLE_STDIO, CONSOLE_FILE, CONSOLE_NONE };

struct console_config {
	enum console_kind kind;
	const char *path; /* CONSOLE_FILE */
	const char *log_path; /* a copy of all output goes here too, or NULL */
	/* Called for each complete guest output line (without "\r\n"). */
	void (*on_line)(void *opaque, const char *line);
	void *opaque;
};

struct console;

/*
 * Parse a --console argument: "stdio", "none" or "file:PATH".
 * Returns 0 or -EINVAL; @cfg->path points into @arg.
 */
int console_parse(const char *arg, struct console_config *cfg);
/*
 * Open the console; for CONSOLE_STDIO with a terminal on stdin, switch it to
 * raw mode (restored by console_close() and on exit via atexit). Returns
 * 0 or -errno (a file that cannot be created is logged with its path).
 */
int console_open(struct console **out, const struct console_config *cfg);
/* Restore the terminal and close files. NULL is allowed. */
void console_close(struct console *con);
/* Guest output: write it out at once and feed the line watcher. */
void console_output(struct console *con, const uint8_t *buf, size_t len);
/* The fd to read guest input from, or -1 if this console has no input. */
int console_input_fd(const struct console *con);
/* The last (possibly partial) guest output line, for failure reports. */
const char *console_last_line(const struct console *con);

/* Escape sequence: Ctrl-A then a key (like QEMU's -nographic). */
#define CONSOLE_ESCAPE_CHAR 0x01
enum console_action {
	CONSOLE_PASS, /* @out holds one byte for the guest */
	CONSOLE_SWALLOW, /* nothing to do (escape prefix consumed) */
	CONSOLE_QUIT, /* Ctrl-A x: stop the VM */
	CONSOLE_BREAK, /* Ctrl-A b: send a break (Magic SysRq prefix) */
	CONSOLE_HELP, /* Ctrl-A h: print the escape help */
};
struct console_escape {
	bool armed; /* the previous byte was the escape char */
};
/* Feed one input byte through the escape state machine. */
enum console_action console_escape_feed(struct console_escape *esc, uint8_t in,
					uint8_t *out);
/* Help text for the escape keys (lines end with "\r\n"). */
extern const char console_escape_help[];

#endif
