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


# Which tier runs the suite (README "Tests"): "host" is the machine as it
# is; "nested" is inside scripts/testhost's emulated normal-KVM host, where
# guest user space runs, so nothing may skip for the lack of it there.
TIER = os.environ.get("VMM_TIER", "host")
NO_USERSPACE = "guest user space cannot make system calls on PVM-based hosts"
# The test host's runner is tested from outside it, in the host tier.
collect_ignore = ["test_testhost.py"] if TIER == "nested" else []


def host_is_pvm():
    return pathlib.Path("/sys/module/kvm_pvm").exists()


def need_userspace():
    """Skip where guest user space cannot run (PVM-based hosts); in the
    nested tier that would be a broken test host, so it fails."""
    if not host_is_pvm():
        return
    if TIER == "nested":
        pytest.fail("the nested tier must run guest user space, but this "
                    "host is PVM-based")
    pytest.skip(NO_USERSPACE)


def takes_o_direct(path):
    """Whether path's file system lets it be opened with O_DIRECT (tmpfs
    before Linux 6.6 does not)."""
    try:
        os.close(os.open(path, os.O_RDONLY | os.O_DIRECT))
        return True
    except OSError:
        return False


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
        self.err_lines = []
        self._err_cond = threading.Condition()
        self._err_done = False
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
        for raw in self.proc.stderr:
            with self._err_cond:
                self.err_lines.append(
                    raw.decode("utf-8", "replace").rstrip("\r\n"))
                self._err_cond.notify_all()
        with self._err_cond:
            self._err_done = True
            self._err_cond.notify_all()

    @property
    def stderr(self):
        """vmm's messages so far, one string."""
        with self._err_cond:
            return "".join(l + "\n" for l in self.err_lines)

    def wait_stderr(self, text):
        """Wait until one of vmm's messages contains text; return it."""
        with self._err_cond:
            while True:
                for line in self.err_lines:
                    if text in line:
                        return line
                if self._err_done or not self._err_cond.wait(
                        timeout=self._remaining()) and not self._remaining():
                    break
        self.kill()
        pytest.fail(f"vmm never said {text!r}; its messages:\n"
                    + self.stderr)

    def _remaining(self):
        return max(0.0, self.deadline - time.monotonic())

    def wait_for(self, text, within=None):
        """Consume console lines until one contains text; return it.
        within=SECONDS: raise TimeoutError after that long instead of
        failing the test at the boot's deadline."""
        for line in self.lines:
            if text in line:
                return line
        end = None if within is None else time.monotonic() + within
        while True:
            wait = self._remaining()
            if end is not None:
                wait = min(wait, max(0.0, end - time.monotonic()))
            try:
                line = self._q.get(timeout=wait)
            except queue.Empty:
                if end is not None and self._remaining():
                    raise TimeoutError(text)
                self.kill()
                pytest.fail(f"timeout waiting for {text!r}" + self._context())
            if line is None:
                pytest.fail(f"console ended before {text!r}"
                            + self._context())
            self.lines.append(line)
            if text in line:
                return line

    def started(self):
        """Wait for the guest's first console line (set-up is over: files,
        ports and devices are open); False if vmm ended before that."""
        if self.lines:
            return True
        try:
            line = self._q.get(timeout=self._remaining())
        except queue.Empty:
            self.kill()
            pytest.fail("no console output in time:\n" + self.stderr)
        if line is None:
            self._q.put(None)
            return False
        self.lines.append(line)
        return True

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
            self._drain()
            pytest.fail("vmm did not end in time" + self._context())
        self._out.join(timeout=10)
        self._err.join(timeout=10)
        self._drain()
        return rc

    def _context(self):
        """For a failure: the last console lines, and vmm's messages."""
        return ("; last lines:\n" + "\n".join(self.lines[-20:])
                + "\nstderr:\n" + self.stderr)

    def _drain(self):
        """Move the console lines no wait_for() consumed into lines."""
        while True:
            try:
                line = self._q.get_nowait()
            except queue.Empty:
                break
            if line is not None:
                self.lines.append(line)

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


def pytest_terminal_summary(terminalreporter):
    """One summary per tier: counts, then every skip with its reason; also
    written to $VMM_TIER_SUMMARY for make test's final report."""
    stats = terminalreporter.stats
    counts = {k: len([r for r in stats.get(k, []) if getattr(r, "when", "call")
                      in ("call", "setup")])
              for k in ("passed", "failed", "error", "skipped")}
    lines = [f"tier {TIER}: " + ", ".join(f"{n} {k}" for k, n in
                                          counts.items())]
    for r in stats.get("skipped", []):
        reason = r.longrepr[2] if isinstance(r.longrepr, tuple) else str(
            r.longrepr)
        lines.append(f"  skipped {r.nodeid}: {reason.removeprefix('Skipped: ')}")
    for k in ("failed", "error"):
        for r in stats.get(k, []):
            lines.append(f"  {k} {r.nodeid}")
    terminalreporter.write_sep("=", f"tier {TIER} summary")
    for line in lines:
        terminalreporter.write_line(line)
    out = os.environ.get("VMM_TIER_SUMMARY")
    if out:
        pathlib.Path(out).write_text("\n".join(lines) + "\n")
