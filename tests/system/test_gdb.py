"""The gdb stub (--gdb, --gdb-wait) against the test vmlinux (PVH).

Debian's gdb drives one full session: attach before the first guest
instruction, break in kernel_init, read registers and kernel memory, step,
delete the breakpoint and let the boot run to its end. Without an initrd
the test kernel panics once it finds no root file system, so the VMM exits
4 (guest panic) about 30 s after start on a PVM-based host; gdb reports
that as "exited with code 04". A second gdb session ends with `kill`
(exit 130), and a raw protocol client checks what gdb does not exercise:
attaching to a running guest, Ctrl-C, malformed packets, watchpoints.

On PVM-based hosts (guest kernel code emulated by KVM) `break` works
through hardware breakpoints: the stub maps Z0 to a debug register because
the emulator cannot execute int3; watchpoints are refused there, as the
emulator ignores data breakpoints.
"""
import re
import shutil
import socket
import subprocess
import time

import pytest

from conftest import EXIT_PANIC, EXIT_STOPPED, Boot, host_is_pvm

GDB = "/usr/bin/gdb"
GDB_TIMEOUT = 120  # a boot to the panic takes ~30 s on a PVM host


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_listening(port, boot, timeout=30):
    """Wait for the stub's socket without connecting to it (a connection
    is a debugger session): look for it in /proc/net/tcp."""
    want = ":%04X" % port
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open("/proc/net/tcp") as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if fields[1].endswith(want) and fields[3] == "0A":
                    return
        if boot.proc.poll() is not None:
            pytest.fail("vmm ended before listening:\n" + boot.stderr)
        time.sleep(0.05)
    boot.kill()
    pytest.fail(f"vmm did not listen on port {port} within {timeout} s")


def need_gdb():
    if not shutil.which(GDB):
        pytest.skip(f"{GDB} missing: scripts/install-deps.sh installs gdb")


def run_gdb(vmlinux, port, commands, boot):
    args = [GDB, "-batch", "-nx", "-ex", "set pagination off",
            "-ex", "set confirm off", "-ex", f"target remote :{port}"]
    for c in commands:
        args += ["-ex", c]
    args.append(vmlinux)
    try:
        r = subprocess.run(args, capture_output=True, text=True,
                           timeout=GDB_TIMEOUT, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        boot.kill()
        pytest.fail(f"gdb did not finish in {GDB_TIMEOUT} s; output:\n"
                    f"{e.stdout}\nconsole:\n" + "\n".join(boot.lines[-20:]))
    return r.stdout + r.stderr


def symbol(vmlinux, name):
    out = subprocess.run([GDB, "-batch", "-nx", "-ex", f"info address {name}",
                          vmlinux], capture_output=True, text=True,
                         timeout=60).stdout
    m = re.search(r"is at (0x[0-9a-f]+)", out)
    assert m, f"no address for {name} in gdb's answer: {out}"
    return int(m.group(1), 16)


def test_gdb_session_break_step_continue(images):
    """Attach before the first instruction, break in kernel_init, look
    around, step, break again, then let the boot run on to its panic
    (exit 4)."""
    need_gdb()
    vmlinux = images["vmlinux"]
    port = free_port()
    t0 = time.monotonic()
    b = Boot(["--kernel", vmlinux, "--gdb", f"tcp:127.0.0.1:{port}",
              "--gdb-wait"], timeout=GDB_TIMEOUT + 30)
    wait_listening(port, b)
    out = run_gdb(vmlinux, port, [
        "info registers rip",
        "break kernel_init",
        "continue",
        "info registers rip",
        "p $pc",
        "p (char *)&linux_banner",
        "p/x (unsigned long)jiffies",
        "p/x $cr0",
        "info threads",
        "stepi",
        "p $pc",
        # Set with paging on: an int3 on ordinary hosts, a debug register
        # on PVM ones.
        "break do_one_initcall",
        "continue",
        "delete",
        "continue",
    ], b)
    rc = b.finish()
    took = time.monotonic() - t0
    print(out, f"\nsession took {took:.1f} s")
    assert "Breakpoint 1, 0x" in out and "in kernel_init ()" in out, out
    # info registers rip / p $pc at the breakpoint, then one step further.
    assert re.search(r"rip\s+0xffffffff[0-9a-f]+\s+0xffffffff[0-9a-f]+ "
                     r"<kernel_init>", out), out
    assert re.search(r"= \(void \(\*\)\(\)\) 0x[0-9a-f]+ <kernel_init>\n",
                     out), out
    assert re.search(r"<linux_banner> \"Linux version 6\.", out), out
    assert re.search(r"= 0x8005003[0-9a-f]", out), out  # cr0: PG, WP, PE
    assert "Thread 1 (vCPU 0)" in out, out
    assert re.search(r"<kernel_init\+\d+>", out), out  # after stepi
    assert "Breakpoint 2, 0x" in out and "in do_one_initcall ()" in out, out
    assert "exited with code 04" in out, out
    assert rc == EXIT_PANIC, b.stderr
    assert "gdb: waiting for a debugger on 127.0.0.1:%d" % port in b.stderr
    assert "Kernel panic - not syncing" in b.console


def test_gdb_hbreak_then_kill(images):
    """An explicit hardware breakpoint early in the boot, then kill: the
    VMM ends as if stopped on the host (exit 130)."""
    need_gdb()
    vmlinux = images["vmlinux"]
    port = free_port()
    b = Boot(["--kernel", vmlinux, "--gdb", str(port), "--gdb-wait"],
             timeout=90)
    wait_listening(port, b)
    out = run_gdb(vmlinux, port, [
        "hbreak start_kernel",
        "continue",
        "x/2i $pc",
        "kill",
    ], b)
    rc = b.finish()
    assert "Hardware assisted breakpoint 1" in out, out
    assert "in start_kernel ()" in out, out
    assert "=> 0xffffffff" in out and "<start_kernel>:" in out, out
    assert rc == EXIT_STOPPED, b.stderr
    assert "the debugger killed the VM" in b.stderr


class Rsp:
    """A minimal gdb remote protocol client: what gdb would send."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=20)
        self.buf = b""

    def raw(self, data):
        self.sock.sendall(data)

    def send(self, data):
        body = data.encode() if isinstance(data, str) else data
        self.raw(b"$%s#%02x" % (body, sum(body) & 0xff))

    def _byte(self):
        if not self.buf:
            chunk = self.sock.recv(4096)
            if not chunk:
                return None
            self.buf = chunk
        c, self.buf = self.buf[:1], self.buf[1:]
        return c

    def ack_or_nack(self):
        while True:
            c = self._byte()
            if c in (b"+", b"-", None):
                return c

    def recv(self):
        """The next packet, checksum verified and acknowledged."""
        while True:
            c = self._byte()
            if c is None:
                return None
            if c != b"$":
                continue  # acks
            body = b""
            while (c := self._byte()) != b"#":
                assert c is not None, "connection closed inside a packet"
                body += c
            csum = self._byte() + self._byte()
            assert int(csum, 16) == sum(body) & 0xff, body
            self.raw(b"+")
            return body.decode("latin-1")

    def cmd(self, data):
        self.send(data)
        return self.recv()


def test_protocol_attach_interrupt_and_errors(images):
    """Attach to a running guest, interrupt it with ^C, and send what a
    debugger should not: nothing crashes, errors come back."""
    vmlinux = images["vmlinux"]
    banner = symbol(vmlinux, "linux_banner") if shutil.which(GDB) else None
    port = free_port()
    b = Boot(["--kernel", vmlinux, "--gdb", f"127.0.0.1:{port}"], timeout=90)
    wait_listening(port, b)
    b.wait_for("Linux version")  # running in the kernel's own mappings
    g = Rsp(port)
    assert g.cmd("?").startswith("T05thread:1;")  # halted on connect
    assert "qXfer:features:read+" in g.cmd("qSupported:xmlRegisters=i386")
    regs = g.cmd("g")
    assert len(regs) == 2 * 608, regs
    rip = int.from_bytes(bytes.fromhex(regs[256:272]), "little")
    assert rip >= 0xffffffff80000000, hex(rip)  # kernel text
    if banner:
        mem = bytes.fromhex(g.cmd("m%x,d" % banner))
        assert mem == b"Linux version", mem
    # Malformed or unknown: an error or an empty reply, never a crash.
    assert g.cmd("mzz") == "E01"
    assert g.cmd("P99=00") == "E01"
    assert g.cmd("qNoSuchThing") == ""
    assert g.cmd("m0,0") == ""
    g.raw(b"$g#00")  # bad checksum
    assert g.ack_or_nack() == b"-"
    g.raw(b"junk between packets")
    assert g.cmd("x" * 5000) == "E01"  # oversize
    assert g.cmd("T1") == "OK" and g.cmd("T2") == "E01"
    # Watchpoints: refused where the emulator ignores data breakpoints.
    if host_is_pvm():
        assert g.cmd("Z2,%x,4" % banner if banner else "Z2,1000,4") == "E0e"
    else:
        assert g.cmd("Z2,1000,4") == "OK"
        assert g.cmd("z2,1000,4") == "OK"
    # One step, then run and interrupt.
    assert g.cmd("vCont;s:1").startswith("T05thread:1;")
    g.send("vCont;c")
    time.sleep(1)
    g.raw(b"\x03")
    assert g.recv().startswith("T02thread:1;")
    g.send("k")
    assert g.recv() is None  # the VMM closes the connection and ends
    rc = b.finish()
    assert rc == EXIT_STOPPED, b.stderr
