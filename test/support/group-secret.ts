/**
 * The group secret of a test process: one random secret, used directly by in-process stores and
 * communicators, and written once to a file (readable by this user only) that the ranks it spawns read
 * through TESSERA_GROUP_SECRET_FILE, as a pod's ranks read the operator's mounted Secret.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TcpStore } from '../../src/runtime/comm/index.js';
import { newGroupSecret } from '../../src/runtime/rendezvous/group-secret.js';
import { RUNTIME_ENV } from '../../src/shared/runtime-contract.js';

export const TEST_SECRET = newGroupSecret();

let file: string | undefined;

/** The path of a file holding TEST_SECRET. */
export function testSecretFile(): string {
  if (!file) {
    const dir = mkdtempSync(join(tmpdir(), 'tessera-test-secret-'));
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    file = join(dir, 'secret');
    writeFileSync(file, TEST_SECRET, { mode: 0o600 });
  }
  return file;
}

/** The variable a spawned rank reads the test's secret from. */
export function testSecretEnv(): Record<string, string> {
  return { [RUNTIME_ENV.groupSecretFile]: testSecretFile() };
}

/** A store served by this process on a free port of 127.0.0.1, with the test's secret. */
export function localStore(timeoutMs = 5_000): Promise<TcpStore> {
  return TcpStore.create({ host: '127.0.0.1', port: 0, isServer: true, timeoutMs, secret: TEST_SECRET });
}
