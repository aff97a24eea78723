"""PIL's side of bench/png.ts: encodes the same raw RGB8 image as PNG at the same zlib level, and checks
that PIL reads Tessera's PNG back to the same pixels. argv[1]: JSON job
{raw, width, height, level, repeats, ours}; prints one JSON line."""
import io
import json
import sys
import time

import PIL
from PIL import Image


def main() -> None:
    job = json.loads(sys.argv[1])
    with open(job["raw"], "rb") as f:
        raw = f.read()
    image = Image.frombytes("RGB", (job["width"], job["height"]), raw)
    times = []
    size = 0
    for _ in range(job["repeats"]):
        out = io.BytesIO()
        t = time.perf_counter()
        image.save(out, format="PNG", compress_level=job["level"])
        times.append((time.perf_counter() - t) * 1000)
        size = out.tell()
    reads = {}
    for name, path in job["ours"].items():
        with Image.open(path) as ours:
            ours.load()
            reads[name] = ours.mode == "RGB" and ours.size == image.size and ours.tobytes() == raw
    print(json.dumps({"pillow": PIL.__version__, "ms": times, "bytes": size, "reads_ours": reads}))


if __name__ == "__main__":
    main()
