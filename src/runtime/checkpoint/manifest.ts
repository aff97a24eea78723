/**
 * A model manifest: every tensor a config implies, with its shape and, per dimension, the config fields it
 * follows (so a mismatch can name the field). Tensors are grouped per block, so a pipeline stage can load
 * only its own blocks.
 */

/** One dimension of an expected tensor and where its size comes from in config.json. */
export interface Dim {
  size: number;
  /** e.g. "num_attention_heads × attention_head_dim", or a constant's reason. */
  from: string;
}

export interface ExpectedTensor {
  name: string;
  shape: number[];
  /** Per dimension: the config field(s) that determine it. */
  dimSources: string[];
}

export type TensorGroupKind = 'embed' | 'head' | 'double-block' | 'single-block' | 'joint-block';

export interface TensorGroup {
  /** "embed", "head", or the block prefix without the dot, e.g. "transformer_blocks.3". */
  id: string;
  kind: TensorGroupKind;
  /** Position in execution order among all blocks (Flux: double blocks, then single blocks); null otherwise. */
  executionIndex: number | null;
  tensors: ExpectedTensor[];
}

export interface ModelManifest {
  className: string;
  /** embed, blocks in execution order, head. */
  groups: TensorGroup[];
}

export const dim = (size: number, from: string): Dim => ({ size, from });

export class GroupBuilder {
  readonly tensors: ExpectedTensor[] = [];
  constructor(private readonly prefix: string) {}

  tensor(name: string, dims: Dim[]): this {
    this.tensors.push({
      name: `${this.prefix}${name}`,
      shape: dims.map((d) => d.size),
      dimSources: dims.map((d) => d.from),
    });
    return this;
  }

  /** nn.Linear: weight [out, in] and, by default, bias [out]. */
  linear(name: string, out: Dim, input: Dim, bias = true): this {
    this.tensor(`${name}.weight`, [out, input]);
    if (bias) this.tensor(`${name}.bias`, [out]);
    return this;
  }
}

export function allTensors(manifest: ModelManifest): ExpectedTensor[] {
  return manifest.groups.flatMap((g) => g.tensors);
}

export function blockGroups(manifest: ModelManifest): TensorGroup[] {
  return manifest.groups.filter((g) => g.executionIndex !== null);
}

export interface StageSelection {
  /** First block (execution order, inclusive). */
  fromBlock: number;
  /** Last block (execution order, exclusive). */
  toBlock: number;
}

/**
 * The tensors one pipeline stage loads: its blocks, plus the embedders on the first stage and the output
 * head on the last (xDiT's PipeFusion partitioning, xdit.md §3.5).
 */
export function stageTensors(manifest: ModelManifest, stage: StageSelection): ExpectedTensor[] {
  const blocks = blockGroups(manifest);
  if (!(stage.fromBlock >= 0 && stage.fromBlock < stage.toBlock && stage.toBlock <= blocks.length)) {
    throw new Error(
      `stage blocks [${stage.fromBlock}, ${stage.toBlock}) are outside the model's ${blocks.length} blocks`,
    );
  }
  return manifest.groups
    .filter((g) => {
      if (g.kind === 'embed') return stage.fromBlock === 0;
      if (g.kind === 'head') return stage.toBlock === blocks.length;
      const i = g.executionIndex ?? -1;
      return i >= stage.fromBlock && i < stage.toBlock;
    })
    .flatMap((g) => g.tensors);
}
