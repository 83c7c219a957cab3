"""scripts/testhost, the emulated normal-KVM host of the nested tier: what
a command's status becomes, and how each way of failing is reported (a
one-line error and a distinct exit status, never a hang).

Each boot of the emulated host costs 15-20 s of QEMU TCG. These run in
the host tier only (conftest.py leaves this file out of the nested tier,
which runs inside such a host already).
"""
import os
import subprocess

from conftest import TOP

TESTHOST = str(TOP / "scripts" / "testhost")
EXIT_NO_QEMU, EXIT_NO_KERNEL, EXIT_NO_VIRT, EXIT_NO_BOOT = 240, 241, 242, 243
EXIT_HUNG, EXIT_TIMEOUT, EXIT_NO_STATUS = 244, 245, 246

def run_testhost(*args, env=None, timeout=600):
    e = dict(os.environ, **(env or {}))
    return subprocess.run([TESTHOST] + list(args), capture_output=True,
                          text=True, timeout=timeout, env=e,
                          stdin=subprocess.DEVNULL)


def one_error_line(r):
    """The runner's own error: exactly one 'testhost: error:' line."""
    errors = [l for l in r.stderr.splitlines()
              if l.startswith("testhost: error: ")]
    assert len(errors) == 1, r.stderr
    return errors[0]


def test_command_status_and_output_come_back(tmp_path):
    """CMD runs in the current directory with the host's files, its output
    reaches stdout, its status becomes the runner's, and the emulated host
    has a usable, non-PVM KVM (vmm probe inside) with the module
    parameters of tests/hosts/x86_64.modules (npt=0)."""
    vmm = os.environ.get("VMM", str(TOP / "build" / "vmm"))
    log = tmp_path / "console.log"
    r = run_testhost("--log", str(log), "--out", str(tmp_path), "x86_64", "--",
                 "sh", "-c", f"pwd; {vmm} probe; "
                 "echo npt=$(cat /sys/module/kvm_amd/parameters/npt); "
                 "echo written > $TESTHOST_OUT/result; exit 7")
    assert r.returncode == 7, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == os.getcwd()
    assert "usable:           yes" in lines
    assert "pvm-based nested: no" in lines
    assert "npt=N" in lines
    assert (tmp_path / "result").read_text() == "written\n"
    assert f"testhost: console log: {log}" in r.stderr
    assert "reboot: Power down" in log.read_text(errors="replace")


def test_usage_errors():
    r = run_testhost("x86_64")
    assert r.returncode == 2 and "nothing to run" in one_error_line(r)
    r = run_testhost("m68k", "--", "true")
    assert r.returncode == 2
    assert "unknown architecture 'm68k'" in one_error_line(r)


def test_qemu_missing():
    r = run_testhost("x86_64", "--", "true",
                 env={"TESTHOST_QEMU": "/nonexistent/qemu-system-x86_64"})
    assert r.returncode == EXIT_NO_QEMU, r.stderr
    assert "/nonexistent/qemu-system-x86_64 not found" in one_error_line(r)


def test_kernel_package_missing_or_broken(tmp_path):
    r = run_testhost("x86_64", "--", "true",
                 env={"TESTHOST_KERNEL_DEB": str(tmp_path / "none.deb")})
    assert r.returncode == EXIT_NO_KERNEL, r.stderr
    line = one_error_line(r)
    assert f"kernel package {tmp_path / 'none.deb'} missing" in line
    assert "scripts/install-deps.sh --testhost" in line
    bad = tmp_path / "garbage.deb"
    bad.write_bytes(b"not a deb" * 100)
    r = run_testhost("x86_64", "--", "true",
                 env={"TESTHOST_KERNEL_DEB": str(bad),
                      "VMM_TESTHOST_CACHE": str(tmp_path / "cache")})
    assert r.returncode == EXIT_NO_KERNEL, r.stderr
    assert f"kernel package {bad} does not unpack" in one_error_line(r)


def test_cpu_without_virtualisation():
    """An Intel model: TCG has no VMX, and Intel CPUs no SVM. (max,-svm
    would do too, but QEMU 7.2's TCG then breaks the emulated host's
    static busybox: every exec aborts in glibc's _dl_get_origin.)"""
    r = run_testhost("--cpu", "Nehalem", "x86_64", "--", "true")
    assert r.returncode == EXIT_NO_VIRT, r.stderr
    assert "the emulated CPU has no svm flag" in one_error_line(r)


def test_emulated_host_that_does_not_boot():
    """Its kernel finds no init: it panics and QEMU ends (-no-reboot)."""
    r = run_testhost("--append", "rdinit=/nonexistent", "x86_64", "--", "true")
    assert r.returncode == EXIT_NO_BOOT, r.stderr
    line = one_error_line(r)
    assert "the emulated host ended before it came up" in line
    assert "Kernel panic" in line  # the console line that says why


def test_hung_emulated_host_is_detected():
    """Real-time busy loops on every CPU, with RT throttling off, starve
    everything else, the heartbeat too: what a livelocked host looks like
    from outside."""
    hog = ("echo -1 > /proc/sys/kernel/sched_rt_runtime_us; "
           "for c in 0 1; do taskset -c $c chrt -f 99 "
           "sh -c 'while :; do :; done' & done; wait")
    r = run_testhost("--hang-timeout", "15", "x86_64", "--", "sh", "-c", hog)
    assert r.returncode == EXIT_HUNG, r.stderr
    assert "the emulated host hung: no heartbeat for 15 s" in \
        one_error_line(r)


def test_command_over_its_timeout():
    r = run_testhost("--timeout", "5", "x86_64", "--", "sleep", "600")
    assert r.returncode == EXIT_TIMEOUT, r.stderr
    assert "the command ran over 5 s (--timeout)" in one_error_line(r)


def test_emulated_host_ends_without_a_status():
    """Powered off under the command's feet (SysRq-o)."""
    r = run_testhost("x86_64", "--", "sh", "-c",
                 "echo o > /proc/sysrq-trigger; sleep 600")
    assert r.returncode == EXIT_NO_STATUS, r.stderr
    assert "ended without reporting the command's status" in \
        one_error_line(r)
