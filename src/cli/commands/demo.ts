import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ControlPlane, GPU_LABELS, GPU_RESOURCE, startControlPlane } from '../../devcluster/index.js';
import { runOperatorDemo } from '../../operator/demo/run-example.js';
import { runParallelDemo } from '../../runtime/launcher/demo/parallel-demo.js';
import { type Command, UsageError } from '../command.js';
import { runImageDemo } from './image-demo.js';

/** The embedded default cluster: two 8×H100 nodes in one NVLink-less zone. */
const DEMO_NODES = [
  { namePrefix: 'h100', count: 2, gpus: 8, product: 'NVIDIA-H100-80GB-HBM3', zone: 'zone-a' },
];

const HELP = `usage: tessera demo [--keep-running]

Starts the local Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler;
kwok as the kubelets) with 2 fake 8×H100 nodes, shows the nodes with their GPU capacity and labels, runs
the operator on an example DiTInference, runs a planned group's ranks locally on CPU, and ends with a PNG
made from a prompt by a tiny generated pipeline (it says where the file is). Lines for a person on stdout;
the JSON log goes to TESSERA_LOG_FILE when set (./scripts/demo sets it).

  --keep-running   leave the cluster up until Ctrl-C (prints a kubeconfig to use with kubectl)
`;

function parseArgs(argv: readonly string[]): { keepRunning: boolean } {
  let keepRunning = false;
  for (const arg of argv) {
    if (arg === '--keep-running') keepRunning = true;
    else if (arg === '-h' || arg === '--help') throw new HelpRequested();
    else throw new UsageError(`unknown option '${arg}'\n\n${HELP}`);
  }
  return { keepRunning };
}

class HelpRequested extends Error {}

const say = (line = '') => process.stdout.write(`${line}\n`);
const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

async function showNodes(cluster: ControlPlane): Promise<void> {
  const labelColumns = [
    GPU_LABELS.product,
    GPU_LABELS.memoryMiB,
    GPU_LABELS.count,
    'topology.kubernetes.io/zone',
  ];
  const byLabels = await cluster.kubectl(['get', 'nodes', '-L', labelColumns.join(',')]);
  const escaped = GPU_RESOURCE.replaceAll('.', '\\.');
  const byCapacity = await cluster.kubectl([
    'get',
    'nodes',
    '-o',
    [
      'custom-columns=NODE:.metadata.name',
      `GPUS:.status.capacity.${escaped}`,
      `ALLOCATABLE-GPUS:.status.allocatable.${escaped}`,
      'CPU:.status.capacity.cpu',
      'MEMORY:.status.capacity.memory',
      'TAINTS:.spec.taints[*].key',
    ].join(','),
  ]);
  for (const res of [byLabels, byCapacity]) {
    if (res.code !== 0) throw new Error(`kubectl get nodes failed: ${res.stderr.trim()}`);
  }
  say('Nodes and their GPU Feature Discovery labels (kubectl get nodes -L ...):');
  say(byLabels.stdout.trimEnd());
  say();
  say('GPU capacity:');
  say(byCapacity.stdout.trimEnd());
}

/**
 * Ctrl-C (or SIGTERM) handling for the whole demo. While the demo is busy, a signal ends the process at
 * once with status 130; the devcluster's exit handler then kills every component and removes its work
 * folder synchronously, so nothing is left behind. Once the demo waits in --keep-running, the signal
 * instead resolves `interrupted`, and the demo stops the cluster gracefully.
 */
function interruptHandling(): {
  interrupted: Promise<NodeJS.Signals>;
  waitingForInterrupt(): void;
  dispose(): void;
} {
  let waiting = false;
  let resolveInterrupted: (signal: NodeJS.Signals) => void = () => {};
  const interrupted = new Promise<NodeJS.Signals>((resolveSignal) => {
    resolveInterrupted = resolveSignal;
  });
  const onSignal = (signal: NodeJS.Signals) => {
    if (waiting) {
      resolveInterrupted(signal);
      return;
    }
    process.stdout.write(`\n${signal}: stopping the local control plane and exiting.\n`);
    process.exit(130);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  return {
    interrupted,
    waitingForInterrupt: () => {
      waiting = true;
    },
    dispose: () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    },
  };
}

async function run(argv: readonly string[]): Promise<number> {
  let options: { keepRunning: boolean };
  try {
    options = parseArgs(argv);
  } catch (err) {
    if (err instanceof HelpRequested) {
      process.stdout.write(HELP);
      return 0;
    }
    throw err;
  }

  const workDir = join(tmpdir(), 'tessera-demo');
  say('Tessera demo — local Kubernetes control plane with fake GPU nodes');
  say('Starting etcd, kube-apiserver, kube-controller-manager, kube-scheduler and kwok ...');
  const started = Date.now();
  const interrupts = interruptHandling();
  const cluster = await startControlPlane({ nodes: DEMO_NODES });
  try {
    say(`Control plane ready in ${seconds(Date.now() - started)} at ${cluster.server}`);
    say();
    await showNodes(cluster);
    say();
    await runOperatorDemo(cluster, say);
    say();
    // Issue #8: a planned group's ranks run locally on CPU and write a result.
    await runParallelDemo(say, workDir);
    say();
    if (options.keepRunning) {
      say(`The cluster stays up until Ctrl-C. Try: kubectl --kubeconfig ${cluster.kubeconfigPath} get nodes`);
      interrupts.waitingForInterrupt();
      // The cluster's processes do not hold the event loop open (so a forgotten stop() cannot hang a
      // test run); a timer does, until the signal comes.
      const keepAlive = setInterval(() => {}, 60_000);
      const signal = await interrupts.interrupted;
      clearInterval(keepAlive);
      say(`\n${signal} received.`);
    }
  } finally {
    const stopping = Date.now();
    await cluster.stop();
    interrupts.dispose();
    say(`Control plane stopped in ${seconds(Date.now() - stopping)}; nothing left running.`);
  }
  say();
  // The end of the path: what the serving group's leader does for a prompt, here in one command.
  return runImageDemo(say, workDir);
}

export const demo: Command = {
  name: 'demo',
  summary:
    'the whole path locally: control plane + fake GPU nodes, operator, a planned group on CPU, a PNG from a prompt',
  run,
};
