/**
 * One rank of Tessera's side of `npm run bench:comm` (bench/comm.ts): gloo through the runtime's
 * communicator API, the same operations and sizes as comm_torch.py.
 * Usage: comm-rank.ts <rank> <size> <port> <sizes-json> <min-seconds>; prints one JSON line.
 */
import { type Communicator, createCommunicator, TcpStore } from '../src/runtime/comm/index.js';
import { readGroupSecret } from '../src/runtime/rendezvous/group-secret.js';

const [rankArg = '0', sizeArg = '2', portArg = '0', sizesArg = '[]', minArg = '1'] = process.argv.slice(2);
const rank = Number(rankArg);
const size = Number(sizeArg);

async function timed(world: Communicator, op: () => Promise<void>, minSeconds: number): Promise<number> {
  await op(); // warm-up
  await world.barrier();
  const flag = new Int32Array(1);
  let iterations = 0;
  const started = performance.now();
  for (;;) {
    await op();
    iterations++;
    const elapsed = (performance.now() - started) / 1000;
    // Same iteration count everywhere: rank 0 decides, as the torch side does.
    flag[0] = elapsed >= minSeconds && iterations >= 5 ? 1 : 0;
    await world.broadcast(flag, 0);
    if (flag[0] === 1) return elapsed / iterations;
  }
}

async function main(): Promise<void> {
  const sizes = JSON.parse(sizesArg) as number[];
  const minSeconds = Number(minArg);
  const store = await TcpStore.create({
    host: '127.0.0.1',
    port: Number(portArg),
    isServer: rank === 0,
    secret: readGroupSecret(),
  });
  const world = await createCommunicator({ backend: 'gloo', store, rank, size, prefix: 'bench' });
  const results: { op: string; bytes: number; seconds: number }[] = [];
  for (const bytes of sizes) {
    const x = new Float32Array(bytes / 4).fill(rank);
    const gathered = new Float32Array((bytes / 4) * size);
    results.push({
      op: 'allGather',
      bytes,
      seconds: await timed(world, () => world.allGather(x, gathered), minSeconds),
    });
    const a2aOut = new Float32Array(bytes / 4);
    results.push({
      op: 'allToAll',
      bytes,
      seconds: await timed(world, () => world.allToAll(x, a2aOut), minSeconds),
    });
  }
  process.stdout.write(`${JSON.stringify(results)}\n`);
  await world.close();
  await store.set(`done/${rank}`, '1');
  if (rank === 0) await store.wait(Array.from({ length: size }, (_, r) => `done/${r}`));
  store.close();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench rank ${rank} failed: ${String(err)}\n`);
    process.exit(1);
  },
);
