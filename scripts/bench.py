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

--nested (make bench-nested, run inside scripts/testhost's emulated
normal-KVM host) measures instead, to docs/BENCHMARKS-nested.md:
  6. boot to the test initramfs's user-space marker for vmm, QEMU -M
     microvm and QEMU -M pc, bzImage and PVH vmlinux, interleaved: time
     from process start to the marker line on the console, vmm's own
     --boot-trace timeline, and KVM's per-VM exit counts by kind (debugfs,
     read at the marker, before the VM is stopped), plus vmm's --stats
     (the exits that reach vmm's user space)
"""
import argparse
import datetime
import json
import os
import pathlib
import platform
import re
import resource
import selectors
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
# QEMU's -cpu host sets IA32_ARCH_CAPABILITIES, which a PVM-based host's
# KVM refuses ("failed to set MSR 0x10a"): drop that feature there. A
# normal KVM takes it, and vmm passes KVM's supported CPUID (which has it)
# unchanged, so elsewhere QEMU gets plain -cpu host like vmm's guest.
QEMU_CPU = "host,-arch-capabilities" if PVM else "host"
USER_MARK = "Run /init as init process" if PVM else "VMM-INIT: userspace reached"


def med(xs, fmt=".3g"):
    """'median (min-max)' of a list of numbers, each formatted with fmt."""
    if not xs:
        return "n/a"
    m = statistics.median(xs)
    return f"{m:{fmt}} ({min(xs):{fmt}}-{max(xs):{fmt}})"


def med_count(xs):
    """med() of counts (or milliseconds), as integers."""
    return med(xs, ".0f")


def vmm_exits(stderr):
    """vmm's --stats exit counts by kind, from its messages."""
    return {k: int(v) for k, v in re.findall(r"exits ([\w-]+)\s+(\d+)",
                                             stderr)}


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
    exits = vmm_exits(err)
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


# ---- --nested: boot to user space inside an emulated normal-KVM host ----
# make bench-nested runs this inside scripts/testhost (QEMU TCG, -cpu max:
# AMD SVM; Debian's kernel with kvm_amd, npt=0 there), where guest user
# space runs and KVM's per-VM counters can be read in debugfs.

NESTED_MARK = "VMM-INIT: userspace reached"
# One command line for every configuration: vmm's default (no PVM options:
# --nested refuses PVM hosts), and vmm.end=shell so that the test init idles
# at a shell after its marker instead of ending the VM (QEMU -M microvm has
# no i8042, so reboot=k would never end it anyway): each VM is stopped by
# the bench once the marker and then the shell prompt are in.
NESTED_CMDLINE = BASE_CMDLINE + " vmm.end=shell"
QEMU_MACHINES = (("QEMU -M microvm",
                  "microvm,x-option-roms=off,isa-serial=on,rtc=off"),
                 ("QEMU -M pc", "pc"))
KVM_DEBUGFS = pathlib.Path("/sys/kernel/debug/kvm")
# KVM's counters of VM exits by reason (x86, Linux 6.1). Each exit counts
# once in "exits" and at most once here; mmio_exits are the MMIO accesses
# handed to user space (each from a nested page fault exit).
EXIT_KINDS = ("io_exits", "mmio_exits", "halt_exits", "irq_exits",
              "irq_window_exits", "nmi_window_exits", "notify_window_exits")
OTHER = "other (exits - the kinds above)"
# Related counters that are not exits of their own.
RELATED = (("pf_taken", "page faults KVM handled"),
           ("insn_emulation", "instructions KVM emulated"),
           ("irq_injections", "interrupts injected"),
           ("signal_exits", "KVM_RUN returns for a signal"),
           ("request_irq_exits", "KVM_RUN returns for an IRQ window"),
           ("hypercalls", "hypercalls"),
           ("halt_wakeup", "wake-ups from halt"),
           ("halt_wait_ns", "time halted, ms (emulated)"),
           ("pages_4k", "guest RAM mapped in 4 KiB pages, at the marker"),
           ("pages_2m", "guest RAM mapped in 2 MiB pages, at the marker"))


def kvm_vm_stats(pid):
    """KVM's debugfs counters of the VM that process pid made
    (/sys/kernel/debug/kvm/PID-FD/, summed over its vCPUs by KVM)."""
    best = {}
    for d in KVM_DEBUGFS.glob(f"{pid}-*"):
        stats = {}
        for f in d.iterdir():
            if f.name.endswith("_hist") or f.name == "mmu_rmaps_stat" or \
                    not f.is_file():
                continue
            try:
                words = f.read_text().split()
            except OSError:
                continue
            if len(words) == 1 and words[0].isdigit():
                stats[f.name] = int(words[0])
        if stats.get("exits", -1) > best.get("exits", -1):
            best = stats
    return best


def nested_boot(cmd, timeout, vmm):
    """Start cmd; the seconds from process start to the marker line on its
    console; KVM's counters read right then; after the shell prompt (vmm's
    port marker comes before it) the VM is stopped: Ctrl-A x to vmm, SIGTERM
    to QEMU. Returns a dict (time None when the marker never came)."""
    res = {"time": None, "kvm": {}}
    mark = NESTED_MARK.encode()
    t0 = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE)
    bufs = {p.stdout.fileno(): bytearray(), p.stderr.fileno(): bytearray()}
    out = bufs[p.stdout.fileno()]
    sel = selectors.DefaultSelector()
    for f in (p.stdout, p.stderr):
        sel.register(f.fileno(), selectors.EVENT_READ)

    def pump(wait):
        for key, _ in sel.select(timeout=wait):
            data = os.read(key.fd, 65536)
            if not data:
                sel.unregister(key.fd)
            bufs[key.fd] += data

    after = None  # where the console goes on after the marker
    until = t0 + timeout
    while sel.get_map() and time.monotonic() < until:
        seen = len(out)
        pump(min(1.0, max(0.0, until - time.monotonic())))
        if after is None:
            i = out.find(mark, max(0, seen - len(mark)))
            if i >= 0:
                res["time"] = time.monotonic() - t0
                res["kvm"] = kvm_vm_stats(p.pid)
                after = i + len(mark)
                res["console_bytes"] = after
                until = time.monotonic() + 60
        if after is not None and b"# " in out[after:]:
            break
    if p.poll() is None:
        try:
            if vmm:
                p.stdin.write(b"\x01x")
                p.stdin.flush()
            else:
                p.terminate()
        except OSError:
            pass
    try:
        p.stdin.close()
    except OSError:
        pass
    end = time.monotonic() + 30
    while sel.get_map() and time.monotonic() < end:
        pump(1.0)
    try:
        p.wait(timeout=max(1.0, end - time.monotonic()))
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    res["console"] = out.decode(errors="replace")
    res["stderr"] = bufs[p.stderr.fileno()].decode(errors="replace")
    m = re.search(r"Command line: ([^\r\n]*)", res["console"])
    res["cmdline"] = m.group(1).strip() if m else None
    if vmm:
        err = res["stderr"]
        res["vmm_exits"] = vmm_exits(err)
        res["trace"] = {w: trace_ms(err, w) for w in NESTED_TRACE}
    return res


NESTED_TRACE = ("first guest instruction", "'Run /init' on the console",
                "user space marker (port)")


def nested_configs(peers):
    """(label, kernel name, kind, command), the order of each round."""
    configs = []
    initrd = str(IMAGES / "initramfs.cpio")
    for kname, kernel in (("bzImage", IMAGES / "bzImage"),
                          ("PVH vmlinux", IMAGES / "vmlinux")):
        configs.append((f"vmm, {kname}", kname, "vmm",
                        [str(VMM), "boot", "--kernel", str(kernel),
                         "--initrd", initrd, "--cmdline", NESTED_CMDLINE,
                         "--stats", "--boot-trace"]))
        if not peers:
            continue
        for qname, machine in QEMU_MACHINES:
            configs.append((f"{qname}, {kname}", kname, qname,
                            ["qemu-system-x86_64", "-M", machine,
                             "-enable-kvm", "-cpu", QEMU_CPU, "-m", "256",
                             "-smp", "1", "-nodefaults", "-no-user-config",
                             "-nographic", "-serial", "stdio", "-kernel",
                             str(kernel), "-initrd", initrd, "-append",
                             NESTED_CMDLINE]))
    return configs


def mount_debugfs():
    if not KVM_DEBUGFS.is_dir():
        subprocess.run(["mount", "-t", "debugfs", "none",
                        str(KVM_DEBUGFS.parent)], capture_output=True)
    if not KVM_DEBUGFS.is_dir():
        raise SystemExit(f"bench: {KVM_DEBUGFS} missing: KVM's counters "
                         "need debugfs (and root)")


def bench_nested(args, peers):
    configs = nested_configs(peers)
    results = {label: [] for label, *_ in configs}
    consoles = pathlib.Path(args.consoles) if args.consoles else None
    if consoles:
        consoles.mkdir(parents=True, exist_ok=True)
    # The first boot of each configuration reads its binaries, firmware and
    # images (over 9p in the emulated host): warm-up boots, not counted.
    for w in range(args.warmup):
        for label, _, kind, cmd in configs:
            r = nested_boot(cmd, args.peer_timeout, kind == "vmm")
            print(f"bench: warm-up: {label}: "
                  f"{r['time'] and round(r['time'], 2)} s", file=sys.stderr)
    for run in range(args.runs):
        for label, _, kind, cmd in configs:
            r = nested_boot(cmd, args.peer_timeout, kind == "vmm")
            results[label].append(r)
            shown = f"{r['time']:.2f} s" if r["time"] else "marker not seen"
            print(f"bench: run {run + 1}/{args.runs}: {label}: {shown}, "
                  f"{r['kvm'].get('exits')} exits", file=sys.stderr)
            if consoles and run == 0:
                slug = re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-")
                (consoles / f"{slug}.log").write_text(
                    r["console"] + "\n---- stderr ----\n" + r["stderr"])
            if not r["time"]:
                tail = r["console"].strip().splitlines()[-3:]
                print(f"bench: {label}: last console lines: {tail}; "
                      f"stderr: {r['stderr'].strip()[-300:]}",
                      file=sys.stderr)
    return configs, results


def nested_facts():
    facts = host_facts()
    facts["kvm"] = next((m for m in ("kvm_amd", "kvm_intel") if
                         pathlib.Path(f"/sys/module/{m}").exists()), "?")
    facts["outer"] = os.environ.get("VMM_BENCH_OUTER")
    facts["testhost"] = bool(os.environ.get("TESTHOST"))
    npt = pathlib.Path("/sys/module/kvm_amd/parameters/npt")
    facts["paging"] = ("nested paging" if not npt.exists()
                       or npt.read_text().strip() == "Y" else
                       "shadow paging (kvm_amd npt=0)")
    thp = pathlib.Path("/sys/kernel/mm/transparent_hugepage/enabled")
    m = re.search(r"\[(\w+)\]", thp.read_text()) if thp.exists() else None
    facts["thp"] = m.group(1) if m else "?"
    r = subprocess.run(["qemu-system-x86_64", "--version"],
                       capture_output=True, text=True)
    facts["qemu"] = r.stdout.splitlines()[0] if r.returncode == 0 else None
    r = subprocess.run([str(VMM), "--version"], capture_output=True,
                       text=True)
    facts["vmm"] = r.stdout.strip()
    return facts


def ratio(a, b):
    return f"{a / b:.2f}" if a and b else "n/a"


def nested_report(facts, configs, results, args):
    times = {l: [r["time"] for r in rs if r["time"]]
             for l, rs in results.items()}
    kvm = {l: [r["kvm"] for r in rs if r["time"] and r["kvm"]]
           for l, rs in results.items()}

    def mtime(label):
        return statistics.median(times[label]) if times.get(label) else None

    def mcount(label, key):
        xs = [k.get(key, 0) for k in kvm.get(label, [])]
        return statistics.median(xs) if xs else None

    where = ("inside the emulated normal-KVM host that `scripts/testhost "
             "x86_64` boots (QEMU TCG `-cpu max`: AMD SVM; Debian's "
             f"kernel with kvm_amd, {facts['paging']})" if facts["testhost"]
             else "on this host's KVM")
    lines = ["# Benchmarks: boot to user space on a normal KVM", "",
             "Generated by `make bench-nested` (also the last part of "
             "`make bench`): `scripts/bench.py --nested`, run " + where +
             ". Medians with the spread (min-max) in brackets over "
             f"{args.runs} boots of each configuration, interleaved "
             f"(after {args.warmup} uncounted warm-up boot(s) each); "
             "ratios against QEMU booting the same kernel in the same "
             "run. Not a pass/fail test.", ""]
    if facts["testhost"]:
        lines += ["**Absolute times here are meaningless**: every "
                  "instruction of the emulated host and of its guests runs "
                  "in QEMU's TCG (software emulation), on a shared machine, "
                  "so the seconds say nothing about real hardware and vary "
                  "with the load around. What still compares is counts, "
                  "which depend on what the guest and the VMM do (exits "
                  "by kind, apart from halt and host-interrupt exits, which "
                  "grow with the time taken), and ratios between "
                  "configurations measured in the same run.", ""]
    lines += [f"- date: {facts['date']}"]
    if facts["outer"]:
        lines += [f"- machine running the emulation: {facts['outer']}"]
    lines += [f"- {'emulated ' if facts['testhost'] else ''}host: "
              f"{facts['cpu']} ({facts['cores']} CPUs), kernel "
              f"{facts['kernel']}, {facts['kvm']}, transparent huge "
              f"pages: {facts['thp']}",
              f"- vmm: {facts['vmm']}; QEMU: {facts['qemu'] or 'missing'}",
              f"- guests: the test kernel (`bzImage`, and `vmlinux` booted "
              f"through PVH) and `initramfs.cpio` from {IMAGES}, 256 MiB, "
              f"1 vCPU; QEMU `-enable-kvm -cpu {QEMU_CPU} -nodefaults "
              "-no-user-config -nographic -serial stdio`; vmm with its "
              "defaults (in-kernel irqchip and PIT, virtio-rng on PCI)",
              f"- kernel command line, all: `{NESTED_CMDLINE}`"]
    seen = {r["cmdline"] for rs in results.values() for r in rs
            if r["cmdline"]}
    if len(seen) > 1:
        lines += ["- **the guests' own `Command line:` lines differ**: " +
                  "; ".join(f"`{c}`" for c in sorted(seen))]
    elif seen:
        lines += ["- every guest printed that same `Command line:`"]
    lines += ["", f"## 1. Boot to `{NESTED_MARK}`", "",
              "Process start to the marker line on the console (the test "
              "init echoes it first thing), and all of KVM's VM exits by "
              "then (`exits` in /sys/kernel/debug/kvm/PID-FD/, read as the "
              "marker is seen). Ratios: this configuration's median over "
              "QEMU's with the same kernel.", "",
              "| configuration | seconds | / microvm | / pc | KVM exits "
              "| / microvm | / pc |", "|---|---|---|---|---|---|---|"]
    for label, kname, _, _ in configs:
        base = [f"QEMU -M microvm, {kname}", f"QEMU -M pc, {kname}"]
        t = times[label]
        shown = med(t) if t else f"not reached in {args.peer_timeout} s"
        ex = [k.get("exits", 0) for k in kvm[label]]
        lines.append(
            f"| {label} | {shown} | "
            + " | ".join(ratio(mtime(label), mtime(b)) for b in base)
            + f" | {med_count(ex)} | "
            + " | ".join(ratio(mcount(label, "exits"), mcount(b, "exits"))
                         for b in base) + " |")
    lines += ["", "## 2. vmm's own timeline (`--boot-trace`)", "",
              "Milliseconds from vmm's process start; the user-space "
              "marker (port) is the test init's write to port 0x502 just "
              "after its console line.", "",
              "| kernel | " + " | ".join(NESTED_TRACE) +
              " | console marker (bench) |", "|---|---|---|---|---|"]
    for label, kname, kind, _ in configs:
        if kind != "vmm":
            continue
        rs = [r for r in results[label] if r["time"]]
        cells = [med_count([r["trace"][w] for r in rs if r["trace"][w]])
                 for w in NESTED_TRACE]
        cells.append(med_count([r["time"] * 1e3 for r in rs]))
        lines.append(f"| {kname} | " + " | ".join(cells) + " |")
    for n, kname in enumerate(("bzImage", "PVH vmlinux")):
        labels = [l for l, k, _, _ in configs if k == kname]
        lines += ["", f"## {3 + n}. KVM's exits by kind, {kname}", "",
                  "KVM's per-VM counters at the marker, per boot. `exits` "
                  "is every VM exit; `other` is what no counter of its own "
                  "covers (page faults other than MMIO handed to user "
                  "space, in-kernel LAPIC/IOAPIC accesses, MSR, "
                  "CPUID, ...). Below the line: related counters that are "
                  "not exits.", "",
                  "| counter | " + " | ".join(labels) + " |",
                  "|---|" + "---|" * len(labels)]

        def row(name, vals):
            lines.append(f"| {name} | " + " | ".join(vals) + " |")

        def col(label, key):
            return [k.get(key, 0) for k in kvm[label]]

        row("exits", [med_count(col(l, "exits")) for l in labels])
        zero = []
        for key in EXIT_KINDS:
            if any(any(col(l, key)) for l in labels):
                row(key, [med_count(col(l, key)) for l in labels])
            else:
                zero.append(key)
        row(OTHER, [med_count([k.get("exits", 0) - sum(
            k.get(x, 0) for x in EXIT_KINDS) for k in kvm[l]])
            for l in labels])
        row("share of exits", [shares(kvm[l]) for l in labels])
        row("---", ["---"] * len(labels))
        for key, what in RELATED:
            if key == "halt_wait_ns":
                row(f"{what}", [med_count([k.get(key, 0) / 1e6
                                           for k in kvm[l]]) for l in labels])
            elif any(any(col(l, key)) for l in labels):
                row(f"{key} ({what})", [med_count(col(l, key))
                                        for l in labels])
            else:
                zero.append(key)
        ok = {l: [r for r in results[l] if r["time"]] for l in labels}
        row("console bytes to the marker (not KVM's)",
            [med_count([r["console_bytes"] for r in ok[l]]) for l in labels])
        row("io_exits per console byte", [per_byte(ok[l]) for l in labels])
        if zero:
            lines += ["", "Zero in every boot: " +
                      ", ".join(f"`{z}`" for z in zero) + "."]
    lines += ["", "How to read the counters: on the 8250 serial console "
              "each byte the guest prints costs about two port I/O exits "
              "(a status read, a data write), so io_exits follow the "
              "console's length; with nested paging a 4 KiB page of "
              "guest RAM touched for the first time costs a nested page "
              "fault (pf_taken), while KVM maps a 2 MiB page at once when "
              "the VMM's memory behind it is a transparent huge page, "
              "2 MiB-aligned like the guest address (pages_2m); with "
              "shadow paging (npt=0) every guest page-table change that "
              "KVM must follow costs page faults and exits too, the same "
              "for every VMM, since they come from the guest kernel; halt "
              "and irq exits grow with the time the boot takes (host "
              "interrupts, idle waits)."]
    lines += ["", "## 5. vmm's own exit counts (`--stats`)", "",
              "Exits that reach vmm (user space), by kind, per boot; "
              "counted up to the VM's stop, which comes after the shell "
              "prompt (a few hundred console bytes after the marker).", ""]
    vlabels = [l for l, _, kind, _ in configs if kind == "vmm"]
    kinds = []
    for l in vlabels:
        for r in results[l]:
            kinds += [k for k in r.get("vmm_exits", {}) if k not in kinds]
    lines += ["| kind | " + " | ".join(vlabels) + " |",
              "|---|" + "---|" * len(vlabels)]
    for kd in kinds:
        lines.append(f"| {kd} | " + " | ".join(
            med_count([r["vmm_exits"].get(kd, 0) for r in results[l]
                       if r["time"]]) for l in vlabels) + " |")
    lines += ["", "Raw per-boot figures: `BENCHMARKS-nested.json` next to "
              "the generated file (build/bench-nested/ under make); the "
              "consoles of the first counted boots: `consoles/` there.", ""]
    return "\n".join(lines)


def per_byte(rs):
    """Median io_exits per console byte up to the marker."""
    xs = [r["kvm"].get("io_exits", 0) / r["console_bytes"] for r in rs
          if r.get("console_bytes")]
    return f"{statistics.median(xs):.2f}" if xs else "n/a"


def shares(stats):
    """The largest kinds' shares of all exits, from the summed counters."""
    total = sum(k.get("exits", 0) for k in stats)
    if not total:
        return "n/a"
    parts = {x.replace("_exits", ""): sum(k.get(x, 0) for k in stats)
             for x in EXIT_KINDS}
    parts["other"] = total - sum(parts.values())
    top = sorted(parts.items(), key=lambda kv: -kv[1])[:3]
    return ", ".join(f"{n} {100 * v / total:.0f}%" for n, v in top if v)


def nested_main(args):
    if PVM:
        raise SystemExit("bench: --nested needs a normal KVM (guest user "
                         "space cannot run on this PVM-based host): run it "
                         "inside scripts/testhost (make bench-nested)")
    if not os.access("/dev/kvm", os.R_OK | os.W_OK):
        raise SystemExit("bench: /dev/kvm missing or not usable")
    mount_debugfs()
    peers = not args.no_peers and subprocess.run(
        ["which", "qemu-system-x86_64"], capture_output=True).returncode == 0
    if not peers and not args.no_peers:
        print("bench: QEMU missing: vmm only", file=sys.stderr)
    facts = nested_facts()
    configs, results = bench_nested(args, peers)
    text = nested_report(facts, configs, results, args)
    print(text)
    out = pathlib.Path(args.out)
    out.write_text(text + "\n")
    raw = {label: [{k: v for k, v in r.items()
                    if k not in ("console", "stderr")} for r in rs]
           for label, rs in results.items()}
    out.with_suffix(".json").write_text(json.dumps(
        {"facts": facts, "cmdline": NESTED_CMDLINE, "boots": raw},
        indent=1) + "\n")


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
    ap.add_argument("--out", help="the report (default: docs/"
                    "BENCHMARKS.md, with --nested docs/BENCHMARKS-nested.md)")
    ap.add_argument("--nested", action="store_true",
                    help="boot to user space on a normal KVM (inside "
                    "scripts/testhost: make bench-nested), --runs boots "
                    "of each configuration")
    ap.add_argument("--warmup", type=int, default=1,
                    help="--nested: uncounted boots of each configuration "
                    "first (default 1)")
    ap.add_argument("--consoles", help="--nested: a directory for the "
                    "consoles of the first counted boots")
    args = ap.parse_args()
    if args.nested:
        args.out = args.out or str(TOP / "docs" / "BENCHMARKS-nested.md")
        return nested_main(args)
    args.out = args.out or str(TOP / "docs" / "BENCHMARKS.md")
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
