#!/usr/bin/env python3
"""make bench: measure vmm against its floor and its peers, side by side.

Every figure is measured in this run, several times, and reported as the
median with the spread (min-max); ratios compare against a baseline
measured in the same run. Nothing here passes or fails on absolute times.
Results go to stdout and to docs/BENCHMARKS.md.

Figures:
  1. startup: process start -> first guest instruction (--boot-trace), and
     the whole process's wall and CPU time, for a guest that exits at once
  2. exit cost: a guest at CPL3 doing N port and N MMIO writes; vmm's time
     and CPU per exit against a raw KVM_RUN loop (build/bench/kvm_floor)
  3. boot to user space of the test kernel, bzImage and PVH, for vmm and
     QEMU (-M microvm and -M pc); on hosts where guest user space cannot
     run (PVM-based), to the kernel's "Run /init" line instead
  4. memory: the VMM's own RSS apart from guest RAM touched, 1 and 2 vCPUs
  5. disk: the virtio-blk data path against plain pread/pwrite (host side)
"""
import argparse
import datetime
import os
import pathlib
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time

TOP = pathlib.Path(__file__).resolve().parents[1]
BUILD = TOP / "build"
VMM = BUILD / "vmm"
FLOOR = BUILD / "bench" / "kvm_floor"
BENCH_BLK = BUILD / "bench" / "bench_blk"
IMAGES = pathlib.Path(os.environ.get(
    "VMM_IMAGES", pathlib.Path.home() / ".cache" / "vmm" / "test-images"))
PVM = pathlib.Path("/sys/module/kvm_pvm").exists()
sys.path.insert(0, str(TOP / "tests" / "bench"))
import exit_guest  # noqa: E402



def machine_define(name):
    """A string #define from vmm/machine.h: peers get vmm's own cmdline."""
    text = (TOP / "vmm" / "machine.h").read_text()
    m = re.search(r"#define " + name + r"\s*\\?\s*\"([^\"]*)\"", text)
    return m.group(1)


BASE_CMDLINE = machine_define("MACHINE_DEFAULT_CMDLINE")
PVM_OPTS = machine_define("MACHINE_PVM_CMDLINE")
# QEMU's -cpu host sets IA32_ARCH_CAPABILITIES, which this host's KVM
# refuses ("failed to set MSR 0x10a"): drop that feature.
QEMU_CPU = "host,-arch-capabilities"
USER_MARK = "Run /init as init process" if PVM else "VMM-INIT: userspace reached"


def med(xs):
    """'median (min-max)' of a list of numbers."""
    if not xs:
        return "n/a"
    m = statistics.median(xs)
    return f"{m:.3g} ({min(xs):.3g}-{max(xs):.3g})"


def run_timed(cmd, **kw):
    """Run cmd; return (CompletedProcess, wall_s, user_s, sys_s)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    r = subprocess.run(cmd, capture_output=True, text=True, **kw)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (r, wall, after.ru_utime - before.ru_utime,
            after.ru_stime - before.ru_stime)


def trace_ms(stderr, what):
    m = re.search(r"boot trace: " + re.escape(what) + r"\s+([0-9.]+) ms",
                  stderr)
    return float(m.group(1)) if m else None


def bench_startup(tmp, runs):
    """A guest whose first instruction writes 0 to the debug-exit port."""
    guest = tmp / "exit0.bin"
    guest.write_bytes(bytes.fromhex("66ba0105 31c0 ee f4"))
    first, wall, cpu = [], [], []
    for _ in range(runs):
        r, w, u, s = run_timed([str(VMM), "boot", "--kernel", str(guest),
                                "--kernel-format", "raw", "--boot-trace",
                                "--console", "none"])
        if r.returncode != 0:
            raise SystemExit(f"startup guest failed: {r.stderr}")
        first.append(trace_ms(r.stderr, "first guest instruction"))
        wall.append(w * 1e3)
        cpu.append((u + s) * 1e3)
    return {"first instruction (ms)": med(first),
            "process wall (ms)": med(wall), "process CPU (ms)": med(cpu)}


def bench_exits(tmp, runs, n):
    """Per-exit time and CPU: vmm against the raw KVM_RUN floor."""
    rows = []
    for kind, pio, mmio in (("port I/O", n, 0), ("MMIO", 0, n)):
        guest = tmp / f"exits-{pio}-{mmio}.bin"
        guest.write_bytes(exit_guest.build(pio, mmio))
        v_us, v_cpu, f_us, f_cpu = [], [], [], []
        for _ in range(runs):
            r, _, u, s = run_timed([str(VMM), "boot", "--kernel", str(guest),
                                    "--kernel-format", "raw", "--boot-trace",
                                    "--console", "none"])
            start = trace_ms(r.stderr, "first guest instruction")
            stop = trace_ms(r.stderr, "VM stopped")
            v_us.append((stop - start) * 1e3 / n)
            v_cpu.append((u + s) * 1e6 / n)
            r, _, u, s = run_timed([str(FLOOR), str(guest)])
            wall = float(re.search(r"wall_s ([0-9.]+)", r.stdout).group(1))
            f_us.append(wall * 1e6 / n)
            f_cpu.append((u + s) * 1e6 / n)
        rows.append((kind, v_us, v_cpu, f_us, f_cpu))
    return rows


def console_time(cmd, mark, timeout, stop=None):
    """Start cmd, return seconds until a console line contains mark (or
    None after timeout), then stop it (stop bytes to stdin, else kill)."""
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    t0 = time.monotonic()
    found = None
    os.set_blocking(p.stdout.fileno(), False)
    buf = b""
    while time.monotonic() - t0 < timeout and p.poll() is None:
        try:
            chunk = p.stdout.read()
        except BlockingIOError:
            chunk = None
        if chunk:
            buf += chunk
            if mark.encode() in buf:
                found = time.monotonic() - t0
                break
        else:
            time.sleep(0.05)
    if stop and p.poll() is None:
        p.stdin.write(stop)
        p.stdin.flush()
    try:
        _, err = p.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        _, err = p.communicate()
    return found, err.decode(errors="replace")


def vmm_boot(kernel, cpus, timeout):
    cmd = [str(VMM), "boot", "--kernel", str(kernel), "--initrd",
           str(IMAGES / "initramfs.cpio"), "--stats", "--cpus", str(cpus),
           "--append", "vmm.end=shell"]
    t, err = console_time(cmd, USER_MARK, timeout, stop=b"\x01x")
    exits = {k: int(v) for k, v in re.findall(r"exits (\w+)\s+(\d+)", err)}
    mem = re.search(r"\+ VMM (\d+) KiB", err)
    return t, exits, int(mem.group(1)) if mem else None


def qemu_boot(machine, kernel, timeout):
    cmdline = BASE_CMDLINE + (" " + PVM_OPTS if PVM else "")
    cmd = ["qemu-system-x86_64", "-M", machine, "-enable-kvm", "-cpu",
           QEMU_CPU, "-m", "256", "-smp", "1", "-nodefaults",
           "-no-user-config", "-nographic", "-serial", "stdio", "-kernel",
           str(kernel), "-initrd", str(IMAGES / "initramfs.cpio"),
           "-append", cmdline]
    t, _ = console_time(cmd, USER_MARK, timeout)
    return t


def bench_boots(runs, peers, peer_timeout, mem):
    """Boot times; the PVH runs also give the 1-vCPU memory figure."""
    rows = []
    for name, kernel in (("bzImage", IMAGES / "bzImage"),
                         ("PVH vmlinux", IMAGES / "vmlinux")):
        times, exits = [], {}
        for _ in range(runs):
            t, exits, kib = vmm_boot(kernel, 1, 600)
            if t:
                times.append(t)
            if kernel.name == "vmlinux" and kib:
                mem[1] = kib
        rows.append((f"vmm, {name}", times, exits))
        if not peers:
            continue
        for machine in ("microvm,x-option-roms=off,isa-serial=on,rtc=off",
                        "pc"):
            t = qemu_boot(machine, kernel, peer_timeout)
            label = f"QEMU -M {machine.split(',')[0]}, {name}"
            rows.append((label, [t] if t else [], None))
    return rows


def bench_memory(mem):
    """The 2-vCPU figure (the 1-vCPU one came with the boots)."""
    _, _, mem[2] = vmm_boot(IMAGES / "vmlinux", 2, 600)
    return mem


def bench_disk():
    r = subprocess.run([str(BENCH_BLK)], capture_output=True, text=True)
    return r.stdout.strip()


def host_facts():
    cpu = next((l.split(":", 1)[1].strip()
                for l in open("/proc/cpuinfo") if l.startswith("model name")),
               platform.processor())
    return {"date": datetime.date.today().isoformat(), "cpu": cpu,
            "cores": os.cpu_count(), "kernel": platform.release(),
            "pvm": "yes (guest kernel mode emulated)" if PVM else "no"}


def report(facts, startup, exits, boots, mem, disk, args):
    lines = ["# Benchmarks", "",
             "Generated by `make bench` (scripts/bench.py); medians with "
             "the spread (min-max) in brackets; ratios against a baseline "
             "measured in the same run. Not a pass/fail test.", "",
             f"- date: {facts['date']}", f"- host CPU: {facts['cpu']} "
             f"({facts['cores']} cores)", f"- host kernel: {facts['kernel']}",
             f"- PVM-based host: {facts['pvm']}",
             f"- runs: {args.runs} (boots: {args.boot_runs})", "",
             "## 1. Startup (guest exits at its first instruction)", "",
             "| figure | vmm |", "|---|---|"]
    lines += [f"| {k} | {v} |" for k, v in startup.items()]
    lines += ["", f"## 2. Exit cost ({args.exits} exits per run, guest at "
              "CPL3)", "",
              "| exit | vmm µs/exit | floor µs/exit | ratio | vmm CPU µs/exit "
              "| floor CPU µs/exit |", "|---|---|---|---|---|---|"]
    for kind, v_us, v_cpu, f_us, f_cpu in exits:
        ratio = statistics.median(v_us) / statistics.median(f_us)
        lines.append(f"| {kind} | {med(v_us)} | {med(f_us)} | {ratio:.2f} "
                     f"| {med(v_cpu)} | {med(f_cpu)} |")
    lines += ["", f"## 3. Boot to `{USER_MARK}`", "",
              "| configuration | seconds | exits |", "|---|---|---|"]
    best_qemu = min((statistics.median(t) for n, t, _ in boots
                     if n.startswith("QEMU") and t), default=None)
    for name, times, ex in boots:
        shown = med(times) if times else f"not reached in {args.peer_timeout} s"
        exs = ", ".join(f"{k} {v}" for k, v in ex.items()) if ex else ""
        lines.append(f"| {name} | {shown} | {exs} |")
    ours = min((statistics.median(t) for n, t, _ in boots
                if n.startswith("vmm") and t), default=None)
    if best_qemu and ours:
        lines += ["", f"Fastest vmm / fastest QEMU: {ours / best_qemu:.2f}"]
    lines += ["", "## 4. Memory (VMM RSS apart from guest RAM touched, "
              "PVH boot)", "", "| vCPUs | VMM KiB |", "|---|---|"]
    lines += [f"| {c} | {m} |" for c, m in mem.items()]
    lines += ["", "## 5. Disk (host side: virtio-blk data path vs plain "
              "pread/pwrite)", "", "```", disk, "```", ""]
    if PVM:
        lines += ["Guest user space cannot run on PVM-based hosts, so "
                  "in-guest disk and network throughput (dd, fio, iperf3) "
                  "cannot be measured here.", ""]
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # Defaults keep a whole run under 20 minutes on a PVM-based host,
    # where one boot of the test kernel takes a minute or more.
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--boot-runs", type=int, default=2)
    ap.add_argument("--exits", type=int, default=50000)
    ap.add_argument("--no-peers", action="store_true")
    ap.add_argument("--peer-timeout", type=int, default=180,
                    help="seconds a QEMU boot may take before it is "
                    "reported as not reaching the mark")
    ap.add_argument("--out", default=str(TOP / "docs" / "BENCHMARKS.md"))
    args = ap.parse_args()
    peers = not args.no_peers
    if peers and subprocess.run(["which", "qemu-system-x86_64"],
                                capture_output=True).returncode:
        print("bench: QEMU missing: skipped (scripts/install-deps.sh "
              "--bench installs it)", file=sys.stderr)
        peers = False
    with tempfile.TemporaryDirectory() as d:
        tmp = pathlib.Path(d)
        facts = host_facts()
        print("bench: startup", file=sys.stderr)
        startup = bench_startup(tmp, args.runs)
        print("bench: exit cost", file=sys.stderr)
        exits = bench_exits(tmp, args.runs, args.exits)
        print("bench: boots (minutes on PVM hosts)", file=sys.stderr)
        mem = {}
        boots = bench_boots(args.boot_runs, peers, args.peer_timeout, mem)
        print("bench: memory", file=sys.stderr)
        mem = bench_memory(mem)
        print("bench: disk", file=sys.stderr)
        disk = bench_disk()
    text = report(facts, startup, exits, boots, mem, disk, args)
    print(text)
    pathlib.Path(args.out).write_text(text + "\n")


if __name__ == "__main__":
    main()
