import type {
  V1Affinity,
  V1EnvVar,
  V1NodeAffinity,
  V1NodeSelectorRequirement,
  V1NodeSelectorTerm,
  V1PodAffinityTerm,
  V1PodTemplateSpec,
  V1Toleration,
  V1Volume,
  V1VolumeMount,
} from '@kubernetes/client-node';
import { ANNOTATIONS, type DiTInference, LABELS, type Toleration } from '../../shared/api/v1alpha1/index.js';
import { PLAN_CONFIGMAP_KEY, type Plan } from '../../shared/plan/index.js';
import {
  DEFAULT_RENDEZVOUS_PORT,
  DEFAULT_SOCKET_IFNAME,
  GROUP_SECRET_FILE_PATH,
  MODEL_MOUNT_DIR,
  PLAN_FILE_PATH,
  PLAN_MOUNT_DIR,
  POD_INDEX_LABEL,
  POD_TERMINATION_GRACE_SECONDS,
  RUNTIME_COMMAND,
  RUNTIME_CONTAINER_NAME,
  RUNTIME_ENV,
  RUNTIME_PROBE_PATHS,
  SHM_MOUNT_DIR,
} from '../../shared/runtime-contract.js';
import { GPU_RESOURCE } from '../topology/resolve.js';
import { groupSecretMount, groupSecretVolume } from './group-secret.js';
import { KARPENTER_DO_NOT_DISRUPT, KUEUE, VOLCANO } from './keys.js';
import { commonLabels } from './metadata.js';
import { hubModelVolume, modelFetchContainer } from './model-fetch.js';
import { groupName, peersServiceName, planConfigMapName, planKey, rendezvousAddress } from './names.js';

/** What a pod template is made from, besides the DiTInference itself. */
export interface TemplateInputs {
  readonly plan: Plan;
  readonly planHash: string;
  /** The operator's `--runtime-image`, used when `spec.runtime.image` is empty. */
  readonly defaultImage: string;
  /** Tolerations the operator adds to every pod (`--pod-toleration`), e.g. for tainted GPU pools. */
  readonly defaultTolerations: readonly Toleration[];
  /** The GPU pool the plan was made for: its name and the node labels that define it. */
  readonly pool: { readonly name: string; readonly selector: Readonly<Record<string, string>> };
}

/**
 * `/dev/shm` size per GPU. NCCL's shared-memory transport needs far more than the container default of
 * 64 MiB (NVIDIA/nccl#525); a memory-backed emptyDir counts against the pod's memory limit.
 */
const SHM_BYTES_PER_GPU = 2 * 1024 ** 3;

/** Startup can take long (weights from a volume, NCCL init, warm-up); allow 30 minutes. */
const STARTUP_PROBE = { periodSeconds: 10, failureThreshold: 180, timeoutSeconds: 5 };
const READINESS_PROBE = { periodSeconds: 5, failureThreshold: 3, timeoutSeconds: 5 };

/**
 * The pod template of group `index`. Everything a worker needs is here: the GPUs of the plan, the env
 * contract (identity, rendezvous, sizes), the plan mount, the model mount, `/dev/shm`, probes on the
 * serving port, and placement (one pod per node; optionally one topology domain per group). Every pod
 * answers the probes; only pod 0 (the leader) serves requests.
 */
export function renderPodTemplate(
  inf: DiTInference,
  index: number,
  inputs: TemplateInputs,
): V1PodTemplateSpec {
  const { spec } = inf;
  const name = inf.metadata.name ?? '';
  const { plan } = inputs;
  const gang = spec.placement?.gang;
  const labels: Record<string, string> = {
    ...commonLabels(inf),
    [LABELS.groupIndex]: String(index),
    [LABELS.pool]: inputs.pool.name,
  };
  const annotations: Record<string, string> = {
    [ANNOTATIONS.planHash]: inputs.planHash,
    [KARPENTER_DO_NOT_DISRUPT]: 'true',
  };
  if (spec.restartToken) annotations[ANNOTATIONS.restartToken] = spec.restartToken;
  if (gang?.provider === 'Kueue') {
    labels[KUEUE.podGroupName] = groupName(name, index);
    annotations[KUEUE.podGroupTotalCount] = String(plan.podsPerGroup);
    if (gang.queueName) labels[KUEUE.queueName] = gang.queueName;
  } else if (gang?.provider === 'Volcano') {
    annotations[VOLCANO.groupName] = groupName(name, index);
    if (gang.queueName) annotations[VOLCANO.queueName] = gang.queueName;
  }

  const resources = spec.runtime.resources ?? {};
  const gpus = String(plan.gpusPerPod);
  const schedulerName =
    spec.placement?.schedulerName ?? (gang?.provider === 'Volcano' ? VOLCANO.schedulerName : undefined);
  const tolerations = [...(spec.placement?.tolerations ?? []), ...inputs.defaultTolerations];
  const image = spec.runtime.image ?? inputs.defaultImage;
  const env = renderEnv(inf, index, plan);
  const hub = spec.model.source.hub;

  return {
    metadata: { labels, annotations },
    spec: {
      enableServiceLinks: false,
      terminationGracePeriodSeconds: POD_TERMINATION_GRACE_SECONDS,
      // Pods need their hostname under the headless Service so pod 0's DNS name resolves.
      subdomain: peersServiceName(name),
      ...(spec.placement?.nodeSelector ? { nodeSelector: { ...spec.placement.nodeSelector } } : {}),
      ...(tolerations.length > 0 ? { tolerations: tolerations.map(toToleration) } : {}),
      ...(spec.placement?.priorityClassName ? { priorityClassName: spec.placement.priorityClassName } : {}),
      ...(schedulerName ? { schedulerName } : {}),
      ...(spec.runtime.imagePullSecrets?.length
        ? { imagePullSecrets: spec.runtime.imagePullSecrets.map((s) => ({ name: s.name })) }
        : {}),
      affinity: groupAffinity(inf, index, inputs.pool.selector),
      ...(hub ? { initContainers: [modelFetchContainer(inf, hub, image, env)] } : {}),
      containers: [
        {
          name: RUNTIME_CONTAINER_NAME,
          image,
          imagePullPolicy: spec.runtime.imagePullPolicy,
          command: [...RUNTIME_COMMAND],
          ...(spec.runtime.args?.length ? { args: [...spec.runtime.args] } : {}),
          env,
          ports: [
            { name: 'http', containerPort: spec.serving.port, protocol: 'TCP' },
            { name: 'rendezvous', containerPort: DEFAULT_RENDEZVOUS_PORT, protocol: 'TCP' },
          ],
          resources: {
            requests: { ...stringValues(resources.requests), [GPU_RESOURCE]: gpus },
            limits: { ...stringValues(resources.limits), [GPU_RESOURCE]: gpus },
          },
          volumeMounts: [...volumeMounts(inf), groupSecretMount()],
          startupProbe: {
            httpGet: { path: RUNTIME_PROBE_PATHS.startup, port: 'http' },
            ...STARTUP_PROBE,
          },
          readinessProbe: {
            httpGet: { path: RUNTIME_PROBE_PATHS.readiness, port: 'http' },
            ...READINESS_PROBE,
          },
        },
      ],
      volumes: [...volumes(inf, inputs), groupSecretVolume(inf, index)],
    },
  };
}

/** The env contract (src/shared/runtime-contract.ts), then the user's variables. */
export function renderEnv(inf: DiTInference, index: number, plan: Plan): V1EnvVar[] {
  const name = inf.metadata.name ?? '';
  const namespace = inf.metadata.namespace ?? '';
  const { spec } = inf;
  const userEnv = spec.runtime.env ?? [];
  const userSets = (n: string) => userEnv.some((e) => e.name === n);
  const env: V1EnvVar[] = [
    { name: RUNTIME_ENV.inferenceName, value: name },
    { name: RUNTIME_ENV.groupIndex, value: String(index) },
    { name: RUNTIME_ENV.groupName, value: groupName(name, index) },
    {
      name: RUNTIME_ENV.podIndex,
      valueFrom: { fieldRef: { fieldPath: `metadata.labels['${POD_INDEX_LABEL}']` } },
    },
    { name: RUNTIME_ENV.podName, valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    { name: RUNTIME_ENV.namespace, valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
    { name: RUNTIME_ENV.rendezvousAddress, value: rendezvousAddress(name, namespace, index) },
    { name: RUNTIME_ENV.rendezvousPort, value: String(DEFAULT_RENDEZVOUS_PORT) },
    { name: RUNTIME_ENV.worldSize, value: String(plan.gpusPerGroup) },
    { name: RUNTIME_ENV.podsPerGroup, value: String(plan.podsPerGroup) },
    { name: RUNTIME_ENV.gpusPerPod, value: String(plan.gpusPerPod) },
    { name: RUNTIME_ENV.planPath, value: PLAN_FILE_PATH },
    { name: RUNTIME_ENV.servingPort, value: String(spec.serving.port) },
    { name: RUNTIME_ENV.servingQueueSize, value: String(spec.serving.queueSize) },
    { name: RUNTIME_ENV.modelPath, value: MODEL_MOUNT_DIR },
    { name: RUNTIME_ENV.modelDtype, value: spec.model.dtype },
    { name: RUNTIME_ENV.groupSecretFile, value: GROUP_SECRET_FILE_PATH },
  ];
  const auth = spec.serving.authSecretRef;
  if (auth) {
    env.push({
      name: RUNTIME_ENV.servingAuthToken,
      valueFrom: { secretKeyRef: { name: auth.name, key: auth.key } },
    });
  }
  // Interface defaults only where the user did not choose (several NICs need an explicit choice).
  for (const v of [RUNTIME_ENV.ncclSocketIfname, RUNTIME_ENV.glooSocketIfname]) {
    if (!userSets(v)) env.push({ name: v, value: DEFAULT_SOCKET_IFNAME });
  }
  for (const e of userEnv) {
    env.push({
      name: e.name,
      ...(e.value !== undefined ? { value: e.value } : {}),
      ...(e.valueFrom ? { valueFrom: e.valueFrom } : {}),
    });
  }
  return env;
}

/**
 * Required node affinity that pins pods to their pool: every term of the user's required node affinity
 * (or one term when there is none) also requires the pool's labels and the user's node selector, so a
 * pod never lands on a node its plan was not made for, and the user's own terms still narrow it.
 */
export function poolNodeAffinity(
  user: V1NodeAffinity | undefined,
  poolSelector: Readonly<Record<string, string>>,
  nodeSelector: Readonly<Record<string, string>>,
): V1NodeAffinity | undefined {
  const pinned: V1NodeSelectorRequirement[] = Object.entries({ ...nodeSelector, ...poolSelector })
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([key, value]) => ({ key, operator: 'In', values: [value] }));
  const required = user?.requiredDuringSchedulingIgnoredDuringExecution;
  if (pinned.length === 0) return user;
  const terms: V1NodeSelectorTerm[] = required?.nodeSelectorTerms?.length ? required.nodeSelectorTerms : [{}];
  return {
    ...user,
    requiredDuringSchedulingIgnoredDuringExecution: {
      nodeSelectorTerms: terms.map((t) => ({
        ...t,
        matchExpressions: [...(t.matchExpressions ?? []), ...pinned],
      })),
    },
  };
}

/**
 * Node affinity to the group's pool (see poolNodeAffinity), one pod per node (required anti-affinity
 * against the same group on `kubernetes.io/hostname`), and with `exclusiveTopologyKey` the LWS pattern:
 * required affinity to the group's own pods on that key, and required anti-affinity against other
 * groups of this DiTInference on it. The user's affinity is kept; the operator's terms are added to it.
 */
export function groupAffinity(
  inf: DiTInference,
  index: number,
  poolSelector: Readonly<Record<string, string>>,
): V1Affinity {
  const name = inf.metadata.name ?? '';
  const sameGroup = {
    matchLabels: { [LABELS.name]: name, [LABELS.groupIndex]: String(index) },
  };
  const user = inf.spec.placement?.affinity ?? {};
  const antiTerms: V1PodAffinityTerm[] = [
    { labelSelector: sameGroup, topologyKey: 'kubernetes.io/hostname' },
  ];
  const affinityTerms: V1PodAffinityTerm[] = [];
  const key = inf.spec.placement?.exclusiveTopologyKey;
  if (key) {
    affinityTerms.push({ labelSelector: sameGroup, topologyKey: key });
    antiTerms.push({
      labelSelector: {
        matchLabels: { [LABELS.name]: name },
        matchExpressions: [{ key: LABELS.groupIndex, operator: 'NotIn', values: [String(index)] }],
      },
      topologyKey: key,
    });
  }
  const podAffinityTerms = [
    ...(user.podAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []),
    ...affinityTerms,
  ];
  const nodeAffinity = poolNodeAffinity(
    user.nodeAffinity,
    poolSelector,
    inf.spec.placement?.nodeSelector ?? {},
  );
  return {
    ...(nodeAffinity ? { nodeAffinity } : {}),
    ...(user.podAffinity || podAffinityTerms.length > 0
      ? {
          podAffinity: {
            ...user.podAffinity,
            ...(podAffinityTerms.length > 0
              ? { requiredDuringSchedulingIgnoredDuringExecution: podAffinityTerms }
              : {}),
          },
        }
      : {}),
    podAntiAffinity: {
      ...user.podAntiAffinity,
      requiredDuringSchedulingIgnoredDuringExecution: [
        ...(user.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? []),
        ...antiTerms,
      ],
    },
  };
}

function volumes(inf: DiTInference, inputs: TemplateInputs): V1Volume[] {
  const name = inf.metadata.name ?? '';
  const source = inf.spec.model.source;
  const model: V1Volume = source.hub
    ? hubModelVolume(source.hub)
    : source.pvc
      ? { name: 'model', persistentVolumeClaim: { claimName: source.pvc.claimName, readOnly: true } }
      : source.hostPath
        ? { name: 'model', hostPath: { path: source.hostPath.path, type: 'Directory' } }
        : {
            name: 'model',
            image: {
              reference: source.image?.reference ?? '',
              pullPolicy: source.image?.pullPolicy ?? 'IfNotPresent',
            },
          };
  return [
    {
      name: 'plan',
      configMap: {
        name: planConfigMapName(name),
        items: [{ key: planKey(inputs.planHash), path: PLAN_CONFIGMAP_KEY }],
      },
    },
    {
      name: 'shm',
      emptyDir: { medium: 'Memory', sizeLimit: String(SHM_BYTES_PER_GPU * inputs.plan.gpusPerPod) },
    },
    model,
  ];
}

function volumeMounts(inf: DiTInference): V1VolumeMount[] {
  const source = inf.spec.model.source;
  const subPath = source.pvc?.subPath ?? source.image?.subPath;
  return [
    { name: 'plan', mountPath: PLAN_MOUNT_DIR, readOnly: true },
    { name: 'shm', mountPath: SHM_MOUNT_DIR },
    { name: 'model', mountPath: MODEL_MOUNT_DIR, readOnly: true, ...(subPath ? { subPath } : {}) },
  ];
}

function toToleration(t: Toleration): V1Toleration {
  return {
    ...(t.key !== undefined ? { key: t.key } : {}),
    operator: t.operator,
    ...(t.value !== undefined ? { value: t.value } : {}),
    ...(t.effect !== undefined ? { effect: t.effect } : {}),
    ...(t.tolerationSeconds !== undefined ? { tolerationSeconds: t.tolerationSeconds } : {}),
  };
}

function stringValues(m: Record<string, string | number> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(m ?? {})) out[k] = String(v);
  return out;
}
