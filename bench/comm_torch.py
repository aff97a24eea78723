"""One rank of the torch.distributed gloo side of `npm run bench:comm` (bench/comm.ts).

Usage: python comm_torch.py <rank> <size> <port> <sizes-json> <min-seconds>
Prints one JSON line: [{"op", "bytes", "seconds"}] with the mean seconds per operation.
"""
import json
import sys
import time

import torch
import torch.distributed as dist


def timed(op, min_seconds):
    op()  # warm-up: connections and buffers
    dist.barrier()
    iterations, started = 0, time.perf_counter()
    while True:
        op()
        iterations += 1
        elapsed = time.perf_counter() - started
        # Every rank must run the same number of iterations: rank 0 decides and broadcasts.
        done = torch.tensor([1 if (elapsed >= min_seconds and iterations >= 5) else 0])
        dist.broadcast(done, 0)
        if done.item():
            return elapsed / iterations


def main():
    rank, size, port = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    sizes, min_seconds = json.loads(sys.argv[4]), float(sys.argv[5])
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=size)
    results = []
    for nbytes in sizes:
        n = nbytes // 4
        x = torch.full((n,), float(rank))
        gathered = torch.empty(n * size)
        try:
            dist.all_gather_into_tensor(gathered, x)
            gather = lambda: dist.all_gather_into_tensor(gathered, x)
        except (RuntimeError, NotImplementedError):
            parts = list(gathered.chunk(size))
            gather = lambda: dist.all_gather(parts, x)
        results.append({"op": "allGather", "bytes": nbytes, "seconds": timed(gather, min_seconds)})
        a2a_out = torch.empty(n)
        results.append({"op": "allToAll", "bytes": nbytes,
                        "seconds": timed(lambda: dist.all_to_all_single(a2a_out, x), min_seconds)})
    print(json.dumps(results), flush=True)
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
