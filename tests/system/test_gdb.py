"""The gdb stub (--gdb, --gdb-wait) against the test vmlinux (PVH).

Five boots, each shared by several checks:

1. A full boot on two vCPUs under Debian's gdb: attach before the first
   guest instruction, step until paging is on, read registers and kernel
   memory, break in kernel_init, step, break where only the second vCPU
   goes (its thread stops), list both vCPU threads, delete the breakpoints
   and let the boot run to its end. Without an initrd the test kernel
   panics once it finds no root file system, so the VMM exits 4 (guest
   panic); gdb, still waiting, reports that as "exited with code 04". The
   expensive boot on a PVM-based host (a minute or more).
2. A boot that never ends by itself (panic=0): gdb steps and detaches, the
   guest runs on; a raw protocol client attaches to the running guest,
   checks what gdb does not exercise (Ctrl-C, malformed packets,
   watchpoints) and detaches too; a last gdb attaches and kills the VM
   (exit 130).
3. Two vCPUs held at the first instruction, over the raw protocol: the
   threads, registers per thread, and which thread a stop reply makes
   current; then kill. No boot time at all.
4. Where guest user space runs and breakpoints fire: a breakpoint on the
   uname(2) syscall that only a command in the test initramfs reaches,
   then the command's exit status.
5. Where guest user space runs (breakpoints or not): gdb attaches to a
   guest busy with system calls until it stops in kernel code whose
   stack returns through the read or write path to do_syscall_64.

Every boot lets vmm pick the port (port 0) and reads it from vmm's
"gdb: waiting for a debugger on HOST:PORT" / "gdb: listening on HOST:PORT"
message, so no port is chosen, released and bound again.

Where breakpoints fire differs by host. On PVM-based hosts (guest kernel
code emulated by KVM) the emulator cannot execute int3, so the stub serves
Z0 with a debug register; watchpoints are refused there, as the emulator
ignores data breakpoints. On a CPU emulated by QEMU's TCG (the nested
tier's test host) no breakpoint of vmm's guest can fire; see
breakpoints_fire(). Everything else (stepping, registers, memory, threads,
Ctrl-C, detach, kill, exit statuses) is checked on every host.
"""
import contextlib
import functools
import re
import shutil
import signal
import socket
import subprocess

import pytest

from conftest import (BOOT_TIMEOUT, EXIT_PANIC, EXIT_STOPPED, Boot,
                      host_is_pvm, need_userspace)

GDB = "/usr/bin/gdb"
KERNEL_MAP = 0xffffffff80000000  # __START_KERNEL_map: virtual - physical

# A kernel without an initrd panics once it finds no root file system:
# about a second after start on a normal KVM, a minute or more on a
# PVM-based host. A test that talks to a running guest needs it alive until
# the test ends, on every host. panic=0 (appended, so it overrides the
# default panic=-1) makes the panicked kernel spin in panic() with
# interrupts on instead of resetting: still in kernel text, still in the
# kernel's page tables, and the VMM only notes the panic (its console
# watcher sets a flag that decides the status of a reset or shutdown, and
# there is none), so the VM runs until the test ends it. The initrd with
# vmm.end=shell would not do: on PVM-based hosts init dies at its first
# system call and the kernel panics anyway.
STAY_ALIVE = ["--append", "panic=0"]

# Before the kernel turns paging on (the PVH entry starts with it off) the
# stub can only serve `break` with a debug register, since the kernel's
# addresses are not mapped yet. A --gdb-wait session that wants a
# breakpoint first single-steps the boot CPU until paging is on (some 25
# instructions); `break` is then an int3 on a normal KVM and a debug
# register on PVM-based hosts, the one kind that works on each.
TO_PAGING = ("python n = 0\n"
             "while n < 10000 and not int(gdb.parse_and_eval('$cr0')) "
             "& 0x80000000: gdb.execute('stepi', to_string=True); n += 1\n"
             "print('paging on after %d steps' % n)")
PAGING_ON = re.compile(r"paging on after \d+ steps")


def need_gdb():
    if not shutil.which(GDB):
        pytest.skip(f"{GDB} missing: scripts/install-deps.sh installs gdb")


@functools.cache
def breakpoints_fire():
    """False on a CPU emulated by QEMU's TCG, as inside scripts/testhost:
    its SVM emulation lets no breakpoint of a nested guest reach KVM. An
    int3 is checked against the INTn intercept instead of KVM's #BP
    exception intercept, so the guest gets the #BP itself (and oopses:
    "int3: 0000 [#1]"), and the DR7 that VMRUN loads is never turned into
    TCG breakpoints, so debug registers never match (QEMU 7.2,
    target/i386/tcg: raise_interrupt2(), helper_vmrun()). Measured there:
    stepping works, `break` after paging kills the guest, `hbreak` never
    stops."""
    with open("/proc/cpuinfo") as f:
        return "QEMU TCG CPU" not in f.read()


def need_breakpoints():
    if not breakpoints_fire():
        pytest.skip("breakpoints of a nested guest cannot fire on this "
                    "QEMU TCG-emulated CPU (see breakpoints_fire)")


@contextlib.contextmanager
def gdb_boot(args, gdb_arg):
    """Boot with `--gdb gdb_arg` (port 0: vmm picks a free one); yield the
    boot and the port vmm logged. The VMM is killed on the way out, so a
    failing check never leaves a guest waiting for a debugger or spinning
    after panic=0."""
    wait = "--gdb-wait" in args
    b = Boot(["--gdb", gdb_arg] + args)  # args may end with "-- CMD"
    try:
        line = b.wait_stderr("gdb: waiting for a debugger on " if wait
                             else "gdb: listening on ")
        m = re.search(r" on 127\.0\.0\.1:(\d+)$", line)
        assert m, line
        port = int(m.group(1))
        assert 0 < port < 65536, line
        yield b, port
    finally:
        b.kill()


def run_gdb(vmlinux, port, commands, boot):
    # gdb gives up on the stub after 2 s by default; a loaded emulated host
    # may take longer to stop a busy guest on connect.
    args = [GDB, "-batch", "-nx", "-ex", "set pagination off",
            "-ex", "set confirm off", "-ex", "set remotetimeout 60"]
    if port:  # else the commands connect themselves
        args += ["-ex", f"target remote 127.0.0.1:{port}"]
    for c in commands:
        args += ["-ex", c]
    args.append(vmlinux)
    try:
        r = subprocess.run(args, capture_output=True, text=True,
                           timeout=BOOT_TIMEOUT, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired as e:
        boot.kill()
        pytest.fail(f"gdb did not finish in {BOOT_TIMEOUT} s; output:\n"
                    f"{e.stdout}\nconsole:\n" + "\n".join(boot.lines[-20:]))
    print(r.stdout + r.stderr)
    return r.stdout + r.stderr


def symbol(vmlinux, name):
    out = subprocess.run([GDB, "-batch", "-nx", "-ex", f"info address {name}",
                          vmlinux], capture_output=True, text=True,
                         timeout=60).stdout
    m = re.search(r"is at (0x[0-9a-f]+)", out)
    assert m, f"no address for {name} in gdb's answer: {out}"
    return int(m.group(1), 16)


def pvh_entry(vmlinux):
    """The physical address a PVH boot starts at (paging off)."""
    return symbol(vmlinux, "pvh_start_xen") - KERNEL_MAP


def test_gdb_session_two_vcpus_break_step_continue(images):
    """Attach before the first instruction, step until paging is on, look
    around; where breakpoints fire, break in kernel_init, step, break where
    only the second vCPU goes and see that its thread stopped; list both
    vCPU threads; then let the boot run on to its panic (exit 4) while gdb
    waits."""
    need_gdb()
    vmlinux = images["vmlinux"]
    bp = breakpoints_fire()
    cmds = ["info registers rip", TO_PAGING, "p/x $cr0",
            "p (char *)&linux_banner", "p/x (unsigned long)jiffies"]
    if bp:
        cmds += [
            "break kernel_init",
            "continue",
            "info registers rip",
            "p $pc",
            "p/x $cr0",
            "stepi",
            "p $pc",
            # Only the second vCPU runs it, once smp_init() has started
            # it; vCPU 0 runs meanwhile and must stop with it. (No `info
            # threads` before this stop: see
            # test_protocol_threads_and_the_stop_reply_thread.)
            "break start_secondary",
            "continue",
            "info threads",
            "delete",
        ]
    else:
        cmds += ["info threads"]
    cmds += ["continue"]
    with gdb_boot(["--kernel", vmlinux, "--cpus", "2", "--gdb-wait"],
                  "tcp:127.0.0.1:0") as (b, port):
        out = run_gdb(vmlinux, port, cmds, b)
        rc = b.finish()
    assert re.search(r"rip +0x%x " % pvh_entry(vmlinux), out), out
    assert PAGING_ON.search(out), out
    assert "= 0x80000011" in out, out  # cr0 once paging is on: PG, ET, PE
    # Kernel memory through the guest's page tables, from the first stop.
    assert re.search(r"<linux_banner> \"Linux version 6\.", out), out
    assert re.search(r"\$3 = 0x[0-9a-f]+\n", out), out  # jiffies
    if bp:
        assert "Breakpoint 1, 0x" in out and "in kernel_init ()" in out, out
        # info registers rip / p $pc at the breakpoint, then a step.
        assert re.search(r"rip\s+0xffffffff[0-9a-f]+\s+0xffffffff[0-9a-f]+ "
                         r"<kernel_init>", out), out
        assert re.search(r"= \(void \(\*\)\(\)\) 0x[0-9a-f]+ "
                         r"<kernel_init>\n", out), out
        assert re.search(r"= 0x8005003[0-9a-f]", out), out  # cr0: PG, WP, PE
        assert re.search(r"<kernel_init\+\d+>", out), out  # after stepi
        # The stop names the second vCPU's thread; info threads lists one
        # thread per vCPU, named by the stub (qThreadExtraInfo), marks the
        # stopped one as current and shows vCPU 0 stopped in the kernel.
        assert re.search(r"Thread 2 hit Breakpoint 2, 0x[0-9a-f]+ in "
                         r"start_secondary \(\)", out), out
        assert re.search(r"\n +1 +Thread 1 \(vCPU 0\) 0xffffffff[0-9a-f]+ "
                         r"in \w+ \(\)\n\* 2 +Thread 2 \(vCPU 1\) "
                         r"0x[0-9a-f]+ in start_secondary \(\)", out), out
    else:
        # One thread per vCPU; the second still waits for its SIPI at the
        # reset vector.
        assert re.search(r"\* 1 +Thread 1 \(vCPU 0\) 0x0*%x[0-9a-f]{2} .*"
                         r"\n +2 +Thread 2 \(vCPU 1\) 0x0*fff0 "
                         % (pvh_entry(vmlinux) >> 8), out), out
    assert "exited with code 04" in out, out
    assert rc == EXIT_PANIC, b.stderr
    assert "smp: Brought up 1 node, 2 CPUs" in b.console, b.console
    assert "Kernel panic - not syncing" in b.console


class Rsp:
    """A minimal gdb remote protocol client: what gdb would send."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=120)
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

    def rip(self):
        """rip of the current general thread (g packet, offset 128)."""
        regs = self.cmd("g")
        assert len(regs) == 2 * 608, regs
        return int.from_bytes(bytes.fromhex(regs[256:272]), "little")


def protocol_checks(g, banner):
    """What a debugger should and should not send, against a running
    guest: nothing crashes, errors come back."""
    assert g.cmd("?").startswith("T05thread:1;")  # halted on connect
    assert "qXfer:features:read+" in g.cmd("qSupported:xmlRegisters=i386")
    rip = g.rip()
    assert rip >= 0xffffffff80000000, hex(rip)  # kernel text
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
    # Watchpoints: refused where the emulator ignores data breakpoints,
    # accepted elsewhere (whether one fires is the CPU's business: see
    # breakpoints_fire()).
    if host_is_pvm():
        assert g.cmd("Z2,%x,4" % banner) == "E0e"
    else:
        assert g.cmd("Z2,%x,4" % banner) == "OK"
        assert g.cmd("z2,%x,4" % banner) == "OK"
    # One step; then run and interrupt (^C may reach the stub at once: a
    # stop whenever it comes is what it asks for).
    assert g.cmd("vCont;s:1").startswith("T05thread:1;")
    g.send("vCont;c")
    g.raw(b"\x03")
    assert g.recv().startswith("T02thread:1;")


def test_gdb_detach_then_attach_running_and_kill(images):
    """gdb steps the first instructions and detaches: vmm says so and the
    guest runs on (the banner comes later, from start_kernel). The guest
    never ends by itself (STAY_ALIVE), so it is there for the rest: a raw
    protocol client attaches to the running guest, checks the protocol
    and detaches; a last gdb attaches to the running guest and kills it:
    the VMM ends as if stopped on the host (exit 130)."""
    need_gdb()
    vmlinux = images["vmlinux"]
    banner = symbol(vmlinux, "linux_banner")
    with gdb_boot(["--kernel", vmlinux, "--gdb-wait"] + STAY_ALIVE,
                  "0") as (b, port):
        out = run_gdb(vmlinux, port, ["stepi", "x/2i $pc", "detach"], b)
        # Just after the PVH entry.
        near_entry = r"=> 0x0*%x[0-9a-f]{2}:\t" % (pvh_entry(vmlinux) >> 8)
        assert re.search(near_entry, out), out
        assert "[Inferior 1 (Remote target) detached]" in out, out
        b.wait_stderr("gdb: debugger detached; the guest runs on")
        # Held in the PVH entry code until the detach: the banner shows
        # that the guest ran on.
        b.wait_for("Linux version")

        g = Rsp(port)  # the next debugger: the guest is running
        protocol_checks(g, banner)
        assert g.cmd("D") == "OK"
        assert g.recv() is None  # the stub closes the connection

        out = run_gdb(vmlinux, port, ["info threads", "kill"], b)
        rc = b.finish()
    assert re.search(r"\* 1 +Thread 1 \(vCPU 0\) 0xffffffff", out), out
    assert "[Inferior 1 (Remote target) killed]" in out, out
    assert rc == EXIT_STOPPED, b.stderr
    assert "the debugger killed the VM" in b.stderr
    assert b.stderr.count("gdb: debugger connected") == 3, b.stderr
    assert b.stderr.count("gdb: debugger detached; the guest runs on") == 2, \
        b.stderr


def test_protocol_threads_and_the_stop_reply_thread(images):
    """Two vCPUs held at the first instruction, over the raw protocol (the
    guest runs one instruction in all): the thread list and names,
    registers per thread (Hg), a step of one thread while the other
    stays, kill. gdb takes the thread of a stop reply as the stub's
    current one for g, m and Z (gdb's remote.c records it and sends no Hg
    after it; gdbserver and QEMU switch to it), so g after
    "T05thread:1;" must read vCPU 0 even if Hg2 came before."""
    need_gdb()
    vmlinux = images["vmlinux"]
    entry = pvh_entry(vmlinux)
    with gdb_boot(["--kernel", vmlinux, "--cpus", "2", "--gdb-wait"],
                  "127.0.0.1:0") as (b, port):
        g = Rsp(port)
        assert g.cmd("?").startswith("T05thread:1;")
        assert g.cmd("qfThreadInfo") == "m1,2"
        assert g.cmd("qsThreadInfo") == "l"
        assert g.cmd("qC") == "QC1"
        assert bytes.fromhex(g.cmd("qThreadExtraInfo,1")) == b"vCPU 0"
        assert bytes.fromhex(g.cmd("qThreadExtraInfo,2")) == b"vCPU 1"
        assert g.cmd("qThreadExtraInfo,3") == "E01"
        assert g.cmd("T2") == "OK" and g.cmd("T3") == "E01"
        assert g.cmd("Hg3") == "E01"
        assert g.cmd("Hg1") == "OK"
        assert g.rip() == entry
        assert g.cmd("Hg2") == "OK"  # as gdb's `thread 2` would
        ap = g.rip()
        assert ap == 0xfff0, hex(ap)  # waiting for INIT/SIPI: reset state
        # Step vCPU 0 alone; vCPU 1 stays.
        assert g.cmd("vCont;s:1").startswith("T05thread:1;")
        current = g.rip()  # no Hg: the thread of the stop, as gdb assumes
        assert g.cmd("Hg2") == "OK"
        assert g.rip() == ap  # vCPU 1 did not move
        assert g.cmd("Hg1") == "OK"
        rip0 = g.rip()
        assert entry < rip0 <= entry + 15, hex(rip0)
        g.send("k")
        assert g.recv() is None  # the VMM closes the connection and ends
        rc = b.finish()
    assert rc == EXIT_STOPPED, b.stderr
    assert "the debugger killed the VM" in b.stderr
    # The stub once kept the Hg thread when a stop reply named another:
    # gdb then read the wrong vCPU's registers and, as their pc held no
    # breakpoint, resumed silently, losing the hit.
    assert current == rip0, (hex(current), hex(ap), hex(rip0))


def test_gdb_break_in_syscall_from_user_space(images):
    """A breakpoint on uname(2) (__do_sys_newuname), which only user space
    reaches: the test initramfs runs `uname -a` and gdb stops in the
    syscall, called from do_syscall_64 (__x64_sys_newuname tail-calls
    it); then the command ends and its exit status (7) is the VMM's and
    what gdb reports."""
    need_userspace()
    need_breakpoints()
    need_gdb()
    vmlinux = images["vmlinux"]
    symbol(vmlinux, "__do_sys_newuname")
    with gdb_boot(["--kernel", vmlinux, "--initrd", images["initrd"],
                   "--gdb-wait", "--", "sh", "-c", "uname -a; exit 7"],
                  "127.0.0.1:0") as (b, port):
        out = run_gdb(vmlinux, port, [
            TO_PAGING,
            "break __do_sys_newuname",
            "continue",
            "bt",
            "delete",
            "continue",
        ], b)
        rc = b.finish()
    assert PAGING_ON.search(out), out
    assert re.search(r"Breakpoint 1, 0x[0-9a-f]+ in __do_sys_newuname \(\)",
                     out), out
    assert re.search(r"#0 +0x[0-9a-f]+ in __do_sys_newuname \(\)\n"
                     r"#1 +0x[0-9a-f]+ in do_syscall_64 \(\)", out), out
    assert "exited with code 07" in out, out
    assert rc == 7, b.stderr
    assert "VMM-INIT: userspace reached" in b.console
    assert re.search(r"^Linux \S+ 6\.1\.\S* .*x86_64", b.console, re.M), \
        b.console
    assert "VMM-INIT: exit status 7" in b.console


# gdb's Python. The stop in the kernel is had by attaching at random
# moments of a guest busy with system calls (the stub stops the guest on
# connect) until one lands in kernel code; single steps cannot get there
# (a `syscall` completes as one step on the emulated host's CPU, and
# stepping kernel code there is slow). Without the vmlinux's DWARF, gdb
# cannot unwind kernel frames, so the live part of the task's stack ($rsp
# to the top of its 16 KiB) is read and its kernel text addresses named:
# a stop in a system call has return addresses into do_syscall_64 and the
# entry code; a stop in an interrupt of user code (on the IRQ stack) has
# not: try again.
STACK_OF_A_SYSCALL = """
import gdb
KERNEL, TEXT, TEXT_END = 0xffff800000000000, 0xffffffff80000000, 0xffffffffc0000000
def reg(r):
    return int(gdb.parse_and_eval(r)) & 0xffffffffffffffff
def name(v):
    out = gdb.execute("info symbol %d" % v, to_string=True).split()
    return out[0] if out and out[0] != "No" else None
for attempt in range(1, 41):
    gdb.execute("target remote 127.0.0.1:%d" % PORT, to_string=True)
    rsp = reg("$rsp")
    # At the first instructions of the entry code the stack is still the
    # user's: only a kernel stack (16 KiB, aligned) is scanned.
    if reg("$pc") >= KERNEL and rsp >= KERNEL:
        top = (rsp | 0x3fff) + 1
        mem = bytes(gdb.selected_inferior().read_memory(rsp, top - rsp))
        names = []
        for i in range(0, len(mem) - 7, 8):
            v = int.from_bytes(mem[i:i + 8], "little")
            n = name(v) if TEXT <= v < TEXT_END else None
            if n and n not in names:
                names.append(n)
        # dd's reads and writes, not the shell's forks: what the test
        # drives.
        io = {"vfs_read", "vfs_write", "ksys_read", "ksys_write"}
        if "do_syscall_64" in names and io & set(names + [name(reg("$pc"))]):
            print("attempt %d: stopped in %s; the stack returns to: %s" %
                  (attempt, name(reg("$pc")), " ".join(names)))
            gdb.execute("detach", to_string=True)
            break
    gdb.execute("detach", to_string=True)
"""


def test_gdb_stops_in_a_system_call_of_user_space(images, tmp_path):
    """Where guest user space runs, gdb stops in a kernel path that user
    space drives, with no breakpoint (none fires in the emulated host):
    the test init loops on dd with 512-byte blocks (/dev/zero to
    /dev/null), gdb attaches until the guest is stopped in kernel code
    whose stack returns through vfs_read or vfs_write to do_syscall_64
    and the system call entry. Then detach: the guest runs on until the
    test stops it."""
    need_userspace()
    need_gdb()
    vmlinux = images["vmlinux"]
    loop = ("echo LOOP''ING; while :; do dd if=/dev/zero of=/dev/null "
            "bs=512 count=100000 2>/dev/null; done")
    with gdb_boot(["--kernel", vmlinux, "--initrd", images["initrd"],
                   "--", loop], "127.0.0.1:0") as (b, port):
        script = tmp_path / "stack_of_a_syscall.py"
        script.write_text(f"PORT = {port}\n" + STACK_OF_A_SYSCALL)
        b.wait_for("LOOPING")
        out = run_gdb(vmlinux, None, [f"source {script}"], b)
        b.wait_stderr("gdb: debugger detached; the guest runs on")
        b.proc.send_signal(signal.SIGTERM)  # the loop never ends
        rc = b.finish()
    m = re.search(r"attempt \d+: stopped in (\S+); the stack returns to: "
                  r"(.*)", out)
    assert m, out
    frames = m.group(2).split()
    assert "do_syscall_64" in frames, out
    assert any(f.startswith("entry_SYSCALL_64") for f in frames), out
    assert {"vfs_read", "vfs_write", "ksys_read", "ksys_write"} & set(
        frames + [m.group(1)]), out
    assert rc == EXIT_STOPPED, b.stderr
