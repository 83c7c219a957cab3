"""Every kernel format, SMP and ACPI power-off.

Tiny guests built here (a few instructions that print over COM1 and power
off through the ACPI PM1 control port) prove the raw, 64-bit ELF and PVH
entry states in milliseconds. Three real boots, run side by side, prove
the same paths with the test kernel: PVH to `Run /init`; a gzip-compressed
vmlinux and initrd on two vCPUs that powers off through ACPI; and the MP
table alone (acpi=off) bringing up both CPUs.
"""
import gzip
import os
import struct

import pytest

from conftest import (EXIT_OK, EXIT_PANIC, EXIT_SETUP, EXIT_STOPPED, Boot,
                      host_is_pvm, run_vmm)
from guests import POWEROFF, fuzz_seed, printer, printer32

PVM = host_is_pvm()
CONSOLE_OPEN = "Freeing unused kernel image"


seed_elf = fuzz_seed("seed_elf")

MSG = b"tiny guest ok\n"


def code64():
    """Print MSG, power off through ACPI (64-bit entry)."""
    return printer(MSG, POWEROFF)


def code32(base):
    """The same for the 32-bit, paging-off PVH entry."""
    return printer32(MSG, POWEROFF, base)


def boot_tiny(tmp_path, name, data, extra=()):
    path = tmp_path / name
    path.write_bytes(data)
    return run_vmm(["boot", "--kernel", str(path), "-v"] + list(extra))


def assert_powered_off(r):
    assert r.returncode == EXIT_OK, r.stderr
    assert r.stdout == MSG.decode()
    assert "acpi: S5 requested" in r.stderr
    assert "guest powered off (exit status 0)" in r.stderr


def test_raw_binary_at_default_address(tmp_path):
    r = boot_tiny(tmp_path, "tiny.bin", code64(), ["--kernel-format", "raw"])
    assert_powered_off(r)
    assert f"raw, {len(code64())} bytes at 0x100000, entry 0x100000" in r.stderr
    # No kernel to give options to: no word about them either.
    assert "adding the kernel options" not in r.stderr


def test_raw_binary_load_addr_implies_raw(tmp_path):
    code = b"\x90" * 16 + code64()
    r = boot_tiny(tmp_path, "tiny.bin", code,
                  ["--load-addr", "0x2000000", "--entry", "0x2000010"])
    assert_powered_off(r)
    assert "entry 0x2000010" in r.stderr


def test_raw_binary_is_not_guessed(tmp_path):
    r = boot_tiny(tmp_path, "tiny.bin", code64())
    assert r.returncode == EXIT_SETUP
    assert "tiny.bin: unknown format" in r.stderr
    assert "--kernel-format raw" in r.stderr


def test_elf64_tiny_guest(tmp_path):
    r = boot_tiny(tmp_path, "tiny.elf", seed_elf.build(code64(), pvh=False))
    assert_powered_off(r)
    assert "tiny.elf: elf" in r.stderr


def test_pvh_tiny_guest(tmp_path):
    r = boot_tiny(tmp_path, "tiny-pvh.elf",
                  seed_elf.build(code32(seed_elf.LOAD), pvh=True))
    assert_powered_off(r)
    assert "tiny-pvh.elf: pvh" in r.stderr


def test_gzip_tiny_guest(tmp_path):
    data = gzip.compress(seed_elf.build(code32(seed_elf.LOAD), pvh=True))
    r = boot_tiny(tmp_path, "tiny.elf.gz", data)
    assert_powered_off(r)
    assert "tiny.elf.gz: pvh (gzip)" in r.stderr


def test_corrupt_gzip_kernel_is_a_setup_error(tmp_path):
    data = bytearray(gzip.compress(seed_elf.build(code64()) * 8))
    del data[len(data) // 2:]
    r = boot_tiny(tmp_path, "cut.gz", bytes(data))
    assert r.returncode == EXIT_SETUP
    assert "kernel " in r.stderr and "cut.gz: truncated gzip data" in r.stderr


def cpuid_dump_guest(leaves):
    """64-bit code: CPUID each (leaf, subleaf), write the four registers
    as 16 raw bytes to COM1 (through a buffer at 2 MiB), power off."""
    code = b""
    for leaf, sub in leaves:
        code += b"\xb8" + struct.pack("<I", leaf)       # mov eax, leaf
        code += b"\xb9" + struct.pack("<I", sub)        # mov ecx, sub
        code += b"\x0f\xa2"                             # cpuid
        for i, modrm in enumerate((0x04, 0x1C, 0x0C, 0x14)):
            # mov [0x200000 + 4 * i], eax/ebx/ecx/edx
            code += b"\x89" + bytes([modrm]) + b"\x25" + struct.pack(
                "<I", 0x200000 + 4 * i)
        code += b"\xbe" + struct.pack("<I", 0x200000)   # mov esi, buffer
        code += b"\xb9" + struct.pack("<I", 16)         # mov ecx, 16
        code += bytes.fromhex("66baf803 f36e")          # rep outsb to COM1
    return code + bytes.fromhex("66ba0406 66b80034 66ef f4 ebfd")


def test_cpuid_topology_is_one_package(tmp_path):
    leaves = [(1, 0), (0xB, 0), (0xB, 1), (0xB, 2), (0x80000008, 0)]
    out = tmp_path / "cpuid.out"
    r = boot_tiny(tmp_path, "cpuid.bin", cpuid_dump_guest(leaves),
                  ["--kernel-format", "raw", "--cpus", "3", "--console",
                   f"file:{out}"])
    assert r.returncode == EXIT_OK, r.stderr
    regs = {l: struct.unpack_from("<4I", out.read_bytes(), 16 * i)
            for i, l in enumerate(leaves)}
    eax, ebx, ecx, edx = regs[(1, 0)]
    assert (ebx >> 16) & 0xFF == 3 and ebx >> 24 == 0  # count, APIC id 0
    assert edx & (1 << 28)                             # HTT: count valid
    # Leaf 0xB: SMT level of 1 thread, core level of 3, then the end.
    assert regs[(0xB, 0)][1:3] == (1, 0x100)
    assert regs[(0xB, 1)][0] == 2                      # APIC id shift
    assert regs[(0xB, 1)][1:3] == (3, 0x201)
    assert (regs[(0xB, 2)][2] >> 8) & 0xFF == 0
    if regs[(0x80000008, 0)][2]:                       # AMD: NC = cores - 1
        assert regs[(0x80000008, 0)][2] & 0xFF == 2


# ---- the real test kernel: three boots side by side ----

@pytest.fixture(scope="module")
def boots(images, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("formats")
    vmlinux = images["vmlinux"]
    vmlinux_gz, initrd_gz = tmp / "vmlinux.gz", tmp / "initrd.gz"
    with open(vmlinux, "rb") as f:
        vmlinux_gz.write_bytes(gzip.compress(f.read(), 1))
    with open(images["initrd"], "rb") as f:
        initrd_gz.write_bytes(gzip.compress(f.read(), 1))
    smp_args = ["--kernel", str(vmlinux_gz), "--initrd", str(initrd_gz),
                "--cpus", "2", "--stats"]
    started = {
        "pvh": Boot(["--kernel", vmlinux, "--initrd", images["initrd"],
                     "--stats", "-v"]),
        # Here init cannot run: SysRq-o powers off from the kernel. Where
        # it can, init's own `poweroff -f` (vmm.end=poweroff) does it.
        "smp": (Boot(smp_args + ["--append", "vmm.end=shell"],
                     trigger=(CONSOLE_OPEN, b"\x01bo")) if PVM else
                Boot(smp_args + ["--append", "vmm.end=poweroff"])),
        # Without ACPI only the MP table describes the CPUs. (No initrd:
        # panic=0 keeps the kernel waiting after it finds no root, so
        # Ctrl-A x never races a reset.)
        "mptable": Boot(["--kernel", vmlinux, "--cpus", "2", "--append",
                         "acpi=off panic=0"],
                        trigger=("smp: Brought up", b"\x01x")),
    }
    yield started
    for b in started.values():
        b.kill()


@pytest.fixture(scope="module")
def pvh(boots):
    b = boots["pvh"]
    b.wait_for("Run /init as init process")
    b.rc = b.finish()
    return b


def test_pvh_boot_reaches_init(pvh):
    assert "vmlinux: pvh" in pvh.stderr
    assert "PVH entry 0x" in pvh.stderr
    assert "Linux version" in pvh.console
    assert "Run /init as init process" in pvh.console
    assert pvh.rc == (EXIT_PANIC if PVM else EXIT_OK), pvh.stderr


def test_pvh_boot_finds_acpi_tables(pvh):
    console = pvh.console
    for sig in ("RSDP", "XSDT", "FACP", "DSDT", "FACS", "APIC"):
        assert f"ACPI: {sig} 0x" in console, sig
    assert "ACPI: PM: (supports S0 S5)" in console
    assert "ACPI Error" not in console and "ACPI BIOS Error" not in console


@pytest.fixture(scope="module")
def smp(boots):
    b = boots["smp"]
    b.rc = b.finish()
    return b


def test_two_cpus_come_up(smp):
    assert "smpboot: Allowing 2 CPUs" in smp.console
    assert "smp: Brought up 1 node, 2 CPUs" in smp.console
    # CPUID agrees with the tables: two cores of one package.
    assert "smpboot: Max logical packages: 1" in smp.console


def test_gzip_kernel_and_initrd_boot(smp, images):
    assert "Linux version" in smp.console
    assert "Initramfs unpacking failed" not in smp.console
    # The initrd arrived inflated: the kernel frees as much initrd memory
    # as the plain cpio takes (the pages it spans), not the size of the
    # gzip file. (The test kernel could also have inflated it itself, so
    # an unpacked initramfs alone would prove nothing.)
    line = next(l for l in smp.lines if "Freeing initrd memory:" in l)
    freed_kib = int(line.split("Freeing initrd memory:")[1].strip()
                    .rstrip("K"))
    plain_kib = os.path.getsize(images["initrd"]) // 1024
    assert plain_kib - 8 <= freed_kib <= plain_kib + 8, (line, plain_kib)


def test_guest_poweroff_exits_zero(smp):
    if PVM:
        assert smp.triggered
        assert "reboot: Power down" in smp.console
    else:
        assert "VMM-INIT: userspace reached" in smp.console
    assert smp.rc == EXIT_OK, smp.stderr
    assert "guest powered off (exit status 0)" in smp.stderr


def test_mp_table_alone_brings_up_both_cpus(boots):
    b = boots["mptable"]
    rc = b.finish()
    assert rc == EXIT_STOPPED, b.stderr
    assert "found SMP MP-table" in b.console
    assert "smp: Brought up 1 node, 2 CPUs" in b.console
