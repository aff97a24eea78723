/**
 * Diffusers model folder → a ready transformer, through its family (src/runtime/families/): the family
 * reads transformer/config.json (Diffusers' defaults for missing keys) and names every expected tensor;
 * each one's presence, shape and dtype is checked before anything is read; then this rank's tensors are
 * read one at a time from the mapped file into the dtype the rank holds it in (weight-dtype.ts: a bf16/f16
 * checkpoint stays narrow where the device's backend computes with it — on the CPU its weight matrices —
 * and everything else is converted to f32 once) and placed on the device, and the family builds the
 * model over them. A pipeline stage passes `blocks` to open only the shards that hold its blocks (plus
 * embedders on the first stage, head on the last).
 */

import type { ModelDType } from '../../shared/api/v1alpha1/model.js';
import { log } from '../../shared/log.js';
import {
  type Architecture,
  type FamilyModel,
  type FamilyName,
  type OpenedTransformer,
  openTransformer,
  type TransformerConfig,
} from '../families/index.js';
import type { BlockRange } from '../models/common/blocks.js';
import { type Placement, placementOf } from '../models/common/placement.js';
import { WeightMap } from '../models/common/weights.js';
import { type BackendCapabilities, backendCapabilities } from '../native/backend-capabilities.js';
import type { Device, Tensor } from '../native/index.js';
import { finiteCheckRequested, firstNonFiniteElement } from './finite-check.js';
import { OpenedFiles } from './tensor-files.js';
import {
  chooseWeightDtype,
  dominantDtype,
  heldDtype,
  type WeightDtype,
  type WeightDtypeChoice,
} from './weight-dtype.js';

const logger = log.child({ component: 'model-loader' });

export interface LoadedTransformer {
  family: FamilyName;
  arch: Architecture;
  config: TransformerConfig;
  model: FamilyModel;
  weights: WeightMap;
  /**
   * Where the model computes (its weights' device, the activation dtype there); the loops move a
   * request's inputs there once. Absent: the CPU in f32.
   */
  placement?: Placement;
}

export interface LoadOptions {
  /** Only these blocks (execution order); default: the whole model. */
  blocks?: BlockRange;
  /** Check every weight for NaN and ±Infinity; default: TESSERA_CHECK_WEIGHTS=finite. */
  checkFinite?: boolean;
  /**
   * The weights' dtype: `f32` (everything converted once at load), `bf16` (narrow where the backend
   * computes with it), or `{ requested }` to choose from TESSERA_MODEL_DTYPE's value, the checkpoint's
   * dtype and what the device's backend computes with (weight-dtype.ts). Default: the checkpoint's dtype
   * decides (`{ requested: undefined }`).
   */
  weightDtype?: WeightDtype | { requested: ModelDType | undefined };
  /** Where the weights live; default cpu. */
  device?: Device;
}

export class ModelLoadError extends Error {
  override readonly name = 'ModelLoadError';
}

export function loadTransformer(folder: string, options: LoadOptions = {}): LoadedTransformer {
  const started = performance.now();
  const checkFinite = options.checkFinite ?? finiteCheckRequested();
  const files = new OpenedFiles();
  try {
    const opened = openTransformer(folder, files.open, options.blocks ? { stage: options.blocks } : {});
    const device = options.device ?? 'cpu';
    const backend = backendCapabilities(device);
    const choice = weightDtypeOf(opened, options.weightDtype ?? { requested: undefined }, backend);
    const tensors = new Map<string, Tensor>();
    for (const expected of opened.tensors) {
      const path = opened.weights.fileOf(expected.name);
      if (path === undefined) {
        throw new ModelLoadError(`${opened.weights.label}: no file holds tensor "${expected.name}"`);
      }
      // One tensor at a time, from the mapping straight into its dtype (the reader drops the mapped
      // pages after the copy), then onto the device: the stage is never held twice.
      const file = files.file(path);
      const dtype = heldDtype(expected.shape, file.info(expected.name).dtype, choice.dtype, device, backend);
      const host = file.read(expected.name, { dtype });
      const bad = checkFinite ? firstNonFiniteElement(host) : -1;
      if (bad >= 0) {
        throw new ModelLoadError(
          `tensor "${expected.name}" in ${path}: element ${bad} is ${host.toFloat32Array()[bad]}; the ` +
            'checkpoint is corrupt (re-download or re-save it)',
        );
      }
      const placed = host.toDevice(device);
      if (placed !== host) host.release();
      tensors.set(expected.name, placed);
    }
    const weights = new WeightMap(tensors, `${folder}/transformer`);
    const arch = opened.architecture;
    const range = options.blocks ?? { fromBlock: 0, toBlock: arch.facts.blocks };
    const first = tensors.values().next().value;
    const loaded: LoadedTransformer = {
      family: arch.facts.family,
      arch,
      config: opened.config,
      model: arch.build(weights, range),
      weights,
      placement: first ? placementOf(first) : { device, dtype: 'f32' },
    };
    logger.info(
      {
        folder,
        className: opened.config.className,
        tensors: tensors.size,
        blocks: options.blocks ?? null,
        weightDtype: choice.dtype,
        why: choice.reason,
        heldMiB: heldMiB(tensors),
        device,
        ms: Math.round(performance.now() - started),
      },
      'transformer loaded',
    );
    return loaded;
  } finally {
    files.close();
  }
}

/** MiB held per dtype, e.g. { f32: 0.1, bf16: 22.5 }. */
function heldMiB(tensors: ReadonlyMap<string, Tensor>): Record<string, number> {
  const bytes: Record<string, number> = {};
  for (const t of tensors.values()) bytes[t.dtype] = (bytes[t.dtype] ?? 0) + t.bytes;
  return Object.fromEntries(Object.entries(bytes).map(([d, b]) => [d, Math.round((b / 2 ** 20) * 10) / 10]));
}

function weightDtypeOf(
  opened: OpenedTransformer,
  asked: NonNullable<LoadOptions['weightDtype']>,
  backend: BackendCapabilities,
): WeightDtypeChoice {
  if (typeof asked === 'string') return { dtype: asked, reason: 'asked by the caller' };
  const stored = dominantDtype(
    opened.tensors.map((t) => ({
      dtype: opened.source.dtype(t.name),
      elements: t.shape.reduce((a, b) => a * b, 1),
    })),
  );
  return chooseWeightDtype(asked.requested, stored, backend);
}
