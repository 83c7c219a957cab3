"""Script mode: the guest's own exit status, --timeout, the console log,
the boot timeline, and the "-- CMD" form.

Tiny guests (a few instructions at the 64-bit entry of a raw image) run
in milliseconds even where guest kernel mode is emulated."""
import time

from conftest import EXIT_USAGE, Boot, need_userspace, run_vmm
from guests import printer

EXIT_TIMEOUT = 124


# mov dx,0x502; out dx,al (boot timer); mov dx,0x501; mov al,3; out dx,al
EXIT3 = bytes.fromhex("66ba0205 ee 66ba0105 b003 ee f4 ebfd")
HANG = bytes.fromhex("fa f4 ebfd")                             # cli; hlt


def tiny(tmp_path, code, *args):
    path = tmp_path / "tiny.bin"
    path.write_bytes(code)
    return run_vmm(["boot", "--kernel", str(path), "--kernel-format", "raw"]
                   + list(args))


def test_guest_exit_status_through_debug_exit_port(tmp_path):
    r = tiny(tmp_path, printer(b"bye\n", EXIT3))
    assert r.returncode == 3, r.stderr
    assert r.stdout == "bye\n"
    assert "guest wrote exit status 3 to the debug-exit port" in r.stderr


def test_timeout_exits_124_and_says_where_the_guest_was(tmp_path):
    t0 = time.monotonic()
    r = tiny(tmp_path, printer(b"waiting forever\n", HANG), "--timeout", "2")
    took = time.monotonic() - t0
    assert r.returncode == EXIT_TIMEOUT, r.stderr
    # Not before the deadline; the upper bound only catches "never" (a
    # loaded emulated host may take seconds to start the process).
    assert 2 <= took < 30, took
    assert "still running after 2 s" in r.stderr
    assert "timeout: vCPU 0 was at pc 0x1000" in r.stderr
    assert "timeout: last console line: waiting forever" in r.stderr


def test_console_log_copies_output(tmp_path):
    log = tmp_path / "console.log"
    r = tiny(tmp_path, printer(b"to both\n", EXIT3), "--console-log",
             str(log))
    assert r.returncode == 3, r.stderr
    assert r.stdout == "to both\n"
    assert log.read_text() == "to both\n"


def test_boot_trace_timeline(tmp_path):
    r = tiny(tmp_path, printer(b"x\n", EXIT3), "--boot-trace")
    assert r.returncode == 3, r.stderr
    for what in ("first guest instruction", "first console output",
                 "user space marker (port)", "VM stopped"):
        line = next(l for l in r.stderr.splitlines() if what in l)
        assert line.rstrip().endswith(" ms"), line
    assert "exits pio" in r.stderr
    # The VMM's own memory next to the guest RAM it touched.
    assert "memory: RSS " in r.stderr and " KiB + VMM " in r.stderr


def test_bad_timeout_and_empty_command_are_usage_errors(tmp_path):
    assert run_vmm(["boot", "--kernel", "/x", "--timeout", "soon"]
                   ).returncode == EXIT_USAGE
    r = run_vmm(["boot", "--kernel", "/x", "--"])
    assert r.returncode == EXIT_USAGE
    assert "nothing after '--'" in r.stderr


def test_command_status_becomes_exit_status(images):
    need_userspace()
    b = Boot(["--kernel", images["vmlinux"], "--initrd", images["initrd"],
              "--boot-trace", "--", "echo from the guest; exit 7"])
    rc = b.finish()
    # A line of its own: the kernel's echo of its command line (which
    # carries the command) does not count.
    assert "from the guest" in b.lines
    assert "VMM-INIT: exit status 7" in b.console
    assert rc == 7, b.stderr
    marker = next(l for l in b.stderr.splitlines()
                  if "user space marker" in l)
    assert marker.rstrip().endswith(" ms"), marker


def test_command_status_zero_and_smp_userspace(images):
    """Status 0 comes through as 0, user space sees every vCPU, and several
    words after -- reach the guest as the same argv (sh -c 'a; b')."""
    need_userspace()
    b = Boot(["--kernel", images["bzImage"], "--initrd", images["initrd"],
              "--cpus", "3", "--", "sh", "-c",
              "echo cpus=$(nproc) online=$(cat /sys/devices/system/cpu/online)"])
    rc = b.finish()
    assert "cpus=3 online=0-2" in b.lines, b.console[-2000:]
    assert "VMM-INIT: exit status 0" in b.console
    assert rc == 0, b.stderr
