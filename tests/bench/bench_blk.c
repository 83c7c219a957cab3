// SPDX-License-Identifier: MIT
/*
 * Benchmark of the virtio-blk data path on the host: requests are placed
 * in a virtqueue in guest RAM, as a driver would, and the device side
 * (virtq_pop, blk_execute, virtq_push) runs them against an image file.
 * Baseline: the same I/O with plain pread/pwrite on the same file, in the
 * same run. Reports MB/s, IOPS and the ratio; asserts nothing.
 *
 * Usage: bench_blk [IMAGE_MIB]   (the image is a temporary file in /var/tmp)
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "virtio/blk.h"
#include "virtio/virtqueue.h"
#include "vmm/le.h"
#include "vmm/log.h"
#include "vmm/vm.h"

#define QSIZE 256
#define DESC 0x100000ULL
#define AVAIL 0x102000ULL
#define USED 0x104000ULL
#define HDR 0x110000ULL
#define STATUS 0x111000ULL
#define DATA 0x200000ULL /* 1 MiB data buffer */
#define SEQ_BS (1 << 20)
#define RAND_BS 4096
#define RAND_OPS 200000

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

/* Driver side: one 3-descriptor chain, made available. */
static void submit(struct vm *vm, uint16_t *avail_idx, uint32_t type,
		   uint64_t sector, uint32_t len)
{
	uint8_t *d = vm_gpa_to_hva(vm, DESC, 48);
	uint8_t *a = vm_gpa_to_hva(vm, AVAIL, 4 + 2 * QSIZE);
	uint8_t *h = vm_gpa_to_hva(vm, HDR, 16);
	uint16_t write = type == VIRTIO_BLK_T_IN ? 2 : 0;

	put_le32(h, type);
	put_le64(h + 8, sector);
	put_le64(d, HDR);
	put_le32(d + 8, 16);
	put_le16(d + 12, 1);
	put_le16(d + 14, 1);
	put_le64(d + 16, DATA);
	put_le32(d + 24, len);
	put_le16(d + 28, 1 | write);
	put_le16(d + 30, 2);
	put_le64(d + 32, STATUS);
	put_le32(d + 40, 1);
	put_le16(d + 44, 2);
	put_le16(a + 4 + 2 * (*avail_idx % QSIZE), 0);
	put_le16(a + 2, ++*avail_idx);
}

/* Device side: what the I/O thread does for one kick. */
static int service(struct virtq *q, struct disk *disk)
{
	struct iovec iov[BLK_MAX_IOV];
	struct virtq_elem e;
	uint32_t written;

	if (virtq_pop(q, &e, iov, BLK_MAX_IOV) != 1 ||
	    blk_execute(disk, iov, e.out_num, e.in_num, &written) != 0)
		return -1;
	virtq_push(q, e.head, written);
	return 0;
}

/* Request @i: 4 KiB-aligned random for RAND_BS, else sequential. */
static uint64_t pick_sector(uint64_t i, uint32_t bs, uint64_t sectors)
{
	if (bs == RAND_BS)
		return (uint64_t)rand() % (sectors - 8) & ~7ULL;
	return (i * (bs / 512)) % sectors;
}

static double run_vq(struct vm *vm, struct virtq *q, struct disk *disk,
		     uint32_t type, uint32_t bs, uint64_t ops, uint64_t sectors)
{
	uint16_t idx = q->last_avail;
	double t0 = now();

	for (uint64_t i = 0; i < ops; i++) {
		submit(vm, &idx, type, pick_sector(i, bs, sectors), bs);
		if (service(q, disk))
			return -1;
	}
	return now() - t0;
}

static double run_raw(int fd, void *buf, bool write, uint32_t bs, uint64_t ops,
		      uint64_t sectors)
{
	double t0 = now();

	for (uint64_t i = 0; i < ops; i++) {
		uint64_t sector = pick_sector(i, bs, sectors);
		ssize_t r = write ? pwrite(fd, buf, bs, (off_t)(sector * 512)) :
				    pread(fd, buf, bs, (off_t)(sector * 512));

		if (r != (ssize_t)bs)
			return -1;
	}
	return now() - t0;
}

static void report(const char *what, uint32_t bs, uint64_t ops, double t_vq,
		   double t_raw)
{
	double mb = (double)bs * ops / 1e6;

	if (bs == RAND_BS)
		printf("%-22s %10.0f IOPS  baseline %10.0f IOPS  ratio %.2f\n",
		       what, ops / t_vq, ops / t_raw, t_raw / t_vq);
	else
		printf("%-22s %10.0f MB/s  baseline %10.0f MB/s  ratio %.2f\n",
		       what, mb / t_vq, mb / t_raw, t_raw / t_vq);
}

int main(int argc, char **argv)
{
	uint64_t mib = argc > 1 ? strtoull(argv[1], NULL, 0) : 256;
	struct disk_spec spec = { .path = "/var/tmp/vmm-bench-blk-XXXXXX" };
	uint64_t sectors = mib << 11, seq_ops = mib;
	struct virtq q = { .size = QSIZE,
			   .desc_gpa = DESC,
			   .avail_gpa = AVAIL,
			   .used_gpa = USED };
	struct disk disk;
	struct vm vm;
	int fd = mkstemp(spec.path);

	if (fd < 0 || ftruncate(fd, (off_t)(mib << 20)) ||
	    vm_init(&vm, 64 << 20))
		return 1;
	q.vm = &vm;
	if (disk_open(&disk, &spec) || virtq_start(&q))
		return 1;
	unlink(spec.path);
	printf("virtio-blk data path vs plain pread/pwrite, %llu MiB image (page cache)\n",
	       (unsigned long long)mib);
	/*
	 * Fill and sync the file untimed first, so neither timed write pass
	 * pays for page allocation or writeback throttling of the other.
	 */
	if (run_raw(fd, vm_gpa_to_hva(&vm, DATA, SEQ_BS), true, SEQ_BS, seq_ops,
		    sectors) < 0 ||
	    fsync(fd))
		return 1;
	report("seq write 1 MiB", SEQ_BS, seq_ops,
	       run_vq(&vm, &q, &disk, VIRTIO_BLK_T_OUT, SEQ_BS, seq_ops,
		      sectors),
	       run_raw(fd, vm_gpa_to_hva(&vm, DATA, SEQ_BS), true, SEQ_BS,
		       seq_ops, sectors));
	report("seq read 1 MiB", SEQ_BS, 4 * seq_ops,
	       run_vq(&vm, &q, &disk, VIRTIO_BLK_T_IN, SEQ_BS, 4 * seq_ops,
		      sectors),
	       run_raw(fd, vm_gpa_to_hva(&vm, DATA, SEQ_BS), false, SEQ_BS,
		       4 * seq_ops, sectors));
	report("rand read 4 KiB", RAND_BS, RAND_OPS,
	       run_vq(&vm, &q, &disk, VIRTIO_BLK_T_IN, RAND_BS, RAND_OPS,
		      sectors),
	       run_raw(fd, vm_gpa_to_hva(&vm, DATA, RAND_BS), false, RAND_BS,
		       RAND_OPS, sectors));
	disk_close(&disk);
	close(fd);
	return 0;
}
