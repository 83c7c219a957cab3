#!/usr/bin/env python3
"""Fuzz seed for fuzz_net: a mergeable receive queue and a transmit queue.

Layout (as tests/fuzz/fuzz_net.c reads it): 8 header bytes (log2 receive
queue size, flags, frame length LE16, transmit features, log2 transmit
queue size, length LE16 of the net_parse strings), the strings (one
--net value per line), then the guest bytes at RING_BASE: one descriptor
table for both queues, the receive avail ring at +0x1000, the transmit
avail ring at +0x1400, transmit buffers at +0x2000. Receive buffers lie
outside the input, at BUF.
"""
import struct
import sys

RING_BASE = 0x1000
BUF = 0x100000
NEXT, WRITE = 1, 2
F_MRG, F_EVENT_IDX, F_NOTIFY_OFF, F_SPLIT_SRC = 1, 2, 8, 16
T_CSUM, T_TSO4 = 1, 2
NEEDS_CSUM, GSO_TCPV4 = 1, 1
SPEC = b"\n".join([
    b"user,hostfwd=tcp::8080-:80,hostfwd=udp:127.0.0.1:53-10.0.2.15:53",
    b"tap,ifname=tap0,mac=52:54:00:12:34:56",
    b"none",
])


def desc(addr, length, flags=0, nxt=0):
    return struct.pack("<QIHH", addr, length, flags, nxt)


def avail(heads, size=8):
    ring = heads + [0] * (size - len(heads))
    return struct.pack("<HH", 0, len(heads)) + \
        struct.pack("<%dH" % size, *ring) + struct.pack("<H", 0)


def build(size=8):
    mem = bytearray(0x3000)
    table = [desc(0, 0)] * size
    # Receive: four single 1500-byte buffers (a 3000-byte frame takes 3).
    for i in range(4):
        table[i] = desc(BUF + i * 0x1000, 1500, WRITE)
    # Transmit: header + frame in two descriptors, twice.
    tx_hdr, tx_data = RING_BASE + 0x2000, RING_BASE + 0x2100
    table[4] = desc(tx_hdr, 12, NEXT, 5)
    table[5] = desc(tx_data, 60)
    table[6] = desc(tx_hdr + 0x40, 12, NEXT, 7)
    table[7] = desc(tx_data + 0x100, 1514)
    mem[0:16 * size] = b"".join(table)
    rx = avail([0, 1, 2, 3], size)
    mem[0x1000:0x1000 + len(rx)] = rx
    tx = avail([4, 6], size)
    mem[0x1400:0x1400 + len(tx)] = tx
    mem[0x2040:0x204c] = struct.pack("<BBHHHHH", NEEDS_CSUM, GSO_TCPV4,
                                     54, 1448, 34, 16, 0)
    header = struct.pack("<BBHBBH", size.bit_length() - 1,
                         F_MRG | F_EVENT_IDX | F_NOTIFY_OFF | F_SPLIT_SRC,
                         3000, T_CSUM | T_TSO4, size.bit_length() - 1,
                         len(SPEC))
    return header + SPEC + bytes(mem)


if __name__ == "__main__":
    sys.stdout.buffer.write(build())
