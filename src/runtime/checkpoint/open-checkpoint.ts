/**
 * Opens a Diffusers model folder's transformer: reads model_index.json and transformer/config.json (whose
 * sizes are capped), resolves single vs sharded weights, checks the config's block counts against the
 * tensor names, and only then derives the expected tensors and checks them — all before any weight is
 * read. A pipeline stage passes `stage` to open and check only the shards holding its own blocks.
 */
import { join } from 'node:path';
import { log } from '../../shared/log.js';
import { type BlockCount, checkBlockCounts } from './block-counts.js';
import { checkWeights } from './check.js';
import { fluxBlockCounts, fluxManifest } from './flux-manifest.js';
import {
  allTensors,
  type ExpectedTensor,
  type ModelManifest,
  type StageSelection,
  stageTensors,
} from './manifest.js';
import {
  type ModelIndex,
  readModelIndex,
  readTransformerConfig,
  type TransformerConfig,
} from './model-folder.js';
import { sd3BlockCounts, sd3Manifest } from './sd3-manifest.js';
import { type OpenTensorSource, type TensorSource, weightsSource } from './tensor-source.js';
import { requireWeightFiles, resolveWeightFiles, type WeightFiles } from './weight-files.js';

const logger = log.child({ component: 'checkpoint' });

export interface OpenedTransformer {
  folder: string;
  index: ModelIndex;
  config: TransformerConfig;
  manifest: ModelManifest;
  weights: WeightFiles;
  /** The tensors this process loads (all, or one stage's), each checked. */
  tensors: ExpectedTensor[];
  source: TensorSource;
}

export function manifestFor(config: TransformerConfig): ModelManifest {
  return config.className === 'FluxTransformer2DModel' ? fluxManifest(config) : sd3Manifest(config);
}

function blockCountsFor(config: TransformerConfig): BlockCount[] {
  return config.className === 'FluxTransformer2DModel' ? fluxBlockCounts(config) : sd3BlockCounts(config);
}

/** Every tensor name of the component: the shard index's, or the single file's header. */
function allNames(weights: WeightFiles, open: OpenTensorSource): Iterable<string> {
  if (weights.weightMap) return weights.weightMap.keys();
  return weights.files.flatMap((f) => open(f).names());
}

export interface OpenOptions {
  /** Only this pipeline stage's blocks (+ embedders on the first, head on the last). */
  stage?: StageSelection;
}

export function openTransformer(
  folder: string,
  open: OpenTensorSource,
  options: OpenOptions = {},
): OpenedTransformer {
  const index = readModelIndex(folder);
  const config = readTransformerConfig(folder, index);
  const componentDir = join(folder, 'transformer');
  const configFile = join(componentDir, 'config.json');
  const weights = resolveWeightFiles(componentDir);
  checkBlockCounts(blockCountsFor(config), allNames(weights, open), {
    configFile,
    weightsLabel: weights.label,
  });
  const manifest = manifestFor(config);
  const tensors = options.stage ? stageTensors(manifest, options.stage) : allTensors(manifest);
  const files = options.stage ? filesFor(tensors, weights) : weights.files;
  requireWeightFiles(weights, files);
  const source = weightsSource(weights, open, files);
  checkWeights(manifest, source, {
    configFile,
    weightsLabel: weights.label,
    only: options.stage ? tensors : undefined,
  });
  logger.info(
    {
      folder,
      className: config.className,
      weights: weights.kind,
      files: files.length,
      tensors: tensors.length,
      stage: options.stage ?? null,
    },
    'checkpoint matches its config',
  );
  return { folder, index, config, manifest, weights, tensors, source };
}

/** The shards holding these tensors; a tensor the index does not place is reported by the check. */
function filesFor(tensors: ExpectedTensor[], weights: WeightFiles): string[] {
  const files = new Set<string>();
  for (const t of tensors) {
    const file = weights.fileOf(t.name);
    if (file) files.add(file);
  }
  return weights.files.filter((f) => files.has(f));
}
