#!/usr/bin/env python3
"""Fuzz seed for the gdb stub: a session's worth of packets as gdb sends
them (protocol mode: even first byte), with an ack, a nack and a ^C."""
import sys


def frame(data: bytes) -> bytes:
    return b"$" + data + b"#%02x" % (sum(data) & 0xff)


PACKETS = [
    b"qSupported:multiprocess+;swbreak+;hwbreak+;xmlRegisters=i386",
    b"vMustReplyEmpty", b"QStartNoAckMode", b"Hg0",
    b"qXfer:features:read:target.xml:0,ffb", b"?", b"qfThreadInfo",
    b"qsThreadInfo", b"qAttached", b"Hc-1", b"qC", b"g", b"p10",
    b"P10=0010000000000000", b"mffffffff81afba70,40",
    b"M2000,4:deadbeef", b"X2004,2:}]\x01", b"Z0,ffffffff81afba70,1",
    b"Z1,1000,1", b"Z2,3000,4;X2,0a", b"z0,ffffffff81afba70,1",
    b"vCont?", b"vCont;s:1;c", b"vCont;C05:p1.2;t", b"T1", b"D;1",
]

if __name__ == "__main__":
    out = b"\x00+" + b"".join(frame(p) + b"+" for p in PACKETS)
    out += b"-\x03" + b"$g#00"
    sys.stdout.buffer.write(out)
