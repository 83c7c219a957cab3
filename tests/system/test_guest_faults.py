"""Tiny guests built on the fly: a bzImage header around a few bytes of
code at the 64-bit entry point. They run in milliseconds, even where guest
kernel mode is emulated, and prove how guest faults become exit codes."""
import pytest

from conftest import EXIT_HOST_ERROR, EXIT_TRIPLE_FAULT, host_is_pvm, run_vmm
from guests import bzimage

UD2 = b"\x0f\x0b"
# xor eax,eax; xor edx,edx; popcnt eax,[0x40000000]. Nothing backs that
# address (RAM ends at 256 MiB, no device there), so a normal KVM must
# emulate the access, and its instruction emulator has no popcnt; on
# PVM-based hosts the emulator that runs all guest kernel code lacks it
# too. Either way: KVM_EXIT_INTERNAL_ERROR, emulation failure.
POPCNT_MMIO = bytes.fromhex("31c0 31d2 f30fb8042500000040")


def tiny(tmp_path, code):
    path = tmp_path / "tiny-bzImage"
    path.write_bytes(bzimage(code))
    return str(path)


def test_triple_fault_exits_5(tmp_path):
    # No IDT at entry: #UD cannot be delivered, so the CPU shuts down.
    r = run_vmm(["boot", "--kernel", tiny(tmp_path, UD2), "--console",
                 "none"])
    assert r.returncode == EXIT_TRIPLE_FAULT, r.stderr
    assert "guest triple fault (shutdown) (exit status 5)" in r.stderr


def test_emulation_failure_is_reported_with_registers_and_code(tmp_path):
    r = run_vmm(["boot", "--kernel", tiny(tmp_path, POPCNT_MMIO),
                 "--console", "none"])
    if r.returncode == EXIT_TRIPLE_FAULT:
        pytest.skip("this CPU has no popcnt (#UD without an IDT)")
    assert r.returncode == EXIT_HOST_ERROR, r.stderr
    assert "instruction emulation failed" in r.stderr
    assert "rip 0000000001000204" in r.stderr  # after the two xors
    assert "f3 0f b8 04 25" in r.stderr         # the bytes at rip
    hint = "hint: this host is PVM-based"
    assert (hint in r.stderr) == host_is_pvm(), r.stderr
