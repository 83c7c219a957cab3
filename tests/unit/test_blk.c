// SPDX-License-Identifier: MIT
/*
 * virtio-blk requests against a real image file, and the host disk: the
 * --disk parser, locking against a second writer, bounds and read-only.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/fake_capture.h"
#include "virtio/blk.h"
#include "virtio/disk.h"
#include "vmm/le.h"
#include "vmm/log.h"

#define DISK_BYTES (1 << 20)
#define SECTORS (DISK_BYTES / 512)

struct ctx {
	char path[64];
	struct disk_spec spec;
	struct disk disk;
	uint8_t hdr[16], status, data[8192], seg[16];
};

static int setup(void **state)
{
	struct ctx *c = calloc(1, sizeof(*c));
	int fd;

	if (!c)
		return -1;
	strcpy(c->path, "/tmp/vmm-test-blk-XXXXXX");
	fd = mkstemp(c->path);
	if (fd < 0 || ftruncate(fd, DISK_BYTES))
		return -1;
	close(fd);
	strcpy(c->spec.path, c->path);
	strcpy(c->spec.serial, "SERIAL-1");
	if (disk_open(&c->disk, &c->spec))
		return -1;
	*state = c;
	return 0;
}

static int teardown(void **state)
{
	struct ctx *c = *state;

	disk_close(&c->disk);
	unlink(c->path);
	free(c);
	return 0;
}

static void set_hdr(struct ctx *c, uint32_t type, uint64_t sector)
{
	put_le32(c->hdr, type);
	put_le32(c->hdr + 4, 0);
	put_le64(c->hdr + 8, sector);
	c->status = 0xee;
}

/* header | data (readable for OUT, writable for IN) | status */
static int run(struct ctx *c, bool in, size_t len, uint32_t *written)
{
	struct iovec iov[3] = {
		{ c->hdr, 16 },
		{ c->data, len },
		{ &c->status, 1 },
	};

	return blk_execute(&c->disk, iov, in ? 1 : 2, in ? 2 : 1, written);
}

static void test_write_then_read(void **state)
{
	struct ctx *c = *state;
	uint8_t file[4096];
	uint32_t written;
	int fd;

	memset(c->data, 0xa5, 4096);
	set_hdr(c, VIRTIO_BLK_T_OUT, 8);
	assert_int_equal(run(c, false, 4096, &written), VIRTIO_BLK_S_OK);
	assert_int_equal(c->status, VIRTIO_BLK_S_OK);
	assert_int_equal(written, 1);
	/* The bytes are in the file at sector 8. */
	fd = open(c->path, O_RDONLY);
	assert_int_equal(pread(fd, file, 4096, 8 * 512), 4096);
	close(fd);
	assert_memory_equal(file, c->data, 4096);

	memset(c->data, 0, sizeof(c->data));
	set_hdr(c, VIRTIO_BLK_T_IN, 8);
	assert_int_equal(run(c, true, 4096, &written), VIRTIO_BLK_S_OK);
	assert_int_equal(written, 4097);
	assert_int_equal(c->data[0], 0xa5);
	assert_int_equal(c->data[4095], 0xa5);
}

static void test_beyond_end_is_ioerr(void **state)
{
	struct ctx *c = *state;
	uint32_t written;
	struct stat st;

	set_hdr(c, VIRTIO_BLK_T_OUT, SECTORS - 1);
	assert_int_equal(run(c, false, 1024, &written), VIRTIO_BLK_S_IOERR);
	assert_int_equal(c->status, VIRTIO_BLK_S_IOERR);
	/* Nothing was written past the end on the host. */
	assert_int_equal(stat(c->path, &st), 0);
	assert_int_equal(st.st_size, DISK_BYTES);
	set_hdr(c, VIRTIO_BLK_T_IN, UINT64_MAX / 256);
	assert_int_equal(run(c, true, 512, &written), VIRTIO_BLK_S_IOERR);
	assert_int_equal(written, 1);
	/* The very last sector is fine. */
	set_hdr(c, VIRTIO_BLK_T_IN, SECTORS - 1);
	assert_int_equal(run(c, true, 512, &written), VIRTIO_BLK_S_OK);
}

static void test_flush_get_id_unsupported(void **state)
{
	struct ctx *c = *state;
	uint32_t written;

	set_hdr(c, VIRTIO_BLK_T_FLUSH, 0);
	assert_int_equal(run(c, false, 0, &written), VIRTIO_BLK_S_OK);
	set_hdr(c, VIRTIO_BLK_T_GET_ID, 0);
	memset(c->data, 0xff, 20);
	assert_int_equal(run(c, true, 20, &written), VIRTIO_BLK_S_OK);
	assert_int_equal(written, 21);
	assert_string_equal((char *)c->data, "SERIAL-1");
	assert_int_equal(c->data[19], 0);
	set_hdr(c, 99, 0);
	assert_int_equal(run(c, false, 0, &written), VIRTIO_BLK_S_UNSUPP);
	assert_int_equal(c->status, VIRTIO_BLK_S_UNSUPP);
}

static void segment(struct ctx *c, uint32_t type, uint64_t sector, uint32_t n,
		    uint32_t flags)
{
	set_hdr(c, type, 0);
	put_le64(c->data, sector);
	put_le32(c->data + 8, n);
	put_le32(c->data + 12, flags);
}

static void test_discard_and_write_zeroes(void **state)
{
	struct ctx *c = *state;
	uint32_t written;

	memset(c->data, 0x77, 4096);
	set_hdr(c, VIRTIO_BLK_T_OUT, 16);
	assert_int_equal(run(c, false, 4096, &written), VIRTIO_BLK_S_OK);
	segment(c, VIRTIO_BLK_T_WRITE_ZEROES, 16, 8, 0);
	assert_int_equal(run(c, false, 16, &written), VIRTIO_BLK_S_OK);
	set_hdr(c, VIRTIO_BLK_T_IN, 16);
	assert_int_equal(run(c, true, 4096, &written), VIRTIO_BLK_S_OK);
	for (int i = 0; i < 4096; i++)
		assert_int_equal(c->data[i], 0);
	segment(c, VIRTIO_BLK_T_DISCARD, 0, 8, 0);
	assert_int_equal(run(c, false, 16, &written), VIRTIO_BLK_S_OK);
	segment(c, VIRTIO_BLK_T_DISCARD, 0, 8, 1);
	assert_int_equal(run(c, false, 16, &written), VIRTIO_BLK_S_UNSUPP);
	segment(c, VIRTIO_BLK_T_WRITE_ZEROES, SECTORS - 4, 8, 0);
	assert_int_equal(run(c, false, 16, &written), VIRTIO_BLK_S_IOERR);
}

static void test_not_a_request(void **state)
{
	struct ctx *c = *state;
	struct iovec no_status[1] = { { c->hdr, 16 } };
	struct iovec short_hdr[2] = { { c->hdr, 8 }, { &c->status, 1 } };
	uint32_t written;

	assert_int_equal(blk_execute(&c->disk, no_status, 1, 0, &written),
			 -EINVAL);
	assert_int_equal(blk_execute(&c->disk, short_hdr, 1, 1, &written),
			 -EINVAL);
}

static void test_split_header_and_status(void **state)
{
	struct ctx *c = *state;
	uint8_t tail[8];
	struct iovec iov[4];
	uint32_t written;

	set_hdr(c, VIRTIO_BLK_T_IN, 8);
	memcpy(tail, c->hdr + 8, 8);
	/* Header split 8+8; data and status share one writable buffer. */
	iov[0] = (struct iovec){ c->hdr, 8 };
	iov[1] = (struct iovec){ tail, 8 };
	iov[2] = (struct iovec){ c->data, 513 };
	iov[3] = (struct iovec){ NULL, 0 };
	assert_int_equal(blk_execute(&c->disk, iov, 2, 2, &written),
			 VIRTIO_BLK_S_OK);
	assert_int_equal(written, 513);
	assert_int_equal(c->data[512], VIRTIO_BLK_S_OK);
}

static void test_read_only(void **state)
{
	struct ctx *c = *state;
	struct disk ro;
	struct disk_spec spec = c->spec;
	struct iovec iov[3] = { { c->hdr, 16 },
				{ c->data, 512 },
				{ &c->status, 1 } };
	uint32_t written;

	disk_close(&c->disk); /* drop the exclusive lock */
	spec.ro = true;
	assert_int_equal(disk_open(&ro, &spec), 0);
	set_hdr(c, VIRTIO_BLK_T_OUT, 0);
	assert_int_equal(blk_execute(&ro, iov, 2, 1, &written),
			 VIRTIO_BLK_S_IOERR);
	set_hdr(c, VIRTIO_BLK_T_IN, 0);
	assert_int_equal(blk_execute(&ro, iov, 1, 2, &written),
			 VIRTIO_BLK_S_OK);
	disk_close(&ro);
}

static void test_lock_second_writer(void **state)
{
	struct ctx *c = *state;
	struct disk other, ro;
	struct disk_spec spec = c->spec;
	char pid[32];

	snprintf(pid, sizeof(pid), "pid %d", (int)getpid());
	capture_start();
	assert_int_equal(disk_open(&other, &c->spec), -EBUSY);
	assert_logged(pid);
	capture_start();
	spec.ro = true;
	assert_int_equal(disk_open(&ro, &spec), -EBUSY);
	assert_logged("in use by");
	/* Two readers may share an image. */
	disk_close(&c->disk);
	assert_int_equal(disk_open(&ro, &spec), 0);
	assert_int_equal(disk_open(&other, &spec), 0);
	disk_close(&other);
	disk_close(&ro);
}

static void test_parse(void **state)
{
	struct disk_spec s;
	char err[160];

	assert_int_equal(disk_parse("/x.img", &s, err, sizeof(err)), 0);
	assert_string_equal(s.path, "/x.img");
	assert_false(s.ro);
	assert_int_equal(s.cache, DISK_CACHE_WRITEBACK);
	assert_int_equal(disk_parse("/x.img,ro,serial=abc,cache=none", &s, err,
				    sizeof(err)),
			 0);
	assert_true(s.ro);
	assert_string_equal(s.serial, "abc");
	assert_int_equal(s.cache, DISK_CACHE_NONE);
	assert_int_equal(disk_parse("/x,bogus", &s, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "unknown option 'bogus'"));
	assert_int_equal(disk_parse("/x,serial=123456789012345678901", &s, err,
				    sizeof(err)),
			 -EINVAL);
	assert_int_equal(disk_parse("", &s, err, sizeof(err)), -EINVAL);
	assert_int_equal(disk_parse(",ro", &s, err, sizeof(err)), -EINVAL);
}

static void test_open_errors(void **state)
{
	struct disk d;
	struct disk_spec spec = { .path = "/nonexistent/disk.img" };

	capture_start();
	assert_int_equal(disk_open(&d, &spec), -ENOENT);
	assert_logged("disk /nonexistent/disk.img: No such file");
	strcpy(spec.path, "/tmp");
	capture_start();
	assert_true(disk_open(&d, &spec) < 0);
	assert_logged("disk /tmp: ");
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_write_then_read),
		T(test_beyond_end_is_ioerr),
		T(test_flush_get_id_unsupported),
		T(test_discard_and_write_zeroes),
		T(test_not_a_request),
		T(test_split_header_and_status),
		T(test_read_only),
		T(test_lock_second_writer),
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_open_errors),
	};

	log_set_level(LOG_ERR);
	return cmocka_run_group_tests_name("blk", tests, NULL, NULL);
}
