// SPDX-License-Identifier: MIT
#include "virtio/disk.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/log.h"

#define SECTOR 512ULL
#define DIRECT_ALIGN 4096 /* safe for O_DIRECT on any device here */

static int disk_option(const char *opt, struct disk_spec *out, char *err,
		       size_t errlen)
{
	if (!strcmp(opt, "ro")) {
		out->ro = true;
	} else if (!strncmp(opt, "serial=", 7)) {
		if (strlen(opt + 7) > DISK_SERIAL_MAX) {
			snprintf(err, errlen,
				 "serial '%s' is longer than %d bytes", opt + 7,
				 DISK_SERIAL_MAX);
			return -EINVAL;
		}
		strcpy(out->serial, opt + 7);
	} else if (!strcmp(opt, "cache=none")) {
		out->cache = DISK_CACHE_NONE;
	} else if (!strcmp(opt, "cache=writeback")) {
		out->cache = DISK_CACHE_WRITEBACK;
	} else {
		snprintf(
			err, errlen,
			"unknown option '%s' (ro, serial=ID, cache=none|writeback)",
			opt);
		return -EINVAL;
	}
	return 0;
}

int disk_parse(const char *arg, struct disk_spec *out, char *err, size_t errlen)
{
	char buf[sizeof(out->path) + 256], *save = NULL, *tok;
	int ret = 0;

	memset(out, 0, sizeof(*out));
	if (!arg || !*arg || *arg == ',' || strlen(arg) >= sizeof(buf)) {
		snprintf(
			err, errlen,
			"expected PATH[,ro][,serial=ID][,cache=none|writeback]");
		return -EINVAL;
	}
	strcpy(buf, arg);
	tok = strtok_r(buf, ",", &save);
	if (strlen(tok) >= sizeof(out->path)) {
		snprintf(err, errlen, "path too long");
		return -EINVAL;
	}
	strcpy(out->path, tok);
	while (!ret && (tok = strtok_r(NULL, ",", &save)))
		ret = disk_option(tok, out, err, errlen);
	return ret;
}

/* "pid 1234 (vmm boot --disk x.img)": who holds a lock on @st's file. */
static void lock_holder(const struct stat *st, char *out, size_t len)
{
	char line[256], want[64], cmd[128] = "";
	FILE *f = fopen("/proc/locks", "r");
	long pid = -1;

	snprintf(out, len, "another process");
	snprintf(want, sizeof(want), ":%llu ", (unsigned long long)st->st_ino);
	while (f && pid < 0 && fgets(line, sizeof(line), f)) {
		char *p = strstr(line, want);

		/* "1: FLOCK  ADVISORY  WRITE 1234 fd:01:5678 0 EOF" */
		if (p && strstr(line, "FLOCK") &&
		    sscanf(line, "%*s %*s %*s %*s %ld", &pid) != 1)
			pid = -1;
	}
	if (f)
		fclose(f);
	if (pid < 0)
		return;
	snprintf(line, sizeof(line), "/proc/%ld/cmdline", pid);
	f = fopen(line, "r");
	if (f) {
		size_t n = fread(cmd, 1, sizeof(cmd) - 1, f);

		for (size_t i = 0; i < n; i++)
			cmd[i] = cmd[i] ? cmd[i] : ' ';
		cmd[n] = '\0';
		fclose(f);
	}
	snprintf(out, len, "pid %ld (%s)", pid, cmd);
}

static int disk_lock(struct disk *d)
{
	char who[200];
	struct stat st;

	if (!flock(d->fd, (d->ro ? LOCK_SH : LOCK_EX) | LOCK_NB))
		return 0;
	if (errno != EWOULDBLOCK) {
		log_err("disk %s: cannot lock: %s", d->path, strerror(errno));
		return -errno;
	}
	fstat(d->fd, &st);
	lock_holder(&st, who, sizeof(who));
	log_err("disk %s: in use by %s; an image is never opened read-write by two VMMs (add ,ro to share it read-only)",
		d->path, who);
	return -EBUSY;
}

static int disk_size(struct disk *d)
{
	struct stat st;
	uint64_t bytes = 0;

	if (fstat(d->fd, &st) ||
	    (S_ISBLK(st.st_mode) && ioctl(d->fd, BLKGETSIZE64, &bytes))) {
		log_err("disk %s: cannot get its size: %s", d->path,
			strerror(errno));
		return -errno;
	}
	d->blockdev = S_ISBLK(st.st_mode);
	if (!d->blockdev && !S_ISREG(st.st_mode)) {
		log_err("disk %s: not a regular file or block device", d->path);
		return -EINVAL;
	}
	if (!d->blockdev)
		bytes = (uint64_t)st.st_size;
	if (bytes % SECTOR)
		log_info(
			"disk %s: the last %llu bytes (not a whole sector) are not visible to the guest",
			d->path, (unsigned long long)(bytes % SECTOR));
	d->size = bytes - bytes % SECTOR;
	return 0;
}

int disk_open(struct disk *d, const struct disk_spec *spec)
{
	int flags = (spec->ro ? O_RDONLY : O_RDWR) | O_CLOEXEC;
	int ret;

	memset(d, 0, sizeof(*d));
	d->path = spec->path;
	d->ro = spec->ro;
	d->direct = spec->cache == DISK_CACHE_NONE;
	memcpy(d->serial, spec->serial, sizeof(d->serial));
	d->fd = open(spec->path, flags | (d->direct ? O_DIRECT : 0));
	if (d->fd < 0) {
		ret = -errno;
		/* open(2) says EINVAL when the file system refuses O_DIRECT. */
		if (ret == -EINVAL && d->direct)
			log_err("disk %s: cache=none needs O_DIRECT, which this file system does not support (tmpfs before Linux 6.6 is one); use cache=writeback",
				spec->path);
		else
			log_err("disk %s: %s", spec->path, strerror(-ret));
		return ret;
	}
	ret = disk_lock(d);
	if (!ret)
		ret = disk_size(d);
	if (ret) {
		close(d->fd);
		d->fd = -1;
	}
	return ret;
}

void disk_close(struct disk *d)
{
	if (d->fd >= 0)
		close(d->fd);
	d->fd = -1;
}

/* Total bytes of @iov. */
static size_t iov_bytes(const struct iovec *iov, int n)
{
	size_t len = 0;

	for (int i = 0; i < n; i++)
		len += iov[i].iov_len;
	return len;
}

/*
 * O_DIRECT wants aligned buffers and lengths; guest buffers need not be.
 * This path copies through an aligned bounce buffer instead.
 */
static int disk_bounce(struct disk *d, uint64_t off, const struct iovec *iov,
		       int n, bool write)
{
	size_t len = iov_bytes(iov, n), done = 0;
	size_t alen = (len + DIRECT_ALIGN - 1) & ~(size_t)(DIRECT_ALIGN - 1);
	uint8_t *buf = NULL;
	ssize_t r;

	if (posix_memalign((void **)&buf, DIRECT_ALIGN, alen ? alen : 1))
		return -ENOMEM;
	memset(buf, 0, alen);
	for (int i = 0; write && i < n; done += iov[i].iov_len, i++)
		memcpy(buf + done, iov[i].iov_base, iov[i].iov_len);
	r = write ? pwrite(d->fd, buf, len, (off_t)off) :
		    pread(d->fd, buf, len, (off_t)off);
	done = 0;
	for (int i = 0; !write && r == (ssize_t)len && i < n;
	     done += iov[i].iov_len, i++)
		memcpy(iov[i].iov_base, buf + done, iov[i].iov_len);
	free(buf);
	if (r < 0)
		return -errno;
	return r == (ssize_t)len ? 0 : -EIO;
}

/* Advance @iov past @n bytes (a short transfer); returns the new count. */
static int iov_advance(struct iovec *iov, int cnt, size_t n)
{
	int i = 0;

	while (i < cnt && n >= iov[i].iov_len)
		n -= iov[i++].iov_len;
	if (i < cnt) {
		iov[i].iov_base = (uint8_t *)iov[i].iov_base + n;
		iov[i].iov_len -= n;
	}
	memmove(iov, iov + i, (size_t)(cnt - i) * sizeof(*iov));
	return cnt - i;
}

static int disk_rw(struct disk *d, uint64_t off, const struct iovec *src, int n,
		   bool write)
{
	struct iovec iov[1024];

	if (n > 1024)
		return -EINVAL;
	memcpy(iov, src, (size_t)n * sizeof(*iov));
	while (n > 0) {
		ssize_t r = write ? pwritev(d->fd, iov, n, (off_t)off) :
				    preadv(d->fd, iov, n, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno == EINVAL && d->direct)
			return disk_bounce(d, off, iov, n, write);
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EIO; /* the file shrank under us */
		off += (uint64_t)r;
		n = iov_advance(iov, n, (size_t)r);
	}
	return 0;
}

int disk_read(struct disk *d, uint64_t off, const struct iovec *iov, int n)
{
	return disk_rw(d, off, iov, n, false);
}

int disk_write(struct disk *d, uint64_t off, const struct iovec *iov, int n)
{
	return d->ro ? -EROFS : disk_rw(d, off, iov, n, true);
}

int disk_flush(struct disk *d)
{
	return fdatasync(d->fd) ? -errno : 0;
}

int disk_discard(struct disk *d, uint64_t off, uint64_t len)
{
	uint64_t range[2] = { off, len };

	if (d->ro)
		return -EROFS;
	if (d->blockdev)
		return ioctl(d->fd, BLKDISCARD, range) ? -errno : 0;
	return fallocate(d->fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			 (off_t)off, (off_t)len) ?
		       -errno :
		       0;
}

/* The slow way, for file systems without FALLOC_FL_ZERO_RANGE. */
static int disk_write_zero_bytes(struct disk *d, uint64_t off, uint64_t len)
{
	static const uint8_t zero[65536] __attribute__((aligned(4096)));

	while (len) {
		size_t n = len < sizeof(zero) ? (size_t)len : sizeof(zero);
		struct iovec iov = { (void *)zero, n };
		int ret = disk_rw(d, off, &iov, 1, true);

		if (ret)
			return ret;
		off += n;
		len -= n;
	}
	return 0;
}

int disk_write_zeroes(struct disk *d, uint64_t off, uint64_t len, bool unmap)
{
	uint64_t range[2] = { off, len };
	int mode = unmap ? FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE :
			   FALLOC_FL_ZERO_RANGE | FALLOC_FL_KEEP_SIZE;

	if (d->ro)
		return -EROFS;
	if (d->blockdev)
		return ioctl(d->fd, BLKZEROOUT, range) ? -errno : 0;
	if (!fallocate(d->fd, mode, (off_t)off, (off_t)len))
		return 0;
	if (errno != EOPNOTSUPP)
		return -errno;
	return disk_write_zero_bytes(d, off, len);
}
