/**
 * The little the checkpoint check needs from a safetensors reader. The native reader
 * (src/runtime/native/safetensors.ts) satisfies it through a two-line adapter; tests use a pure-TS one.
 */
import { CheckpointConfigError } from './config-fields.js';
import type { WeightFiles } from './weight-files.js';

export interface TensorSource {
  names(): string[];
  shape(name: string): number[];
  /** As stored in the header: 'F32', 'BF16', 'F16', ... */
  dtype(name: string): string;
}

export type OpenTensorSource = (path: string) => TensorSource;

interface Located {
  source: TensorSource;
  file: string;
}

/**
 * One view over all the files of a component. For shards, the index and the shard headers must agree:
 * every indexed tensor is in its shard and every shard tensor is indexed, once.
 */
export function weightsSource(
  weights: WeightFiles,
  open: OpenTensorSource,
  files = weights.files,
): TensorSource {
  const where = new Map<string, Located>();
  for (const file of files) {
    const source = open(file);
    for (const name of source.names()) {
      const indexed = weights.weightMap?.get(name);
      if (weights.weightMap && indexed !== file) {
        throw new CheckpointConfigError(
          indexed === undefined
            ? `${file} holds tensor "${name}", which ${weights.label} does not list; regenerate the index`
            : `tensor "${name}" is in ${file} but ${weights.label} maps it to ${indexed}; regenerate the index`,
        );
      }
      const seen = where.get(name);
      if (seen) throw new CheckpointConfigError(`tensor "${name}" appears in both ${seen.file} and ${file}`);
      where.set(name, { source, file });
    }
  }
  if (weights.weightMap) {
    for (const [name, file] of weights.weightMap) {
      if (files.includes(file) && !where.has(name)) {
        throw new CheckpointConfigError(
          `${weights.label} maps "${name}" to ${file}, but that shard has no such tensor`,
        );
      }
    }
  }
  const located = (name: string): Located => {
    const found = where.get(name);
    if (!found) throw new CheckpointConfigError(`no tensor "${name}" in ${weights.label}`);
    return found;
  };
  return {
    names: () => [...where.keys()],
    shape: (name) => located(name).source.shape(name),
    dtype: (name) => located(name).source.dtype(name),
  };
}
