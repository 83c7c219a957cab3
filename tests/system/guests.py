"""Machine code for tiny guests, shared by the system tests.

They run in milliseconds even where guest kernel mode is emulated."""
import importlib.util
import pathlib
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


# Helpers added for test_stop.py and test_options.py.

SPIN = b"\xeb\xfe"  # jmp $: spins at CPL0 inside KVM_RUN, no VM exits


def spinner(msg):
    """Print msg to COM1, then spin forever: the vCPU stays in KVM_RUN
    until the host stops the VM."""
    return printer(msg, SPIN)


def debug_exit(status):
    """mov dx,0x501; mov al,status; out dx,al; hlt: vmm exits status."""
    return bytes.fromhex("66ba0105 b0") + bytes([status]) + bytes.fromhex(
        "ee f4 ebfd")


# At the 64-bit boot protocol entry (rsi = boot_params): write the command
# line (hdr.cmd_line_ptr at 0x228, a 32-bit physical address; the low
# 4 GiB are identity-mapped) and a newline to COM1, then run what follows.
#   mov esi,[rsi+0x228]; xor ecx,ecx
#   1: cmp byte [rsi+rcx],0; je 2f; inc ecx; jmp 1b
#   2: mov dx,0x3f8; rep outsb; mov al,10; out dx,al
PRINT_CMDLINE = bytes.fromhex(
    "8bb628020000 31c9 803c0e00 7404 ffc1 ebf6 66baf803 f36e b00a ee")

# Scan PCI bus 0 through ports 0xcf8/0xcfc (function 0 of slots 0..31)
# and write one character per slot to COM1: 'R' for virtio-rng (vendor
# 0x1af4, device 0x1044), '.' for no device (vendor 0xffff), 'd' for any
# other device; then a newline, then run what follows.
#   mov ebx,0x80000000
#   1: mov eax,ebx; mov dx,0xcf8; out dx,eax; mov dx,0xcfc; in eax,dx
#      mov dx,0x3f8; cmp eax,0x10441af4; je 3f; cmp ax,0xffff; je 2f
#      mov al,'d'; jmp 4f
#   2: mov al,'.'; jmp 4f
#   3: mov al,'R'
#   4: out dx,al; add ebx,0x800; cmp ebx,0x80010000; jb 1b
#   mov al,10; out dx,al
PCI_SCAN = bytes.fromhex(
    "bb00000080 89d8 66baf80c ef 66bafc0c ed 66baf803 3df41a4410 740e"
    "6683f8ff 7404 b064 eb06 b02e eb02 b052 ee 81c300080000 81fb00000180"
    "72ca b00a ee")


def fuzz_seed(name):
    """The image builder tests/fuzz/NAME.py (seed_bzimage, seed_elf), the
    same the fuzzers' seed corpora come from, as a module."""
    path = pathlib.Path(__file__).resolve().parents[1] / "fuzz" / \
        f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def bzimage(code):
    """A minimal bzImage (tests/fuzz/seed_bzimage.py) whose 64-bit entry
    runs code: vmm treats it as a Linux kernel (command line, rng)."""
    return fuzz_seed("seed_bzimage").build(code)
