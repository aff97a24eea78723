import { spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, expect, it } from 'vitest';
import {
  type Component,
  type ControlPlane,
  ControlPlaneStartError,
  controlPlaneBinDir,
  startControlPlane,
} from '../../src/devcluster/index.js';
import { isPortFree } from '../../src/devcluster/ports.js';
import { processExists, signalGroup } from '../../src/devcluster/process.js';
import { eventually } from '../support/controlplane.js';

const ROOT = resolve(import.meta.dirname, '../..');
const OWNER = join(ROOT, 'test/support/devcluster-owner.ts');

type ProcessInfo = ControlPlane['processes'][number];

/** Everything a control plane occupied, and whether any of it is still there. */
async function leftovers(workDir: string, processes: readonly ProcessInfo[]): Promise<string[]> {
  const left: string[] = [];
  for (const p of processes) {
    if (processExists(p.pid)) left.push(`${p.component} pid ${p.pid} still running`);
    for (const port of p.ports)
      if (!(await isPortFree(port))) left.push(`${p.component} port ${port} still bound`);
  }
  if (existsSync(workDir)) left.push(`${workDir} still exists`);
  return left;
}

/** Processes this test process started that are still alive (control-plane binaries or the watchdog). */
function ourLiveChildren(): string[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .flatMap((pid) => {
      try {
        // The command name may hold spaces and parentheses; the fields after its closing ')' do not.
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
        if (Number(ppid) !== process.pid || state === 'Z') return [];
        const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
        return /controlplane|watchdog/.test(cmdline) ? [`${pid}: ${cmdline.slice(0, 120)}`] : [];
      } catch {
        return []; // exited while we looked
      }
    });
}

function listen(port = 0): Promise<Server> {
  return new Promise((resolveServer, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolveServer(server));
  });
}

async function startFailure(opts: Parameters<typeof startControlPlane>[0]): Promise<ControlPlaneStartError> {
  const err = await startControlPlane(opts).then(
    (cp) => cp.stop().then(() => new Error('the control plane started although it should not have')),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ControlPlaneStartError);
  return err as ControlPlaneStartError;
}

describe('local control plane lifecycle', () => {
  it('stop() leaves no process, no bound port and no work folder, and is idempotent', async () => {
    const cp = await startControlPlane();
    const processes = [...cp.processes];
    const components = processes.map((p) => p.component).sort();
    expect(components).toEqual<Component[]>([
      'etcd',
      'kube-apiserver',
      'kube-controller-manager',
      'kube-scheduler',
      'kwok',
    ]);
    // While running, every process, every port and the folder are in use (so the check below can fail).
    const portCount = processes.reduce((n, p) => n + p.ports.length, 0);
    expect(await leftovers(cp.workDir, processes)).toHaveLength(processes.length + portCount + 1);
    expect(ourLiveChildren()).toHaveLength(processes.length + 1); // and the watchdog
    await cp.stop();
    await cp.stop();
    expect(await leftovers(cp.workDir, processes)).toEqual([]);
    expect(ourLiveChildren()).toEqual([]);
  });

  it('a taken apiserver port fails the start naming kube-apiserver, with its log, and cleans up', async () => {
    const blocker = await listen();
    const address = blocker.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    try {
      const started = Date.now();
      const err = await startFailure({
        apiServerPort: port,
        controllerManager: false,
        scheduler: false,
        kwok: false,
      });
      expect(err.component).toBe('kube-apiserver');
      expect(err.message).toContain('kube-apiserver failed while waiting for /readyz');
      expect(err.logTail).toMatch(/address already in use/);
      expect(Date.now() - started).toBeLessThan(60_000);
      expect(ourLiveChildren()).toEqual([]); // etcd, started before the apiserver, was stopped again
    } finally {
      blocker.close();
    }
  });

  it('a missing binary fails the start at once, naming the component and how to build it', async () => {
    const binDir = mkdtempSync(join(tmpdir(), 'tessera-bins-'));
    try {
      // Everything present except kube-scheduler (as links to the real build).
      const real = controlPlaneBinDir();
      for (const name of ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kubectl', 'kwok']) {
        writeFileSync(join(binDir, name), `#!/bin/sh\nexec ${join(real, name)} "$@"\n`);
        chmodSync(join(binDir, name), 0o755);
      }
      const err = await startFailure({ binDir });
      expect(err.component).toBe('kube-scheduler');
      expect(err.step).toBe('locating its binary');
      expect(err.message).toContain('run ./scripts/setup');
      expect(ourLiveChildren()).toEqual([]);
    } finally {
      rmSync(binDir, { recursive: true, force: true });
    }
  });

  describe('when the owning process dies without calling stop()', () => {
    async function ownerStarted(): Promise<{
      child: ReturnType<typeof spawn>;
      workDir: string;
      processes: ProcessInfo[];
    }> {
      // tsx as a loader inside this one process (its CLI would put a wrapper process in between, and
      // killing the wrapper would not kill the owner).
      const args = ['--import', 'tsx', OWNER, JSON.stringify({ controllerManager: false, kwok: false })];
      const child = spawn(process.execPath, args, {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'inherit'],
        env: { ...process.env, TESSERA_LOG_LEVEL: 'warn' },
      });
      const lines = createInterface({ input: child.stdout as NodeJS.ReadableStream });
      const first = await new Promise<string>((resolveLine, reject) => {
        lines.once('line', resolveLine);
        child.once('exit', (code) => reject(new Error(`owner process exited early (code ${code})`)));
      });
      const started = JSON.parse(first) as { workDir: string; processes: ProcessInfo[] };
      expect(started.processes.length).toBe(3);
      return { child, ...started };
    }

    it.each([
      ['SIGTERM', 'its signal handler kills everything'],
      ['SIGKILL', 'the watchdog notices and kills everything'],
    ] as const)('on %s %s', async (signal, _how) => {
      const { child, workDir, processes } = await ownerStarted();
      try {
        expect(await leftovers(workDir, processes)).not.toEqual([]);
        child.kill(signal);
        await eventually(
          `nothing of the control plane is left after ${signal}`,
          async () => ((await leftovers(workDir, processes)).length === 0 ? true : undefined),
          { timeoutMs: 15_000, describe: async () => (await leftovers(workDir, processes)).join('; ') },
        );
      } finally {
        // If the check failed, do not leave the failure's processes running on a shared machine.
        child.kill('SIGKILL');
        for (const p of processes) signalGroup(p.pid, 'SIGKILL');
        rmSync(workDir, { recursive: true, force: true });
      }
    });
  });
});
