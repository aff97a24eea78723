import type { Int32, ObjectName } from './primitives.js';

/**
 * Architectures (family and variant) the presets know. The planner keys its model facts on these
 * values (`src/shared/models/`), so adding one here means adding its preset there.
 *
 * - `flux-dev`, `flux-schnell`: FLUX.1 [dev] and [schnell]; guidance-distilled (no CFG branch).
 * - `sd3-medium`: Stable Diffusion 3 Medium; true CFG.
 * - `sd3.5-medium`, `sd3.5-large`: Stable Diffusion 3.5 Medium and Large; true CFG.
 * - `pixart-sigma`: PixArt-Σ; cross-attention to the text, true CFG.
 * - `custom`: none of the above; `spec.model.facts` must describe the transformer.
 */
export const MODEL_ARCHITECTURES = [
  'flux-dev',
  'flux-schnell',
  'sd3-medium',
  'sd3.5-medium',
  'sd3.5-large',
  'pixart-sigma',
] as const;
export type ModelArchitecture = (typeof MODEL_ARCHITECTURES)[number];

/** Architectures with a preset, plus `custom` for checkpoints described only by `spec.model.facts`. */
export const MODEL_ARCHITECTURE_VALUES = [...MODEL_ARCHITECTURES, 'custom'] as const;
export type ModelArchitectureValue = (typeof MODEL_ARCHITECTURE_VALUES)[number];

export const MODEL_DTYPES = ['bf16', 'fp16', 'fp32'] as const;
export type ModelDType = (typeof MODEL_DTYPES)[number];

/** A checkpoint on a PersistentVolumeClaim in the same namespace, mounted read-only. */
export interface PvcModelSource {
  /**
   * Name of the PersistentVolumeClaim. It must allow ReadOnlyMany (or ReadWriteMany) when a group
   * spans several nodes.
   */
  claimName: ObjectName;
  /**
   * Directory inside the volume holding the Diffusers layout (`model_index.json`, `transformer/`, ...).
   * Empty means the volume root.
   * @maxLength 1024
   * @pattern ^[^/].*$
   */
  subPath?: string;
}

/** A checkpoint already on every node's disk (pre-loaded images, local NVMe). */
export interface HostPathModelSource {
  /**
   * Absolute path on the node of the Diffusers layout directory.
   * @minLength 1
   * @maxLength 1024
   * @pattern ^/
   */
  path: string;
}

/** A checkpoint packaged as an OCI image or artifact, mounted as an image volume (Kubernetes ≥ 1.33). */
export interface ImageModelSource {
  /**
   * Image reference, e.g. `registry.example.com/models/flux1-dev:2024-08`.
   * @minLength 1
   * @maxLength 512
   */
  reference: string;
  /**
   * When the kubelet pulls the image.
   * @default "IfNotPresent"
   */
  pullPolicy: 'Always' | 'IfNotPresent' | 'Never';
  /**
   * Directory inside the image holding the Diffusers layout. Empty means the image root.
   * @maxLength 1024
   */
  subPath?: string;
}

/** A key of a Secret in the same namespace. */
export interface SecretKeyReference {
  /** Name of the Secret. */
  name: ObjectName;
  /**
   * Key inside the Secret.
   * @default "token"
   * @minLength 1
   * @maxLength 253
   * @pattern ^[-._a-zA-Z0-9]+$
   */
  key: string;
}

/**
 * A Diffusers repository on a Hugging Face–compatible hub. An init container (`tessera fetch-model`)
 * downloads the files this pod's share of the plan needs into a cache directory on the node, shared by
 * every pod there, resuming interrupted files and checking sizes and SHA-256 against the hub's metadata,
 * before the workers start.
 */
export interface HubModelSource {
  /**
   * Repository id `owner/name`, e.g. `black-forest-labs/FLUX.1-dev`.
   * @minLength 3
   * @maxLength 256
   * @pattern ^[A-Za-z0-9][-A-Za-z0-9._]{0,95}/[A-Za-z0-9][-A-Za-z0-9._]{0,95}$
   */
  repository: string;
  /**
   * Branch, tag or commit of the repository.
   * @default "main"
   * @minLength 1
   * @maxLength 256
   * @pattern ^[-A-Za-z0-9._/]+$
   */
  revision: string;
  /** Secret key holding an access token, for gated or private repositories. */
  tokenSecretRef?: SecretKeyReference;
  /**
   * Base URL of the hub (a mirror or a self-hosted hub with the same API).
   * @default "https://huggingface.co"
   * @maxLength 1024
   * @pattern ^https?://[^ ]+$
   */
  endpoint: string;
  /**
   * Directory on each node that caches downloads; every pod on the node shares it.
   * @default "/var/lib/tessera/hub-cache"
   * @maxLength 1024
   * @pattern ^/
   */
  cacheHostPath: string;
}

/**
 * Where the checkpoint comes from. Set exactly one of `pvc`, `hostPath`, `image` and `hub`.
 * @validation {"rule": "(has(self.pvc) ? 1 : 0) + (has(self.hostPath) ? 1 : 0) + (has(self.image) ? 1 : 0) + (has(self.hub) ? 1 : 0) == 1", "message": "set exactly one of pvc, hostPath, image or hub"}
 */
export interface ModelSource {
  /** The checkpoint is on a PersistentVolumeClaim. */
  pvc?: PvcModelSource;
  /** The checkpoint is on each node's disk. */
  hostPath?: HostPathModelSource;
  /** The checkpoint is an OCI image mounted as a volume. */
  image?: ImageModelSource;
  /** The checkpoint is downloaded from a Hugging Face–compatible hub into a node cache. */
  hub?: HubModelSource;
}

/**
 * Explicit facts about the transformer, for checkpoints the presets do not know (`architecture:
 * custom`) or to override a preset. The runtime checks them against the checkpoint at start and the
 * group fails with a clear message on a mismatch.
 */
export interface ModelFactsOverride {
  /**
   * Transformer blocks in execution order (Flux: double + single blocks; SD3: joint blocks).
   * @minimum 1
   * @maximum 1024
   */
  layers: Int32;
  /**
   * Attention heads per block. Ulysses degrees must divide it.
   * @minimum 1
   * @maximum 1024
   */
  heads: Int32;
  /**
   * Dimension of one attention head.
   * @minimum 1
   * @maximum 1024
   */
  headDim: Int32;
  /**
   * Text tokens joined to the image tokens in attention (0 for cross-attention models like PixArt).
   * @minimum 0
   * @maximum 4096
   */
  textTokens: Int32;
  /**
   * How guidance works: `CFG` runs a conditional and an unconditional branch (CFG parallel can split
   * them over 2 GPUs); `Distilled` feeds the guidance scale as an input and runs one branch.
   */
  guidance: 'CFG' | 'Distilled';
}

/**
 * Which model the group runs and where its weights come from.
 * @validation {"rule": "self.architecture != 'custom' || has(self.facts)", "message": "architecture custom requires facts (layers, heads, headDim, textTokens, guidance)", "fieldPath": ".facts"}
 */
export interface ModelSpec {
  /**
   * Family and variant: `flux-dev`, `flux-schnell` (FLUX.1, guidance-distilled), `sd3-medium`,
   * `sd3.5-medium`, `sd3.5-large` (Stable Diffusion 3 / 3.5, true CFG), `pixart-sigma` (PixArt-Σ,
   * cross-attention), or `custom` together with `facts`.
   */
  architecture: ModelArchitectureValue;
  /** Where the Diffusers checkpoint comes from; exactly one source. */
  source: ModelSource;
  /**
   * Compute and storage type of the transformer weights on the GPU.
   * @default "bf16"
   */
  dtype: ModelDType;
  /** Transformer facts for checkpoints the presets do not know; required when `architecture` is `custom`. */
  facts?: ModelFactsOverride;
}
