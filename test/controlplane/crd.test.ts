import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { CRD_NAME, leaderSelector } from '../../src/shared/api/v1alpha1/index.js';
import { buildSchema, CRD_FILE } from '../../tools/crdgen/generate.js';
import { applyDefaults } from '../../tools/crdgen/validate.js';
import { createNamespace, eventually, useControlPlane } from '../support/controlplane.js';

/**
 * The DiTInference CRD against a real kube-apiserver + etcd: it installs, the examples apply both ways,
 * the printer columns, `kubectl explain` and the scale subresource work, invalid objects are refused
 * with a message naming the field (and not stored), and server defaults make re-applying a no-op.
 */

const ROOT = resolve(import.meta.dirname, '../..');
const CRD_PATH = join(ROOT, 'crds', CRD_FILE);
const EXAMPLES = join(ROOT, 'examples');
const exampleFiles = readdirSync(EXAMPLES).filter((f) => f.endsWith('.yaml'));

// Only the API server and etcd matter here: no pods are ever created.
const cluster = useControlPlane({ controllerManager: false, scheduler: false, kwok: false });

type Obj = Record<string, unknown> & { metadata: Record<string, unknown>; spec: Record<string, unknown> };

async function kubectl(args: string[], input?: string) {
  return cluster().kubectl(args, input === undefined ? {} : { input });
}

async function mustKubectl(args: string[], input?: string): Promise<string> {
  const res = await kubectl(args, input);
  if (res.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${res.code}): ${res.stderr}`);
  return res.stdout;
}

async function getJson(ns: string, name: string): Promise<Obj> {
  return JSON.parse(await mustKubectl(['get', 'ditinference', name, '-n', ns, '-o', 'json']));
}

beforeAll(async () => {
  await mustKubectl(['apply', '--server-side', '-f', CRD_PATH]);
  await mustKubectl(['wait', '--for=condition=Established', `crd/${CRD_NAME}`, '--timeout=60s']);
  // Discovery and the OpenAPI document lag the Established condition by a moment.
  await eventually('the dit short name resolves', async () =>
    (await kubectl(['get', 'dit', '-A'])).code === 0 ? true : undefined,
  );
});

describe('the CRD', () => {
  it('installs with every CEL rule compiled within the cost budget', async () => {
    const crd = JSON.parse(await mustKubectl(['get', 'crd', CRD_NAME, '-o', 'json']));
    const conditions = crd.status.conditions as { type: string; status: string; message: string }[];
    expect(conditions.find((c) => c.type === 'Established')?.status).toBe('True');
    expect(conditions.find((c) => c.type === 'NamesAccepted')?.status).toBe('True');
    expect(conditions.find((c) => c.type === 'NonStructuralSchema')).toBeUndefined();
  });
});

describe('examples', () => {
  it.each(exampleFiles)(
    '%s applies client-side and server-side, and re-applying changes nothing',
    async (file) => {
      const path = join(EXAMPLES, file);
      const name = parse(readFileSync(path, 'utf8')).metadata.name as string;

      const clientNs = await createNamespace(cluster(), 'csa');
      await mustKubectl(['apply', '-n', clientNs, '-f', path]);
      const first = await getJson(clientNs, name);
      const again = await mustKubectl(['apply', '-n', clientNs, '-f', path]);
      expect(again).toContain('unchanged');
      expect((await getJson(clientNs, name)).metadata.resourceVersion).toBe(first.metadata.resourceVersion);

      const serverNs = await createNamespace(cluster(), 'ssa');
      await mustKubectl(['apply', '--server-side', '-n', serverNs, '-f', path]);
      const ssaFirst = await getJson(serverNs, name);
      await mustKubectl(['apply', '--server-side', '-n', serverNs, '-f', path]);
      expect((await getJson(serverNs, name)).metadata.resourceVersion).toBe(
        ssaFirst.metadata.resourceVersion,
      );
      expect(ssaFirst.spec).toEqual(first.spec);
    },
  );
});

describe('server defaults', () => {
  const minimal = {
    apiVersion: 'tessera.dev/v1alpha1',
    kind: 'DiTInference',
    metadata: { name: 'minimal' },
    spec: { model: { architecture: 'flux-dev', source: { pvc: { claimName: 'models' } } } },
  };

  it('are the schema defaults, and applying the read-back object changes nothing', async () => {
    const ns = await createNamespace(cluster(), 'defaults');
    await mustKubectl(['apply', '--server-side', '-n', ns, '-f', '-'], stringify(minimal));
    const stored = await getJson(ns, 'minimal');
    const expected = applyDefaults(minimal, buildSchema(ROOT)) as Obj;
    expect(stored.spec).toEqual(expected.spec);
    expect(stored.spec).toMatchObject({
      replicas: 1,
      request: { height: 1024, width: 1024, steps: 28, guidanceScale: 3.5, maxBatch: 1 },
      parallelism: { mode: 'Auto', objective: 'Latency' },
      failurePolicy: { type: 'RecreateGroup' },
    });

    // What GitOps tools do after a read: apply the full object (defaults included) again.
    const readBack = {
      apiVersion: stored.apiVersion,
      kind: stored.kind,
      metadata: { name: 'minimal' },
      spec: stored.spec,
    };
    const dryRun = await mustKubectl(
      ['apply', '--server-side', '-n', ns, '--dry-run=server', '-o', 'json', '-f', '-'],
      stringify(readBack),
    );
    expect(JSON.parse(dryRun).spec).toEqual(stored.spec);
    await mustKubectl(['apply', '--server-side', '-n', ns, '-f', '-'], stringify(readBack));
    const after = await getJson(ns, 'minimal');
    expect(after.metadata.generation).toBe(stored.metadata.generation);
    expect(after.spec).toEqual(stored.spec);
  });
});

describe('kubectl', () => {
  const flux = parse(readFileSync(join(EXAMPLES, 'flux-dev-h100-nvlink.yaml'), 'utf8')) as Obj;
  let ns = '';

  beforeAll(async () => {
    ns = await createNamespace(cluster(), 'kubectl');
    await mustKubectl(['apply', '--server-side', '-n', ns, '-f', '-'], stringify(flux));
    // What the operator will write; the columns and /scale read it.
    const status = {
      status: {
        observedGeneration: 1,
        replicas: 2,
        readyReplicas: 2,
        groupsReady: '2/2',
        selector: leaderSelector('flux-dev'),
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'AllGroupsReady',
            message: 'all 2 groups serve',
            lastTransitionTime: '2026-11-25T12:00:00Z',
          },
        ],
        plan: {
          summary: 'dp1·cfg1·pp1·r1·u8',
          degrees: { dataParallel: 1, cfg: 1, pipefusion: 1, ring: 1, ulysses: 8 },
          gpusPerGroup: 8,
          podsPerGroup: 1,
          gpusPerPod: 8,
          pipeline: { patches: 1, warmupSteps: 0 },
          predicted: { stepSeconds: 0.25, totalSeconds: 8, memoryBytesPerGpu: 40_000_000_000 },
          reason: 'Ulysses 8 inside one NVLink node has the lowest step time',
        },
      },
    };
    await mustKubectl([
      'patch',
      'dit',
      'flux-dev',
      '-n',
      ns,
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify(status),
    ]);
  });

  it('get dit shows the printer columns', async () => {
    const out = await mustKubectl(['get', 'dit', '-n', ns]);
    const [header, row] = out.trim().split('\n');
    expect(header?.split(/\s+/)).toEqual(['NAME', 'READY', 'GROUPS', 'GPUS', 'PLAN', 'AGE']);
    expect(row?.split(/\s+/).slice(0, 5)).toEqual(['flux-dev', 'True', '2/2', '8', 'dp1·cfg1·pp1·r1·u8']);
    const wide = await mustKubectl(['get', 'dit', '-n', ns, '-o', 'wide']);
    expect(wide).toContain('MODEL');
    expect(wide).toContain('flux-dev');
  });

  it('explain shows the field descriptions', async () => {
    const raw = await eventually('explain has the schema', async () => {
      const res = await kubectl(['explain', 'ditinference.spec.parallelism']);
      return res.code === 0 ? res.stdout : undefined;
    });
    // kubectl re-wraps descriptions to its own width.
    const out = raw.replace(/\s+/g, ' ');
    expect(out).toContain("How each group's GPUs are split across the model.");
    expect(out).toContain('mode <string> enum: Auto, Manual');
    expect(out).toContain('`Auto`: the planner chooses the degrees.');
    expect(out).toContain('gpusPerGroupRange');
  });

  it('scale changes spec.replicas, and /scale returns the selector from status', async () => {
    await mustKubectl(['scale', 'dit/flux-dev', '-n', ns, '--replicas=3']);
    expect((await getJson(ns, 'flux-dev')).spec.replicas).toBe(3);
    const scale = JSON.parse(
      await mustKubectl([
        'get',
        '--raw',
        `/apis/tessera.dev/v1alpha1/namespaces/${ns}/ditinferences/flux-dev/scale`,
      ]),
    );
    expect(scale.spec.replicas).toBe(3);
    expect(scale.status).toEqual({ replicas: 2, selector: leaderSelector('flux-dev') });
  });
});

/** A valid object to break one field at a time. */
function valid(name: string): Obj {
  return {
    apiVersion: 'tessera.dev/v1alpha1',
    kind: 'DiTInference',
    metadata: { name },
    spec: {
      model: { architecture: 'sd3-medium', source: { pvc: { claimName: 'models', subPath: 'sd3' } } },
      request: { height: 1024, width: 1024, steps: 28 },
      parallelism: { mode: 'Manual', degrees: { cfg: 2, pipefusion: 1, ring: 1, ulysses: 4 } },
    },
  };
}

type Spec = Record<string, Record<string, unknown> & { [k: string]: unknown }>;
type Mutation = (spec: Spec) => void;

/** [what, mutation, the field path the message must name, a fragment of the message]. */
const INVALID: [string, Mutation, string, string | RegExp][] = [
  [
    'both model sources set',
    (s) => Object.assign(s.model!.source as object, { hostPath: { path: '/models/sd3' } }),
    'spec.model.source',
    'exactly one of pvc, hostPath, image or hub',
  ],
  ['no model source', (s) => (s.model!.source = {}), 'spec.model.source', 'exactly one'],
  [
    'cfg: 3',
    (s) => ((s.parallelism!.degrees as Record<string, number>).cfg = 3),
    'spec.parallelism.degrees.cfg',
    'less than or equal to 2',
  ],
  [
    'ulysses: 0',
    (s) => ((s.parallelism!.degrees as Record<string, number>).ulysses = 0),
    'spec.parallelism.degrees.ulysses',
    'greater than or equal to 1',
  ],
  [
    'negative replicas',
    (s) => Object.assign(s, { replicas: -1 }),
    'spec.replicas',
    'greater than or equal to 0',
  ],
  ['height 1000', (s) => (s.request!.height = 1000), 'spec.request.height', 'multiple of 16'],
  ['width 100000', (s) => (s.request!.width = 100000), 'spec.request.width', 'less than or equal to 4096'],
  [
    'an unknown architecture',
    (s) => (s.model!.architecture = 'sdxl'),
    'spec.model.architecture',
    'Unsupported value',
  ],
  [
    'Manual without degrees',
    (s) => delete s.parallelism!.degrees,
    'spec.parallelism.degrees',
    'mode Manual requires degrees',
  ],
  [
    'Auto with degrees',
    (s) => (s.parallelism!.mode = 'Auto'),
    'spec.parallelism.degrees',
    'only read in mode Manual',
  ],
  [
    'gpusPerGroup not the product of the degrees',
    (s) => (s.parallelism!.gpusPerGroup = 4),
    'spec.parallelism.gpusPerGroup',
    'product of the degrees',
  ],
  [
    'a GPU range with min above max',
    (s) => Object.assign(s, { parallelism: { mode: 'Auto', gpusPerGroupRange: { min: 8, max: 2 } } }),
    'spec.parallelism.gpusPerGroupRange.min',
    'min must not exceed max',
  ],
  [
    'custom architecture without facts',
    (s) => (s.model!.architecture = 'custom'),
    'spec.model.facts',
    'requires facts',
  ],
  [
    'FLUX.1 with cfg 2',
    (s) => (s.model!.architecture = 'flux-dev'),
    'spec.parallelism.degrees.cfg',
    'guidance-distilled',
  ],
  [
    'more warm-up steps than steps',
    (s) => (s.parallelism!.pipeline = { warmupSteps: 50 }),
    'spec.parallelism.pipeline.warmupSteps',
    'must not exceed request.steps',
  ],
  [
    'ulysses not dividing the heads',
    (s) => (s.model!.facts = { layers: 24, heads: 30, headDim: 64, textTokens: 333, guidance: 'CFG' }),
    'spec.parallelism.degrees.ulysses',
    'must divide model.facts.heads',
  ],
  [
    'a relative host path',
    (s) => (s.model!.source = { hostPath: { path: 'models/sd3' } }),
    'spec.model.source.hostPath.path',
    'should match',
  ],
  [
    'a TESSERA_ variable in env',
    (s) => Object.assign(s, { runtime: { env: [{ name: 'TESSERA_RANK', value: '0' }] } }),
    'spec.runtime.env',
    'set by the operator',
  ],
  [
    'GPUs in resource limits',
    (s) => Object.assign(s, { runtime: { resources: { limits: { 'nvidia.com/gpu': 8 } } } }),
    'spec.runtime.resources.limits',
    'GPUs come from the plan',
  ],
  [
    'port 70000',
    (s) => Object.assign(s, { serving: { port: 70000 } }),
    'spec.serving.port',
    'less than or equal to 65535',
  ],
  [
    'an unknown intra-node link',
    (s) => Object.assign(s, { topology: { intraNodeLink: 'InfiniBand' } }),
    'spec.topology.intraNodeLink',
    'Unsupported value',
  ],
  [
    'GPU memory that is not a quantity',
    (s) => Object.assign(s, { topology: { gpuMemory: 'lots' } }),
    'spec.topology.gpuMemory',
    'should match',
  ],
  [
    'a gang queue without a provider',
    (s) => Object.assign(s, { placement: { gang: { provider: 'None', queueName: 'q' } } }),
    'spec.placement.gang.queueName',
    'needs provider Kueue or Volcano',
  ],
  [
    'a back-off above its maximum',
    (s) => Object.assign(s, { failurePolicy: { backoffSeconds: 600, maxBackoffSeconds: 60 } }),
    'spec.failurePolicy.backoffSeconds',
    'must not exceed maxBackoffSeconds',
  ],
  [
    'a misspelt field',
    (s) => Object.assign(s.request!, { hieght: 1024 }),
    'spec.request.hieght',
    /unknown field|field not declared in schema/,
  ],
  ['no model at all', (s) => delete s.model, 'spec.model', 'Required value'],
  [
    'manual PipeFusion while approximate methods are forbidden',
    (s) => {
      Object.assign(s.parallelism!.degrees as object, { pipefusion: 2, ulysses: 2 });
      s.parallelism!.approximateMethods = { policy: 'Forbid' };
    },
    'spec.parallelism.approximateMethods.policy',
    'approximateMethods.policy is Forbid',
  ],
  [
    'an unknown approximate-methods policy',
    (s) => (s.parallelism!.approximateMethods = { policy: 'Sometimes' }),
    'spec.parallelism.approximateMethods.policy',
    'Unsupported value',
  ],
];

describe('invalid objects', () => {
  let ns = '';
  beforeAll(async () => {
    ns = await createNamespace(cluster(), 'invalid');
    // The base object itself is accepted (so each rejection below is due to its one change).
    await mustKubectl(
      ['apply', '--server-side', '--dry-run=server', '-n', ns, '-f', '-'],
      stringify(valid('base')),
    );
  });

  it.each(INVALID.map(([what, mutate, field, fragment], i) => ({ what, mutate, field, fragment, i })))(
    'the API server refuses $what, naming $field',
    async ({ mutate, field, fragment, i }) => {
      const obj = valid(`invalid-${i}`);
      mutate(obj.spec as Spec);
      for (const mode of [['--server-side'], []]) {
        const res = await kubectl(['apply', ...mode, '-n', ns, '-f', '-'], stringify(obj));
        expect(res.code, `${mode.join('') || 'client-side'} apply succeeded: ${res.stdout}`).not.toBe(0);
        expect(res.stderr).toContain(field);
        expect(res.stderr).toMatch(fragment);
      }
      const get = await kubectl(['get', 'dit', `invalid-${i}`, '-n', ns]);
      expect(get.stderr).toContain('NotFound');
    },
  );

  it.each([
    ['a dotted name', 'flux.dev', 'must be a DNS-1035 label'],
    ['a name starting with a digit', '9lives', 'must be a DNS-1035 label'],
    ['a 64-character name', `f${'x'.repeat(63)}`, 'must be at most 42 characters'],
    ['a 43-character name', `f${'x'.repeat(42)}`, 'must be at most 42 characters'],
  ])('the API server refuses %s, naming metadata.name', async (_what, name, fragment) => {
    for (const mode of [['--server-side'], []]) {
      const res = await kubectl(['apply', ...mode, '-n', ns, '-f', '-'], stringify(valid(name)));
      expect(res.code, `${mode.join('') || 'client-side'} apply succeeded: ${res.stdout}`).not.toBe(0);
      expect(res.stderr).toContain(`metadata.name ${fragment}`);
    }
  });

  it('accepts a 42-character name (the longest whose derived names fit)', async () => {
    const name = `f${'x'.repeat(41)}`;
    await mustKubectl(
      ['apply', '--server-side', '--dry-run=server', '-n', ns, '-f', '-'],
      stringify(valid(name)),
    );
  });

  it('stores none of them', async () => {
    expect(INVALID.length).toBeGreaterThanOrEqual(15);
    expect((await mustKubectl(['get', 'dit', '-n', ns, '-o', 'name'])).trim()).toBe('');
  });
});
