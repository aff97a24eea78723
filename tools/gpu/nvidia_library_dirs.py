"""Prints, colon-separated, the folders of a pip-installed CUDA stack that hold shared libraries: every
site-packages/nvidia/<package>/lib on this Python's sys.path. scripts/gpu-check puts them on
LD_LIBRARY_PATH so that the dynamic loader finds what the CUDA backend opens by soname.

Why a scan of sys.path and not `import nvidia`: the wheels ship no nvidia/__init__.py (a namespace
package), but one other package that does ship one would hide every other nvidia/ folder from
nvidia.__path__. The CUDA 13 wheels that PyTorch 2.11 (cu130) pins put their libraries in
nvidia/cu13/lib (cuBLAS, cuBLASLt, cudart, nvrtc), nvidia/cudnn/lib and nvidia/nccl/lib; the CUDA 12
ones in nvidia/<library>/lib. Both are covered.
"""

import glob
import os
import sys


def library_dirs(paths: list[str]) -> list[str]:
    found: list[str] = []
    for entry in paths:
        if not entry or not os.path.isdir(os.path.join(entry, "nvidia")):
            continue
        for lib in sorted(glob.glob(os.path.join(entry, "nvidia", "*", "lib"))):
            real = os.path.realpath(lib)
            if glob.glob(os.path.join(lib, "*.so*")) and real not in (os.path.realpath(d) for d in found):
                found.append(lib)
    return found


if __name__ == "__main__":
    print(":".join(library_dirs(sys.path)))
