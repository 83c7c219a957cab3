"""Tiny guests built on the fly: a bzImage header around a few bytes of
code at the 64-bit entry point. They run in milliseconds, even where guest
kernel mode is emulated, and prove how guest faults become exit codes."""
import importlib.util

from conftest import (EXIT_HOST_ERROR, EXIT_TRIPLE_FAULT, TOP, host_is_pvm,
                      run_vmm)

_spec = importlib.util.spec_from_file_location(
    "seed_bzimage", TOP / "tests" / "fuzz" / "seed_bzimage.py")
seed_bzimage = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(seed_bzimage)

UD2 = b"\x0f\x0b"
XSAVE_RAX = b"\x31\xc0\x31\xd2\x0f\xae\x20"  # xor eax,eax; xor edx,edx; xsave [rax]


def tiny(tmp_path, code):
    path = tmp_path / "tiny-bzImage"
    path.write_bytes(seed_bzimage.build(code))
    return str(path)


def test_triple_fault_exits_5(tmp_path):
    # No IDT at entry: #UD cannot be delivered, so the CPU shuts down.
    r = run_vmm(["boot", "--kernel", tiny(tmp_path, UD2), "--console",
                 "none"])
    assert r.returncode == EXIT_TRIPLE_FAULT, r.stderr
    assert "guest triple fault (shutdown) (exit status 5)" in r.stderr


def test_emulation_failure_is_reported_with_registers_and_code(tmp_path):
    r = run_vmm(["boot", "--kernel", tiny(tmp_path, XSAVE_RAX), "--console",
                 "none"])
    if not host_is_pvm():
        # Hardware runs xsave (or faults without CR4.OSXSAVE): no emulator.
        assert r.returncode in (EXIT_TRIPLE_FAULT, 0), r.stderr
        return
    assert r.returncode == EXIT_HOST_ERROR, r.stderr
    assert "instruction emulation failed" in r.stderr
    assert "rip 0000000001000204" in r.stderr  # after the two xors
    assert "0f ae 20" in r.stderr               # the bytes at rip
    assert "hint: this host is PVM-based" in r.stderr
