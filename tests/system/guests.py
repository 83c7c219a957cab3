"""Machine code for tiny guests, shared by the system tests.

They run in milliseconds even where guest kernel mode is emulated."""
import struct

# mov dx,0x604 (ACPI PM1a_CNT); mov ax,SLP_TYP 5|SLP_EN; out dx,ax; hlt
POWEROFF = bytes.fromhex("66ba0406 66b80034 66ef f4 ebfd")


def write_com1(length):
    """mov ecx,length; mov dx,0x3f8; rep outsb: length bytes at [rsi]."""
    return (b"\xb9" + struct.pack("<I", length) +
            bytes.fromhex("66baf803 f36e"))


def printer(msg, tail):
    """64-bit, position independent: write msg to COM1, then run tail."""
    body = write_com1(len(msg)) + tail
    return b"\x48\x8d\x35" + struct.pack("<i", len(body)) + body + msg


def printer32(msg, tail, base):
    """32-bit, paging off (PVH) at base: write msg to COM1, run tail."""
    body = write_com1(len(msg)) + tail
    return b"\xbe" + struct.pack("<I", base + 5 + len(body)) + body + msg
