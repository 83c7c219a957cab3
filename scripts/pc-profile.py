#!/usr/bin/env python3
"""Turn `vmm boot --pc-samples FILE` output into a profile by function.

usage: scripts/pc-profile.py VMLINUX SAMPLES [--top N]

perf cannot see guest code on nested hosts; 100 Hz PC samples taken by the
VMM can. Symbols come from `nm -n VMLINUX` (the kernel must not be
relocated by KASLR: the test kernel prints "Kernel Offset: disabled").
PCs below the kernel's text (e.g. the bzImage decompressor, which runs
from its load address) are grouped by 1 MiB region.
"""
import argparse
import bisect
import collections
import subprocess
import sys


def load_symbols(vmlinux):
    out = subprocess.run(["nm", "-n", vmlinux], check=True,
                         capture_output=True, text=True).stdout
    syms = []
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 3 and parts[1] in "tTwW":
            syms.append((int(parts[0], 16), parts[2]))
    syms.sort()
    return syms


def name_of(pc, addrs, syms):
    i = bisect.bisect_right(addrs, pc) - 1
    if i < 0 or pc - addrs[i] > 1 << 20:
        return f"[0x{pc >> 20:x}xxxxx]"
    return syms[i][1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("vmlinux")
    ap.add_argument("samples")
    ap.add_argument("--top", type=int, default=30)
    args = ap.parse_args()
    syms = load_symbols(args.vmlinux)
    addrs = [a for a, _ in syms]
    counts = collections.Counter()
    total = 0
    with open(args.samples) as f:
        for line in f:
            parts = line.split()
            if len(parts) != 2:
                continue
            counts[name_of(int(parts[1], 16), addrs, syms)] += 1
            total += 1
    if not total:
        sys.exit("no samples")
    print(f"{total} samples ({total / 100:.1f} s at 100 Hz)")
    for name, n in counts.most_common(args.top):
        print(f"{100 * n / total:6.2f}% {n:7d}  {name}")


if __name__ == "__main__":
    main()
