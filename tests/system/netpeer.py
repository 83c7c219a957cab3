"""The host side of the network tests: TCP peers for the guest's
vmm_selftest driver (test-images/README.md), usable in-process or, for a
network namespace, as `ip netns exec NS python3 netpeer.py CMD ...`
printing one JSON line.

The byte stream the driver sends (tcp_put) is an LCG: x = x*1103515245 +
12345 (mod 2^32) from x = 1, stepped before each byte; the byte is x>>24.
The host sends the same stream, so both ends can check every byte.
"""
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import zlib

_PATTERN = bytearray()


def pattern(n):
    """The first n bytes of the test stream."""
    global _PATTERN
    if len(_PATTERN) < n:
        out = bytearray(n)
        x = 1
        for i in range(n):
            x = (x * 1103515245 + 12345) & 0xFFFFFFFF
            out[i] = x >> 24
        _PATTERN = out
    return bytes(_PATTERN[:n])


def free_port(kind=socket.SOCK_STREAM):
    """A port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listener(port, host="0.0.0.0"):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((host, port))
    s.listen(1)
    return s


def _recv_all(conn):
    data = bytearray()
    while True:
        chunk = conn.recv(1 << 16)
        if not chunk:
            return bytes(data)
        data += chunk


def serve_send(srv, nbytes, timeout):
    """Accept one connection on srv and send nbytes of the pattern."""
    srv.settimeout(timeout)
    conn, _ = srv.accept()
    with conn:
        conn.settimeout(timeout)
        t = time.monotonic()
        conn.sendall(pattern(nbytes))
        conn.shutdown(socket.SHUT_WR)
        _recv_all(conn)  # until the guest closes: all of it arrived
        secs = time.monotonic() - t
    return {"bytes": nbytes, "crc32": zlib.crc32(pattern(nbytes)),
            "secs": secs}


def serve_recv(srv, timeout):
    """Accept one connection on srv and read it to the end."""
    srv.settimeout(timeout)
    conn, _ = srv.accept()
    with conn:
        conn.settimeout(timeout)
        t = time.monotonic()
        data = _recv_all(conn)
        secs = time.monotonic() - t
    return {"bytes": len(data), "crc32": zlib.crc32(data), "secs": secs,
            "is_pattern": data == pattern(len(data))}


def put(host, port, nbytes, timeout):
    """Connect (retrying until timeout), send nbytes of the pattern, read
    the guest's reply line "bytes=N crc32=X"."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            conn = socket.create_connection((host, port), timeout=5)
            break
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)
    with conn:
        conn.settimeout(max(1.0, deadline - time.monotonic()))
        t = time.monotonic()
        conn.sendall(pattern(nbytes))
        conn.shutdown(socket.SHUT_WR)
        reply = _recv_all(conn).decode("ascii", "replace").strip()
        secs = time.monotonic() - t
    return {"bytes": nbytes, "crc32": zlib.crc32(pattern(nbytes)),
            "secs": secs, "reply": reply}


def tap_unavailable():
    """Why a tap test cannot run here, or None."""
    if os.geteuid() != 0:
        return "needs root to make a network namespace and a tap"
    if not os.path.exists("/dev/net/tun"):
        return "no /dev/net/tun on this host"
    if not shutil.which("ip"):
        return "no ip(8) (iproute2)"
    return None


def make_netns(ns):
    """Namespace ns with lo up and a persistent tap vmmtap0 at 10.0.3.1/24
    (the guest takes 10.0.3.2); deleted again if any step fails."""
    def ip(*args):
        subprocess.run(("ip",) + args, check=True, capture_output=True)
    ip("netns", "add", ns)
    try:
        for args in (("link", "set", "lo", "up"),
                     ("tuntap", "add", "vmmtap0", "mode", "tap"),
                     ("addr", "add", "10.0.3.1/24", "dev", "vmmtap0"),
                     ("link", "set", "vmmtap0", "up")):
            ip("netns", "exec", ns, "ip", *args)
    except subprocess.CalledProcessError:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
        raise
    return ns


def main(argv):
    cmd, args = argv[1], argv[2:]
    if cmd == "send":  # send PORT NBYTES TIMEOUT
        srv = listener(int(args[0]))
        print("listening", flush=True)
        res = serve_send(srv, int(args[1]), float(args[2]))
    elif cmd == "recv":  # recv PORT TIMEOUT
        srv = listener(int(args[0]))
        print("listening", flush=True)
        res = serve_recv(srv, float(args[1]))
    elif cmd == "put":  # put HOST PORT NBYTES TIMEOUT
        res = put(args[0], int(args[1]), int(args[2]), float(args[3]))
    else:
        raise SystemExit(f"unknown command {cmd}")
    print(json.dumps(res), flush=True)


if __name__ == "__main__":
    main(sys.argv)
