import type { V1Node, V1Pod, V1StatefulSet } from '@kubernetes/client-node';
import type { DiTInference, DiTInferenceSpec } from '../../../src/shared/api/v1alpha1/index.js';

/** A DiTInference as stored (schema defaults applied), with overrides on top. */
export function buildInference(
  name = 'flux',
  spec: Partial<DiTInferenceSpec> = {},
  namespace = 'ns1',
): DiTInference {
  return {
    apiVersion: 'tessera.dev/v1alpha1',
    kind: 'DiTInference',
    metadata: { name, namespace, uid: `uid-${name}`, generation: 1 },
    spec: {
      model: { architecture: 'flux-dev', source: { pvc: { claimName: 'models' } }, dtype: 'bf16' },
      request: { height: 1024, width: 1024, steps: 28, guidanceScale: 3.5, maxBatch: 1 },
      parallelism: { mode: 'Auto', objective: 'Latency' },
      replicas: 1,
      runtime: { imagePullPolicy: 'IfNotPresent' },
      serving: { port: 8080, queueSize: 16 },
      failurePolicy: { type: 'RecreateGroup', restartLimit: 3, backoffSeconds: 10, maxBackoffSeconds: 600 },
      ...spec,
    },
  };
}

/**
 * The least DiTInference to apply to a live cluster (the API server fills in the schema defaults):
 * flux-dev from a hostPath, Auto degrees over `gpusPerGroup` GPUs, one group; `spec` overrides.
 */
export function minimalInference(
  name: string,
  gpusPerGroup: number,
  spec: Partial<DiTInferenceSpec> = {},
): DiTInference {
  return {
    apiVersion: 'tessera.dev/v1alpha1',
    kind: 'DiTInference',
    metadata: { name },
    spec: {
      model: { architecture: 'flux-dev', source: { hostPath: { path: '/models/flux' } } },
      parallelism: { mode: 'Auto', gpusPerGroup },
      replicas: 1,
      ...spec,
    } as DiTInferenceSpec,
  };
}

export function buildNode(
  name: string,
  opts: {
    gpus?: number;
    product?: string;
    memoryMiB?: number;
    labels?: Record<string, string>;
    taints?: { key: string; value?: string; effect: string }[];
    ready?: boolean;
  } = {},
): V1Node {
  return {
    metadata: {
      name,
      labels: {
        ...(opts.product !== undefined ? { 'nvidia.com/gpu.product': opts.product } : {}),
        ...(opts.memoryMiB !== undefined ? { 'nvidia.com/gpu.memory': String(opts.memoryMiB) } : {}),
        ...opts.labels,
      },
    },
    spec: { taints: opts.taints ?? [] },
    status: {
      allocatable: { 'nvidia.com/gpu': String(opts.gpus ?? 8) },
      conditions: [{ type: 'Ready', status: opts.ready === false ? 'False' : 'True' }],
    },
  } as V1Node;
}

export function buildPod(
  name: string,
  opts: {
    uid?: string;
    ready?: boolean;
    phase?: string;
    restarts?: number;
    terminating?: boolean;
    revision?: string;
    nodeName?: string;
  } = {},
): V1Pod {
  return {
    metadata: {
      name,
      uid: opts.uid ?? `uid-${name}`,
      labels: { 'tessera.dev/revision': opts.revision ?? 'r1' },
      ...(opts.terminating ? { deletionTimestamp: '2026-01-01T00:00:00Z' as unknown as Date } : {}),
    },
    spec: { containers: [], nodeName: opts.nodeName ?? 'node-1' },
    status: {
      phase: opts.phase ?? 'Running',
      conditions: [{ type: 'Ready', status: opts.ready === false ? 'False' : 'True' }],
      containerStatuses: [
        { name: 'runtime', restartCount: opts.restarts ?? 0, ready: true, image: 'x', imageID: 'x' },
      ],
    },
  } as V1Pod;
}

export function buildStatefulSet(
  name: string,
  opts: { replicas?: number; annotations?: Record<string, string>; revision?: string; created?: string } = {},
): V1StatefulSet {
  return {
    metadata: {
      name,
      uid: `uid-${name}`,
      annotations: opts.annotations ?? {},
      labels: { 'tessera.dev/revision': opts.revision ?? 'r1' },
      creationTimestamp: (opts.created ?? '2026-01-01T00:00:00Z') as unknown as Date,
    },
    spec: { replicas: opts.replicas ?? 2 } as V1StatefulSet['spec'],
  } as V1StatefulSet;
}
