#!/usr/bin/env python3
"""A minimal valid bzImage (2.15 header, 8 KiB kernel).

Run as a script it writes the fuzz seed, so the fuzzer starts past the
magic checks instead of guessing them; system tests import build() to make
tiny guests whose 64-bit entry (load address + 0x200) runs given code.
"""
import struct
import sys

SETUP_SECTS = 4
SETUP_SIZE = (SETUP_SECTS + 1) * 512
KERNEL_SIZE = 8192
ENTRY_64 = 0x200


def build(code=b""):
    d = bytearray(SETUP_SIZE + KERNEL_SIZE)
    d[0x1f1] = SETUP_SECTS
    struct.pack_into("<I", d, 0x1f4, KERNEL_SIZE // 16)
    struct.pack_into("<H", d, 0x1fe, 0xAA55)
    d[0x200], d[0x201] = 0xEB, 0x6A
    d[0x202:0x206] = b"HdrS"
    struct.pack_into("<H", d, 0x206, 0x020F)
    d[0x211] = 0x01                                  # LOADED_HIGH
    struct.pack_into("<I", d, 0x214, 0x100000)       # code32_start
    struct.pack_into("<I", d, 0x22C, 0x7FFFFFFF)     # initrd_addr_max
    struct.pack_into("<I", d, 0x230, 0x200000)       # kernel_alignment
    d[0x234] = 1                                     # relocatable
    struct.pack_into("<H", d, 0x236, 0x0003)         # XLF_KERNEL_64 | above 4G
    struct.pack_into("<I", d, 0x238, 2047)           # cmdline_size
    struct.pack_into("<Q", d, 0x258, 0x1000000)      # pref_address
    struct.pack_into("<I", d, 0x260, 0x400000)       # init_size
    at = SETUP_SIZE + ENTRY_64
    d[at:at + len(code)] = code
    return bytes(d)


if __name__ == "__main__":
    sys.stdout.buffer.write(build())
