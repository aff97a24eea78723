"""PyTorch CPU side of `npm run bench:native`: the same shapes and thread count as the TypeScript side.

Reads a JSON job from argv[1] ({"threads", "repeats", "gemm": [[m, k, n], ...], "attention": [b, s, h, d]})
and prints one JSON object with the median seconds of each case.
"""
import json
import statistics
import sys
import time

import torch
import torch.nn.functional as F


def median_seconds(fn, repeats):
    fn()  # warm-up: first-touch allocation, kernel selection
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    job = json.loads(sys.argv[1])
    torch.set_num_threads(job["threads"])
    torch.manual_seed(0)
    result = {"torch": torch.__version__, "threads": torch.get_num_threads(), "gemm": [], "attention": None}
    with torch.inference_mode():
        for m, k, n in job["gemm"]:
            x = torch.randn(m, k)
            w = torch.randn(n, k)
            b = torch.randn(n)
            result["gemm"].append(median_seconds(lambda: F.linear(x, w, b), job["repeats"]))
        bsz, s, h, d = job["attention"]
        # Tessera's layout is [B, S, H, D]; SDPA wants [B, H, S, D]: transpose views, as a model would pass.
        q, k, v = (torch.randn(bsz, s, h, d).transpose(1, 2) for _ in range(3))
        result["attention"] = median_seconds(
            lambda: F.scaled_dot_product_attention(q, k, v, scale=d ** -0.5), job["repeats"]
        )
    print(json.dumps(result))


if __name__ == "__main__":
    main()
