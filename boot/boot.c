// SPDX-License-Identifier: MIT
#include "boot/boot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vmm/log.h"
#include "vmm/vm.h"

/* Open @path and learn its size; only non-empty regular files qualify. */
static int boot_open(const char *path, const char *what, size_t *size)
{
	struct stat st;
	int fd, err;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		err = errno;
		log_err("%s %s: %s", what, path, strerror(err));
		return -err;
	}
	if (fstat(fd, &st) < 0) {
		err = errno;
		log_err("%s %s: %s", what, path, strerror(err));
		close(fd);
		return -err;
	}
	err = 0;
	if (S_ISDIR(st.st_mode)) {
		log_err("%s %s: is a directory", what, path);
		err = EISDIR;
	} else if (!S_ISREG(st.st_mode)) {
		/* A pipe or device has no size we could trust up front. */
		log_err("%s %s: not a regular file", what, path);
		err = EINVAL;
	} else if (st.st_size == 0) {
		log_err("%s %s: file is empty", what, path);
		err = EINVAL;
	} else if ((uint64_t)st.st_size > SIZE_MAX) {
		log_err("%s %s: file is too big", what, path);
		err = EFBIG;
	}
	if (err) {
		close(fd);
		return -err;
	}
	*size = (size_t)st.st_size;
	return fd;
}

/* Read exactly @size bytes; a file that shrinks under us is an error. */
static int boot_read_all(int fd, uint8_t *buf, size_t size, const char *path,
			 const char *what)
{
	size_t done = 0;

	while (done < size) {
		ssize_t n = read(fd, buf + done, size - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = errno;

			log_err("%s %s: %s", what, path, strerror(err));
			return -err;
		}
		if (n == 0) {
			log_err("%s %s: file shrank while reading (%zu of %zu bytes)",
				what, path, done, size);
			return -EIO;
		}
		done += (size_t)n;
	}
	return 0;
}

int boot_read_file(const char *path, const char *what, struct boot_image *out)
{
	size_t size = 0;
	uint8_t *buf;
	int fd, ret;

	memset(out, 0, sizeof(*out));
	fd = boot_open(path, what, &size);
	if (fd < 0)
		return fd;
	buf = malloc(size);
	if (!buf) {
		log_err("%s %s: cannot allocate %zu bytes", what, path, size);
		close(fd);
		return -ENOMEM;
	}
	ret = boot_read_all(fd, buf, size, path, what);
	close(fd);
	if (ret) {
		free(buf);
		return ret;
	}
	out->path = path;
	out->data = buf;
	out->size = size;
	return 0;
}

void boot_free_file(struct boot_image *img)
{
	free(img->data);
	img->data = NULL;
	img->size = 0;
}

int boot_copy(struct vm *vm, uint64_t gpa, const void *src, uint64_t len,
	      const char *what)
{
	void *dst = vm_gpa_to_hva(vm, gpa, len);

	if (!dst) {
		log_err("boot: %s (0x%llx bytes at 0x%llx) is not guest RAM",
			what, (unsigned long long)len, (unsigned long long)gpa);
		return -EFAULT;
	}
	memcpy(dst, src, len);
	return 0;
}

int boot_check_cmdline(const char *cmdline, uint64_t max, const char *kind,
		       const char *path)
{
	size_t len = strlen(cmdline);

	if (len <= max)
		return 0;
	log_err("kernel command line is %zu bytes, %skernel %s accepts at most %llu",
		len, kind, path, (unsigned long long)max);
	return -E2BIG;
}
