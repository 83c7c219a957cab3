"""virtio-blk with the real test kernel.

Here guest user space cannot run, so the kernel itself does the disk I/O:
`root=/dev/vda rootfstype=ext2 rw` makes it read the ext2 image the test
made with mke2fs and, when mounting read-write, write the superblock back
(mount count, "not clean") and wait for that write. The host
then reads the image with dumpe2fs. Where user space runs, init also
writes a pattern with O_DIRECT and the host checks the bytes, discards a
range (the host file loses those blocks), reads the serial of a `,ro`
disk and fails to write to it.

The kernel-only boots have no init to run, so the kernel panics right
after mounting; `panic=0` makes it wait there instead of resetting, so
what the tests do to a running VMM (a second VMM, SIGKILL, Ctrl-A x)
never races the end of the boot, however fast the host.
"""
import hashlib
import os
import pathlib
import shutil
import signal
import subprocess
import tempfile

import pytest

from conftest import (EXIT_SETUP, EXIT_STOPPED, Boot, host_is_pvm,
                      need_userspace, run_vmm, takes_o_direct)

PVM = host_is_pvm()
MOUNTED = "VFS: Mounted root (ext2 filesystem)"
SERIAL = "vmm-ro-disk-7"
# Init, where user space runs: on vda a 4 KiB pattern at 100 KiB written
# with O_DIRECT and read back; on vdb the second MiB discarded; on vdc
# (read-only) the serial read and a write that must fail. The '' keep
# the markers out of the kernel's echo of its command line.
USER_SCRIPT = (
    "yes vmm-pattern | head -c 4096 > /p; "
    "dd if=/p of=/dev/vda bs=4096 seek=25 oflag=direct conv=fsync "
    "&& dd if=/dev/vda bs=4096 skip=25 count=1 iflag=direct | cmp - /p "
    "&& blkdiscard -o 1048576 -l 1048576 /dev/vdb "
    "&& echo serial=$(cat /sys/block/vdc/serial) "
    "ro=$(cat /sys/block/vdc/ro) "
    "&& if dd if=/dev/zero of=/dev/vdc bs=4096 count=1 oflag=direct; "
    "then echo RO-WRITE-SUCCEED''ED; else echo RO-WRITE-FAIL''ED; fi")
PATTERN = (b"vmm-pattern\n" * 342)[:4096]
FILL = b"\xa5" * (4 << 20)


def encode(cmd):
    """test-images/init's vmm.run= encoding: %XX for anything unsafe."""
    return "".join(c if c.isalnum() or c in "/-_.=" else f"%{ord(c):02X}"
                   for c in cmd)


def mkext2(path, mib=16):
    subprocess.run(["mke2fs", "-q", "-F", "-t", "ext2", "-L", "vmmtest",
                    str(path), f"{mib}M"], check=True)
    return str(path)


def superblock(path):
    out = subprocess.run(["dumpe2fs", "-h", str(path)], check=True,
                         capture_output=True, text=True).stdout
    fields = {}
    for line in out.splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            fields[k.strip()] = v.strip()
    return fields


def sha(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


@pytest.fixture(scope="module")
def disks(images, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("disk")
    rw, ro = mkext2(tmp / "rw.img"), mkext2(tmp / "ro.img")
    scratch, pattern = tmp / "scratch.img", tmp / "pattern.img"
    discard, ro_raw = tmp / "discard.img", tmp / "ro-raw.img"
    for path in (scratch, pattern):
        with open(path, "wb") as f:
            f.truncate(4 << 20)
    for path in (discard, ro_raw):
        path.write_bytes(FILL)  # every block allocated
    discard_blocks = os.stat(discard).st_blocks
    ro_sum = sha(ro)
    root = "root=/dev/vda rootfstype=ext2 panic=0"
    base = ["--kernel", images["vmlinux"]]
    boots = {
        # The kernel mounts the image read-write and waits for its
        # superblock write; SIGKILL right then proves that what the guest
        # waited for is on the host side, not in our memory.
        "rw": Boot(base + ["--disk", rw, "--disk", str(scratch),
                           "--append", f"{root} rw"]),
        "ro": Boot(base + ["--disk", f"{ro},ro", "--append", f"{root} rw"],
                   trigger=(MOUNTED, b"\x01x")),
    }
    if not PVM:
        boots["user"] = Boot(base + [
            "--initrd", images["initrd"],
            "--disk", f"{pattern},cache=none", "--disk", str(discard),
            "--disk", f"{ro_raw},ro,serial={SERIAL}",
            "--append", "vmm.run=" + encode(USER_SCRIPT)])
    yield {"kernel": images["vmlinux"], "rw": rw, "ro": ro, "ro_sum": ro_sum,
           "pattern": pattern, "discard": discard, "ro_raw": ro_raw,
           "discard_blocks": discard_blocks,
           "boots": boots}
    for b in boots.values():
        b.kill()


@pytest.fixture(scope="module")
def rw_boot(disks):
    b = disks["boots"]["rw"]
    b.wait_for("[vda]")
    # While it runs: a second VMM must not open the same image.
    second = run_vmm(["boot", "--kernel", disks["kernel"], "--disk",
                      disks["rw"]])
    b.second = second
    b.wait_for(MOUNTED)
    b.proc.send_signal(signal.SIGKILL)
    b.rc = b.finish()
    return b


def test_guest_sees_disk_of_right_size(rw_boot):
    line = next(l for l in rw_boot.lines if "[vda]" in l)
    assert "32768 512-byte logical blocks" in line, line
    assert any("[vdb]" in l and "8192 512-byte logical blocks" in l
               for l in rw_boot.lines)


def test_second_vmm_on_same_image_is_refused(rw_boot, disks):
    r = rw_boot.second
    assert r.returncode == EXIT_SETUP, r.stderr
    assert f"disk {disks['rw']}: in use by pid {rw_boot.proc.pid}" in r.stderr


def test_kernel_wrote_superblock_and_it_survived_sigkill(rw_boot, disks):
    assert f"{MOUNTED} on device" in rw_boot.console
    assert rw_boot.rc == -signal.SIGKILL
    sb = superblock(disks["rw"])
    # (The guest has no RTC here, so its mount time is 0: not checked.)
    assert sb["Mount count"] == "1", sb
    assert sb["Filesystem state"] == "not clean", sb


@pytest.fixture(scope="module")
def user_boot(disks):
    need_userspace()
    b = disks["boots"]["user"]
    b.wait_for("VMM-INIT: exit status")
    b.rc = b.finish()
    return b


def test_pattern_written_with_o_direct(user_boot, disks):
    assert user_boot.rc == 0, user_boot.console[-2000:] + user_boot.stderr
    assert "VMM-INIT: exit status 0" in user_boot.console
    with open(disks["pattern"], "rb") as f:
        f.seek(25 * 4096)
        assert f.read(4096) == PATTERN


def test_discard_frees_host_blocks(user_boot, disks):
    """The guest's discard punched a hole: the host file lost exactly that
    MiB of blocks, which now read as zeros, and nothing else changed."""
    assert user_boot.rc == 0, user_boot.console[-2000:]
    freed = disks["discard_blocks"] - os.stat(disks["discard"]).st_blocks
    assert freed * 512 == 1 << 20, freed
    data = disks["discard"].read_bytes()
    assert data[:1 << 20] == FILL[:1 << 20]
    assert data[1 << 20:2 << 20] == bytes(1 << 20)
    assert data[2 << 20:] == FILL[2 << 20:]


def test_read_only_disk_serial_and_write(user_boot, disks):
    """serial= is what the guest reads; its write to the ,ro disk fails
    and the image is unchanged."""
    line = next((l for l in user_boot.lines if l.startswith("serial=")), "")
    assert line.split() == [f"serial={SERIAL}", "ro=1"], line
    assert "RO-WRITE-FAILED" in user_boot.lines
    assert "RO-WRITE-SUCCEEDED" not in user_boot.lines
    assert disks["ro_raw"].read_bytes() == FILL


def test_read_only_disk_refuses_writes(disks):
    b = disks["boots"]["ro"]
    rc = b.finish()
    assert rc == EXIT_STOPPED, b.stderr
    # The kernel saw the write protection and fell back to read-only.
    assert f"{MOUNTED} readonly on device" in b.console
    assert sha(disks["ro"]) == disks["ro_sum"]


def test_block_device_as_disk(tmp_path):
    """A block device works like an image: its size comes from the device
    (BLKGETSIZE64) and it is locked the same way."""
    if os.geteuid() != 0 or not shutil.which("losetup"):
        pytest.skip("needs root and losetup(8) to make a loop device")
    backing = tmp_path / "loop.img"
    with open(backing, "wb") as f:
        f.truncate(8 << 20)
    r = subprocess.run(["losetup", "-f", "--show", str(backing)],
                       capture_output=True, text=True)
    if r.returncode:
        pytest.skip(f"no loop device here: {r.stderr.strip()}")
    dev = r.stdout.strip()
    guest = tmp_path / "exit0.bin"
    # mov dx,0x501; xor eax,eax; out dx,al: exit 0 at once.
    guest.write_bytes(bytes.fromhex("66ba0105 31c0 ee f4"))
    try:
        r = run_vmm(["boot", "--kernel", str(guest), "--kernel-format",
                     "raw", "--console", "none", "--disk", dev, "-v"])
    finally:
        subprocess.run(["losetup", "-d", dev])
    assert r.returncode == 0, r.stderr
    assert f"disk {dev}: 16384 sectors" in r.stderr


def test_cache_none_where_o_direct_is_refused(images):
    """cache=none on a file system without O_DIRECT (tmpfs before Linux
    6.6) is a set-up error that says so, not a bare "Invalid argument"."""
    shm = pathlib.Path("/dev/shm")
    img = pathlib.Path(tempfile.mkstemp(dir=shm, suffix=".img")[1])
    try:
        img.write_bytes(bytes(1 << 20))
        if takes_o_direct(img):
            pytest.skip(f"{shm} takes O_DIRECT on this kernel")
        r = run_vmm(["boot", "--kernel", images["vmlinux"], "--disk",
                     f"{img},cache=none"])
    finally:
        img.unlink()
    assert r.returncode == EXIT_SETUP, r.stderr
    assert f"disk {img}: cache=none needs O_DIRECT, which this file " \
        "system does not support" in r.stderr
