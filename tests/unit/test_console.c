// SPDX-License-Identifier: MIT
/* Tests of the console: argument parsing, escape keys, output and lines. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "serial/console.h"

struct lines {
	unsigned int count;
	char last[2048];
	size_t last_len;
};

static void on_line(void *opaque, const char *line)
{
	struct lines *l = opaque;

	l->count++;
	l->last_len = strlen(line);
	snprintf(l->last, sizeof(l->last), "%s", line);
}

static void out_str(struct console *con, const char *s)
{
	console_output(con, (const uint8_t *)s, strlen(s));
}

static void test_parse(void **state)
{
	struct console_config cfg = { 0 };
	const char *arg = "file:/tmp/x.log";

	assert_int_equal(console_parse("stdio", &cfg), 0);
	assert_int_equal(cfg.kind, CONSOLE_STDIO);
	assert_int_equal(console_parse("none", &cfg), 0);
	assert_int_equal(cfg.kind, CONSOLE_NONE);
	assert_int_equal(console_parse(arg, &cfg), 0);
	assert_int_equal(cfg.kind, CONSOLE_FILE);
	assert_ptr_equal(cfg.path, arg + 5);
	assert_string_equal(cfg.path, "/tmp/x.log");

	cfg.kind = CONSOLE_NONE;
	assert_int_equal(console_parse("file:", &cfg), -EINVAL);
	assert_int_equal(console_parse("file", &cfg), -EINVAL);
	assert_int_equal(console_parse("", &cfg), -EINVAL);
	assert_int_equal(console_parse("STDIO", &cfg), -EINVAL);
	assert_int_equal(console_parse("stdio2", &cfg), -EINVAL);
	assert_int_equal(console_parse(NULL, &cfg), -EINVAL);
	assert_int_equal(cfg.kind, CONSOLE_NONE); /* unchanged on error */
}

static enum console_action feed(struct console_escape *e, uint8_t in,
				uint8_t *out)
{
	*out = 0xee;
	return console_escape_feed(e, in, out);
}

static void test_escape(void **state)
{
	struct console_escape e = { 0 };
	const char *quit = "xX", *brk = "bB", *help = "hH?";
	uint8_t out;
	int i;

	assert_int_equal(feed(&e, 'a', &out), CONSOLE_PASS);
	assert_int_equal(out, 'a');
	assert_int_equal(feed(&e, 0x03, &out), CONSOLE_PASS); /* Ctrl-C */
	assert_int_equal(out, 0x03);
	assert_int_equal(feed(&e, 'x', &out), CONSOLE_PASS);
	assert_int_equal(out, 'x');

	for (i = 0; quit[i]; i++) {
		assert_int_equal(feed(&e, 0x01, &out), CONSOLE_SWALLOW);
		assert_true(e.armed);
		assert_int_equal(feed(&e, quit[i], &out), CONSOLE_QUIT);
		assert_false(e.armed);
	}
	for (i = 0; brk[i]; i++) {
		feed(&e, 0x01, &out);
		assert_int_equal(feed(&e, brk[i], &out), CONSOLE_BREAK);
	}
	for (i = 0; help[i]; i++) {
		feed(&e, 0x01, &out);
		assert_int_equal(feed(&e, help[i], &out), CONSOLE_HELP);
	}

	/* C-a C-a sends one C-a and disarms. */
	assert_int_equal(feed(&e, 0x01, &out), CONSOLE_SWALLOW);
	assert_int_equal(feed(&e, 0x01, &out), CONSOLE_PASS);
	assert_int_equal(out, 0x01);
	assert_false(e.armed);
	assert_int_equal(feed(&e, 'x', &out), CONSOLE_PASS);

	/* C-a then another key: the key goes through, the escape is dropped. */
	feed(&e, 0x01, &out);
	assert_int_equal(feed(&e, 'q', &out), CONSOLE_PASS);
	assert_int_equal(out, 'q');
	assert_false(e.armed);
	assert_int_equal(feed(&e, 'b', &out), CONSOLE_PASS);
	assert_int_equal(out, 'b');
}

static void test_help_text(void **state)
{
	size_t n = strlen(console_escape_help);

	assert_true(n > 2);
	assert_memory_equal(console_escape_help + n - 2, "\r\n", 2);
	assert_non_null(strstr(console_escape_help, "C-a x"));
	assert_non_null(strstr(console_escape_help, "C-a b"));
	assert_non_null(strstr(console_escape_help, "C-a h"));
	assert_non_null(strstr(console_escape_help, "C-a C-a"));
	/* Every '\n' is preceded by '\r' (the terminal is raw). */
	for (n = 0; console_escape_help[n]; n++)
		if (console_escape_help[n] == '\n')
			assert_true(n > 0 &&
				    console_escape_help[n - 1] == '\r');
}

struct tmpfile {
	char path[64];
};

static int tmp_setup(void **state)
{
	struct tmpfile *t = calloc(1, sizeof(*t));
	int fd;

	if (!t)
		return -1;
	snprintf(t->path, sizeof(t->path), "/tmp/test_console.XXXXXX");
	fd = mkstemp(t->path);
	if (fd < 0) {
		free(t);
		return -1;
	}
	/* Old contents that console_open must truncate. */
	if (write(fd, "old contents\n", 13) != 13) {
		close(fd);
		free(t);
		return -1;
	}
	close(fd);
	*state = t;
	return 0;
}

static int tmp_teardown(void **state)
{
	struct tmpfile *t = *state;

	unlink(t->path);
	free(t);
	return 0;
}

static size_t read_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	assert_true(fd >= 0);
	n = read(fd, buf, size - 1);
	close(fd);
	assert_true(n >= 0);
	buf[n] = '\0';
	return (size_t)n;
}

static void test_file_output(void **state)
{
	struct tmpfile *t = *state;
	struct lines l = { 0 };
	struct console_config cfg = { .kind = CONSOLE_FILE,
				      .path = t->path,
				      .on_line = on_line,
				      .opaque = &l };
	struct console *con;
	char buf[256];

	assert_int_equal(console_open(&con, &cfg), 0);
	assert_int_equal(console_input_fd(con), -1);
	assert_string_equal(console_last_line(con), "");
	out_str(con, "Linux version 6.1\r\n");
	assert_int_equal(l.count, 1);
	assert_string_equal(l.last, "Linux version 6.1");
	out_str(con, "Kernel pa");
	assert_int_equal(l.count, 1);
	assert_string_equal(console_last_line(con), "Kernel pa");
	out_str(con, "nic - not syncing\r");
	assert_string_equal(console_last_line(con),
			    "Kernel panic - not syncing");
	out_str(con, "\n");
	assert_int_equal(l.count, 2);
	assert_string_equal(l.last, "Kernel panic - not syncing");
	assert_string_equal(console_last_line(con),
			    "Kernel panic - not syncing");
	out_str(con, "\r\n"); /* an empty line is still a line */
	assert_int_equal(l.count, 3);
	assert_string_equal(l.last, "");
	console_close(con);

	assert_int_equal(read_file(t->path, buf, sizeof(buf)), 49);
	assert_string_equal(buf, "Linux version 6.1\r\nKernel panic - not "
				 "syncing\r\n\r\n");
}

static void test_long_line(void **state)
{
	struct lines l = { 0 };
	struct console_config cfg = { .kind = CONSOLE_NONE,
				      .on_line = on_line,
				      .opaque = &l };
	struct console *con;
	static uint8_t big[5000];
	size_t i;

	for (i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)('a' + i % 26);
	assert_int_equal(console_open(&con, &cfg), 0);
	assert_int_equal(console_input_fd(con), -1);
	console_output(con, big, sizeof(big));
	assert_int_equal(l.count, 0);
	/* The partial line is cut, never overflowed. */
	assert_true(strlen(console_last_line(con)) < sizeof(big));
	assert_true(strlen(console_last_line(con)) >= 512);
	out_str(con, "\r\n");
	assert_int_equal(l.count, 1);
	assert_true(l.last_len >= 512 && l.last_len < sizeof(big));
	assert_memory_equal(l.last, big, l.last_len);
	/* The next line starts clean. */
	out_str(con, "ok\n");
	assert_int_equal(l.count, 2);
	assert_string_equal(l.last, "ok");
	console_close(con);
}

static void test_binary_output(void **state)
{
	struct lines l = { 0 };
	struct console_config cfg = { .kind = CONSOLE_NONE,
				      .on_line = on_line,
				      .opaque = &l };
	struct console *con;
	const uint8_t junk[] = { 0, 'p', 0, 'a', 0xff, '\r', '\r', '\n' };

	/* NULs cannot hide the text after them; bytes >0x7f pass through. */
	assert_int_equal(console_open(&con, &cfg), 0);
	console_output(con, junk, sizeof(junk));
	assert_int_equal(l.count, 1);
	assert_string_equal(l.last, "pa\xff");
	console_output(con, junk, 0);
	console_output(con, NULL, 3);
	assert_int_equal(l.count, 1);
	console_close(con);
}

static void test_no_callback(void **state)
{
	struct console_config cfg = { .kind = CONSOLE_NONE };
	struct console *con;

	assert_int_equal(console_open(&con, &cfg), 0);
	out_str(con, "first\nsecond\n");
	assert_string_equal(console_last_line(con), "second");
	console_close(con);
	console_close(NULL);
	assert_int_equal(console_input_fd(NULL), -1);
}

static void test_file_error(void **state)
{
	struct console_config cfg = {
		.kind = CONSOLE_FILE, .path = "/nonexistent-dir/x/console.log"
	};
	struct console *con = NULL;

	assert_int_equal(console_open(&con, &cfg), -ENOENT);
	assert_null(con);
}

static void test_stdio_pipe(void **state)
{
	struct console_config cfg = { .kind = CONSOLE_STDIO };
	struct console *con;
	int in[2], out[2], saved_in, saved_out;
	char buf[16];

	/* Redirect stdin/stdout to pipes, as a CI job would. */
	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(out), 0);
	saved_in = dup(0);
	saved_out = dup(1);
	dup2(in[0], 0);
	dup2(out[1], 1);

	assert_int_equal(console_open(&con, &cfg), 0);
	assert_int_equal(console_input_fd(con), 0);
	out_str(con, "hello\r\n");
	console_close(con);

	dup2(saved_in, 0);
	dup2(saved_out, 1);
	close(saved_in);
	assert_int_equal(read(out[0], buf, sizeof(buf)), 7);
	assert_memory_equal(buf, "hello\r\n", 7);

	/* A reader that went away is dropped silently, not fatal. */
	close(out[0]);
	dup2(out[1], 1);
	assert_int_equal(console_open(&con, &cfg), 0);
	out_str(con, "nobody reads this\n");
	out_str(con, "nor this\n");
	assert_string_equal(console_last_line(con), "nor this");
	console_close(con);
	dup2(saved_out, 1);
	close(saved_out);
	close(in[0]);
	close(in[1]);
	close(out[1]);
}

static void test_stdio_closed_stdin(void **state)
{
	struct console_config cfg = { .kind = CONSOLE_STDIO };
	struct console *con;
	int saved_in = dup(0);

	close(0);
	assert_int_equal(console_open(&con, &cfg), 0);
	assert_int_equal(console_input_fd(con), -1);
	console_close(con);
	dup2(saved_in, 0);
	close(saved_in);
}

static void test_stdio_tty_raw(void **state)
{
	struct console_config cfg = { .kind = CONSOLE_STDIO };
	struct console *con;
	struct termios before, during, after;
	int master, slave, saved_in;

	/* A pseudo-terminal on stdin: raw while open, restored on close. */
	master = posix_openpt(O_RDWR | O_NOCTTY);
	assert_true(master >= 0);
	assert_int_equal(grantpt(master), 0);
	assert_int_equal(unlockpt(master), 0);
	slave = open(ptsname(master), O_RDWR | O_NOCTTY);
	assert_true(slave >= 0);
	saved_in = dup(0);
	dup2(slave, 0);
	assert_int_equal(tcgetattr(0, &before), 0);
	assert_true(before.c_lflag & ICANON);

	assert_int_equal(console_open(&con, &cfg), 0);
	assert_int_equal(console_input_fd(con), 0);
	assert_int_equal(tcgetattr(0, &during), 0);
	assert_false(during.c_lflag & (ICANON | ECHO | ISIG));
	assert_false(during.c_oflag & OPOST);
	assert_int_equal(during.c_cc[VMIN], 1);
	console_close(con);

	assert_int_equal(tcgetattr(0, &after), 0);
	assert_int_equal(after.c_lflag, before.c_lflag);
	assert_int_equal(after.c_oflag, before.c_oflag);
	assert_int_equal(after.c_iflag, before.c_iflag);

	dup2(saved_in, 0);
	close(saved_in);
	close(slave);
	close(master);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_help_text),
		cmocka_unit_test_setup_teardown(test_file_output, tmp_setup,
						tmp_teardown),
		cmocka_unit_test(test_long_line),
		cmocka_unit_test(test_binary_output),
		cmocka_unit_test(test_no_callback),
		cmocka_unit_test(test_file_error),
		cmocka_unit_test(test_stdio_pipe),
		cmocka_unit_test(test_stdio_closed_stdin),
		cmocka_unit_test(test_stdio_tty_raw),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
