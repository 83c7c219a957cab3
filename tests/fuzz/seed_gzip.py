#!/usr/bin/env python3
"""Fuzz seed for the gzip inflater: two gzip members, like `cat a.gz b.gz`."""
import gzip
import sys

if __name__ == "__main__":
    sys.stdout.buffer.write(gzip.compress(b"vmm " * 64) +
                            gzip.compress(bytes(range(256))))
