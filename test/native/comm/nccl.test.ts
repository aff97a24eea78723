import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Communicator, createCommunicator, type TcpStore } from '../../../src/runtime/comm/index.js';
import { localStore } from '../../support/group-secret.js';

// The NCCL backend needs libnccl.so.2, the CUDA driver and a GPU. Where any is missing (every CPU
// machine, CI) createCommunicator must reject at once naming what is missing, never crash or hang.
// Where all are present, a one-rank communicator must come up and refuse host memory by name.

let store: TcpStore;
beforeAll(async () => {
  store = await localStore();
});
afterAll(() => store.close());

describe('NCCL backend', () => {
  it('connects one rank where NCCL and a GPU exist, and otherwise rejects naming the missing piece', async () => {
    const started = performance.now();
    const attempt = await createCommunicator({
      backend: 'nccl',
      store,
      rank: 0,
      size: 1,
      timeoutMs: 10_000,
    }).then(
      (comm): { comm: Communicator } => ({ comm }),
      (error: Error) => ({ error }),
    );
    if ('error' in attempt) {
      console.log(`nccl.test: no usable NCCL here (${attempt.error.message}); checked the error path only`);
      expect(attempt.error.message).toMatch(
        /NCCL backend unavailable: (no CUDA driver|cannot load libnccl\.so\.2)|CUDA cu\w+ failed/,
      );
      expect(performance.now() - started).toBeLessThan(3_000);
      return;
    }
    console.log('nccl.test: NCCL present; checking a one-rank communicator');
    const { comm } = attempt;
    expect(comm.backend).toBe('nccl');
    await expect(comm.allReduce(new Float32Array(4))).rejects.toThrow(
      /buffers must be CUDA memory on device 0/,
    );
    await comm.close();
  });
});
