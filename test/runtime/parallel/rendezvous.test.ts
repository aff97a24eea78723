/**
 * Rendezvous: a group joins through the store on rank 0 under a fresh session; a second process claiming
 * a rank of that session (a stale member of an earlier generation, or a duplicate) is refused at once; a
 * missing peer makes the join fail at the deadline, naming the ranks that never came; and a plan that
 * does not fit the checkpoint ends the pod with a one-line reason (the launcher checks it against the
 * mounted checkpoint before starting workers; every worker checks again).
 */
import { describe, expect, it } from 'vitest';
import { newGroupSecret } from '../../../src/runtime/rendezvous/group-secret.js';
import { joinSession, RendezvousError, SESSION_KEY } from '../../../src/runtime/rendezvous/session.js';
import { log } from '../../../src/shared/log.js';
import { TEST_SECRET } from '../../support/group-secret.js';
import { FLUX_TXT7, modelDir, runCli } from './denoise-fixtures.js';
import { freePort } from './harness.js';

const logger = log.child({ test: 'rendezvous' });

describe('rendezvous sessions', () => {
  it('joins a group and refuses a second claim of a rank in the same session', async () => {
    const port = await freePort();
    const base = { host: '127.0.0.1', port, worldSize: 2, timeoutMs: 5_000, logger, secret: TEST_SECRET };
    const [zero, one] = await Promise.all([
      joinSession({ ...base, rank: 0 }),
      joinSession({ ...base, rank: 1 }),
    ]);
    expect(one.id).toBe(zero.id);
    expect(zero.generation).toBe(1);
    await expect(joinSession({ ...base, rank: 1 })).rejects.toThrow(
      /rank 1 is already claimed in group session .*earlier generation/,
    );
    // The session is written once: not even a member can point the group at another generation.
    await expect(one.store.set(SESSION_KEY, 'f00d-9')).rejects.toThrow(/already set/);
    expect(await zero.store.getString(SESSION_KEY)).toBe(zero.id);
    // A process without the group secret is refused at once, not retried until the deadline.
    const started = Date.now();
    await expect(
      joinSession({ ...base, rank: 1, timeoutMs: 20_000, secret: newGroupSecret() }),
    ).rejects.toThrow(/group secret/);
    expect(Date.now() - started).toBeLessThan(10_000);
    one.store.close();
    zero.store.close();
  });

  it('fails at the deadline naming the ranks that never joined', async () => {
    const port = await freePort();
    const started = Date.now();
    const joining = joinSession({
      host: '127.0.0.1',
      port,
      worldSize: 3,
      timeoutMs: 1_500,
      logger,
      rank: 0,
      secret: TEST_SECRET,
    });
    await expect(joining).rejects.toThrow(RendezvousError);
    await expect(joining).rejects.toThrow(/ranks \[1, 2\] did not join session/);
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('a client retries until the deadline when rank 0 never comes up', async () => {
    const port = await freePort();
    const started = Date.now();
    await expect(
      joinSession({
        host: '127.0.0.1',
        port,
        worldSize: 2,
        timeoutMs: 1_500,
        logger,
        rank: 1,
        secret: TEST_SECRET,
      }),
    ).rejects.toThrow(/cannot reach the group's store at 127.0.0.1:\d+ after \d+ attempt/);
    expect(Date.now() - started).toBeLessThan(6_000);
  });
});

describe('a plan that does not fit the checkpoint', () => {
  it('ends the pod with one clear message before any worker starts, and non-zero', async () => {
    const run = await runCli([
      'denoise',
      '--model',
      modelDir(FLUX_TXT7),
      '--inputs',
      'unused.safetensors',
      '--steps',
      '4',
      '-o',
      'unused-out.safetensors',
      '--ulysses',
      '3',
    ]);
    expect(run.code).not.toBe(0);
    const reason = "degrees.ulysses = 3 does not divide the checkpoint's 4 attention heads";
    expect(run.stderr.split(reason).length - 1).toBe(1);
  }, 60_000);
});
