import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pino } from 'pino';
import { parse, stringify } from 'yaml';
import type { ControlPlane } from '../../devcluster/index.js';
import { CONDITION_TYPES, type DiTInference } from '../../shared/api/v1alpha1/index.js';
import { KubeClient } from '../kube/client.js';
import { RESOURCES } from '../kube/resources.js';
import { Operator } from '../operator.js';
import { parseOperatorOptions } from '../options.js';

const ROOT = resolve(import.meta.dirname, '../../..');
const EXAMPLE = 'flux-dev-h100-nvlink.yaml';
const NAMESPACE = 'default';

type Say = (line?: string) => void;

async function kubectl(cluster: ControlPlane, args: string[], input?: string): Promise<string> {
  const res = await cluster.kubectl(args, input === undefined ? {} : { input });
  if (res.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed: ${res.stderr.trim()}`);
  return res.stdout.trimEnd();
}

async function until<T>(what: string, timeoutMs: number, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000} s waiting until ${what}`);
    await sleep(250);
  }
}

/**
 * The operator part of `tessera demo`: installs the CRD, runs the operator in this process, applies
 * the FLUX.1 [dev] example, shows the plan it chose and the groups becoming Ready, then deletes the
 * object and waits until the garbage collector has removed every child.
 */
export async function runOperatorDemo(cluster: ControlPlane, say: Say): Promise<void> {
  say('Installing the DiTInference CRD and starting the operator ...');
  await kubectl(cluster, ['apply', '--server-side', '-f', join(ROOT, 'crds/tessera.dev_ditinferences.yaml')]);
  await kubectl(cluster, [
    'wait',
    '--for=condition=Established',
    'crd/ditinferences.tessera.dev',
    '--timeout=60s',
  ]);
  const options = parseOperatorOptions(
    [
      '--kubeconfig',
      cluster.kubeconfigPath,
      '--leader-elect=false',
      '--http-address',
      '127.0.0.1:0',
      // The fake nodes carry kwok's taint; real GPU pools usually have their own.
      '--pod-toleration',
      'kwok.x-k8s.io/node=fake:NoSchedule',
    ],
    {},
  );
  const operator = new Operator(options, pino({ level: 'warn' }));
  await operator.start();
  const client = await KubeClient.create(cluster.kubeConfig());
  try {
    const example = parse(readFileSync(join(ROOT, 'examples', EXAMPLE), 'utf8')) as DiTInference;
    // The demo cluster has no storage: the checkpoint is assumed pre-loaded on the nodes instead.
    example.spec.model.source = { hostPath: { path: '/models/FLUX.1-dev' } };
    const name = example.metadata.name ?? '';
    say(
      `Applying examples/${EXAMPLE} (model source switched to hostPath: the demo cluster has no volumes) ...`,
    );
    const applied = Date.now();
    await kubectl(cluster, ['apply', '--server-side', '-n', NAMESPACE, '-f', '-'], stringify(example));

    const planned = await until('the operator chose a plan', 60_000, async () => {
      const inf = await client.get<DiTInference>(RESOURCES.ditInference, NAMESPACE, name);
      return inf.status?.plan ? inf : undefined;
    });
    const plan = planned.status?.plan;
    say();
    say(
      `Plan: ${plan?.summary} — ${plan?.gpusPerGroup} GPU(s) per group as ${plan?.podsPerGroup} pod(s) × ${plan?.gpusPerPod} GPU(s)`,
    );
    if (plan?.pool) say(`  on GPU pool ${plan.pool}: ${plan.poolReason ?? ''}`);
    say(`  ${plan?.reason}`);
    say(
      `  predicted ${plan?.predicted.totalSeconds.toFixed(2)} s per ${example.spec.request.width}×${example.spec.request.height} image`,
    );
    say();

    let lastLine = '';
    await until('every group is Ready', 120_000, async () => {
      const inf = await client.get<DiTInference>(RESOURCES.ditInference, NAMESPACE, name);
      const line = (inf.status?.groups ?? [])
        .map((g) => `${g.name} ${g.phase} ${g.readyPods}/${g.desiredPods}`)
        .join(', ');
      if (line && line !== lastLine) {
        say(`  groups: ${line}`);
        lastLine = line;
      }
      const ready = inf.status?.conditions?.find((c) => c.type === CONDITION_TYPES.ready)?.status === 'True';
      return ready ? true : undefined;
    });
    say(`Ready ${((Date.now() - applied) / 1000).toFixed(1)} s after apply.`);
    say();
    say(await kubectl(cluster, ['get', 'ditinference', '-n', NAMESPACE]));
    say();
    say(
      await kubectl(cluster, [
        'get',
        'statefulsets,pods,services,configmaps',
        '-n',
        NAMESPACE,
        '-l',
        `tessera.dev/name=${name}`,
      ]),
    );
    say();
    say(`Deleting ${name}; the garbage collector removes its children ...`);
    await kubectl(cluster, ['delete', 'ditinference', name, '-n', NAMESPACE, '--wait=false']);
    await until('every child is gone', 90_000, async () => {
      const left = await client.list(RESOURCES.pod, {
        namespace: NAMESPACE,
        labelSelector: `tessera.dev/name=${name}`,
      });
      const sets = await client.list(RESOURCES.statefulSet, {
        namespace: NAMESPACE,
        labelSelector: `tessera.dev/name=${name}`,
      });
      return left.items.length + sets.items.length === 0 ? true : undefined;
    });
    say('All children removed.');
  } finally {
    client.close();
    await operator.stop();
  }
}
