/**
 * Where a Diffusers component's weights live: one `diffusion_pytorch_model.safetensors`, or shards named by
 * `diffusion_pytorch_model.safetensors.index.json` (its weight_map: tensor name → shard file). Components
 * saved by transformers (the text encoders) use `model.safetensors` and `model.safetensors.index.json`.
 */
import { existsSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { CheckpointConfigError, readJsonObject, shown } from './config-fields.js';

export const SINGLE_WEIGHTS = 'diffusion_pytorch_model.safetensors';
export const SHARD_INDEX = 'diffusion_pytorch_model.safetensors.index.json';

/** The file names of one component's weights: a single file, or the index of its shards. */
export interface WeightFileNames {
  single: string;
  index: string;
}
export const DIFFUSERS_WEIGHT_FILES: WeightFileNames = { single: SINGLE_WEIGHTS, index: SHARD_INDEX };
export const TRANSFORMERS_WEIGHT_FILES: WeightFileNames = {
  single: 'model.safetensors',
  index: 'model.safetensors.index.json',
};

export interface WeightFiles {
  kind: 'single' | 'sharded';
  /** Absolute paths, in a stable order (index order of first appearance for shards). */
  files: string[];
  /** Sharded only: tensor name → absolute shard path. */
  weightMap: ReadonlyMap<string, string> | null;
  /** The file a reader should open for one tensor (the single file, or the shard the index names). */
  fileOf(tensor: string): string | undefined;
  /** What to name in messages: the single file or the index. */
  label: string;
}

export function resolveWeightFiles(
  componentDir: string,
  names: WeightFileNames = DIFFUSERS_WEIGHT_FILES,
): WeightFiles {
  const single = join(componentDir, names.single);
  const index = join(componentDir, names.index);
  const hasSingle = existsSync(single);
  const hasIndex = existsSync(index);
  if (hasSingle && hasIndex) {
    throw new CheckpointConfigError(
      `${componentDir} has both ${names.single} and ${names.index}; keep one so it is clear which weights to load`,
    );
  }
  if (hasSingle) {
    return { kind: 'single', files: [single], weightMap: null, fileOf: () => single, label: single };
  }
  if (!hasIndex) {
    throw new CheckpointConfigError(
      `${componentDir}: neither ${names.single} nor ${names.index} found (only safetensors weights are supported; ` +
        'convert .bin checkpoints with diffusers save_pretrained(safe_serialization=True))',
    );
  }
  return readShardIndex(componentDir, index);
}

function readShardIndex(componentDir: string, indexPath: string): WeightFiles {
  const raw = readJsonObject(indexPath);
  const map = raw.weight_map;
  if (typeof map !== 'object' || map === null || Array.isArray(map)) {
    throw new CheckpointConfigError(
      `${indexPath}: "weight_map" must be an object of tensor name → shard file`,
    );
  }
  const weightMap = new Map<string, string>();
  const files: string[] = [];
  for (const [tensor, shard] of Object.entries(map)) {
    // A shard is a file next to the index; anything else (paths, "..") would read outside the model folder.
    if (typeof shard !== 'string' || shard === '' || basename(shard) !== shard || shard.startsWith('.')) {
      throw new CheckpointConfigError(
        `${indexPath}: weight_map["${tensor}"] must be a shard file name in the same folder, got ${shown(shard)}`,
      );
    }
    const path = join(componentDir, shard);
    if (!files.includes(path)) files.push(path);
    weightMap.set(tensor, path);
  }
  if (weightMap.size === 0) throw new CheckpointConfigError(`${indexPath}: weight_map is empty`);
  return { kind: 'sharded', files, weightMap, fileOf: (t) => weightMap.get(t), label: indexPath };
}

/**
 * Checks that the shards a load needs exist. Only those: a pipeline stage's pod may hold just its own
 * shards (a hub download fetches no more), so a shard of another stage being absent is no error.
 */
export function requireWeightFiles(weights: WeightFiles, needed: readonly string[]): void {
  for (const path of needed) {
    if (existsSync(path)) continue;
    const tensor = [...(weights.weightMap ?? new Map<string, string>())].find(([, p]) => p === path)?.[0];
    throw new CheckpointConfigError(
      `${weights.label} maps "${tensor ?? '?'}" to ${basename(path)}, which does not exist in ${dirname(path)}`,
    );
  }
}
