#!/usr/bin/env python3
"""Fuzz seed for the virtqueue: a queue of 8 with three good chains.

Layout (as tests/fuzz/fuzz_virtqueue.c reads it): 4 header bytes (log2
queue size, feature flags, max_iov, ring shift), then the guest bytes at
RING_BASE: the descriptor table, the avail ring (with used_event), then
indirect tables from the next 16-byte boundary.
"""
import struct
import sys

RING_BASE = 0x1000
BUF = 0x100000
NEXT, WRITE, INDIRECT = 1, 2, 4
F_INDIRECT, F_EVENT_IDX = 1, 2


def desc(addr, length, flags=0, nxt=0):
    return struct.pack("<QIHH", addr, length, flags, nxt)


def build(size=8):
    table = [desc(0, 0)] * size
    table[0] = desc(BUF, 16, NEXT, 1)  # readable header
    table[1] = desc(BUF + 0x1000, 512, WRITE | NEXT, 2)  # writable data
    table[2] = desc(BUF + 0x2000, 1, WRITE)  # writable status
    avail_gpa = RING_BASE + 16 * size
    ind_gpa = (avail_gpa + 6 + 2 * size + 15) & ~15
    table[3] = desc(ind_gpa, 48, INDIRECT)
    table[4] = desc(BUF + 0x3000, 4)
    heads = [0, 3, 4] + [0] * (size - 3)
    avail = struct.pack("<HH", 0, 3) + struct.pack("<%dH" % size, *heads)
    avail += struct.pack("<H", 1)  # used_event
    indirect = (desc(BUF + 0x4000, 16, NEXT, 1) +
                desc(BUF + 0x5000, 4096, WRITE | NEXT, 2) +
                desc(BUF + 0x7000, 1, WRITE))
    body = b"".join(table) + avail
    body += bytes(ind_gpa - RING_BASE - len(body)) + indirect
    header = bytes([size.bit_length() - 1, F_INDIRECT | F_EVENT_IDX, 16, 0])
    return header + body


if __name__ == "__main__":
    sys.stdout.buffer.write(build())
