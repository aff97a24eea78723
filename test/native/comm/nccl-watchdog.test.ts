import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { killAll, runRanks } from './harness.js';

// The NCCL communicator's host logic on a machine without a GPU: two processes load stand-ins for
// libcuda.so.1 and libnccl.so.2 (fake-gpu/*.c, compiled here), so dlopen/dlsym, the unique-id exchange
// through the TCP store, event polling and the watchdog's timeout + ncclCommAbort all run for real.
// The GPU itself (kernels, transfers) is only exercised where a device and NCCL exist (nccl.test.ts).

const FAKES = resolve(import.meta.dirname, 'fake-gpu');
let dir = '';

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'tessera-fake-gpu-'));
  execFileSync('cc', [
    '-shared',
    '-fPIC',
    '-O1',
    '-o',
    join(dir, 'libcuda.so.1'),
    join(FAKES, 'fake_cuda.c'),
  ]);
  execFileSync('cc', [
    '-shared',
    '-fPIC',
    '-O1',
    '-o',
    join(dir, 'libnccl.so.2'),
    join(FAKES, 'fake_nccl.c'),
  ]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
afterEach(killAll);

describe('NCCL communicator host logic (fake libcuda/libnccl, 2 processes)', () => {
  it('shares one unique id through the store, then the watchdog times out a stuck operation and aborts', async () => {
    const log = join(dir, 'nccl.log');
    const outcomes = await runRanks({
      scenario: 'ncclWatchdog',
      size: 2,
      deadlineMs: 45_000,
      env: {
        LD_LIBRARY_PATH: `${dir}:${process.env.LD_LIBRARY_PATH ?? ''}`,
        FAKE_NCCL_LOG: log,
        FAKE_CUDA_HANG_FILE: join(dir, 'hang'),
      },
    });
    for (const o of outcomes) {
      expect(o.code, `rank ${o.rank} stderr: ${o.stderr}`).toBe(0);
      const r = o.result as Record<string, unknown>;
      expect(r.backend).toBe('nccl');
      expect(r.hung as string).toMatch(/nccl barrier timed out after 1000 ms/);
      expect(r.hungMs as number).toBeGreaterThanOrEqual(900);
      expect(r.hungMs as number).toBeLessThan(3_000);
      expect(r.later as string).toMatch(/timed out/);
      expect(r.refused).toBe(
        "allToAll (nccl 'fake-nccl' rank " +
          o.rank +
          '/2) failed: nccl allToAll: buffers must be CUDA memory on device 0',
      );
      expect(r.reached).toBe(false);
      expect(r.settled).toBe('nothing pending');
      expect(r.ordered).toMatch(/^allGather .* buffers must be CUDA memory on device 0$/);
      expect(r.glooOrders).toBe(
        'allToAll ordered on the device needs the NCCL backend; gloo operations are awaited',
      );
    }
    const lines = readFileSync(log, 'utf8').trim().split('\n');
    const inits = lines.filter((l) => l.startsWith('init'));
    expect(inits).toHaveLength(2);
    const ids = inits.map((l) => l.replace(/.*id=/, ''));
    expect(ids[0]).toBe(ids[1]); // rank 1 got rank 0's unique id through the store
    expect(inits.map((l) => l.replace(/ id=.*/, '')).sort()).toEqual([
      'init rank=0 size=2',
      'init rank=1 size=2',
    ]);
    expect(lines.filter((l) => l === 'abort')).toHaveLength(2); // each rank's watchdog aborted its comm once
    // Before each operation is issued, the communicator's stream waits on an event recorded on the
    // default stream, where the CUDA backend queues every kernel: the operation reads what the kernels
    // queued before it wrote, and nothing orders the two streams otherwise.
    const pids = new Set(lines.filter((l) => l.startsWith('cuda ')).map((l) => l.split(' ')[1]));
    expect(pids.size).toBe(2);
    for (const pid of pids) {
      const calls = lines
        .filter((l) => l.startsWith(`cuda ${pid} `))
        .map((l) => l.split(' ').slice(2).join(' '));
      // The two barriers that completed: record on the default stream, wait, then the op's own event.
      expect(calls.slice(0, 6)).toEqual([
        'record default',
        'wait comm',
        'record comm',
        'record default',
        'wait comm',
        'record comm',
      ]);
    }
  });

  it('a context that cannot be made current refuses the communicator, naming cuCtxSetCurrent and its status', async () => {
    const [outcome] = await runRanks({
      scenario: 'ncclNoContext',
      size: 1,
      deadlineMs: 30_000,
      env: { LD_LIBRARY_PATH: `${dir}:${process.env.LD_LIBRARY_PATH ?? ''}`, FAKE_CUDA_NO_CONTEXT: '1' },
    });
    expect(outcome?.code, outcome?.stderr).toBe(0);
    expect(outcome?.result).toMatchObject({ error: expect.stringMatching(/cuCtxSetCurrent.*201/) });
  });
});
