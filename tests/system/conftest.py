"""Shared helpers for system tests: run vmm, watch its console, feed input.

Every boot costs minutes on PVM-based hosts (guest kernel mode is emulated),
so boots are few and each one is shared by several checks.
"""
import os
import pathlib
import queue
import subprocess
import threading
import time

import pytest

TOP = pathlib.Path(__file__).resolve().parents[2]
VMM = os.environ.get("VMM", str(TOP / "build" / "vmm"))
IMAGES = pathlib.Path(os.environ.get(
    "VMM_IMAGES",
    pathlib.Path(os.environ.get("XDG_CACHE_HOME", pathlib.Path.home() / ".cache"))
    / "vmm" / "test-images"))
BOOT_TIMEOUT = int(os.environ.get("VMM_BOOT_TIMEOUT", "900"))

# Exit codes (README.md "Exit status").
EXIT_OK, EXIT_HOST_ERROR, EXIT_USAGE, EXIT_SETUP = 0, 1, 2, 3
EXIT_PANIC, EXIT_TRIPLE_FAULT, EXIT_STOPPED = 4, 5, 130


def host_is_pvm():
    return pathlib.Path("/sys/module/kvm_pvm").exists()


def image(name):
    path = IMAGES / name
    if not path.exists():
        pytest.fail(f"test image {path} missing: run scripts/build-test-images.sh")
    return str(path)


class Boot:
    """One running vmm process with its console captured line by line."""

    def __init__(self, args, timeout=BOOT_TIMEOUT, trigger=None, prefix=()):
        """trigger=(text, data): send data to the console once a line
        containing text appears (from the reader thread, so boots that
        run side by side each get their input at the right moment).
        prefix: a command vmm runs under (ip netns exec NS)."""
        self.args = list(prefix) + [VMM, "boot"] + args
        self.trigger = trigger
        self.triggered = False
        self.deadline = time.monotonic() + timeout
        self.proc = subprocess.Popen(
            self.args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE)
        self.lines = []
        self.stderr = ""
        self._q = queue.Queue()
        self._out = threading.Thread(target=self._read_stdout, daemon=True)
        self._err = threading.Thread(target=self._read_stderr, daemon=True)
        self._out.start()
        self._err.start()

    def _read_stdout(self):
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\r\n")
            if self.trigger and not self.triggered and self.trigger[0] in line:
                self.triggered = True
                try:
                    self.send(self.trigger[1])
                except OSError:
                    pass
            self._q.put(line)
        self._q.put(None)

    def _read_stderr(self):
        self.stderr = self.proc.stderr.read().decode("utf-8", "replace")

    def _remaining(self):
        return max(0.0, self.deadline - time.monotonic())

    def wait_for(self, text):
        """Consume console lines until one contains text; return it."""
        for line in self.lines:
            if text in line:
                return line
        while True:
            try:
                line = self._q.get(timeout=self._remaining())
            except queue.Empty:
                self.kill()
                pytest.fail(f"timeout waiting for {text!r}; last lines:\n"
                            + "\n".join(self.lines[-20:]))
            if line is None:
                pytest.fail(f"console ended before {text!r}; last lines:\n"
                            + "\n".join(self.lines[-20:])
                            + "\nstderr:\n" + self.stderr)
            self.lines.append(line)
            if text in line:
                return line

    def send(self, data):
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def sysrq(self, key):
        """Ctrl-A b sends a break; the next key is Magic SysRq."""
        self.send(b"\x01b" + key)

    def finish(self):
        """Wait for the process to end; return its exit status."""
        try:
            rc = self.proc.wait(timeout=self._remaining())
        except subprocess.TimeoutExpired:
            self.kill()
            pytest.fail("vmm did not end in time; last lines:\n"
                        + "\n".join(self.lines[-20:]))
        self._out.join(timeout=10)
        self._err.join(timeout=10)
        while True:
            try:
                line = self._q.get_nowait()
            except queue.Empty:
                break
            if line is not None:
                self.lines.append(line)
        return rc

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    @property
    def console(self):
        return "\n".join(self.lines)


def run_vmm(args, timeout=60):
    """Run a vmm command that does not boot a guest."""
    return subprocess.run([VMM] + args, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


@pytest.fixture(scope="session")
def images():
    return {"bzImage": image("bzImage"), "vmlinux": image("vmlinux"),
            "initrd": image("initramfs.cpio")}
