"""Lists the GPU code a CUDA shared object carries: one line per (kind, target) with a count, e.g.
"sass sm_90 10" and "ptx compute_90 9", read from its .nv_fatbin section.

Why: the GPU machine has an H200 (sm_90) and a CUDA 13.0 driver. A library without sm_90 machine code
would run only by JIT-compiling PTX at start (slow, and none of Hopper's own instructions), and one
without any usable target fails at the first launch, on the GPU machine, minutes into a scarce run.
This checks the build here, with no GPU and no cuobjdump (the PyPI nvcc wheels do not ship it).

The fatbin layout read here: a container header (magic 0xBA55ED50, u16 version, u16 header size,
u64 size of what follows), then entries whose header starts with u16 kind (1 = PTX, 2 = ELF/SASS),
u16 version, u32 header size, u32 padded payload size, …, and at byte 28 the u32 target (90 = sm_90).

Usage: python3 tools/gpu/fatbin_targets.py LIBRARY [--require sass:90 --require ptx:90 ...]
"""

import struct
import subprocess
import sys
from collections import Counter

MAGIC = 0xBA55ED50
KINDS = {1: "ptx", 2: "sass"}


def fatbin_section(path: str) -> bytes:
    headers = subprocess.run(["objdump", "-h", path], check=True, capture_output=True, text=True).stdout
    for line in headers.splitlines():
        fields = line.split()
        if len(fields) >= 6 and fields[1] == ".nv_fatbin":
            size, offset = int(fields[2], 16), int(fields[5], 16)
            with open(path, "rb") as f:
                f.seek(offset)
                return f.read(size)
    return b""


def targets(path: str) -> Counter:
    data = fatbin_section(path)
    found: Counter = Counter()
    pos = 0
    while pos + 16 <= len(data):
        magic, _version, header_size, size = struct.unpack_from("<IHHQ", data, pos)
        if magic != MAGIC:
            pos += 8  # containers are 8-byte aligned
            continue
        entry, end = pos + header_size, pos + header_size + size
        if end > len(data):
            raise ValueError(f"{path}: a fatbin container runs past its section")
        while entry + 40 <= end:
            kind, _v, entry_header, padded = struct.unpack_from("<HHII", data, entry)
            (target,) = struct.unpack_from("<I", data, entry + 28)
            if entry_header == 0:
                raise ValueError(f"{path}: a fatbin entry with an empty header")
            name = KINDS.get(kind, f"kind{kind}")
            found[(name, f"{'compute' if name == 'ptx' else 'sm'}_{target}")] += 1
            entry += entry_header + padded
        pos = end
    return found


def main(argv: list[str]) -> int:
    if not argv or argv[0].startswith("-"):
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    path, rest = argv[0], argv[1:]
    found = targets(path)
    for (kind, target), count in sorted(found.items()):
        print(f"{kind} {target} {count}")
    missing = []
    for i in range(0, len(rest), 2):
        if rest[i] != "--require" or i + 1 >= len(rest) or ":" not in rest[i + 1]:
            print("fatbin_targets: expected --require KIND:NUMBER (e.g. sass:90)", file=sys.stderr)
            return 2
        kind, number = rest[i + 1].split(":", 1)
        target = f"{'compute' if kind == 'ptx' else 'sm'}_{number}"
        if found[(kind, target)] == 0:
            missing.append(f"{kind} {target}")
    if missing:
        print(f"{path} lacks " + ", ".join(missing))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
