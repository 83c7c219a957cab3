/* SPDX-License-Identifier: MIT */
/*
 * The host side of a virtual disk: a raw image file or a block device,
 * locked against a second writer, with positioned vector I/O, flush,
 * discard and write-zeroes. No guest knowledge here.
 */
#ifndef VIRTIO_DISK_H
#define VIRTIO_DISK_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#define DISK_SERIAL_MAX 20 /* virtio-blk GET_ID: 20 bytes */

enum disk_cache { DISK_CACHE_WRITEBACK, DISK_CACHE_NONE };

/* What --disk PATH[,ro][,serial=ID][,cache=none|writeback] asked for. */
struct disk_spec {
	char path[4096];
	bool ro;
	char serial[DISK_SERIAL_MAX + 1];
	enum disk_cache cache;
};

struct disk {
	int fd;
	const char *path;
	bool ro, direct, blockdev;
	uint64_t size; /* bytes, a multiple of 512 */
	char serial[DISK_SERIAL_MAX + 1];
};

/*
 * Parse a --disk argument into @out. -EINVAL with a message in @err
 * (@errlen bytes) naming the bad part.
 */
int disk_parse(const char *arg, struct disk_spec *out, char *err,
	       size_t errlen);

/*
 * Open and lock the disk: exclusive for read-write, shared for read-only,
 * so two VMMs never write one image; the error names the holder's pid and
 * command. Errors are logged with the path. 0/-errno.
 */
int disk_open(struct disk *d, const struct disk_spec *spec);
/* Close (and so unlock) the disk. */
void disk_close(struct disk *d);

/*
 * Read or write exactly the bytes of @iov (@n entries) at byte @off;
 * callers check bounds. Retries short transfers; 0 or -errno.
 */
int disk_read(struct disk *d, uint64_t off, const struct iovec *iov, int n);
int disk_write(struct disk *d, uint64_t off, const struct iovec *iov, int n);
/* Make written data durable (fdatasync). */
int disk_flush(struct disk *d);
/* Deallocate [off, off+len) (reads may then return zeroes or old data). */
int disk_discard(struct disk *d, uint64_t off, uint64_t len);
/* Make [off, off+len) read as zeroes; may deallocate if @unmap. */
int disk_write_zeroes(struct disk *d, uint64_t off, uint64_t len, bool unmap);

#endif
