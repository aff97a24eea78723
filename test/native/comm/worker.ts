/**
 * One rank of a multi-process comm test: `node --import tsx worker.ts <scenario> <rank> <size> <port>`.
 * Rank 0 hosts the TCP store on 127.0.0.1:<port>. The worker prints one `RESULT <json>` line with what
 * it observed and exits 0; the test file compares those observations with values it computes itself.
 */
import {
  axisCommunicators,
  type Communicator,
  createCommunicator,
  TcpStore,
} from '../../../src/runtime/comm/index.js';
import { Tensor } from '../../../src/runtime/native/index.js';
import { CommClock, type CommProgram, runProgram } from '../../../src/runtime/parallel/comm-steps.js';
import { readGroupSecret } from '../../../src/runtime/rendezvous/group-secret.js';

const [scenario = '', rankArg = '', sizeArg = '', portArg = ''] = process.argv.slice(2);
const rank = Number(rankArg);
const size = Number(sizeArg);
const port = Number(portArg);
const TIMEOUT_MS = Number(process.env.COMM_TEST_TIMEOUT_MS ?? 10_000);

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));
const list = (a: ArrayLike<number | bigint>) => Array.from(a, Number);

async function collectives(world: Communicator): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  const f32 = Float32Array.from({ length: 5 }, (_, i) => (rank + 1) * (i + 0.25));
  await world.allReduce(f32, 'sum');
  out.allReduceSumF32 = list(f32);

  const f64 = Float64Array.from({ length: 3 }, (_, i) => (i === 1 ? -rank : rank * 1.5 + i));
  await world.allReduce(f64, 'max');
  out.allReduceMaxF64 = list(f64);

  const i32 = Int32Array.from({ length: 3 }, (_, i) => rank * 7 - i);
  await world.allReduce(i32, 'max');
  out.allReduceMaxI32 = list(i32);

  // bf16 bit patterns of small integers (rank + 1), which bf16 holds exactly: 1.0 = 0x3f80, 2.0 = 0x4000 …
  const toBf16 = (v: number) => new Uint16Array(new Float32Array([v]).buffer)[1] as number;
  const fromBf16 = (b: number) => new Float32Array(new Uint16Array([0, b]).buffer)[0] as number;
  const bf16 = Uint16Array.from({ length: 4 }, () => toBf16(rank + 1));
  await world.allReduce(bf16, 'sum', 'bf16');
  out.allReduceSumBf16 = Array.from(bf16, fromBf16);

  const big = new Float32Array(1 << 20).fill(rank + 1);
  await world.allReduce(big, 'sum');
  out.bigAllReduce = { first: big[0], last: big[big.length - 1], allEqual: big.every((v) => v === big[0]) };

  const gatherIn = Float32Array.from({ length: 3 }, (_, i) => rank * 10 + i);
  const gatherOut = new Float32Array(3 * size);
  await world.allGather(gatherIn, gatherOut);
  out.allGather = list(gatherOut);

  const a2aIn = Float32Array.from(
    { length: 2 * size },
    (_, i) => rank * 100 + Math.floor(i / 2) * 10 + (i % 2),
  );
  const a2aOut = new Float32Array(2 * size);
  await world.allToAll(a2aIn, a2aOut);
  out.allToAll = list(a2aOut);

  // Rank r sends j + 1 elements to rank j, so it receives rank + 1 elements from every rank.
  const inCounts = Array.from({ length: size }, (_, j) => j + 1);
  const outCounts = Array.from({ length: size }, () => rank + 1);
  const vIn = Float32Array.from(
    inCounts.flatMap((n, j) => Array.from({ length: n }, (_, k) => rank * 100 + j * 10 + k)),
  );
  const vOut = new Float32Array(size * (rank + 1));
  await world.allToAllV(vIn, inCounts, vOut, outCounts);
  out.allToAllV = list(vOut);

  const root = size - 1;
  const bc = rank === root ? Float32Array.from([3.5, -1, 42]) : new Float32Array(3);
  await world.broadcast(bc, root);
  out.broadcast = list(bc);

  const next = (rank + 1) % size;
  const prev = (rank + size - 1) % size;
  const sent = Float32Array.from([rank, rank + 0.5]);
  const got = new Float32Array(2);
  await Promise.all([world.send(sent, next, 5), world.recv(got, prev, 5)]);
  out.ringSendRecv = list(got);

  const exOut = new Float32Array(1);
  await world.exchange({
    sends: [{ buf: Float32Array.of(rank * 3), peer: next }],
    recvs: [{ buf: exOut, peer: prev }],
  });
  out.exchange = list(exOut);

  // Barrier: rank 0 arrives late; everyone else must wait for it.
  if (rank === 0) await sleep(300);
  const before = performance.now();
  await world.barrier();
  out.barrierWaitedMs = performance.now() - before;
  return out;
}

async function subgroups(world: Communicator): Promise<Record<string, unknown>> {
  const axes = await axisCommunicators(world, {
    ulysses: 2,
    ring: 2,
    pipefusion: 1,
    cfg: 1,
    dataParallel: 1,
  });
  const uly = Float32Array.of(rank);
  await axes.ulysses.allReduce(uly, 'sum');
  const ring = Float32Array.of(rank);
  await axes.ring.allReduce(ring, 'sum');
  const gathered = new Float32Array(2);
  await axes.ring.allGather(Float32Array.of(rank), gathered);
  const single = Float32Array.of(rank);
  await axes.cfg.allReduce(single, 'sum');
  // An explicit subgroup of the even ranks, and one of the odd ranks, in reversed order.
  const mine = rank % 2 === 0 ? [2, 0] : [3, 1];
  const sub = await world.subgroup(mine, 'parity');
  const parity = new Float32Array(2);
  await sub.allGather(Float32Array.of(rank), parity);
  // Subgroup traffic next to world traffic: both communicators stay usable.
  const all = Float32Array.of(1);
  await world.allReduce(all, 'sum');
  const result = {
    ulyssesMembers: axes.ulysses.members,
    ringMembers: axes.ring.members,
    ulyssesSum: uly[0],
    ringSum: ring[0],
    ringGather: list(gathered),
    cfgSize: axes.cfg.size,
    cfgSum: single[0],
    parityRank: sub.rank,
    parityGather: list(parity),
    worldSum: all[0],
  };
  for (const c of [...Object.values(axes), sub]) await c.close();
  return result;
}

async function overlap(world: Communicator): Promise<Record<string, unknown>> {
  const peer = 1 - rank;
  const events: string[] = [];
  let ticks = 0;
  const ticker = setInterval(() => ticks++, 10);
  const big = new Float32Array(1 << 18);
  if (rank === 0) {
    big.fill(7);
    const send = world.send(big, peer, 1).then(() => events.push('send'));
    const sum = Float32Array.of(1);
    await world.allReduce(sum, 'sum').then(() => events.push('allReduce'));
    await send;
  } else {
    const sum = Float32Array.of(1);
    await world.allReduce(sum, 'sum').then(() => events.push('allReduce'));
    await sleep(300); // the peer's send stays in flight meanwhile
    await world.recv(big, peer, 1).then(() => events.push('recv'));
  }
  clearInterval(ticker);
  // Eight transfers in flight at once, received in the reverse order of their tags.
  const tags = [0, 1, 2, 3, 4, 5, 6, 7];
  const received = tags.map(() => new Float32Array(4));
  if (rank === 0) {
    await Promise.all(tags.map((t) => world.send(new Float32Array(4).fill(t * 1.5), peer, 100 + t)));
  } else {
    await Promise.all([...tags].reverse().map((t) => world.recv(received[t] as Float32Array, peer, 100 + t)));
  }
  return {
    events,
    ticksWhileWaiting: ticks,
    bigReceived: rank === 1 ? { first: big[0], allEqual: big.every((v) => v === 7) } : undefined,
    tagged: rank === 1 ? received.map((r) => r[0]) : undefined,
  };
}

// Rank `size - 1` dies (SIGKILL) with a recv and a collective of the others pending against it.
async function peerDeath(world: Communicator): Promise<Record<string, unknown>> {
  const warm = Float32Array.of(1);
  await world.allReduce(warm, 'sum');
  const victim = size - 1;
  if (rank === victim) {
    await sleep(200);
    process.kill(process.pid, 'SIGKILL');
    await sleep(10_000);
  }
  const started = performance.now();
  const pendingRecv =
    rank === 0
      ? world.recv(new Float32Array(4), victim, 9).then(
          () => 'resolved',
          (e: Error) => e.message,
        )
      : Promise.resolve('none');
  let collective = 'resolved';
  try {
    await world.allReduce(new Float32Array(16), 'sum');
  } catch (e) {
    collective = (e as Error).message;
  }
  const rejectedAfterMs = performance.now() - started;
  const recvOutcome = await pendingRecv;
  let later = 'resolved';
  const laterStarted = performance.now();
  try {
    await world.barrier();
  } catch (e) {
    later = (e as Error).message;
  }
  return {
    collective,
    rejectedAfterMs,
    recvOutcome,
    later,
    laterMs: performance.now() - laterStarted,
    failure: world.failure,
  };
}

// Rank 1 stays alive but never joins the collective: rank 0 must give up at the timeout.
async function stalledPeer(world: Communicator): Promise<Record<string, unknown>> {
  if (rank === 1) {
    await sleep(TIMEOUT_MS + 1500);
    return {};
  }
  const started = performance.now();
  let collective = 'resolved';
  try {
    await world.allReduce(new Float32Array(4), 'sum');
  } catch (e) {
    collective = (e as Error).message;
  }
  return { collective, rejectedAfterMs: performance.now() - started };
}

// Rank 0 aborts while its recv from rank 1 is pending; rank 1 learns through the closed connection.
async function abortPending(world: Communicator): Promise<Record<string, unknown>> {
  if (rank === 0) {
    const pending = world.recv(new Float32Array(8), 1, 3).then(
      () => 'resolved',
      (e: Error) => e.message,
    );
    await sleep(200);
    const started = performance.now();
    world.abort('rank 0 is shutting down');
    const recv = await pending;
    return { recv, rejectedAfterMs: performance.now() - started, failure: world.failure };
  }
  await sleep(600);
  const started = performance.now();
  let barrier = 'resolved';
  try {
    await world.barrier();
  } catch (e) {
    barrier = (e as Error).message;
  }
  return { barrier, rejectedAfterMs: performance.now() - started };
}

// After rank 2 of 3 dies, the survivors rebuild a 2-rank communicator under the next generation.
async function rebuild(world: Communicator, store: TcpStore): Promise<Record<string, unknown>> {
  await world.barrier();
  if (rank === 2) {
    await sleep(100);
    process.kill(process.pid, 'SIGKILL');
    await sleep(10_000);
  }
  const lost = await world.allReduce(new Float32Array(1)).then(
    () => 'resolved',
    (e: Error) => e.message,
  );
  await world.close();
  const next = await createCommunicator({
    backend: 'gloo',
    store,
    rank,
    size: 2,
    prefix: 'rebuild',
    generation: 1,
  });
  const sum = Float32Array.of(rank + 1);
  await next.allReduce(sum, 'sum');
  await next.close();
  return { lost, rebuiltSum: sum[0] };
}

// The NCCL communicator over the fake libcuda/libnccl of fake-gpu/ (LD_LIBRARY_PATH set by the test):
// the unique id travels through the store, barriers complete, and once FAKE_CUDA_HANG_FILE exists the
// watchdog must time the next operation out and abort the communicator.
// The fake driver refuses to make the context current (FAKE_CUDA_NO_CONTEXT): the NCCL communicator
// is refused at creation, naming the CUDA call and its status.
async function ncclNoContext(_world: Communicator, store: TcpStore): Promise<Record<string, unknown>> {
  const error = await createCommunicator({ backend: 'nccl', store, rank, size, prefix: 'no-context' }).then(
    () => 'created',
    (e: Error) => e.message,
  );
  return { error };
}

async function ncclWatchdog(world: Communicator, store: TcpStore): Promise<Record<string, unknown>> {
  const nccl = await createCommunicator({
    backend: 'nccl',
    store,
    rank,
    size,
    prefix: 'fake-nccl',
    timeoutMs: 1_000,
  });
  await nccl.barrier();
  await nccl.barrier();
  // An operation refused before it starts (host buffers: NCCL moves device memory only) rejects where it
  // is ordered, at once: the program goes no further and nothing waits for the request's settle.
  const clock = new CommClock();
  let reached = false;
  function* refusedFirst(): CommProgram<void> {
    yield { kind: 'allToAll', axis: 'ulysses', input: Tensor.zeros([size]), output: Tensor.zeros([size]) };
    reached = true;
  }
  const refused = await runProgram(refusedFirst(), { ulysses: nccl, ring: nccl }, clock).then(
    () => 'ran',
    (e: Error) => e.message,
  );
  const settled = await clock.settle().then(
    () => 'nothing pending',
    (e: Error) => e.message,
  );
  const ordered = await clock.order(nccl.allGatherOnDevice(new Float32Array(1), new Float32Array(size))).then(
    () => 'ordered',
    (e: Error) => e.message,
  );
  await nccl.barrier(); // a refusal leaves the communicator healthy
  await world.barrier(); // both ranks finished their barriers before the hang starts
  const hangFile = process.env.FAKE_CUDA_HANG_FILE ?? '';
  if (rank === 0) await import('node:fs').then((fs) => fs.writeFileSync(hangFile, ''));
  await world.barrier();
  const started = performance.now();
  const hung = await nccl.barrier().then(
    () => 'resolved',
    (e: Error) => e.message,
  );
  const hungMs = performance.now() - started;
  const later = await nccl.allGather(new Float32Array(1), new Float32Array(size)).then(
    () => 'resolved',
    (e: Error) => e.message,
  );
  await nccl.close();
  // gloo moves host memory: there is no device stream to order, so the device-ordered forms refuse.
  let glooOrders = 'ordered';
  try {
    world.allToAllOnDevice(new Float32Array(size), new Float32Array(size));
  } catch (e) {
    glooOrders = (e as Error).message;
  }
  return { backend: nccl.backend, hung, hungMs, later, glooOrders, refused, reached, settled, ordered };
}

// Native tensors go through the tensor core's GetBufferView; their dtype comes from the tensor itself.
async function tensors(world: Communicator): Promise<Record<string, unknown>> {
  const f32 = Tensor.of([rank + 1, 2 * (rank + 1), 0.5], [3]);
  await world.allReduce(f32, 'sum');
  const bf16 = Tensor.of([rank + 1, -(rank + 1)], [2]).to('bf16');
  await world.allReduce(bf16, 'max');
  const gathered = Tensor.zeros([size, 2]);
  await world.allGather(Tensor.of([rank, rank + 0.25], [1, 2]), gathered);
  let strided = 'accepted';
  try {
    await world.allReduce(Tensor.zeros([2, 3]).transpose(0, 1), 'sum');
  } catch (e) {
    strided = (e as Error).message;
  }
  return {
    f32: Array.from(f32.toFloat32Array()),
    bf16: Array.from(bf16.toFloat32Array()),
    bf16Dtype: bf16.dtype,
    gathered: Array.from(gathered.toFloat32Array()),
    strided,
  };
}

const scenarios: Record<string, (world: Communicator, store: TcpStore) => Promise<Record<string, unknown>>> =
  {
    collectives,
    subgroups,
    overlap,
    peerDeath,
    stalledPeer,
    tensors,
    abortPending,
    rebuild,
    ncclWatchdog,
    ncclNoContext,
  };

async function main(): Promise<void> {
  const run = scenarios[scenario];
  if (!run) throw new Error(`unknown scenario '${scenario}'`);
  const store = await TcpStore.create({
    host: '127.0.0.1',
    port,
    isServer: rank === 0,
    timeoutMs: TIMEOUT_MS,
    secret: readGroupSecret(),
  });
  const world = await createCommunicator({
    backend: 'gloo',
    store,
    rank,
    size,
    prefix: scenario,
    timeoutMs: TIMEOUT_MS,
  });
  const result = await run(world, store);
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
  await world.close();
  // Rank 0 hosts the store: it leaves last, once every survivor has said it is done.
  await store.set(`done/${rank}`, '1');
  if (rank === 0) {
    const survivors = scenario === 'peerDeath' || scenario === 'rebuild' ? size - 1 : size;
    await store.wait(Array.from({ length: survivors }, (_, r) => `done/${r}`));
  }
  store.close();
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(
      `rank ${rank} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    if (err instanceof Error && err.cause) process.stderr.write(`cause: ${String(err.cause)}\n`);
    process.exit(1);
  },
);
