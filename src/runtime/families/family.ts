/**
 * The one interface between a model architecture and everything that runs it. A family adapter
 * (flux.ts, sd3.ts, …) owns what differs per architecture — its config and checkpoint layout, the inputs
 * a request carries and how they become the transformer's, the embedding, blocks and head, how the
 * latents are laid out in tokens, how guidance works, and which schedule its pipeline builds. The
 * denoising loops, the parallel layers (sequence parallel, CFG parallel, PipeFusion, data parallel),
 * serving, the serve loop, the launcher and the CLI see only these types; none of them branches on the
 * architecture (test/unit/family-boundary.test.ts checks it).
 *
 * Adding a family: docs/architecture.md, "Model families".
 */

import type { ModelFacts } from '../../shared/plan/index.js';
import type { BlockCount } from '../checkpoint/block-counts.js';
import type { ConfigFields } from '../checkpoint/config-fields.js';
import type { ModelManifest } from '../checkpoint/manifest.js';
import type { DenoiseInputs, SampleTensors } from '../denoise/inputs.js';
import type { NamedTensors } from '../model-loader/named-tensors.js';
import type { AttentionFn } from '../models/common/attention.js';
import type { BlockRange } from '../models/common/blocks.js';
import type { WeightLookup } from '../models/common/weights.js';
import type { Tensor } from '../native/index.js';
import type { DenoiseScheduler, SchedulerConfig } from '../scheduler/scheduler.js';
import type { InputsCheck, InputsFileView } from './file-check.js';

/** The architectures the plan contract knows. */
export type FamilyName = ModelFacts['family'];

/** What every parsed `transformer/config.json` has; each family's config type extends it. */
export interface TransformerConfig {
  /** Diffusers' `_class_name`, e.g. "FluxTransformer2DModel". */
  readonly className: string;
  readonly numAttentionHeads: number;
  readonly attentionHeadDim: number;
}

/**
 * Sizes from the transformer config that a family's request inputs have (serving checks requests
 * against them), e.g. `inChannels`, `jointAttentionDim`. Each family names its own.
 */
export type InputDims = Readonly<Record<string, number>>;

/** One input tensor of a request, per sample (the batch axis is not listed). */
export interface InputSpec {
  /** Name in a safetensors body and in `tessera denoise --inputs` files. */
  readonly name: string;
  /** Field name in a JSON body, and the key in DenoiseInputs.samples. */
  readonly field: string;
  readonly dims: readonly number[];
  /** `withGuidance`: required when the guidance scale exceeds `cfgAbove`, refused otherwise. */
  readonly presence: 'required' | 'optional' | 'withGuidance';
}

/** What a request of one image size carries, for the serving API. */
export interface RequestInputs {
  /** The latents' spec comes first. */
  readonly tensors: readonly InputSpec[];
  /** Guidance above this runs true classifier-free guidance; null: the family has none. */
  readonly cfgAbove: number | null;
  /** Names an inputs file may carry that a server drops (they follow from the image size). */
  readonly ignored: readonly string[];
}

/** The latent grid of one image size. */
export interface LatentGrid {
  /** Image pixels / the VAE's scale factor. */
  readonly latentHeight: number;
  readonly latentWidth: number;
  /** Text tokens of the prompt embeddings. */
  readonly textTokens: number;
}

/** The facts about a checkpoint the family-neutral layers (plan checks, planning, stats) use. */
export interface ArchitectureFacts {
  readonly family: FamilyName;
  /** For messages, e.g. "Flux", "SD3". */
  readonly label: string;
  readonly heads: number;
  readonly headDim: number;
  /** Transformer blocks in execution order (what PipeFusion stages divide). */
  readonly blocks: number;
  /** Latent pixels per token side (Flux 2, by its 2×2 packing; SD3 patch_size). */
  readonly latentPatch: number;
  /** Whether the model runs true classifier-free guidance (two branches) rather than a distilled one. */
  readonly trueCfg: boolean;
}

/** How a band of image tokens sits in the latents tensor, for PipeFusion's patch updates. */
export interface LatentLayout {
  /** The latents' axis the token rows run along (Flux packed tokens: 1; SD3 latent rows: 2). */
  readonly axis: number;
  /** Entries along `axis` per unit: 1 per token (Flux), patch size per token row (SD3). */
  readonly perUnit: number;
  /** Tokens per unit: 1 (Flux), the token columns (SD3). */
  readonly tokensPerUnit: number;
}

/** The token geometry of one request. Image tokens are in row-major order. */
export interface TokenGeometry {
  /** Rows and columns of image tokens. */
  readonly rows: number;
  readonly cols: number;
  /** rows × cols: what the schedule's resolution-dependent shift sees. */
  readonly imageTokens: number;
  /** Text tokens joined to the image sequence in attention (0 for cross-attention models). */
  readonly jointTextTokens: number;
  readonly latentLayout: LatentLayout;
  /** Axis of the head's output along which sequence-parallel shards are joined (Flux 1; SD3 2). */
  readonly headAxis: number;
}

/** Per-sample tensors (batch axis 0) one branch of a step is conditioned on, by name. */
export type Conditioning = SampleTensors;

/**
 * How a request is guided. `none`: one branch (a guidance-distilled model, which may embed the scale
 * as an input, or true CFG turned off by a scale ≤ 1); `why` says so for errors. `cfg`: two branches,
 * [uncond, cond], combined as uncond + scale · (cond − uncond) (guidance/).
 */
export type GuidanceMode = { kind: 'none'; why: string } | { kind: 'cfg'; scale: number };

/**
 * One tensor of the state a PipeFusion stage sends the next. It travels in the model's activation dtype
 * (bf16 on a GPU with bf16 weights, so the receiving stage computes in bf16 and its GEMMs never convert
 * the weights), unless `f32` says it must stay f32 whatever the activations are (rotary tables: bf16
 * would round their cos/sin).
 */
export interface StatePart {
  readonly shape: number[];
  readonly f32?: boolean;
}

/** A token range [start, end). */
export interface TokenRange {
  readonly start: number;
  readonly end: number;
}

/**
 * One request as the loops and the parallel layers drive it: conditioning branches and guidance, the
 * token geometry, and the model's staged forward over a state `S` that only the family knows.
 */
export interface FamilyRequest<S = unknown> {
  readonly batch: number;
  readonly geometry: TokenGeometry;
  readonly guidance: GuidanceMode;
  /** [cond] for `none`; [uncond, cond] for `cfg`. */
  readonly branches: readonly Conditioning[];
  /** The model timestep of a schedule timestep. */
  modelTimestep(t: number): number;
  /** The whole forward on this rank (every block loaded): output in the latents' layout. */
  forward(latents: Tensor, conditioning: Conditioning, t: number, attention: AttentionFn): Promise<Tensor>;
  /** Stage 0: the state entering block 0, for the whole image. */
  embed(latents: Tensor, conditioning: Conditioning, t: number): S;
  /**
   * Keeps image tokens `image` (`rows` token rows of them) and joint text tokens `text` (null: all),
   * with everything that follows them (rotary rows): a sequence-parallel shard or a PipeFusion patch.
   */
  select(state: S, image: TokenRange, rows: number, text: TokenRange | null): void;
  runBlocks(state: S, range: BlockRange, attention: AttentionFn): Promise<void>;
  /** Last stage: the model output for the state's image tokens, in the latents' layout. */
  head(state: S): Tensor;
  /** The tensors one pipeline stage sends the next (`stateParts` describes them). */
  pack(state: S): Tensor[];
  /** `pack`'s tensors for `imageTokens` image tokens entering block `fromBlock`, as the receiver expects them. */
  stateParts(batch: number, imageTokens: number, fromBlock: number): StatePart[];
  /**
   * The state from a stage message: each part arrives in the dtype it travelled in (the activation dtype,
   * or f32 where `stateParts` says so), so the state is in the model's activation dtype as it is.
   * `conditioning` is the one the state was embedded with (every stage of a pipeline runs the same pass):
   * what follows from it alone (PixArt's kept caption tokens) is taken from there, not sent each hop.
   */
  unpack(parts: Tensor[], fromBlock: number, rows: number, conditioning: Conditioning): S;
  release(state: S): void;
}

/** A transformer built for a block range (a PipeFusion stage, or all blocks). */
export interface FamilyModel {
  readonly blockCount: number;
  readonly loaded: BlockRange;
  /**
   * One request. Checks the inputs against the config (errors name the input and the fix) and, for
   * guidance, that what the scale asks for is there (e.g. negative embeddings).
   */
  request(inputs: DenoiseInputs, guidanceScale: number): FamilyRequest;
  /** One forward from the Diffusers `forward` arguments, named as Diffusers names them (reference checks). */
  forwardNamed(named: NamedTensors, attention: AttentionFn): Promise<Tensor>;
}

/** A family bound to one parsed config. */
export interface Architecture {
  readonly family: ModelFamily;
  readonly config: TransformerConfig;
  readonly facts: ArchitectureFacts;
  /** Each block kind's name prefix and config field, and how many the config says there are. */
  readonly blockCounts: readonly BlockCount[];
  /** Every tensor the config implies (built on first use: after the block counts were checked). */
  readonly manifest: ModelManifest;
  readonly inputDims: InputDims;
  /** The transformer over `weights`, which hold the tensors of `range` (stageTensors of the manifest). */
  build(weights: WeightLookup, range: BlockRange): FamilyModel;
  /**
   * An inputs file checked from its header (and small id tensors) against the config, before anything
   * runs: every problem, and the request's facts for the degree checks.
   */
  checkInputsFile(file: InputsFileView, path: string, steps: number, guidanceScale: number): InputsCheck;
  /** The schedule the family's pipeline builds for a request. */
  schedule(scheduler: SchedulerConfig, steps: number, geometry: TokenGeometry): DenoiseScheduler;
}

/** Inputs read from a file of named tensors, and how to write the result in the file's layout. */
export interface FileInputs {
  readonly inputs: DenoiseInputs;
  /** The final latents in the layout the inputs came in (e.g. Flux unpacked when they were). */
  finish(latents: Tensor): Tensor;
}

/** One architecture: the registry's entry (families/index.ts). */
export interface ModelFamily {
  readonly name: FamilyName;
  /** Diffusers' transformer class, `_class_name` of transformer/config.json. */
  readonly className: string;
  /** The Diffusers pipeline's default guidance scale. */
  readonly defaultGuidanceScale: number;
  /** transformer/config.json with Diffusers' defaults; errors name the file and field. */
  parseConfig(fields: ConfigFields): TransformerConfig;
  /** Binds the family to a config it parsed (or one built in code with its className). */
  architecture(config: TransformerConfig): Architecture;
  /** Tensor names an inputs file may hold (others are reported, not read). */
  readonly fileInputNames: readonly string[];
  /** Names of the Diffusers `forward` arguments forwardNamed reads. */
  readonly forwardInputNames: readonly string[];
  /** DenoiseInputs from an inputs file (`tessera denoise --inputs`, the worker's request). */
  inputsFromFile(named: NamedTensors): FileInputs;
  /** What a request for one image size carries (serving limits). */
  requestInputs(grid: LatentGrid, dims: InputDims): RequestInputs;
  /** DenoiseInputs from a request's joined tensors (by InputSpec name), for an image size. */
  inputsFromRequest(
    tensors: ReadonlyMap<string, Tensor>,
    grid: Pick<LatentGrid, 'latentHeight' | 'latentWidth'>,
  ): DenoiseInputs;
}
