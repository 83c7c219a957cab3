#!/usr/bin/env python3
"""make bench-net: TCP throughput through virtio-net, vmm against QEMU.

One boot per (VMM, backend): the test kernel's vmm_selftest driver
(test-images/README.md) fetches N bytes from a host peer (host -> guest)
and sends N bytes to another (guest -> host); the driver times each
stream from connect to the peer's FIN and the host checks every byte.
Backends: user mode (vmm --net user, QEMU -netdev user; the peers listen
on the host's loopback, reached through 10.0.2.2) and a tap in a network
namespace made here (the peers run in it). QEMU runs -M microvm with
virtio-net-device over virtio-mmio, vhost off (vmm has no vhost either),
the same kernel and command line. Results are ratios in the same run;
nothing passes or fails. Writes docs/BENCHMARKS-net.md.

On PVM-based hosts guest kernel code is emulated (~1000x), and the
guest's TCP stack is kernel code, so these figures measure mostly the
emulator; the ratio still shows whether the VMM's side costs anything.
"""
import argparse
import datetime
import json
import os
import pathlib
import platform
import re
import subprocess
import sys
import threading

TOP = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(TOP / "tests" / "system"))
sys.path.insert(0, str(TOP / "scripts"))
import netpeer  # noqa: E402
from bench import BASE_CMDLINE, IMAGES, PVM, PVM_OPTS, QEMU_CPU, VMM  # noqa

PEER = TOP / "tests" / "system" / "netpeer.py"
NS = f"vmmbench{os.getpid()}"
TAP_IP = "ip=10.0.3.2::10.0.3.1:255.255.255.0::eth0:off"
LINE = re.compile(r"vmm_selftest: (tcp_get|tcp_put) \S+ ok bytes=(\d+) "
                  r"crc32=([0-9a-f]+) msecs=(\d+)")


def vm_cmd(vmm, backend, append):
    kernel, initrd = str(IMAGES / "vmlinux"), str(IMAGES / "initramfs.cpio")
    if vmm == "vmm":
        net = "user" if backend == "user" else "tap,ifname=vmmtap0"
        return [str(VMM), "boot", "--kernel", kernel, "--initrd", initrd,
                "--net", net, "--append", append]
    netdev = ("user,id=n0" if backend == "user" else
              "tap,id=n0,ifname=vmmtap0,script=no,downscript=no,vhost=off")
    cmdline = BASE_CMDLINE + (" " + PVM_OPTS if PVM else "") + " " + append
    return ["qemu-system-x86_64", "-M",
            "microvm,x-option-roms=off,isa-serial=on,rtc=off",
            "-enable-kvm", "-cpu", QEMU_CPU, "-m", "256", "-smp", "1",
            "-nodefaults", "-no-user-config", "-nographic", "-serial",
            "stdio", "-kernel", kernel, "-initrd", initrd, "-append",
            cmdline, "-netdev", netdev, "-device",
            "virtio-net-device,netdev=n0"]


def run(vmm, backend, nbytes, timeout):
    """One boot; {direction: MB/s} for the streams that checked out."""
    if backend == "user":
        host, prefix = "10.0.2.2", []
        pg, pp = netpeer.free_port(), netpeer.free_port()
        sg = netpeer.listener(pg, "127.0.0.1")
        sp = netpeer.listener(pp, "127.0.0.1")
        res = {}
        tg = threading.Thread(target=lambda: res.update(
            get=netpeer.serve_send(sg, nbytes, timeout)), daemon=True)
        tp = threading.Thread(target=lambda: res.update(
            put=netpeer.serve_recv(sp, timeout)), daemon=True)
        tg.start()
        tp.start()
        ip = "ip=dhcp"
    else:
        host, prefix = "10.0.3.1", ["ip", "netns", "exec", NS]
        pg, pp = 9001, 9002
        peers = [subprocess.Popen(prefix + ["python3", str(PEER)] + a,
                                  stdout=subprocess.PIPE, text=True)
                 for a in (["send", str(pg), str(nbytes), str(timeout)],
                           ["recv", str(pp), str(timeout)])]
        for p in peers:
            p.stdout.readline()
        ip = TAP_IP
    append = (f"{ip} vmm_selftest.tcp_get={host}:{pg} "
              f"vmm_selftest.tcp_put={host}:{pp},{nbytes} "
              "vmm_selftest.end=poweroff")
    out = subprocess.run(prefix + vm_cmd(vmm, backend, append),
                         capture_output=True, text=True, timeout=timeout,
                         stdin=subprocess.DEVNULL).stdout
    if backend == "user":
        tg.join(10)
        tp.join(10)
        sg.close()
        sp.close()
    else:
        res = {}
        for key, p in zip(("get", "put"), peers):
            try:
                res[key] = json.loads(p.communicate(timeout=10)[0]
                                      .strip().splitlines()[-1])
            except Exception:
                p.kill()
    speeds = {}
    for kind, nb, crc, ms in LINE.findall(out):
        peer = res.get("get" if kind == "tcp_get" else "put")
        if peer and peer["crc32"] == int(crc, 16) and int(nb) == nbytes:
            name = "host -> guest" if kind == "tcp_get" else "guest -> host"
            speeds[name] = int(nb) / max(int(ms), 1)  # KB/s (1000 B)
    return speeds


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bytes", type=int, default=4 << 20)
    ap.add_argument("--timeout", type=int, default=900)
    ap.add_argument("--no-qemu", action="store_true")
    args = ap.parse_args()
    peers = ["vmm"]
    if not args.no_qemu and subprocess.run(
            ["which", "qemu-system-x86_64"], capture_output=True).returncode \
            == 0:
        peers.append("qemu")
    netpeer.make_netns(NS)
    results = {}
    try:
        for backend in ("user", "tap"):
            for vmm in peers:
                print(f"bench-net: {vmm} {backend} ...", file=sys.stderr,
                      flush=True)
                results[vmm, backend] = run(vmm, backend, args.bytes,
                                            args.timeout)
                print(f"  {results[vmm, backend]}", file=sys.stderr)
    finally:
        subprocess.run(["ip", "netns", "del", NS], capture_output=True)
    lines = [f"# virtio-net throughput ({datetime.date.today()})", "",
             f"Host: {platform.node()}, kernel {platform.release()}, "
             f"{'PVM-based (guest kernel emulated)' if PVM else 'native KVM'}"
             f"; {args.bytes >> 20} MiB per stream, TCP in the guest "
             "kernel (vmm_selftest).", "",
             "| backend | direction | vmm KB/s | QEMU KB/s | vmm/QEMU |",
             "|---|---|---|---|---|"]
    for backend in ("user", "tap"):
        for d in ("host -> guest", "guest -> host"):
            v = results.get(("vmm", backend), {}).get(d)
            q = results.get(("qemu", backend), {}).get(d)
            fmt = (lambda x: f"{x:.1f}" if x else "-")
            ratio = f"{v / q:.2f}" if v and q else "-"
            lines.append(f"| {backend} | {d} | {fmt(v)} | {fmt(q)} | "
                         f"{ratio} |")
    text = "\n".join(lines) + "\n"
    print(text)
    (TOP / "docs" / "BENCHMARKS-net.md").write_text(text)


if __name__ == "__main__":
    main()
