#!/usr/bin/env python3
"""Fuzz seed for fuzz_blk: one valid read request in a 16-entry queue.

Byte 0 holds the feature flags (bit 0 indirect, bit 1 event_idx); the rest
is guest memory from address 0: descriptor table at 0, avail ring at
0x1000, used ring at 0x2000, request buffers at 0x3000."""
import struct
import sys

mem = bytearray(0x4000)
HDR, DATA, STATUS = 0x3000, 0x3100, 0x3300
struct.pack_into("<IIQ", mem, HDR, 0, 0, 2)                  # IN, sector 2
struct.pack_into("<QIHH", mem, 0, HDR, 16, 1, 1)             # NEXT
struct.pack_into("<QIHH", mem, 16, DATA, 512, 1 | 2, 2)      # NEXT|WRITE
struct.pack_into("<QIHH", mem, 32, STATUS, 1, 2, 0)          # WRITE
struct.pack_into("<HHH", mem, 0x1000, 0, 1, 0)               # idx 1, ring[0]=0
sys.stdout.buffer.write(bytes([0]) + bytes(mem))
