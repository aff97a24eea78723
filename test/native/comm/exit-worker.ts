/**
 * One rank of the exit tests: `node --import tsx exit-worker.ts <scenario> <rank> <size> <port>`.
 * Builds a store and three gloo communicators, runs a collective on each, then ends the process the way
 * the scenario says WITHOUT closing anything (the communicators and the store are still open). It prints
 * `RESULT <json>` before it ends; the test checks the exit code and signal it reports and that nothing
 * aborted on the way out.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { type Communicator, createCommunicator, TcpStore } from '../../../src/runtime/comm/index.js';
import { readGroupSecret } from '../../../src/runtime/rendezvous/group-secret.js';

const [scenario = '', rankArg = '', sizeArg = '', portArg = ''] = process.argv.slice(2);
const rank = Number(rankArg);
const size = Number(sizeArg);
const port = Number(portArg);
const TIMEOUT_MS = 5_000;

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));
const report = (result: Record<string, unknown>) =>
  process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);

async function connect(store: TcpStore, prefix: string): Promise<Communicator> {
  const comm = await createCommunicator({
    backend: 'gloo',
    store,
    rank,
    size,
    prefix,
    timeoutMs: TIMEOUT_MS,
  });
  const buf = new Float32Array(4).fill(rank + 1);
  await comm.allReduce(buf, 'sum');
  return comm;
}

// Held here so nothing is collected before the process ends (except in 'collected').
const kept: unknown[] = [];

async function main(): Promise<void> {
  const store = await TcpStore.create({
    host: '127.0.0.1',
    port,
    isServer: rank === 0,
    timeoutMs: TIMEOUT_MS,
    secret: readGroupSecret(),
  });
  // Several communicators: the abort needed more than one (each finalizer freed what the next one used).
  const comms = [await connect(store, 'a'), await connect(store, 'b'), await connect(store, 'c')];
  kept.push(store, ...comms);
  const [world] = comms as [Communicator];
  const result: Record<string, unknown> = { rank };

  if (scenario === 'peerDiedDrain' || scenario === 'peerDiedExit') {
    // Rank 1 dies; rank 0's next collective fails and tears its communicator down, then it ends.
    if (rank === 1) {
      report(result);
      process.kill(process.pid, 'SIGKILL');
      await sleep(10_000);
    }
    result.afterDeath = await world.allReduce(new Float32Array(4), 'sum').then(
      () => 'resolved',
      (err: unknown) => String(err),
    );
    result.failure = world.failure;
    report(result);
    if (scenario === 'peerDiedExit') process.exit(4);
    process.exitCode = 4;
    return;
  }

  // Both ranks are done with their collectives before either ends (its end tears the mesh down).
  await world.barrier();
  switch (scenario) {
    case 'drain':
      report(result);
      return; // the event loop drains, exit code 0
    case 'drainWithCode':
      report(result);
      process.exitCode = 3;
      return;
    case 'exit':
      report(result);
      process.exit(0);
      break;
    case 'exitWithCode':
      report(result);
      process.exit(5);
      break;
    case 'exitWithPendingRecv': {
      // A recv nobody will answer is in flight on a communicator thread when the process exits.
      const pending = world.recv(new Float32Array(4), 1 - rank, 99).catch(() => undefined);
      kept.push(pending);
      await sleep(100);
      report(result);
      process.exit(6);
      break;
    }
    case 'collected': {
      // Communicators dropped without close() and collected while the process goes on: their finalizers
      // run at runtime (not at exit) and must not block or abort; the store keeps working.
      kept.length = 0;
      comms.length = 0;
      setFlagsFromString('--expose-gc');
      const gc = runInNewContext('gc') as () => void;
      for (let i = 0; i < 3; i++) {
        gc();
        await sleep(20); // finalizers run from the event loop after the collection
      }
      await store.set(`collected/${rank}`, '1');
      await store.wait(['collected/0', 'collected/1']);
      kept.push(store);
      report(result);
      process.exitCode = 7;
      return;
    }
    default:
      throw new Error(`unknown scenario '${scenario}'`);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(
    `rank ${rank} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
