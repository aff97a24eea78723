/**
 * The contract between the operator's pod template and the runtime's launcher (`tessera worker`):
 * environment variable names, mount paths and default ports. The operator writes these into every pod
 * of a group; the launcher reads them. Besides the plan file, this is all a worker learns about where
 * it runs. Rename nothing here without changing both sides in the same commit.
 *
 * Rank of a worker process: `TESSERA_POD_INDEX × TESSERA_GPUS_PER_POD + localRank` (see the plan's
 * `ranks`); rank 0 lives on pod 0 of the group, which hosts the TCP store at
 * `TESSERA_RENDEZVOUS_ADDR:TESSERA_RENDEZVOUS_PORT` and serves HTTP on `TESSERA_SERVING_PORT`.
 */
export const RUNTIME_ENV = {
  /** Index of the group (0-based) inside its DiTInference; the StatefulSet is `<name>-g<index>`. */
  groupIndex: 'TESSERA_GROUP_INDEX',
  /** Name of the group's StatefulSet (`<name>-g<index>`). */
  groupName: 'TESSERA_GROUP_NAME',
  /**
   * Ordinal of this pod inside its group, from the `apps.kubernetes.io/pod-index` label through the
   * downward API. Pod 0 is the group's leader.
   */
  podIndex: 'TESSERA_POD_INDEX',
  /** This pod's name (downward API), for logs. */
  podName: 'TESSERA_POD_NAME',
  /** This pod's namespace (downward API). */
  namespace: 'TESSERA_NAMESPACE',
  /** Name of the owning DiTInference. */
  inferenceName: 'TESSERA_INFERENCE_NAME',
  /**
   * DNS name of the group's pod 0 through the headless Service (`<group>-0.<service>.<namespace>.svc`).
   * It resolves before the pod is Ready: the Service publishes not-ready addresses.
   */
  rendezvousAddress: 'TESSERA_RENDEZVOUS_ADDR',
  /** TCP port of the rendezvous store on pod 0. */
  rendezvousPort: 'TESSERA_RENDEZVOUS_PORT',
  /** Ranks (GPU worker processes) in the group: pods per group × GPUs per pod. */
  worldSize: 'TESSERA_WORLD_SIZE',
  /** Pods in the group (one per node). */
  podsPerGroup: 'TESSERA_PODS_PER_GROUP',
  /** GPUs this pod requests, i.e. worker processes the launcher starts in it. */
  gpusPerPod: 'TESSERA_GPUS_PER_POD',
  /** Absolute path of the plan JSON (the ConfigMap key `plan.json`, mounted read-only). */
  planPath: 'TESSERA_PLAN_PATH',
  /** HTTP port the leader serves on (and answers the startup and readiness probes on). */
  servingPort: 'TESSERA_SERVING_PORT',
  /** Requests the leader queues while busy before answering 429. */
  servingQueueSize: 'TESSERA_SERVING_QUEUE_SIZE',
  /** Bearer token requests must present; absent: no authentication. From the user's Secret. */
  servingAuthToken: 'TESSERA_SERVING_AUTH_TOKEN',
  /** Directory holding the Diffusers checkpoint layout (`model_index.json`, `transformer/`, ...). */
  modelPath: 'TESSERA_MODEL_PATH',
  /** Weight dtype on the GPU: `bf16`, `fp16` or `fp32`. */
  modelDtype: 'TESSERA_MODEL_DTYPE',
  /** `finite`: check every weight for NaN and ±Infinity at load (optional; set through spec.runtime.env). */
  checkWeights: 'TESSERA_CHECK_WEIGHTS',
  /**
   * File holding the group's secret (mounted from the group's Secret): the store and the gloo
   * connections admit only ranks that prove it.
   */
  groupSecretFile: 'TESSERA_GROUP_SECRET_FILE',
  /** Network interface NCCL bootstraps over (standard NCCL variable). */
  ncclSocketIfname: 'NCCL_SOCKET_IFNAME',
  /** Network interface gloo binds to (standard gloo / torch variable). */
  glooSocketIfname: 'GLOO_SOCKET_IFNAME',
} as const;
export type RuntimeEnvName = (typeof RUNTIME_ENV)[keyof typeof RUNTIME_ENV];

/** Label StatefulSets put on every pod with its ordinal (Kubernetes ≥ 1.28). */
export const POD_INDEX_LABEL = 'apps.kubernetes.io/pod-index';

/** Where the plan ConfigMap is mounted, and the plan file inside it. */
export const PLAN_MOUNT_DIR = '/etc/tessera/plan';
export const PLAN_FILE_PATH = `${PLAN_MOUNT_DIR}/plan.json`;

/** Where the group's Secret is mounted (read-only), and the file inside it. */
export const GROUP_SECRET_MOUNT_DIR = '/var/run/tessera/group-secret';
export const GROUP_SECRET_KEY = 'secret';
export const GROUP_SECRET_FILE_PATH = `${GROUP_SECRET_MOUNT_DIR}/${GROUP_SECRET_KEY}`;

/** Where the model checkpoint is mounted (read-only). */
export const MODEL_MOUNT_DIR = '/var/lib/tessera/model';

/** Memory-backed `/dev/shm`, which NCCL's shared-memory transport needs (64 MiB default is too small). */
export const SHM_MOUNT_DIR = '/dev/shm';

/** Port of the rendezvous TCP store on each group's pod 0 (torchrun's MASTER_PORT convention). */
export const DEFAULT_RENDEZVOUS_PORT = 29500;

/**
 * Default interface for NCCL and gloo: a pod's primary interface. Users with several NICs override
 * `NCCL_SOCKET_IFNAME` / `GLOO_SOCKET_IFNAME` through `spec.runtime.env`.
 */
export const DEFAULT_SOCKET_IFNAME = 'eth0';

/**
 * The pod's terminationGracePeriodSeconds: after SIGTERM the kubelet kills the pod this long after. A
 * serving group drains inside it (the running batch is finished and answered), so the launcher gives its
 * workers almost all of it (`DRAIN_GRACE_MS`) before it kills them itself.
 */
export const POD_TERMINATION_GRACE_SECONDS = 30;

/** How long a pod's launcher lets its workers drain after SIGTERM: the pod's grace less a margin to exit. */
export const DRAIN_GRACE_MS = (POD_TERMINATION_GRACE_SECONDS - 3) * 1000;

/** Name of the runtime container in every pod; the launcher's logs say it. */
export const RUNTIME_CONTAINER_NAME = 'runtime';

/** The runtime's entry point inside the image (the `tessera` CLI's `worker` subcommand). */
export const RUNTIME_COMMAND = ['tessera', 'worker'] as const;

/**
 * HTTP paths every pod answers on `TESSERA_SERVING_PORT`: startup (weights loaded, warmed up) and
 * readiness (can take a request; on workers: joined the group). The pod template of a group is shared
 * by leader and workers, so workers answer the probes too; only the leader serves requests.
 */
export const RUNTIME_PROBE_PATHS = {
  startup: '/healthz',
  readiness: '/readyz',
} as const;
