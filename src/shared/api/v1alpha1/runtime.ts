import type { V1EnvVarSource } from '@kubernetes/client-node';
import type { ObjectName, Quantity } from './primitives.js';

export const PULL_POLICIES = ['Always', 'IfNotPresent', 'Never'] as const;
export type PullPolicy = (typeof PULL_POLICIES)[number];

/**
 * CPU and memory of each pod (a structural copy of core/v1 ResourceRequirements). GPUs are not set
 * here: the plan decides how many GPUs each pod requests.
 * @validation {"rule": "!has(self.limits) || self.limits.all(k, !k.startsWith('nvidia.com/'))", "message": "GPUs come from the plan; remove nvidia.com/* from limits", "fieldPath": ".limits"}
 * @validation {"rule": "!has(self.requests) || self.requests.all(k, !k.startsWith('nvidia.com/'))", "message": "GPUs come from the plan; remove nvidia.com/* from requests", "fieldPath": ".requests"}
 */
export interface ResourceRequirements {
  /**
   * Resource limits per pod, e.g. `{cpu: "32", memory: 400Gi}`.
   * @maxProperties 16
   */
  limits?: Record<string, Quantity>;
  /**
   * Resource requests per pod, e.g. `{cpu: "16", memory: 200Gi}`.
   * @maxProperties 16
   */
  requests?: Record<string, Quantity>;
}

/** One environment variable of the runtime container, as in a pod spec. */
export interface EnvVar {
  /**
   * Variable name.
   * @minLength 1
   * @maxLength 256
   * @pattern ^[-._a-zA-Z][-._a-zA-Z0-9]*$
   */
  name: string;
  /**
   * Literal value; `$(VAR)` references expand as in a pod spec.
   * @maxLength 32768
   */
  value?: string;
  /**
   * Where the value comes from (core/v1 EnvVarSource: secretKeyRef, configMapKeyRef, fieldRef,
   * resourceFieldRef). Kept unchecked here; the API server checks it on the pods.
   * @preserveUnknownFields
   */
  valueFrom?: V1EnvVarSource;
}

/** A reference to an object in the same namespace, by name. */
export interface LocalObjectReference {
  /** Name of the object. */
  name: ObjectName;
}

/** The container every pod of a group runs. */
export interface RuntimeSpec {
  /**
   * Runtime image; omitted: the image the operator was installed with (same version as the operator).
   * @minLength 1
   * @maxLength 512
   */
  image?: string;
  /**
   * When the kubelet pulls the runtime image.
   * @default "IfNotPresent"
   */
  imagePullPolicy: PullPolicy;
  /**
   * Secrets with registry credentials for pulling the runtime image (as a pod's `imagePullSecrets`).
   * @maxItems 16
   * @listType map
   * @listMapKey name
   */
  imagePullSecrets?: LocalObjectReference[];
  /** CPU and memory per pod; GPUs come from the plan. */
  resources?: ResourceRequirements;
  /**
   * Extra environment variables (e.g. `NCCL_SOCKET_IFNAME`, `NCCL_DEBUG`). Names the operator sets
   * itself (`TESSERA_*`) are rejected.
   * @maxItems 128
   * @listType map
   * @listMapKey name
   * @validation {"rule": "self.all(e, !e.name.startsWith('TESSERA_'))", "message": "TESSERA_* variables are set by the operator; rename the variable"}
   */
  env?: EnvVar[];
  /**
   * Extra arguments appended to the runtime's command line.
   * @maxItems 64
   * @listType atomic
   */
  args?: ArgString[];
}

/**
 * One command-line argument.
 * @maxLength 4096
 */
export type ArgString = string;
