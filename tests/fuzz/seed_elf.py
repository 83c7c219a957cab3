#!/usr/bin/env python3
"""A minimal x86_64 ELF kernel: one PT_LOAD at 16 MiB holding `code`, and
optionally the Xen PVH entry note pointing at it.

Run as a script it writes the fuzz seed (with the note); system tests
import build() to make tiny PVH and 64-bit ELF guests.
"""
import struct
import sys

LOAD = 0x1000000
CODE_OFF = 0x1000
NOTE_OFF = 0xB0
XEN_ELFNOTE_PHYS32_ENTRY = 18


def build(code=b"\xf4", pvh=True, bss=0x1000):
    phnum = 2 if pvh else 1
    d = bytearray(CODE_OFF + len(code))
    ident = b"\x7fELF" + bytes([2, 1, 1]) + bytes(9)
    struct.pack_into("<16sHHIQQQIHHHHHH", d, 0, ident, 2, 62, 1, LOAD,
                     64, 0, 0, 64, 56, phnum, 0, 0, 0)
    struct.pack_into("<IIQQQQQQ", d, 64, 1, 7, CODE_OFF, LOAD, LOAD,
                     len(code), len(code) + bss, 0x1000)
    if pvh:
        note = struct.pack("<III4sI", 4, 4, XEN_ELFNOTE_PHYS32_ENTRY,
                           b"Xen\0", LOAD)
        d[NOTE_OFF:NOTE_OFF + len(note)] = note
        struct.pack_into("<IIQQQQQQ", d, 64 + 56, 4, 4, NOTE_OFF, 0, 0,
                         len(note), len(note), 4)
    d[CODE_OFF:] = code
    return bytes(d)


if __name__ == "__main__":
    sys.stdout.buffer.write(build())
