"""Refuses shared objects that need a newer C or C++ runtime than the GPU machine's image has.

The addon, libtessera_cuda.so and the libraries carried with them are built on the development machine
(Debian 12: glibc 2.36, libstdc++ of gcc 12) and loaded on the GPU machine, whose image is not ours. A
binary that names a symbol version its loader lacks does not load at all ("version `GLIBC_2.38' not
found"), which would end the GPU run before its first test. So the bundle checks the versions each file
requires (objdump -p, "Version References") against the oldest image we may meet.

The ceilings are Ubuntu 22.04's (glibc 2.35, libstdc++ of gcc 12: GLIBCXX_3.4.30, CXXABI_1.3.13,
GCC_12.0.0). The GPU machine's Python 3.12.3 suggests Ubuntu 24.04 (glibc 2.39, GLIBCXX_3.4.33), which
is newer; taking the older one costs nothing while our builds fit under it.

Usage: python3 tools/gpu/check_symbol_versions.py FILE... (exit 1 and one line per excess; --ceiling
NAME=VERSION replaces a ceiling, e.g. for a test).
"""

import subprocess
import sys

CEILINGS = {"GLIBC": "2.35", "GLIBCXX": "3.4.30", "CXXABI": "1.3.13", "GCC": "12.0.0"}


def parse(version: str) -> tuple[int, ...]:
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def required_versions(path: str) -> list[str]:
    """The version names in the file's Version References (what it needs from other objects)."""
    out = subprocess.run(["objdump", "-p", path], check=True, capture_output=True, text=True).stdout
    names: list[str] = []
    in_refs = False
    for line in out.splitlines():
        if line.startswith("Version References"):
            in_refs = True
            continue
        if in_refs:
            fields = line.split()
            if not fields:
                if names:
                    break
                continue
            if line.startswith("  required from"):
                continue
            # "    0x09691a75 0x00 02 GLIBC_2.2.5"
            if len(fields) == 4 and fields[0].startswith("0x"):
                names.append(fields[3])
            elif not line.startswith(" "):
                break
    return names


def excesses(path: str, ceilings: dict[str, str]) -> list[str]:
    found = []
    for name in required_versions(path):
        family, _, version = name.rpartition("_")
        if family in ceilings and parse(version) > parse(ceilings[family]):
            found.append(f"{path} needs {name}, newer than the GPU image's {family}_{ceilings[family]}")
    return sorted(set(found))


def main(argv: list[str]) -> int:
    ceilings = dict(CEILINGS)
    files: list[str] = []
    args = iter(argv)
    for arg in args:
        if arg == "--ceiling":
            name, _, version = next(args, "").partition("=")
            if name not in CEILINGS or not parse(version):
                print(f"check_symbol_versions: --ceiling wants NAME=VERSION with NAME in {sorted(CEILINGS)}", file=sys.stderr)
                return 2
            ceilings[name] = version
        else:
            files.append(arg)
    if not files:
        print("usage: check_symbol_versions.py [--ceiling NAME=VERSION] FILE...", file=sys.stderr)
        return 2
    problems = [line for path in files for line in excesses(path, ceilings)]
    for line in problems:
        print(line)
    if not problems:
        print(f"symbol versions: {len(files)} files within " + ", ".join(f"{k}_{v}" for k, v in ceilings.items()))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
