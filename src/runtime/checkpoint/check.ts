/**
 * The load-time check of weights against the config, after the block counts (./block-counts.ts): every
 * expected tensor's presence, shape and dtype, then tensors the config does not explain. The first
 * problem ends the load with a message naming the tensor and, where the config explains the
 * expectation, the config field.
 */
import type { ExpectedTensor, ModelManifest } from './manifest.js';
import { allTensors } from './manifest.js';
import type { TensorSource } from './tensor-source.js';

export class CheckpointMismatchError extends Error {
  override readonly name = 'CheckpointMismatchError';
  constructor(
    message: string,
    /** The first tensor found wrong, when there is one. */
    readonly tensor: string | null,
    /** The config.json field that disagrees with the weights, when one does. */
    readonly field: string | null,
  ) {
    super(message);
  }
}

export const SUPPORTED_WEIGHT_DTYPES = ['F32', 'BF16', 'F16'];

export interface CheckOptions {
  /** The config.json path, for messages. */
  configFile: string;
  /** The weights (single file or index), for messages. */
  weightsLabel: string;
  /** Check only these (one pipeline stage); skips the unexpected-tensor check. */
  only?: ExpectedTensor[];
}

const fmt = (shape: readonly number[]): string => `[${shape.join(', ')}]`;

export function checkWeights(manifest: ModelManifest, source: TensorSource, options: CheckOptions): void {
  const present = new Set(source.names());
  for (const expected of options.only ?? allTensors(manifest)) {
    checkTensor(expected, source, present, options);
  }
  if (!options.only) checkUnexpected(manifest, present, options);
}

function checkTensor(
  expected: ExpectedTensor,
  source: TensorSource,
  present: Set<string>,
  options: CheckOptions,
): void {
  if (!present.has(expected.name)) {
    throw new CheckpointMismatchError(
      `${options.weightsLabel} is missing tensor "${expected.name}" (expected shape ${fmt(expected.shape)} for ` +
        `${options.configFile}); the checkpoint is incomplete or was saved from a different model`,
      expected.name,
      null,
    );
  }
  const actual = source.shape(expected.name);
  const sameRank = actual.length === expected.shape.length;
  const firstDiff = sameRank ? expected.shape.findIndex((size, i) => actual[i] !== size) : -1;
  if (!sameRank || firstDiff >= 0) {
    const field = sameRank ? (expected.dimSources[firstDiff] ?? null) : null;
    const why = field === null ? '' : `; dim ${firstDiff} follows ${field} in ${options.configFile}`;
    throw new CheckpointMismatchError(
      `tensor "${expected.name}" in ${options.weightsLabel} has shape ${fmt(actual)} but the config implies ` +
        `${fmt(expected.shape)}${why}: the config does not match the weights`,
      expected.name,
      field,
    );
  }
  const dtype = source.dtype(expected.name);
  if (!SUPPORTED_WEIGHT_DTYPES.includes(dtype)) {
    throw new CheckpointMismatchError(
      `tensor "${expected.name}" in ${options.weightsLabel} is ${dtype}; supported weight dtypes are ` +
        `${SUPPORTED_WEIGHT_DTYPES.join(', ')} (re-save the checkpoint in one of them)`,
      expected.name,
      null,
    );
  }
}

/** Config fields that, when wrong, leave whole tensor families unexplained. */
const UNEXPECTED_HINTS: Array<{ pattern: RegExp; field: string; advice: string }> = [
  {
    pattern: /^time_text_embed\.guidance_embedder\./,
    field: 'guidance_embeds',
    advice: 'set guidance_embeds: true',
  },
  {
    pattern: /\.attn2\./,
    field: 'dual_attention_layers',
    advice: 'list this block in dual_attention_layers',
  },
  { pattern: /\.attn\.norm_(added_)?[qk]\./, field: 'qk_norm', advice: 'set qk_norm: "rms_norm"' },
];

function checkUnexpected(manifest: ModelManifest, present: Set<string>, options: CheckOptions): void {
  const expected = new Set(allTensors(manifest).map((t) => t.name));
  for (const name of present) {
    if (expected.has(name)) continue;
    const hint = UNEXPECTED_HINTS.find((h) => h.pattern.test(name));
    const because = hint
      ? ` — ${options.configFile} disagrees with the weights on ${hint.field} (${hint.advice})`
      : ' (adapter/LoRA weights or another model class are not supported)';
    throw new CheckpointMismatchError(
      `${options.weightsLabel} has tensor "${name}", which ${manifest.className} with this config does not have${because}`,
      name,
      hint?.field ?? null,
    );
  }
}
