// SPDX-License-Identifier: MIT
/*
 * libFuzzer target: the virtqueue + virtio-blk request path. The input is
 * guest memory (descriptor table, rings, buffers) plus feature flags; every
 * request popped is executed against a small scratch disk.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "virtio/blk.h"
#include "virtio/virtqueue.h"
#include "vmm/log.h"
#include "vmm/vm.h"

#define RAM (16 << 20) /* LAYOUT_MIN_RAM */
#define QSIZE 16
#define DESC 0x0
#define AVAIL 0x1000
#define USED 0x2000
#define DISK_BYTES (64 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct vm vm;
static struct disk disk;

static bool init_once(void)
{
	static struct disk_spec spec = { .path = "/tmp/vmm-fuzz-blk-XXXXXX" };
	int fd;

	log_set_level(LOG_OFF);
	if (vm_init(&vm, RAM))
		return false;
	fd = mkstemp(spec.path);
	if (fd < 0 || ftruncate(fd, DISK_BYTES))
		return false;
	close(fd);
	if (disk_open(&disk, &spec))
		return false;
	unlink(spec.path);
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	struct virtq q = { .vm = &vm,
			   .size = QSIZE,
			   .desc_gpa = DESC,
			   .avail_gpa = AVAIL,
			   .used_gpa = USED };
	struct iovec iov[BLK_MAX_IOV];
	struct virtq_elem e;
	int n = 0;

	if (!ready && !(ready = init_once()))
		return 0;
	if (size < 1)
		return 0;
	q.indirect = data[0] & 1;
	q.event_idx = data[0] & 2;
	memset(vm.ram, 0, 0x10000);
	memcpy(vm.ram, data + 1, size - 1 < 0x10000 ? size - 1 : 0x10000);
	if (virtq_start(&q))
		return 0;
	while (n++ < 64 && virtq_pop(&q, &e, iov, BLK_MAX_IOV) > 0) {
		uint32_t written = 0;

		if (blk_execute(&disk, iov, e.out_num, e.in_num, &written) < 0)
			break;
		virtq_push(&q, e.head, written);
	}
	virtq_should_notify(&q);
	virtq_set_notify(&q, true);
	return 0;
}
