#!/usr/bin/env python3
"""A raw 64-bit guest for measuring exit cost: it drops to CPL3 (where even
a PVM-based host runs it natively), does PIO writes to port 0x80 (a null
device) and MMIO writes to an unclaimed address, then ends with ud2: with
no IDT that is a triple fault, so vmm exits 5. (Not the debug-exit port:
on PVM-based hosts an I/O instruction at CPL3 to a port at or above 0x100
faults even with IOPL 3; ports below 0x100 exit normally.)

    exit_guest.py PIO_COUNT MMIO_COUNT > guest.bin
    vmm boot --kernel guest.bin --kernel-format raw --stats
"""
import struct
import sys

LOAD = 0x100000
USER_STACK = 0x110000
MMIO_ADDR = 0xD0000000
GDT = [0,
       0x00AF9A000000FFFF,   # 0x08 kernel code64
       0x00CF92000000FFFF,   # 0x10 kernel data
       0,
       0x00CFF2000000FFFF,   # 0x20 user data, DPL3
       0x00AFFA000000FFFF]   # 0x28 user code64, DPL3


def build(pio, mmio):
    user = (b"\xb9" + struct.pack("<I", pio) +          # mov ecx, pio
            b"\x66\xba\x80\x00" +                       # mov dx, 0x80
            b"\x85\xc9\x74\x05" +                       # test ecx,ecx; jz +5
            b"\xee\xff\xc9\x75\xfb" +                   # 1: out dx,al; dec ecx; jnz 1
            b"\xb9" + struct.pack("<I", mmio) +         # mov ecx, mmio
            b"\xbf" + struct.pack("<I", MMIO_ADDR) +    # mov edi, MMIO_ADDR
            b"\x85\xc9\x74\x06" +                       # test ecx,ecx; jz +6
            b"\x89\x07\xff\xc9\x75\xfa" +               # 2: mov [rdi],eax; dec ecx; jnz 2
            b"\x0f\x0b")                                # ud2: the end
    # Kernel part: lgdt, then iretq to user with IOPL 3, interrupts off.
    head_len = 7 + 2 + 5 + 5 + 2 + 7 + 1 + 2
    gdt_off = head_len + len(user)
    gdtr_off = gdt_off + 8 * len(GDT)
    head = (b"\x0f\x01\x15" + struct.pack("<i", gdtr_off - 7) +   # lgdt [rip+]
            b"\x6a\x23" +                                        # push 0x23 (ss)
            b"\x68" + struct.pack("<I", USER_STACK) +            # push rsp
            b"\x68" + struct.pack("<I", 0x3002) +                # push rflags
            b"\x6a\x2b" +                                        # push 0x2b (cs)
            b"\x48\x8d\x05" + struct.pack("<i", head_len - 28) +  # lea rax,[user]
            b"\x50" +                                            # push rax
            b"\x48\xcf")                                         # iretq
    assert len(head) == head_len
    gdt = b"".join(struct.pack("<Q", d) for d in GDT)
    gdtr = struct.pack("<HQ", len(gdt) - 1, LOAD + gdt_off)
    return head + user + gdt + gdtr


if __name__ == "__main__":
    sys.stdout.buffer.write(build(int(sys.argv[1]), int(sys.argv[2])))
