/**
 * Opens a Diffusers model folder's transformer: reads model_index.json and transformer/config.json, derives
 * the expected tensors, resolves single vs sharded weights and checks them — all before any weight is read.
 * A pipeline stage passes `stage` to open and check only the shards holding its own blocks.
 */
import { join } from 'node:path';
import { log } from '../../shared/log.js';
import { checkWeights } from './check.js';
import { fluxManifest } from './flux-manifest.js';
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
import { sd3Manifest } from './sd3-manifest.js';
import { type OpenTensorSource, type TensorSource, weightsSource } from './tensor-source.js';
import { resolveWeightFiles, type WeightFiles } from './weight-files.js';

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
  const manifest = manifestFor(config);
  const componentDir = join(folder, 'transformer');
  const weights = resolveWeightFiles(componentDir);
  const tensors = options.stage ? stageTensors(manifest, options.stage) : allTensors(manifest);
  const files = options.stage ? filesFor(tensors, weights) : weights.files;
  const source = weightsSource(weights, open, files);
  checkWeights(manifest, source, {
    configFile: join(componentDir, 'config.json'),
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
