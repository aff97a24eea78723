/**
 * A Diffusers model folder's transformer through its family: `transformer/config.json` parsed by the
 * family its `_class_name` names (model_index.json, when given, must agree; sizes capped), the config's
 * block counts checked against the tensor names, and only then the manifest of expected tensors and the
 * weights checked against it — all before any weight is read. A pipeline
 * stage passes `stage` to open and check only the shards holding its own blocks.
 */
import { join } from 'node:path';
import { log } from '../../shared/log.js';
import { checkBlockCounts } from '../checkpoint/block-counts.js';
import { ConfigFields, readJsonObject, shown } from '../checkpoint/config-fields.js';
import {
  allTensors,
  CheckpointConfigError,
  checkWeights,
  type ExpectedTensor,
  type ModelIndex,
  type ModelManifest,
  type OpenTensorSource,
  readModelIndex,
  resolveWeightFiles,
  type StageSelection,
  stageTensors,
  type TensorSource,
  type WeightFiles,
  weightsSource,
} from '../checkpoint/index.js';
import { requireWeightFiles } from '../checkpoint/weight-files.js';
import type { Architecture, TransformerConfig } from './family.js';
import { architectureOf, familyOfClass, transformerClasses } from './registry.js';

const logger = log.child({ component: 'checkpoint' });

/** Reads `<folder>/transformer/config.json`; the model_index entry, when present, must agree with it. */
export function readTransformerConfig(folder: string, index?: ModelIndex): TransformerConfig {
  const path = join(folder, 'transformer', 'config.json');
  const raw = readJsonObject(path);
  const className = raw._class_name;
  const family = typeof className === 'string' ? familyOfClass(className) : undefined;
  if (!family) {
    throw new CheckpointConfigError(
      `${path}: "_class_name" is ${shown(className)}; supported: ${transformerClasses().join(', ')}`,
    );
  }
  const listed = index?.components.transformer;
  if (index && (listed === undefined || listed === null)) {
    throw new CheckpointConfigError(`${join(folder, 'model_index.json')}: no "transformer" component listed`);
  }
  if (listed && listed[1] !== className) {
    throw new CheckpointConfigError(
      `${join(folder, 'model_index.json')} lists transformer class ${listed[1]} but ${path}'s "_class_name" is ${String(className)}: ` +
        'the folder mixes two pipelines; use one Diffusers pipeline folder as saved',
    );
  }
  return family.parseConfig(new ConfigFields(raw, path));
}

export function manifestFor(config: TransformerConfig): ModelManifest {
  return architectureOf(config).manifest;
}

export interface OpenedTransformer {
  folder: string;
  index: ModelIndex;
  config: TransformerConfig;
  architecture: Architecture;
  manifest: ModelManifest;
  weights: WeightFiles;
  /** The tensors this process loads (all, or one stage's), each checked. */
  tensors: ExpectedTensor[];
  source: TensorSource;
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
  const architecture = architectureOf(config);
  const componentDir = join(folder, 'transformer');
  const configFile = join(componentDir, 'config.json');
  const weights = resolveWeightFiles(componentDir);
  // Block counts against the tensor names first: a config claiming far more blocks than the weights
  // have fails here, before a manifest of that many blocks is built.
  checkBlockCounts(architecture.blockCounts, allNames(weights, open), {
    configFile,
    weightsLabel: weights.label,
  });
  const { manifest } = architecture;
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
  return { folder, index, config, architecture, manifest, weights, tensors, source };
}

/** Every tensor name of the component: the shard index's, or the single file's header. */
function allNames(weights: WeightFiles, open: OpenTensorSource): Iterable<string> {
  if (weights.weightMap) return weights.weightMap.keys();
  return weights.files.flatMap((f) => open(f).names());
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
