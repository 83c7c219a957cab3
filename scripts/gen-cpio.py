#!/usr/bin/env python3
"""Write an uncompressed newc cpio archive (initramfs) from a list, without root.

Usage: gen-cpio.py LIST OUTPUT

LIST lines (like the kernel's usr/gen_init_cpio; '#' comments, blank lines ok):
    dir   <name> <mode>
    file  <name> <source-path> <mode>
    slink <name> <target> <mode>
    nod   <name> <mode> <c|b> <major> <minor>
Modes are octal. Owner is 0:0, mtime 0, so the output is reproducible.
"""
import stat
import sys


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    out = bytearray()
    ino = 1

    def entry(name, mode, data=b"", rmaj=0, rmin=0):
        nonlocal ino
        name_b = name.lstrip("/").encode() + b"\0"
        fields = (ino, mode, 0, 0, 2 if stat.S_ISDIR(mode) else 1, 0,
                  len(data), 0, 0, rmaj, rmin, len(name_b), 0)
        out.extend(b"070701" + b"".join(b"%08X" % f for f in fields))
        out.extend(name_b)
        out.extend(b"\0" * (-len(out) % 4))
        out.extend(data)
        out.extend(b"\0" * (-len(out) % 4))
        ino += 1

    with open(sys.argv[1]) as f:
        for lineno, line in enumerate(f, 1):
            w = line.split()
            if not w or w[0].startswith("#"):
                continue
            try:
                kind = w[0]
                if kind == "dir" and len(w) == 3:
                    entry(w[1], stat.S_IFDIR | int(w[2], 8))
                elif kind == "file" and len(w) == 4:
                    with open(w[2], "rb") as src:
                        entry(w[1], stat.S_IFREG | int(w[3], 8), src.read())
                elif kind == "slink" and len(w) == 4:
                    entry(w[1], stat.S_IFLNK | int(w[3], 8), w[2].encode())
                elif kind == "nod" and len(w) == 6 and w[3] in ("c", "b"):
                    t = stat.S_IFCHR if w[3] == "c" else stat.S_IFBLK
                    entry(w[1], t | int(w[2], 8), b"", int(w[4]), int(w[5]))
                else:
                    raise ValueError("bad line")
            except (ValueError, OSError) as e:
                sys.exit("%s:%d: %s: %s" % (sys.argv[1], lineno, e, line.strip()))
    entry("TRAILER!!!", 0)
    out.extend(b"\0" * (-len(out) % 512))
    with open(sys.argv[2], "wb") as f:
        f.write(out)


if __name__ == "__main__":
    main()
