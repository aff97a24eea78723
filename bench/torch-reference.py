"""PyTorch CPU side of `npm run bench:native`, driven line by line so that both sides are timed in turn.

argv[1]: a JSON job {"threads", "gemm": [[m, k, n], ...], "attention": [b, s, h, d]}. Prints one JSON
line {"torch", "threads"} when ready; then for each input line naming a case ("gemm:0", "attention")
runs it once and prints the seconds it took.
"""
import json
import sys
import time

import torch
import torch.nn.functional as F


def main():
    job = json.loads(sys.argv[1])
    torch.set_num_threads(job["threads"])
    torch.manual_seed(0)
    cases = {}
    for i, (m, k, n) in enumerate(job["gemm"]):
        x, w, b = torch.randn(m, k), torch.randn(n, k), torch.randn(n)
        cases[f"gemm:{i}"] = lambda x=x, w=w, b=b: F.linear(x, w, b)
    bsz, s, h, d = job["attention"]
    # Tessera's layout is [B, S, H, D]; SDPA wants [B, H, S, D]: transposed views, as a model would pass.
    q, k, v = (torch.randn(bsz, s, h, d).transpose(1, 2) for _ in range(3))
    cases["attention"] = lambda: F.scaled_dot_product_attention(q, k, v, scale=d ** -0.5)
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads()}), flush=True)
    with torch.inference_mode():
        for line in sys.stdin:
            fn = cases[line.strip()]
            start = time.perf_counter()
            fn()
            print(time.perf_counter() - start, flush=True)


if __name__ == "__main__":
    main()
