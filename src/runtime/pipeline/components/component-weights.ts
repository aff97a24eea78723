/**
 * Loads one pipeline component (a text encoder, the VAE) the way the transformer is loaded: its
 * config.json parsed with capped sizes, single or sharded safetensors resolved, the config's block counts
 * checked against the tensor names, then every expected tensor's presence, shape and dtype and no
 * unexplained tensor — all before any weight is read. The weights are read once as f32.
 */
import { join } from 'node:path';
import { log } from '../../../shared/log.js';
import { type BlockCount, checkBlockCounts } from '../../checkpoint/block-counts.js';
import { ConfigFields, readJsonObject } from '../../checkpoint/config-fields.js';
import {
  allTensors,
  checkWeights,
  type ModelManifest,
  requireWeightFiles,
  resolveWeightFiles,
  type WeightFileNames,
  type WeightFiles,
  weightsSource,
} from '../../checkpoint/index.js';
import { OpenedFiles } from '../../model-loader/tensor-files.js';
import { WeightMap } from '../../models/common/weights.js';
import type { Tensor } from '../../native/index.js';

const logger = log.child({ component: 'pipeline-components' });

export interface ComponentConfig {
  dir: string;
  configFile: string;
  raw: Record<string, unknown>;
  fields: ConfigFields;
}

export function readComponentConfig(dir: string): ComponentConfig {
  const configFile = join(dir, 'config.json');
  const raw = readJsonObject(configFile);
  return { dir, configFile, raw, fields: new ConfigFields(raw, configFile) };
}

export interface ComponentSpec {
  config: ComponentConfig;
  files: WeightFileNames;
  manifest: ModelManifest;
  blockCounts: readonly BlockCount[];
  /**
   * The manifest's name of a stored name, where checkpoints differ in how they name a tensor (tied weights
   * saved under another name; a prefix one transformers version writes and another does not). When two
   * stored tensors get the same name (tied copies), the one already named so is read.
   */
  canonicalName?: (stored: string) => string;
  /** Stored tensors this runtime does not use (the VAE's encoder): neither checked nor read. */
  unused?: (stored: string) => boolean;
}

export function loadComponentWeights(spec: ComponentSpec): WeightMap {
  const started = performance.now();
  const { config, manifest } = spec;
  const weights: WeightFiles = resolveWeightFiles(config.dir, spec.files);
  requireWeightFiles(weights, weights.files);
  const opened = new OpenedFiles();
  try {
    const rawSource = weightsSource(weights, opened.open);
    const stored = new Map<string, string>();
    const rename = spec.canonicalName ?? ((name: string) => name);
    for (const name of rawSource.names()) {
      if (spec.unused?.(name)) continue;
      const canonical = rename(name);
      if (!stored.has(canonical) || canonical === name) stored.set(canonical, name);
    }
    const storedName = (name: string): string => stored.get(name) ?? name;
    const source = {
      names: () => [...stored.keys()],
      shape: (name: string) => rawSource.shape(storedName(name)),
      dtype: (name: string) => rawSource.dtype(storedName(name)),
    };
    const labels = { configFile: config.configFile, weightsLabel: weights.label };
    checkBlockCounts(spec.blockCounts, source.names(), labels);
    checkWeights(manifest, source, labels);
    const tensors = new Map<string, Tensor>();
    for (const expected of allTensors(manifest)) {
      const name = storedName(expected.name);
      const file = weights.fileOf(name) as string;
      tensors.set(expected.name, opened.file(file).read(name, { dtype: 'f32' }));
    }
    logger.info(
      {
        dir: config.dir,
        className: manifest.className,
        tensors: tensors.size,
        ms: Math.round(performance.now() - started),
      },
      'component loaded',
    );
    return new WeightMap(tensors, config.dir);
  } finally {
    opened.close();
  }
}

/** What differs between component kinds: their file names, config parser, tensors and naming quirks. */
export interface ComponentKind<C> {
  files: WeightFileNames;
  parse(config: ComponentConfig): C;
  manifest(parsed: C): ModelManifest;
  blockCounts(parsed: C): readonly BlockCount[];
  canonicalName?: (stored: string) => string;
  unused?: (stored: string) => boolean;
}

/** Parses a component's config with `kind` and loads its checked weights. */
export function loadComponent<C>(
  config: ComponentConfig,
  kind: ComponentKind<C>,
): { parsed: C; weights: WeightMap } {
  const parsed = kind.parse(config);
  const weights = loadComponentWeights({
    config,
    files: kind.files,
    manifest: kind.manifest(parsed),
    blockCounts: kind.blockCounts(parsed),
    ...(kind.canonicalName ? { canonicalName: kind.canonicalName } : {}),
    ...(kind.unused ? { unused: kind.unused } : {}),
  });
  return { parsed, weights };
}
