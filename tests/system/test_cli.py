"""Command-line behaviour that needs no guest boot: fast everywhere."""
import os
import shutil
import subprocess

import pytest

from conftest import (EXIT_SETUP, EXIT_USAGE, TOP, VMM, host_is_pvm,
                      run_vmm)


def test_help_lists_commands_and_exit_codes():
    r = run_vmm(["--help"])
    assert r.returncode == 0
    for word in ("boot", "probe", "version", "Exit status", "130"):
        assert word in r.stdout


def test_boot_help_lists_options():
    r = run_vmm(["boot", "--help"])
    assert r.returncode == 0
    for opt in ("--kernel", "--initrd", "--cmdline", "--append", "--memory",
                "--cpus", "--console", "--verbose", "--quiet",
                "--no-host-quirks", "--stats", "--kernel-format",
                "--load-addr", "--entry"):
        assert opt in r.stdout


def test_version():
    r = run_vmm(["version"])
    assert r.returncode == 0 and r.stdout.startswith("vmm ")


def test_version_names_the_commit_built():
    """A stale main.o once kept an old commit in --version."""
    head = shutil.which("git") and subprocess.run(
        ["git", "-C", str(TOP), "rev-parse", "HEAD"], capture_output=True,
        text=True)
    if not head or head.returncode != 0:
        pytest.skip("not a git checkout: no commit to compare")
    r = run_vmm(["--version"])
    # git describe: HASH or TAG-N-gHASH, then -dirty for local changes
    built = r.stdout.split()[1].removesuffix("-dirty").rsplit("-g", 1)[-1]
    assert r.returncode == 0 and head.stdout.startswith(built), r.stdout


def test_unknown_command_is_usage_error():
    r = run_vmm(["frobnicate"])
    assert r.returncode == EXIT_USAGE
    assert "unknown command 'frobnicate'" in r.stderr


def test_missing_kernel_is_usage_error():
    r = run_vmm(["boot"])
    assert r.returncode == EXIT_USAGE
    assert "--kernel is required" in r.stderr


def test_bad_memory_is_usage_error():
    r = run_vmm(["boot", "--kernel", "/x", "--memory", "lots"])
    assert r.returncode == EXIT_USAGE
    assert "invalid memory size 'lots'" in r.stderr


def test_bad_console_is_usage_error():
    r = run_vmm(["boot", "--kernel", "/x", "--console", "serial:9"])
    assert r.returncode == EXIT_USAGE
    assert "--console" in r.stderr


def test_bad_kernel_format_is_usage_error():
    r = run_vmm(["boot", "--kernel", "/x", "--kernel-format", "vmlinuz"])
    assert r.returncode == EXIT_USAGE
    assert "invalid --kernel-format 'vmlinuz'" in r.stderr


def test_bad_cpus_is_usage_error():
    for bad in ("0", "255", "two"):
        r = run_vmm(["boot", "--kernel", "/x", "--cpus", bad])
        assert r.returncode == EXIT_USAGE, bad
        assert f"invalid --cpus '{bad}' (1 to 254)" in r.stderr


def test_bad_address_is_usage_error():
    for opt in ("--load-addr", "--entry"):
        for bad in ("nope", "0x", "12abc", "-1"):
            r = run_vmm(["boot", "--kernel", "/x", opt, bad])
            assert r.returncode == EXIT_USAGE, (opt, bad)
            assert f"invalid address '{bad}'" in r.stderr


def test_load_addr_needs_raw_format():
    r = run_vmm(["boot", "--kernel", "/x", "--kernel-format", "pvh",
                 "--load-addr", "0x200000"])
    assert r.returncode == EXIT_USAGE
    assert "--load-addr and --entry are for raw images" in r.stderr


def test_bzimage_forced_as_pvh_says_why(images):
    r = run_vmm(["boot", "--kernel", images["bzImage"], "--kernel-format",
                 "pvh"])
    assert r.returncode == EXIT_SETUP
    assert f"kernel {images['bzImage']}: not an ELF file" in r.stderr


def test_pvh_cmdline_limit(images):
    r = run_vmm(["boot", "--kernel", images["vmlinux"], "--append",
                 "x" * 2100])
    assert r.returncode == EXIT_SETUP
    assert "PVH kernel" in r.stderr and "at most 2047" in r.stderr


def test_garbage_kernel_is_setup_error(tmp_path):
    k = tmp_path / "garbage.bin"
    k.write_bytes(os.urandom(64 * 1024))
    r = run_vmm(["boot", "--kernel", str(k)])
    assert r.returncode == EXIT_SETUP
    assert str(k) in r.stderr
    assert "error" in r.stderr


def test_missing_kernel_file_is_setup_error(tmp_path):
    k = tmp_path / "nope"
    r = run_vmm(["boot", "--kernel", str(k)])
    assert r.returncode == EXIT_SETUP
    assert f"kernel {k}: No such file or directory" in r.stderr


def test_missing_initrd_is_setup_error(tmp_path, images):
    i = tmp_path / "missing.cpio"
    r = run_vmm(["boot", "--kernel", images["bzImage"], "--initrd", str(i)])
    assert r.returncode == EXIT_SETUP
    assert f"initrd {i}: No such file or directory" in r.stderr


def test_too_small_memory_is_setup_error(images):
    r = run_vmm(["boot", "--kernel", images["bzImage"], "--memory", "1M"])
    assert r.returncode == EXIT_SETUP
    assert "guest RAM" in r.stderr


def test_probe_reports_kvm_and_host_kind():
    r = run_vmm(["probe"])
    assert r.returncode == 0, r.stdout + r.stderr
    assert "usable:           yes" in r.stdout
    assert "api version:      12" in r.stdout
    expect = "yes" if host_is_pvm() else "no"
    assert f"pvm-based nested: {expect}" in r.stdout
    assert "cap in-kernel irqchip      yes (required)" in r.stdout


def without_dev_kvm(args):
    """Run vmm in a mount namespace whose /dev has no kvm node."""
    if os.geteuid() != 0 or not shutil.which("unshare"):
        pytest.skip("needs root and unshare(1) to hide /dev/kvm")
    script = 'mount -t tmpfs none /dev && exec "$0" "$@"'
    return subprocess.run(["unshare", "--mount", "sh", "-c", script, VMM]
                          + args, capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)


def test_probe_without_kvm_says_why():
    r = without_dev_kvm(["probe"])
    assert r.returncode == EXIT_SETUP, r.stdout + r.stderr
    assert "usable:           no: /dev/kvm: No such file or directory" in r.stdout


def test_boot_without_kvm_is_setup_error(images):
    r = without_dev_kvm(["boot", "--kernel", images["bzImage"]])
    assert r.returncode == EXIT_SETUP
    assert "/dev/kvm: No such file or directory" in r.stderr
