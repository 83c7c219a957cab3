"""Boot the real test kernel. Four boots run side by side and are shared
by all checks here; on a PVM-based host each takes a minute or two. Each
boot also covers a kernel format: bzImage (plain), gzip-compressed
bzImage (reboot) and vmlinux through the 64-bit ELF protocol (panic).

On PVM-based hosts guest user space cannot make system calls: the kernel
reaches `Run /init`, init dies at its first syscall and the kernel panics.
The reboot and panic paths are therefore driven from the kernel itself,
with Magic SysRq over the serial console (Ctrl-A b, then the key), sent
once the console is open (after "Freeing unused kernel image").
"""
import gzip

import pytest

from conftest import (EXIT_OK, EXIT_PANIC, EXIT_STOPPED, Boot, host_is_pvm,
                      need_userspace)

PVM = host_is_pvm()
CONSOLE_OPEN = "Freeing unused kernel image"


@pytest.fixture(scope="module")
def boots(images, tmp_path_factory):
    base = ["--kernel", images["bzImage"], "--initrd", images["initrd"]]
    bz_gz = tmp_path_factory.mktemp("boot") / "bzImage.gz"
    with open(images["bzImage"], "rb") as f:
        bz_gz.write_bytes(gzip.compress(f.read(), 1))
    initrd = ["--initrd", images["initrd"], "--append", "vmm.end=shell"]
    started = {
        # Plain boot: init reboots where it can run (vmm.end=reboot).
        "plain": Boot(base + ["--boot-trace", "--append", "vmm.end=reboot"]),
        # Kernel-driven reboot and panic; init waits in a shell if it runs.
        "reboot": Boot(["--kernel", str(bz_gz), "-v"] + initrd,
                       trigger=(CONSOLE_OPEN, b"\x01bb")),
        "panic": Boot(["--kernel", images["vmlinux"], "--kernel-format",
                       "elf", "-v"] + initrd,
                      trigger=(CONSOLE_OPEN, b"\x01bc")),
        # RAM above the 32-bit hole: stopped once the kernel has read e820
        # (earlyprintk, since initialising 5 GiB of page structs before the
        # console comes up would take minutes here).
        # (vmm.end=shell: init waits where it runs, never racing Ctrl-A x.)
        "bigmem": Boot(base + ["--memory", "5G", "--append",
                               "earlyprintk=serial,ttyS0,115200 "
                               "vmm.end=shell"],
                       trigger=("Zone ranges", b"\x01x")),
    }
    yield started
    for b in started.values():
        b.kill()


@pytest.fixture(scope="module")
def plain(boots):
    b = boots["plain"]
    b.wait_for("Run /init as init process")
    b.rc = b.finish()
    return b


def test_kernel_reaches_init(plain):
    assert "Linux version" in plain.console
    assert "Run /init as init process" in plain.console


def test_plain_boot_exit_status(plain):
    if PVM:
        # init dies at its first syscall here: the kernel panics, and the
        # VMM must report that as a panic, not as a clean reboot.
        assert "Attempted to kill init" in plain.console
        assert plain.rc == EXIT_PANIC, plain.stderr
    else:
        assert "VMM-INIT: userspace reached" in plain.console
        assert plain.rc == EXIT_OK, plain.stderr


def test_init_marker_in_userspace(plain):
    need_userspace()
    assert "VMM-INIT: userspace reached" in plain.console


def test_host_options_added_on_pvm(plain):
    cmdline = next(l for l in plain.lines if "Command line:" in l)
    if PVM:
        assert "PVM-based host: adding the kernel options" in plain.stderr
        assert "noxsave" in cmdline and "clearcpuid=" in cmdline
    else:
        assert "noxsave" not in cmdline


def test_stats_report_timeline_and_exits(plain):
    assert "reached 'Run /init' after" in plain.stderr
    assert "exits pio" in plain.stderr


def test_boot_trace_of_a_real_kernel(plain):
    trace = {l.split("boot trace: ")[1][:28].strip(): l
             for l in plain.stderr.splitlines() if "boot trace: " in l}
    for what in ("first guest instruction", "first console output",
                 "'Run /init' on the console", "VM stopped"):
        assert trace[what].rstrip().endswith(" ms"), trace
    # The marker comes from init, which runs only where user space can.
    marker = trace["user space marker (port)"]
    assert marker.rstrip().endswith("never" if PVM else " ms"), marker


def test_console_fed_line_by_line(plain):
    # The kernel's own e820 report proves the zero page reached the guest.
    assert any("BIOS-e820" in l and "usable" in l for l in plain.lines)


def test_guest_reboot_exits_zero(boots):
    b = boots["reboot"]
    rc = b.finish()
    assert b.triggered
    # SysRq-b resets at once; its "sysrq: Resetting" line may never reach
    # the console, so the proof is the clean exit without a panic.
    assert "Kernel panic" not in b.console
    assert rc == EXIT_OK, b.stderr
    assert "guest rebooted (exit status 0)" in b.stderr
    assert "bzImage.gz: bzimage (gzip)" in b.stderr


def test_guest_panic_exits_with_panic_code(boots):
    b = boots["panic"]
    b.wait_for("Kernel panic - not syncing: sysrq triggered crash")
    rc = b.finish()
    assert rc == EXIT_PANIC, b.stderr
    assert "guest kernel panic (exit status 4)" in b.stderr
    assert "ELF, 64-bit boot protocol, entry 0x1000000" in b.stderr


def test_ram_above_4g_in_e820(boots):
    b = boots["bigmem"]
    rc = b.finish()
    assert rc == EXIT_STOPPED, b.stderr
    e820 = [l for l in b.lines if "BIOS-e820" in l]
    # 3 GiB below the hole, the other 2 GiB from 4 GiB up.
    assert any("[mem 0x0000000000100000-0x00000000bfffffff] usable" in l
               for l in e820), e820
    assert any("[mem 0x0000000100000000-0x000000017fffffff] usable" in l
               for l in e820), e820
