/**
 * Operator at scale on the local control plane: 100 fake GPU nodes (kwok), 200 DiTInference objects
 * created at once. Prints the time until every object reports Ready=True, the operator's reconcile
 * durations (p50/p99, from its debug log: one line per reconcile) and its peak resident memory
 * (VmHWM from /proc). Run with `npm run bench:operator`; options: --objects N --nodes N.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startControlPlane } from '../src/devcluster/index.js';
import { KubeClient } from '../src/operator/kube/client.js';
import { RESOURCES } from '../src/operator/kube/resources.js';
import type { DiTInference } from '../src/shared/api/v1alpha1/index.js';
import { installCrd, kubectlOk } from '../test/operator/support/cluster.js';
import { ensureBuilt, OperatorProcess } from '../test/operator/support/operator-process.js';

function flag(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  if (!Number.isInteger(v) || v < 1) throw new Error(`--${name} must be a positive integer`);
  return v;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

function peakRssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? Number.NaN);
  return kb / 1024;
}

const objects = flag('objects', 200);
const nodes = flag('nodes', 100);
const namespace = 'bench';

ensureBuilt();
console.log(`starting the control plane with ${nodes} fake GPU nodes (8× H100 each)…`);
const cluster = await startControlPlane({
  nodes: [{ namePrefix: 'h100', count: nodes, gpus: 8, product: 'NVIDIA-H100-80GB-HBM3', memoryMiB: 81559 }],
});
const logFile = join(mkdtempSync(join(tmpdir(), 'tessera-bench-')), 'operator.log');
let operator: OperatorProcess | undefined;
const client = await KubeClient.create(cluster.kubeConfig());
try {
  await installCrd(cluster);
  await kubectlOk(cluster, ['create', 'namespace', namespace]);
  operator = await OperatorProcess.start({
    kubeconfigPath: cluster.kubeconfigPath,
    logFile,
    args: ['--leader-elect=false', '--concurrency', '8'],
  });

  const infs: DiTInference[] = Array.from({ length: objects }, (_, i) => ({
    apiVersion: 'tessera.dev/v1alpha1',
    kind: 'DiTInference',
    metadata: { name: `bench-${i}`, namespace },
    spec: {
      model: { architecture: 'flux-dev', source: { hostPath: { path: '/models/flux' } } },
      parallelism: { mode: 'Auto', gpusPerGroup: 2 },
      replicas: 1,
    } as DiTInference['spec'],
  }));
  console.log(`creating ${objects} DiTInference objects…`);
  const start = Date.now();
  // Server-side apply, 16 requests in flight, like a GitOps controller syncing a large folder.
  const queue = [...infs];
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      for (let inf = queue.shift(); inf; inf = queue.shift()) {
        await client.apply(RESOURCES.ditInference, inf, { fieldManager: 'bench', force: false });
      }
    }),
  );
  const createdMs = Date.now() - start;

  const readyAt = new Map<string, number>();
  for (;;) {
    const list = await client.list<DiTInference>(RESOURCES.ditInference, { namespace });
    for (const inf of list.items) {
      const name = inf.metadata.name ?? '';
      if (
        !readyAt.has(name) &&
        inf.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')
      ) {
        readyAt.set(name, Date.now() - start);
      }
    }
    if (readyAt.size === objects) break;
    if (Date.now() - start > 15 * 60_000)
      throw new Error(`only ${readyAt.size}/${objects} Ready after 15 min`);
    await sleep(500);
  }
  const allReadyMs = Date.now() - start;
  const peak = peakRssMiB(operator.pid);

  const durations = readFileSync(logFile, 'utf8')
    .split('\n')
    .filter((l) => l.includes('"msg":"Reconciled"'))
    .map((l) => (JSON.parse(l) as { ms: number }).ms)
    .sort((a, b) => a - b);
  const perObject = [...readyAt.values()].sort((a, b) => a - b);
  console.log('');
  console.log(
    `objects: ${objects}, fake GPU nodes: ${nodes}, pods: ${objects} (1 group × 1 pod × 2 GPUs each)`,
  );
  console.log(`create all objects (server-side apply, 16 in flight): ${(createdMs / 1000).toFixed(1)} s`);
  console.log(`time to all Ready: ${(allReadyMs / 1000).toFixed(1)} s`);
  console.log(
    `time to Ready per object: p50 ${(quantile(perObject, 0.5) / 1000).toFixed(1)} s, p99 ${(quantile(perObject, 0.99) / 1000).toFixed(1)} s`,
  );
  console.log(
    `reconcile duration (${durations.length} reconciles): p50 ${quantile(durations, 0.5).toFixed(1)} ms, p99 ${quantile(durations, 0.99).toFixed(1)} ms`,
  );
  console.log(`operator peak memory (VmHWM): ${peak.toFixed(0)} MiB`);
} finally {
  await operator?.stop();
  client.close();
  await cluster.stop();
}
