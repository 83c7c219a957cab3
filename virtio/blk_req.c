// SPDX-License-Identifier: MIT
/*
 * virtio-blk requests (virtio 1.x, 5.2.6) executed with positioned I/O on
 * the disk. Guest values are hostile: every range is checked against the
 * capacity (an out-of-range request gets IOERR and never reaches the host
 * file), lengths in 64 bits, and the chain's shape before anything else.
 */
#include <errno.h>
#include <string.h>

#include "virtio/blk.h"
#include "vmm/le.h"

#define SECTOR 512ULL
#define HDR_LEN 16 /* type u32, reserved u32, sector u64 */
#define SEG_LEN 16 /* discard/write-zeroes: sector u64, num u32, flags u32 */
#define WZ_UNMAP 1

/* Copy up to @len bytes out of @iov starting @skip bytes in. */
static size_t iov_to_buf(const struct iovec *iov, unsigned int n, size_t skip,
			 void *buf, size_t len)
{
	size_t done = 0;

	for (unsigned int i = 0; i < n && done < len; i++) {
		size_t l = iov[i].iov_len;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		l -= skip;
		if (l > len - done)
			l = len - done;
		memcpy((uint8_t *)buf + done, (uint8_t *)iov[i].iov_base + skip,
		       l);
		done += l;
		skip = 0;
	}
	return done;
}

/* @len bytes of @iov after @skip, as a new iovec array; returns count. */
static unsigned int iov_slice(const struct iovec *iov, unsigned int n,
			      size_t skip, size_t len, struct iovec *out)
{
	unsigned int k = 0;

	for (unsigned int i = 0; i < n && len; i++) {
		size_t l = iov[i].iov_len;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		l -= skip;
		if (l > len)
			l = len;
		out[k++] =
			(struct iovec){ (uint8_t *)iov[i].iov_base + skip, l };
		len -= l;
		skip = 0;
	}
	return k;
}

/* Is [sector, sector + bytes) inside the disk? Overflow-safe. */
static bool in_range(const struct disk *d, uint64_t sector, uint64_t bytes)
{
	return sector <= d->size / SECTOR && bytes <= d->size - sector * SECTOR;
}

static uint8_t status_of(int ret)
{
	return ret ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
}

/* Parts of a request chain, as the spec lays them out. */
struct blk_req {
	uint32_t type;
	uint64_t sector;
	struct iovec *iov;
	unsigned int out_num, in_num;
	uint64_t out_data; /* readable bytes after the header */
	uint64_t in_data; /* writable bytes before the status byte */
};

static uint8_t blk_rw(struct disk *d, struct blk_req *r, bool write,
		      uint32_t *written)
{
	struct iovec data[BLK_MAX_IOV];
	uint64_t len = write ? r->out_data : r->in_data;
	unsigned int n;
	int ret;

	if (!in_range(d, r->sector, len))
		return VIRTIO_BLK_S_IOERR;
	if (write && d->ro)
		return VIRTIO_BLK_S_IOERR;
	n = write ? iov_slice(r->iov, r->out_num, HDR_LEN, len, data) :
		    iov_slice(r->iov + r->out_num, r->in_num, 0, len, data);
	ret = write ? disk_write(d, r->sector * SECTOR, data, (int)n) :
		      disk_read(d, r->sector * SECTOR, data, (int)n);
	if (!ret && !write)
		*written += (uint32_t)len;
	return status_of(ret);
}

static uint8_t blk_get_id(struct disk *d, struct blk_req *r, uint32_t *written)
{
	struct iovec data[BLK_MAX_IOV];
	uint8_t id[DISK_SERIAL_MAX] = { 0 };
	size_t len = r->in_data < sizeof(id) ? r->in_data : sizeof(id);
	unsigned int n =
		iov_slice(r->iov + r->out_num, r->in_num, 0, len, data);
	size_t done = 0;

	memcpy(id, d->serial, strnlen(d->serial, sizeof(id)));
	for (unsigned int i = 0; i < n; done += data[i].iov_len, i++)
		memcpy(data[i].iov_base, id + done, data[i].iov_len);
	*written += (uint32_t)len;
	return VIRTIO_BLK_S_OK;
}

/* DISCARD and WRITE_ZEROES: we take one segment per request (seg max 1). */
static uint8_t blk_segments(struct disk *d, struct blk_req *r)
{
	uint8_t seg[SEG_LEN];
	uint64_t sector, bytes;
	uint32_t flags;
	int ret;

	if (r->out_data != SEG_LEN ||
	    iov_to_buf(r->iov, r->out_num, HDR_LEN, seg, SEG_LEN) != SEG_LEN)
		return VIRTIO_BLK_S_UNSUPP;
	sector = get_le64(seg);
	bytes = (uint64_t)get_le32(seg + 8) * SECTOR;
	flags = get_le32(seg + 12);
	if (d->ro || !in_range(d, sector, bytes) ||
	    bytes > (uint64_t)BLK_MAX_DISCARD_SECTORS * SECTOR)
		return VIRTIO_BLK_S_IOERR;
	if (r->type == VIRTIO_BLK_T_DISCARD) {
		if (flags)
			return VIRTIO_BLK_S_UNSUPP;
		ret = disk_discard(d, sector * SECTOR, bytes);
	} else {
		if (flags & ~WZ_UNMAP)
			return VIRTIO_BLK_S_UNSUPP;
		ret = disk_write_zeroes(d, sector * SECTOR, bytes,
					flags & WZ_UNMAP);
	}
	return status_of(ret);
}

static uint8_t blk_dispatch(struct disk *d, struct blk_req *r,
			    uint32_t *written)
{
	switch (r->type) {
	case VIRTIO_BLK_T_IN:
		return blk_rw(d, r, false, written);
	case VIRTIO_BLK_T_OUT:
		return blk_rw(d, r, true, written);
	case VIRTIO_BLK_T_FLUSH:
		return status_of(disk_flush(d));
	case VIRTIO_BLK_T_GET_ID:
		return blk_get_id(d, r, written);
	case VIRTIO_BLK_T_DISCARD:
	case VIRTIO_BLK_T_WRITE_ZEROES:
		return blk_segments(d, r);
	default:
		return VIRTIO_BLK_S_UNSUPP;
	}
}

int blk_execute(struct disk *d, struct iovec *iov, unsigned int out_num,
		unsigned int in_num, uint32_t *written)
{
	struct blk_req r = { .iov = iov, .out_num = out_num, .in_num = in_num };
	uint8_t hdr[HDR_LEN], status;
	uint64_t out = 0, in = 0;
	struct iovec *last;

	for (unsigned int i = 0; i < out_num + in_num; i++)
		*(i < out_num ? &out : &in) += iov[i].iov_len;
	if (out < HDR_LEN || in < 1 ||
	    iov_to_buf(iov, out_num, 0, hdr, HDR_LEN) != HDR_LEN)
		return -EINVAL;
	r.type = get_le32(hdr);
	r.sector = get_le64(hdr + 8);
	r.out_data = out - HDR_LEN;
	r.in_data = in - 1;
	*written = 0;
	status = blk_dispatch(d, &r, written);
	/* The status byte is the last writable byte of the chain. */
	for (last = iov + out_num + in_num - 1; !last->iov_len; last--)
		;
	((uint8_t *)last->iov_base)[last->iov_len - 1] = status;
	*written += 1;
	return status;
}
