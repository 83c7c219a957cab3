// SPDX-License-Identifier: MIT
/*
 * Host side of the guest console. Output is written synchronously (the
 * UART's transmitter is synchronous too) and fed to a line watcher; input
 * comes from stdin, switched to raw mode when it is a terminal so that
 * Ctrl-C and friends reach the guest and Ctrl-A is our only escape.
 */
#include "serial/console.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "vmm/log.h"

#define CONSOLE_LINE_MAX 1024

/* One place guest output goes. */
struct console_sink {
	int fd; /* -1: output discarded */
	bool own; /* fd was opened here */
	bool dead; /* the reader went away; drop further output */
	bool warned;
};

struct console {
	enum console_kind kind;
	struct console_sink out, log; /* the console; the --console-log copy */
	int in_fd;
	void (*on_line)(void *opaque, const char *line);
	void *opaque;
	/* Serialises output and the line buffers against console_last_line. */
	pthread_mutex_t lock;
	char line[CONSOLE_LINE_MAX]; /* the line being assembled */
	size_t line_len;
	char last[CONSOLE_LINE_MAX]; /* the last complete line */
	char report[CONSOLE_LINE_MAX]; /* stable copy for console_last_line */
};

/*
 * The terminal state is process-wide (there is one stdin), so it lives
 * outside struct console where the atexit handler can reach it.
 */
static struct termios saved_tio;
static bool tio_raw;
static bool atexit_done;

static void tty_restore(void)
{
	if (!tio_raw)
		return;
	tcsetattr(STDIN_FILENO, TCSANOW, &saved_tio);
	tio_raw = false;
	log_set_raw(false);
}

static int tty_make_raw(void)
{
	struct termios raw;

	if (tio_raw)
		return 0; /* already raw: never save raw mode as the original */
	if (tcgetattr(STDIN_FILENO, &saved_tio))
		return -errno;
	raw = saved_tio;
	cfmakeraw(&raw); /* clears OPOST too: the guest already sends \r\n */
	raw.c_cc[VMIN] = 1;
	raw.c_cc[VTIME] = 0;
	if (!atexit_done) {
		if (atexit(tty_restore))
			return -ENOMEM;
		atexit_done = true;
	}
	if (tcsetattr(STDIN_FILENO, TCSANOW, &raw))
		return -errno;
	tio_raw = true;
	log_set_raw(true);
	return 0;
}

/* A reader that goes away must give EPIPE, not kill the VMM with SIGPIPE. */
static void ignore_sigpipe(void)
{
	struct sigaction sa;

	if (sigaction(SIGPIPE, NULL, &sa) || sa.sa_handler != SIG_DFL)
		return;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_IGN;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGPIPE, &sa, NULL);
}

int console_parse(const char *arg, struct console_config *cfg)
{
	if (!arg || !cfg)
		return -EINVAL;
	if (!strcmp(arg, "stdio")) {
		cfg->kind = CONSOLE_STDIO;
		cfg->path = NULL;
	} else if (!strcmp(arg, "none")) {
		cfg->kind = CONSOLE_NONE;
		cfg->path = NULL;
	} else if (!strncmp(arg, "file:", 5) && arg[5]) {
		cfg->kind = CONSOLE_FILE;
		cfg->path = arg + 5;
	} else {
		return -EINVAL;
	}
	return 0;
}

static int open_stdio(struct console *con)
{
	int ret;

	con->out.fd = STDOUT_FILENO;
	/* A pipe or /dev/null is fine as input; only a closed fd is not. */
	if (fcntl(STDIN_FILENO, F_GETFD) < 0)
		return 0;
	con->in_fd = STDIN_FILENO;
	if (!isatty(STDIN_FILENO))
		return 0;
	ret = tty_make_raw();
	if (ret)
		log_warn("console: cannot set raw mode: %s", strerror(-ret));
	return 0;
}

static int open_file(struct console_sink *sink, const char *path)
{
	int fd, err;

	if (!path || !*path)
		return -EINVAL;
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		err = errno;
		log_err("console file %s: %s", path, strerror(err));
		return -err;
	}
	sink->fd = fd;
	sink->own = true;
	return 0;
}

/* Recursive, so an on_line callback may still ask for the last line. */
static int init_lock(pthread_mutex_t *lock)
{
	pthread_mutexattr_t attr;
	int ret;

	ret = pthread_mutexattr_init(&attr);
	if (ret)
		return -ret;
	ret = pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	if (!ret)
		ret = pthread_mutex_init(lock, &attr);
	pthread_mutexattr_destroy(&attr);
	return -ret;
}

int console_open(struct console **out, const struct console_config *cfg)
{
	struct console *con;
	int ret;

	con = calloc(1, sizeof(*con));
	if (!con)
		return -ENOMEM;
	ret = init_lock(&con->lock);
	if (ret) {
		free(con);
		return ret;
	}
	con->kind = cfg->kind;
	con->out.fd = con->log.fd = -1;
	con->in_fd = -1;
	con->on_line = cfg->on_line;
	con->opaque = cfg->opaque;
	switch (cfg->kind) {
	case CONSOLE_STDIO:
		ret = open_stdio(con);
		break;
	case CONSOLE_FILE:
		ret = open_file(&con->out, cfg->path);
		break;
	case CONSOLE_NONE:
		ret = 0;
		break;
	default:
		ret = -EINVAL;
		break;
	}
	if (!ret && cfg->log_path)
		ret = open_file(&con->log, cfg->log_path);
	if (ret) {
		if (con->out.own)
			close(con->out.fd);
		pthread_mutex_destroy(&con->lock);
		free(con);
		return ret;
	}
	if (con->out.fd >= 0)
		ignore_sigpipe();
	*out = con;
	return 0;
}

void console_close(struct console *con)
{
	if (!con)
		return;
	if (con->kind == CONSOLE_STDIO)
		tty_restore();
	if (con->out.own)
		close(con->out.fd);
	if (con->log.own)
		close(con->log.fd);
	pthread_mutex_destroy(&con->lock);
	free(con);
}

static void write_failed(struct console_sink *sink, int err)
{
	/* A vanished reader is normal (| head); do not spam or stop the VM. */
	if (err == EPIPE || err == EIO) {
		log_debug("console: output closed: %s", strerror(err));
		sink->dead = true;
		return;
	}
	if (!sink->warned)
		log_warn("console: write: %s", strerror(err));
	sink->warned = true;
}

/*
 * Write all of @buf at once (no buffering: a CI log keeps the last words
 * of a panic); waits on a non-blocking fd rather than losing bytes.
 */
static void write_all(struct console_sink *sink, const uint8_t *buf, size_t len)
{
	struct pollfd pfd = { .fd = sink->fd, .events = POLLOUT };
	ssize_t n;

	while (len && sink->fd >= 0 && !sink->dead) {
		n = write(sink->fd, buf, len);
		if (n > 0) {
			buf += n;
			len -= (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && errno == EAGAIN) {
			poll(&pfd, 1, -1);
		} else {
			write_failed(sink, n < 0 ? errno : EIO);
			return;
		}
	}
}

static void end_line(struct console *con)
{
	while (con->line_len && con->line[con->line_len - 1] == '\r')
		con->line_len--;
	con->line[con->line_len] = '\0';
	memcpy(con->last, con->line, con->line_len + 1);
	con->line_len = 0;
	if (con->on_line)
		con->on_line(con->opaque, con->last);
}

/* Overlong lines are cut; NULs are skipped so they cannot hide text. */
static void watch_lines(struct console *con, const uint8_t *buf, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (buf[i] == '\n')
			end_line(con);
		else if (buf[i] && con->line_len < CONSOLE_LINE_MAX - 1)
			con->line[con->line_len++] = (char)buf[i];
	}
}

void console_output(struct console *con, const uint8_t *buf, size_t len)
{
	if (!con || !buf || !len)
		return;
	pthread_mutex_lock(&con->lock);
	write_all(&con->out, buf, len);
	write_all(&con->log, buf, len);
	/* on_line runs under the (recursive) lock, so lines stay in order. */
	watch_lines(con, buf, len);
	pthread_mutex_unlock(&con->lock);
}

int console_input_fd(const struct console *con)
{
	return con ? con->in_fd : -1;
}

const char *console_last_line(const struct console *con)
{
	/* The copy is made under the lock, so a vCPU cannot tear it. */
	struct console *c = (struct console *)con;
	size_t n;

	if (!c)
		return "";
	pthread_mutex_lock(&c->lock);
	n = c->line_len;
	while (n && c->line[n - 1] == '\r')
		n--;
	if (n) {
		memcpy(c->report, c->line, n);
		c->report[n] = '\0';
	} else {
		memcpy(c->report, c->last, sizeof(c->report));
	}
	pthread_mutex_unlock(&c->lock);
	return c->report;
}

enum console_action console_escape_feed(struct console_escape *esc, uint8_t in,
					uint8_t *out)
{
	if (!esc->armed) {
		if (in == CONSOLE_ESCAPE_CHAR) {
			esc->armed = true;
			return CONSOLE_SWALLOW;
		}
		*out = in;
		return CONSOLE_PASS;
	}
	esc->armed = false;
	switch (in) {
	case 'x':
	case 'X':
		return CONSOLE_QUIT;
	case 'b':
	case 'B':
		return CONSOLE_BREAK;
	case 'h':
	case 'H':
	case '?':
		return CONSOLE_HELP;
	default:
		/* C-a C-a sends one C-a; C-a + other key sends just the key. */
		*out = in;
		return CONSOLE_PASS;
	}
}

const char console_escape_help[] =
	"C-a x    quit the VM\r\n"
	"C-a b    send a break (then a key: Magic SysRq)\r\n"
	"C-a h    print this help\r\n"
	"C-a C-a  send C-a to the guest\r\n";
