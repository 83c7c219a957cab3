"""`vmm boot` options that README.md documents, each run against a tiny
guest: a few bytes of machine code, as a raw image or wrapped in a
bzImage header (tests/fuzz/seed_bzimage.py), so vmm treats it as a Linux
kernel. They run in milliseconds on a PVM-based host, a normal KVM and an
emulated host alike; every wait is for what the test checks (a console
line, an exit), never for a fixed time."""
import contextlib
import os
import shutil
import signal
import subprocess

import pytest

import netpeer
from conftest import (EXIT_SETUP, EXIT_STOPPED, Boot, host_is_pvm, run_vmm,
                      takes_o_direct)
from guests import (PCI_SCAN, POWEROFF, PRINT_CMDLINE, bzimage, debug_exit,
                    printer, spinner)

PVM = host_is_pvm()
DEADLINE = 120  # seconds; only a bound for a broken run

# README "Usage": the default command line, and what a PVM-based host adds.
DEFAULT_CMDLINE = ("console=ttyS0 reboot=k panic=-1 i8042.noaux i8042.nomux "
                   "i8042.nopnp i8042.dumbkbd")
PVM_QUIRKS = (
    "noxsave clearcpuid=smap,smep,popcnt,rdrand,rdseed,clflushopt,clwb,"
    "movbe,bmi1,bmi2,sse4_2,sse4_1,ssse3,aes,pclmulqdq,avx,avx2,fma,f16c,"
    "erms,fsrm,movdiri,movdir64b,invpcid,pcid,fsgsbase,rdpid,umip,pku,"
    "xsave,avx512f")
QUIRKS_NOTICE = ("vmm: PVM-based host: adding the kernel options it needs "
                 "(--no-host-quirks turns this off)")
POWERED_OFF = "vmm: guest powered off (exit status 0)"


def write(tmp_path, name, data):
    path = tmp_path / name
    path.write_bytes(data)
    return str(path)


def boot(kernel, *args, raw=False):
    """Run vmm on a tiny guest that ends by itself."""
    return run_vmm(["boot", "--kernel", kernel]
                   + (["--kernel-format", "raw"] if raw else [])
                   + list(args), timeout=DEADLINE)


# ---- the kernel command line: --cmdline, --append, --no-host-quirks ------

@pytest.fixture
def cmdline_kernel(tmp_path):
    """Prints the command line it got through boot_params, powers off."""
    return write(tmp_path, "cmdline-bzImage",
                 bzimage(PRINT_CMDLINE + POWEROFF))


def guest_cmdline(kernel, *args):
    r = boot(kernel, *args)
    assert r.returncode == 0, r.stderr
    assert POWERED_OFF in r.stderr
    assert r.stdout.endswith("\n"), repr(r.stdout)
    lines = r.stdout.split("\n")
    assert len(lines) == 2, repr(r.stdout)  # one line, then nothing
    return lines[0], r.stderr


def with_quirks(*parts):
    """What the guest sees on this host: base, the host's options when it
    is PVM-based, then the appended text."""
    base, rest = parts[0], list(parts[1:])
    return " ".join([base] + ([PVM_QUIRKS] if PVM else []) + rest)


def test_default_cmdline(cmdline_kernel):
    line, _ = guest_cmdline(cmdline_kernel, "--no-host-quirks")
    assert line == DEFAULT_CMDLINE


def test_cmdline_replaces_the_default(cmdline_kernel):
    line, _ = guest_cmdline(cmdline_kernel, "--no-host-quirks", "--cmdline",
                            "root=/dev/vda quiet vmm.test=1")
    assert line == "root=/dev/vda quiet vmm.test=1"
    line, _ = guest_cmdline(cmdline_kernel, "--cmdline",
                            "root=/dev/vda quiet vmm.test=1")
    assert line == with_quirks("root=/dev/vda quiet vmm.test=1")


def test_append_adds_to_the_default(cmdline_kernel):
    line, _ = guest_cmdline(cmdline_kernel, "--no-host-quirks", "--append",
                            "ip=dhcp vmm.test=2")
    assert line == DEFAULT_CMDLINE + " ip=dhcp vmm.test=2"
    line, _ = guest_cmdline(cmdline_kernel, "--append", "ip=dhcp vmm.test=2")
    assert line == with_quirks(DEFAULT_CMDLINE, "ip=dhcp vmm.test=2")


def test_short_forms_cmdline_then_append(cmdline_kernel):
    line, _ = guest_cmdline(cmdline_kernel, "--no-host-quirks", "-c",
                            "console=ttyS0", "-a", "vmm.test=3")
    assert line == "console=ttyS0 vmm.test=3"


def test_cmdline_limit_is_the_headers_cmdline_size(tmp_path):
    """README: the limit is the bzImage header's cmdline_size; longer is
    an error, not a silent cut."""
    image = bytearray(bzimage(PRINT_CMDLINE + POWEROFF))
    image[0x238:0x23c] = (64).to_bytes(4, "little")  # hdr.cmdline_size
    kernel = write(tmp_path, "cmdline64-bzImage", bytes(image))
    fits = "x" * 64
    line, _ = guest_cmdline(kernel, "--no-host-quirks", "--cmdline", fits)
    assert line == fits
    r = boot(kernel, "--no-host-quirks", "--cmdline", fits + "y")
    assert r.returncode == EXIT_SETUP, r.stderr
    assert r.stdout == ""
    assert (f"vmm: error: kernel command line is 65 bytes, kernel {kernel} "
            "accepts at most 64") in r.stderr


def test_host_quirks_only_on_pvm_hosts(cmdline_kernel):
    line, err = guest_cmdline(cmdline_kernel)
    if PVM:
        assert line == DEFAULT_CMDLINE + " " + PVM_QUIRKS
        assert QUIRKS_NOTICE in err
    else:
        assert line == DEFAULT_CMDLINE
        assert "noxsave" not in line and "clearcpuid" not in line
        assert "PVM-based host" not in err


def test_no_host_quirks(cmdline_kernel):
    line, err = guest_cmdline(cmdline_kernel, "--no-host-quirks")
    assert line == DEFAULT_CMDLINE
    assert "noxsave" not in line and "clearcpuid" not in line
    assert "PVM-based host" not in err


# ---- --quiet ------------------------------------------------------------

def test_quiet_prints_nothing_on_a_clean_run(tmp_path):
    kernel = write(tmp_path, "hello-bzImage",
                   bzimage(printer(b"hello from the guest\n", POWEROFF)))
    loud = boot(kernel)
    assert loud.returncode == 0, loud.stderr
    assert POWERED_OFF in loud.stderr  # info lines without -q
    assert (QUIRKS_NOTICE in loud.stderr) == PVM
    for flag in ("-q", "--quiet"):
        r = boot(kernel, flag)
        assert r.returncode == 0, r.stderr
        assert r.stdout == "hello from the guest\n"
        assert r.stderr == ""


def test_quiet_still_prints_errors(tmp_path):
    missing = str(tmp_path / "no-such-kernel")
    r = boot(missing, "--quiet")
    assert r.returncode == EXIT_SETUP
    assert f"vmm: error: kernel {missing}: No such file or directory" \
        in r.stderr


# ---- --rng / --no-rng ---------------------------------------------------

RNG_STATS = "vmm: rng: 0 bytes to the guest"  # --stats, when it exists


@pytest.mark.parametrize("fmt,flags,present", [
    ("bzimage", [], True),            # on by default for Linux kernels
    ("bzimage", ["--no-rng"], False),
    ("bzimage", ["--rng"], True),
    ("raw", [], False),               # off by default for raw images
    ("raw", ["--rng"], True),
    ("raw", ["--no-rng"], False),
], ids=["bzimage-default", "bzimage-no-rng", "bzimage-rng", "raw-default",
        "raw-rng", "raw-no-rng"])
def test_rng_device_in_pci_config_space(tmp_path, fmt, flags, present):
    """The guest scans PCI bus 0 and prints one character a slot: 'R' is
    virtio-rng (1af4:1044), 'd' another device, '.' none."""
    code = PCI_SCAN + POWEROFF
    raw = fmt == "raw"
    kernel = write(tmp_path, "pci-scan", code if raw else bzimage(code))
    r = boot(kernel, "--stats", *flags, raw=raw)
    assert r.returncode == 0, r.stderr
    slots = r.stdout.rstrip("\n")
    assert len(slots) == 32 and set(slots) <= set("Rd."), repr(r.stdout)
    assert slots[0] == "d", slots  # the host bridge: the scan works
    assert slots.count("R") == (1 if present else 0), slots
    assert (RNG_STATS in r.stderr) == present, r.stderr


# ---- --console none -----------------------------------------------------

def test_console_none_hides_output_but_keeps_exit_status(tmp_path):
    kernel = write(tmp_path, "exit7.bin",
                   printer(b"to nowhere\n", debug_exit(7)))
    log = tmp_path / "console.log"
    shown = boot(kernel, raw=True)
    assert shown.returncode == 7, shown.stderr
    assert shown.stdout == "to nowhere\n"
    r = boot(kernel, "--console", "none", "--console-log", str(log),
             raw=True)
    assert r.returncode == 7, r.stderr
    assert r.stdout == ""
    assert "vmm: guest wrote exit status 7 to the debug-exit port" \
        in r.stderr
    assert log.read_text() == "to nowhere\n"  # the guest did print


# ---- --disk ...,cache=none: O_DIRECT ------------------------------------

O_DIRECT, O_ACCMODE = 0o40000, 0o3
READY = "vmm-test: spinning"


@pytest.fixture
def spin_kernel(tmp_path):
    return write(tmp_path, "spin.bin", spinner(READY.encode() + b"\n"))


@pytest.fixture
def disk_image(tmp_path):
    """A 1 MiB image the host can open with O_DIRECT: a file, or where
    the file system refuses O_DIRECT (tmpfs before Linux 6.6, as in the
    emulated test host) a loop device over it."""
    img = tmp_path / "disk.img"
    img.write_bytes(b"\0" * (1 << 20))
    if takes_o_direct(str(img)):
        yield str(img)
        return
    if os.geteuid() != 0 or not shutil.which("losetup"):
        pytest.skip(f"{tmp_path} refuses O_DIRECT, and a loop device "
                    "needs root and losetup(8)")
    dev = subprocess.run(["losetup", "-f", "--show", str(img)], check=True,
                         capture_output=True, text=True).stdout.strip()
    try:
        yield dev
    finally:
        subprocess.run(["losetup", "-d", dev], capture_output=True)


def open_flags(pid, target):
    """The open(2) flags of pid's descriptor for target."""
    found = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if link == os.path.realpath(target):
            with open(f"/proc/{pid}/fdinfo/{fd}") as f:
                for line in f:
                    if line.startswith("flags:"):
                        found.append(int(line.split()[1], 8))
    assert len(found) == 1, f"{target} open {len(found)} times in vmm"
    return found[0]


@pytest.mark.parametrize("opts,direct,mode", [
    (",cache=none", True, os.O_RDWR),
    ("", False, os.O_RDWR),
    (",cache=writeback", False, os.O_RDWR),
    (",ro,cache=none", True, os.O_RDONLY),
], ids=["cache=none", "default", "cache=writeback", "ro,cache=none"])
def test_disk_cache_none_opens_with_o_direct(spin_kernel, disk_image, opts,
                                            direct, mode):
    b = Boot(["--kernel", spin_kernel, "--kernel-format", "raw", "--disk",
              disk_image + opts], timeout=DEADLINE)
    try:
        b.wait_for(READY)  # devices are set up before the vCPU runs
        flags = open_flags(b.proc.pid, disk_image)
        b.proc.send_signal(signal.SIGTERM)
        rc = b.finish()
    finally:
        b.kill()
    assert rc == EXIT_STOPPED, b.stderr
    assert bool(flags & O_DIRECT) == direct, oct(flags)
    assert flags & O_ACCMODE == mode, oct(flags)


# ---- --net tap: a tap created by vmm, gone with it ------------------------



@contextlib.contextmanager
def fresh_netns():
    ns = f"vmmopt{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True,
                   capture_output=True)
    try:
        yield ns
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def link_show(ns, dev):
    return subprocess.run(["ip", "-n", ns, "link", "show", dev],
                          capture_output=True, text=True)


def test_net_tap_creates_vmm0_and_removes_it(spin_kernel):
    why = netpeer.tap_unavailable()
    if why:
        pytest.skip(why)
    with fresh_netns() as ns:
        assert link_show(ns, "vmm0").returncode != 0  # a fresh namespace
        b = Boot(["--kernel", spin_kernel, "--kernel-format", "raw", "-v",
                  "--net", "tap", "--net", "tap"], timeout=DEADLINE,
                 prefix=("ip", "netns", "exec", ns))
        try:
            b.wait_for(READY)
            during = [link_show(ns, dev) for dev in ("vmm0", "vmm1")]
            b.proc.send_signal(signal.SIGTERM)
            rc = b.finish()
        finally:
            b.kill()
        after = [link_show(ns, dev) for dev in ("vmm0", "vmm1")]
    assert rc == EXIT_STOPPED, b.stderr
    for dev, shown in zip(("vmm0", "vmm1"), during):
        assert shown.returncode == 0, shown.stderr
        assert f": {dev}: " in shown.stdout, shown.stdout
        assert f"vmm: --net tap: {dev}" in b.stderr.splitlines()
    for dev, shown in zip(("vmm0", "vmm1"), after):
        assert shown.returncode != 0, f"{dev} outlived vmm: {shown.stdout}"
        assert "does not exist" in shown.stderr, shown.stderr
