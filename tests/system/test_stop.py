"""Stopping a running guest from the host: the kick that gets a vCPU out
of KVM_RUN, the escape key, signals, and the terminal restored after raw
mode.

The guest is a tiny bzImage (so vmm treats it as a Linux kernel and adds
its default virtio-rng) that prints one line to COM1 and then spins at
CPL0 (`jmp $`): once its line is on the console, the vCPU is inside
KVM_RUN with no exits, and only a kick from the host gets it out. Each
test waits for that line, never for a fixed time, so it holds on a
PVM-based host, a normal KVM and an emulated host alike."""
import contextlib
import os
import platform
import pty
import select
import signal
import subprocess
import termios
import time

import pytest

from conftest import EXIT_STOPPED, VMM, Boot
from guests import bzimage, spinner

READY = "vmm-test: spinning"
DEADLINE = 120  # seconds; only a bound for a broken run, never waited out
STOP_SIGNALS = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP]


@pytest.fixture
def kernel(tmp_path):
    path = tmp_path / "spin-bzImage"
    path.write_bytes(bzimage(spinner(READY.encode() + b"\n")))
    return str(path)


@contextlib.contextmanager
def signals_not_ignored():
    """A signal ignored here (pytest under nohup, or a background job of
    a non-interactive shell) stays ignored in the child across exec, and
    vmm would then never see it; a handler here is reset to the default
    in the child. Restored afterwards."""
    saved = {}
    for sig in STOP_SIGNALS:
        if signal.getsignal(sig) == signal.SIG_IGN:
            saved[sig] = signal.signal(sig, lambda *_: None)
    try:
        yield
    finally:
        for sig, old in saved.items():
            signal.signal(sig, old)


def start(kernel, *extra):
    """vmm with the spinning guest, returned once its line is out."""
    with signals_not_ignored():
        b = Boot(["--kernel", kernel] + list(extra), timeout=DEADLINE)
    b.wait_for(READY)
    return b


def assert_stopped_by_signal(rc, stderr, sig):
    assert rc == EXIT_STOPPED, stderr
    assert f"vmm: stopping the guest (signal {int(sig)})" in stderr
    assert "vmm: stopped on the host (exit status 130)" in stderr


def test_escape_key_stops_running_guest(kernel):
    b = start(kernel)
    b.send(b"\x01x")
    rc = b.finish()
    assert rc == EXIT_STOPPED, b.stderr
    assert "vmm: stopping the guest (Ctrl-A x)" in b.stderr
    assert "vmm: stopped on the host (exit status 130)" in b.stderr


@pytest.mark.parametrize("sig", STOP_SIGNALS, ids=lambda s: s.name)
def test_signal_stops_running_guest(kernel, sig):
    b = start(kernel)
    b.proc.send_signal(sig)
    rc = b.finish()
    assert_stopped_by_signal(rc, b.stderr, sig)


SYS_OPENAT = 257  # x86_64


@pytest.mark.parametrize("sig", STOP_SIGNALS, ids=lambda s: s.name)
def test_signal_during_setup_exits_130(tmp_path, sig):
    """README "Exit status": 130 for SIGINT, SIGTERM or SIGHUP, a contract
    with scripts. A signal that comes while vmm still reads the kernel
    (before the guest exists) must give 130 too, not kill the process.
    A FIFO as the kernel holds vmm there: open() waits for a writer."""
    if platform.machine() != "x86_64":
        pytest.skip("reads the x86_64 syscall number from /proc/PID/syscall")
    fifo = tmp_path / "kernel-fifo"
    os.mkfifo(fifo)
    with signals_not_ignored():
        proc = subprocess.Popen([VMM, "boot", "--kernel", str(fifo)],
                                stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + DEADLINE
        while True:  # until vmm sits in openat() of the FIFO
            assert proc.poll() is None, proc.stderr.read()
            # openat() alone could be the dynamic loader opening a library
            # (slow over the emulated host's 9p); the FIFO waits for a
            # writer in wait_for_partner.
            with open(f"/proc/{proc.pid}/syscall") as f, \
                    open(f"/proc/{proc.pid}/wchan") as w:
                if (f.read().split()[0] == str(SYS_OPENAT)
                        and w.read().strip() == "wait_for_partner"):
                    break
            if time.monotonic() > deadline:
                pytest.fail("vmm never blocked opening the FIFO")
            time.sleep(0.01)
        proc.send_signal(sig)
        rc = proc.wait(timeout=DEADLINE)
        err = proc.stderr.read().decode("utf-8", "replace")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    how = f"killed by {signal.Signals(-rc).name}" if rc < 0 else f"exit {rc}"
    assert rc == EXIT_STOPPED, f"{how}, stderr: {err!r}"


PF_USER_WORKER, PF_KTHREAD = 0x4000, 0x200000


def blocked_signals(pid):
    """{tid: SigBlk mask} for every thread vmm made: not the kernel's own
    workers listed among them (kvm-nx-lpage-recovery on newer kernels)."""
    masks = {}
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/stat") as f:
            flags = int(f.read().rsplit(")", 1)[1].split()[6])
        if flags & (PF_USER_WORKER | PF_KTHREAD):
            continue
        with open(f"/proc/{pid}/task/{tid}/status") as f:
            for line in f:
                if line.startswith("SigBlk:"):
                    masks[int(tid)] = int(line.split()[1], 16)
    return masks


def test_sigterm_with_device_threads(kernel, tmp_path):
    """Device I/O threads (rng, net, disk) must not take SIGTERM's default
    action: every thread blocks the stop signals (only the main loop reads
    them, from a signalfd), and the process reports 130 like without
    them."""
    disk = tmp_path / "d.img"
    disk.write_bytes(b"\0" * 65536)
    b = start(kernel, "--rng", "--net", "user", "--disk", str(disk))
    masks = blocked_signals(b.proc.pid)
    # main, the vCPU, and at least one I/O thread each for disk and net
    assert len(masks) >= 4, masks
    for tid, mask in masks.items():
        for sig in STOP_SIGNALS:
            assert mask & (1 << (int(sig) - 1)), \
                f"thread {tid} does not block {sig.name}: {mask:#x}"
    for _ in range(3):  # several, so a thread that could take one would
        b.proc.send_signal(signal.SIGTERM)
    rc = b.finish()
    assert_stopped_by_signal(rc, b.stderr, signal.SIGTERM)


def test_escape_works_behind_input_the_guest_has_not_read(kernel):
    # The guest never reads the UART: typed input queues in the VMM
    # (never dropped), and the escape key must still get through at once.
    b = start(kernel)
    b.send(b"a" * 3000 + b"\x01x")
    rc = b.finish()
    assert rc == EXIT_STOPPED, b.stderr
    assert "vmm: stopping the guest (Ctrl-A x)" in b.stderr


# ---- on a terminal: raw mode while the guest runs, restored on exit ------

def read_until(fd, text, deadline):
    """Read the pty master until text has appeared; all bytes read."""
    out = b""
    while text not in out:
        left = deadline - time.monotonic()
        if left <= 0:
            pytest.fail(f"timeout waiting for {text!r}; got {out!r}")
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:  # EIO: no writer left
                chunk = b""
            if not chunk:
                pytest.fail(f"terminal closed before {text!r}; got {out!r}")
            out += chunk
    return out


def drain(fd):
    """What is left to read on the pty master now."""
    out = b""
    while select.select([fd], [], [], 0)[0]:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    return out


def escape_key(proc, master):
    os.write(master, b"\x01x")


def send_signal(sig):
    def stop(proc, master):
        proc.send_signal(sig)
    return stop


@pytest.mark.parametrize("stop,message", [
    (escape_key, "vmm: stopping the guest (Ctrl-A x)"),
    (send_signal(signal.SIGINT), "vmm: stopping the guest (signal 2)"),
    (send_signal(signal.SIGTERM), "vmm: stopping the guest (signal 15)"),
    (send_signal(signal.SIGHUP), "vmm: stopping the guest (signal 1)"),
], ids=["ctrl-a-x", "SIGINT", "SIGTERM", "SIGHUP"])
def test_terminal_restored_after_raw_mode(kernel, stop, message):
    master, slave = pty.openpty()
    before = termios.tcgetattr(slave)
    deadline = time.monotonic() + DEADLINE
    with signals_not_ignored():
        proc = subprocess.Popen([VMM, "boot", "--kernel", kernel],
                                stdin=slave, stdout=slave, stderr=slave)
    try:
        out = read_until(master, READY.encode(), deadline)
        # The console is opened (and the terminal made raw) before the
        # vCPU runs, so raw mode is on once the guest has printed.
        during = termios.tcgetattr(slave)
        stop(proc, master)
        rc = proc.wait(timeout=DEADLINE)
        after = termios.tcgetattr(slave)
        out += drain(master)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
        os.close(slave)
    text = out.decode("utf-8", "replace")
    assert not during[3] & termios.ICANON, "terminal not in raw mode"
    assert not during[3] & termios.ECHO, "terminal still echoes"
    assert during != before
    assert rc == EXIT_STOPPED, text
    assert message in text
    assert after == before
