"""Guest RAM in 2 MiB huge pages (--hugepages).

A tiny raw guest writes one byte into each of 16 huge pages, says so on
the console and waits for a byte on COM1 before it powers off. While it
waits, the host's pool (/proc/meminfo) shows the whole 64 MiB reserved
at start and exactly the pages written so far in use; at the end
--stats reports that same RAM as touched. The pool is sized here (root
only) and always put back as it was. Without a pool, --hugepages is a
set-up error that names the pool, before any guest code runs.
"""
import contextlib
import os
import pathlib
import re
import time

import pytest

from conftest import EXIT_OK, EXIT_SETUP, Boot, run_vmm
from guests import POWEROFF, printer

NR_HUGEPAGES = pathlib.Path("/proc/sys/vm/nr_hugepages")
NR_OVERCOMMIT = pathlib.Path("/proc/sys/vm/nr_overcommit_hugepages")
PAGE_KIB = 2048
MEMORY_MIB = 64
GUEST_PAGES = MEMORY_MIB * 1024 // PAGE_KIB  # 32
TOUCHED = 16  # huge pages the guest writes, from 16 MiB up
# The loader's own writes (GDT, page tables, ACPI and MP tables, the image
# at 1 MiB) all fall in the first huge page.
FAULTED = TOUCHED + 1
STATS_MEMORY = re.compile(r"memory: RSS (\d+) KiB = guest RAM touched "
                          r"(\d+) KiB \+ VMM (\d+) KiB")

# mov edi,16 MiB; mov ecx,TOUCHED; 1: mov byte [rdi],0x5a;
# add rdi,2 MiB; loop 1b
TOUCH = bytes.fromhex("bf00000001 b9") + TOUCHED.to_bytes(4, "little") + \
    bytes.fromhex("c6075a 4881c700002000 e2f4")
# mov dx,0x3fd (COM1 LSR); 1: in al,dx; test al,1 (data ready); jz 1b
WAIT_COM1 = bytes.fromhex("66bafd03 ec a801 74fb")
GUEST = TOUCH + printer(b"touched\n", WAIT_COM1 + POWEROFF)


def pool():
    """The default-size huge page counters of /proc/meminfo."""
    info = {}
    for line in pathlib.Path("/proc/meminfo").read_text().splitlines():
        key, value = line.split(":", 1)
        if key.startswith("HugePages_") or key == "Hugepagesize":
            info[key] = int(value.split()[0])
    return info


def available(info):
    """Pages free in the pool and not reserved by any mapping."""
    return info["HugePages_Free"] - info["HugePages_Rsvd"]


def in_use(info):
    return info["HugePages_Total"] - info["HugePages_Free"]


def need_2mib_pages():
    size = pool().get("Hugepagesize")
    if size != PAGE_KIB:
        pytest.skip(f"the default huge page size is {size} kB; vmm uses "
                    "2 MiB pages and /proc/sys/vm/nr_hugepages sizes another "
                    "pool")


@contextlib.contextmanager
def sized_pool(free_pages):
    """Make exactly free_pages 2 MiB pages available (0: no pool and no
    surplus pages either); put nr_hugepages and nr_overcommit_hugepages
    back as they were on the way out, whatever happens."""
    if os.geteuid() != 0:
        pytest.skip("needs root to size the huge page pool "
                    f"({NR_HUGEPAGES})")
    need_2mib_pages()
    saved = {f: f.read_text() for f in (NR_HUGEPAGES, NR_OVERCOMMIT)}
    try:
        NR_OVERCOMMIT.write_text("0\n")
        info = pool()
        # Pages others hold or have reserved stay; resize around them.
        target = info["HugePages_Total"] - available(info) + free_pages
        NR_HUGEPAGES.write_text(f"{target}\n")
        got = available(pool())
        if got < free_pages:
            pytest.skip(f"the kernel reserved only {got} of {free_pages} "
                        "free 2 MiB huge pages (not enough contiguous "
                        "memory)")
        assert got == free_pages, pool()
        yield
    finally:
        for f, value in saved.items():
            f.write_text(value)


def wait_until(check, what, timeout=30):
    """Poll check() until it is true; fail naming what after timeout."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            pytest.fail(f"timeout waiting for {what}: {pool()}")
        time.sleep(0.05)


@pytest.fixture
def tiny(tmp_path):
    path = tmp_path / "touch.bin"
    path.write_bytes(GUEST)
    return ["--kernel", str(path), "--kernel-format", "raw",
            "--memory", f"{MEMORY_MIB}M"]


def test_hugepages_reserved_touched_and_reported(tiny):
    # One page more than the guest needs: a pool sized exactly would hide
    # a VMM that reserved more than its RAM.
    with sized_pool(GUEST_PAGES + 1):
        before = pool()
        boot = Boot(tiny + ["--hugepages", "--stats"], timeout=120)
        try:
            boot.wait_for("touched")
            during = pool()
            boot.send(b"g")
            rc = boot.finish()
        finally:
            boot.kill()
        # All of guest RAM was reserved at start, not faulted in lazily...
        assert available(before) - available(during) == GUEST_PAGES, \
            (before, during)
        # ...and only the pages written so far are in use.
        assert in_use(during) - in_use(before) == FAULTED, (before, during)
        assert rc == EXIT_OK, boot.stderr
        assert boot.lines == ["touched"]
        assert "guest powered off (exit status 0)" in boot.stderr
        # --stats counts those huge pages as the guest RAM touched.
        m = STATS_MEMORY.search(boot.stderr)
        assert m, boot.stderr
        rss, guest, vmm = map(int, m.groups())
        assert guest == FAULTED * PAGE_KIB, boot.stderr
        assert rss == guest + vmm and vmm > 0
        # The VMM is gone: its reservation is back in the pool.
        wait_until(lambda: available(pool()) == available(before),
                   "the guest's huge pages to return to the pool")


def test_hugepages_without_pool_is_setup_error(tiny):
    if os.geteuid() == 0:
        ctx = sized_pool(0)
    else:
        need_2mib_pages()
        info = pool()
        if available(info) or int(NR_OVERCOMMIT.read_text()):
            pytest.skip("needs root to empty the huge page pool "
                        f"({NR_HUGEPAGES})")
        ctx = contextlib.nullcontext()
    with ctx:
        r = run_vmm(["boot"] + tiny + ["--hugepages"])
    assert r.returncode == EXIT_SETUP, r.stderr
    assert r.stdout == ""  # no guest code ran
    assert (f"error: cannot allocate {MEMORY_MIB} MiB of guest RAM in 2 MiB "
            "huge pages: Cannot allocate memory (the host's pool: "
            "/proc/sys/vm/nr_hugepages)") in r.stderr
