"""Stopping a running guest from the host: the kick that gets a vCPU out
of KVM_RUN, the escape key, signals, and the terminal restored after raw
mode. These stop the guest early, so they cost seconds, not a boot."""
import os
import pty
import signal
import subprocess
import termios
import time

from conftest import EXIT_STOPPED, VMM, Boot


def boot_args(images):
    return ["--kernel", images["bzImage"], "--initrd", images["initrd"]]


def test_escape_key_stops_running_guest(images):
    b = Boot(boot_args(images), timeout=60)
    time.sleep(2)  # the vCPU is inside KVM_RUN, running the decompressor
    b.send(b"\x01x")
    rc = b.finish()
    assert rc == EXIT_STOPPED, b.stderr
    assert "stopping the guest (Ctrl-A x)" in b.stderr


def test_sigterm_stops_running_guest(images):
    b = Boot(boot_args(images), timeout=60)
    time.sleep(2)
    b.proc.send_signal(signal.SIGTERM)
    rc = b.finish()
    assert rc == EXIT_STOPPED, b.stderr
    assert "stopped on the host" in b.stderr


def test_sigterm_with_device_threads(images, tmp_path):
    """Device I/O threads (rng, net, disk) must not take SIGTERM's default
    action: the process reports 130 like without them."""
    disk = tmp_path / "d.img"
    disk.write_bytes(b"\0" * 65536)
    b = Boot(boot_args(images) + ["--rng", "--net", "user", "--disk",
                                  str(disk)], timeout=60)
    time.sleep(2)
    for _ in range(3):  # several, so a thread that could take one would
        b.proc.send_signal(signal.SIGTERM)
        time.sleep(0.05)
    rc = b.finish()
    assert rc == EXIT_STOPPED, b.stderr
    assert "stopped on the host" in b.stderr


def test_terminal_restored_after_raw_mode(images):
    master, slave = pty.openpty()
    before = termios.tcgetattr(slave)
    proc = subprocess.Popen([VMM, "boot"] + boot_args(images),
                            stdin=slave, stdout=slave, stderr=slave)
    try:
        deadline = time.monotonic() + 30
        raw = False
        while time.monotonic() < deadline:
            now = termios.tcgetattr(slave)
            if not now[3] & termios.ICANON:  # lflag: canonical mode off
                raw = True
                break
            time.sleep(0.05)
        assert raw, "vmm did not put the terminal in raw mode"
        os.write(master, b"\x01x")
        rc = proc.wait(timeout=30)
        after = termios.tcgetattr(slave)
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
        os.close(slave)
    assert rc == EXIT_STOPPED
    assert after == before


def test_escape_works_behind_input_the_guest_has_not_read(images):
    # Early in boot nothing reads the UART: typed input queues in the VMM
    # (never dropped), and the escape key must still get through at once.
    b = Boot(boot_args(images), timeout=60)
    b.send(b"a" * 3000)
    time.sleep(1)
    b.send(b"\x01x")
    rc = b.finish()
    assert rc == EXIT_STOPPED, b.stderr
    assert "stopping the guest (Ctrl-A x)" in b.stderr
