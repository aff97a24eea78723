/**
 * Diffusers model folder → a ready transformer. The checkpoint module reads model_index.json and
 * transformer/config.json (Diffusers' defaults for missing keys) and checks every expected tensor's
 * presence, shape and dtype before anything is read; then this rank's tensors are read, and the model is
 * built over them. Weight matrices stay in the checkpoint's dtype where the CPU's GEMMs read it as it is
 * (bf16/f16 widened while packing: a bf16 checkpoint takes half the memory of f32); every other tensor,
 * and every matrix the kernels cannot read directly, is converted to f32 once. A pipeline stage passes `blocks`
 * to open only the shards that hold its blocks (plus embedders on the first stage, head on the last).
 */

import { log } from '../../shared/log.js';
import {
  type FluxTransformerConfig,
  openTransformer,
  type Sd3TransformerConfig,
  type TransformerConfig,
} from '../checkpoint/index.js';
import type { BlockRange } from '../models/common/blocks.js';
import { WeightMap } from '../models/common/weights.js';
import { FluxTransformer } from '../models/flux/transformer.js';
import { Sd3Transformer } from '../models/sd3/transformer.js';
import { type DType, ops, type Tensor } from '../native/index.js';
import { finiteCheckRequested, firstNonFiniteElement } from './finite-check.js';
import { OpenedFiles } from './tensor-files.js';

const logger = log.child({ component: 'model-loader' });

export type LoadedTransformer =
  | { family: 'flux'; config: FluxTransformerConfig; model: FluxTransformer; weights: WeightMap }
  | { family: 'sd3'; config: Sd3TransformerConfig; model: Sd3Transformer; weights: WeightMap };

export interface LoadOptions {
  /** Only these blocks (execution order); default: the whole model. */
  blocks?: BlockRange;
  /** Check every weight for NaN and ±Infinity; default: TESSERA_CHECK_WEIGHTS=finite. */
  checkFinite?: boolean;
  /**
   * The dtypes weight matrices may stay in; default: what the CPU's GEMMs read directly
   * (ops.cpuWeightDtypes()). ['f32'] converts every tensor at load.
   */
  matrixDtypes?: readonly DType[];
}

export class ModelLoadError extends Error {
  override readonly name = 'ModelLoadError';
}

export function blockCount(config: TransformerConfig): number {
  return config.className === 'FluxTransformer2DModel'
    ? config.numLayers + config.numSingleLayers
    : config.numLayers;
}

/**
 * Only matrices ([out, in]: nn.Linear weights, the GEMMs' B operand) stay narrow: norms, biases and
 * convolution kernels are small and read by element-wise code, which would widen them on every call.
 */
function heldDtype(shape: readonly number[], stored: string, matrixDtypes: readonly DType[]): DType {
  // Safetensors names dtypes 'F32', 'BF16', 'F16'.
  const narrow = matrixDtypes.find((d) => d === stored.toLowerCase());
  return shape.length === 2 && narrow !== undefined ? narrow : 'f32';
}

/** MiB held per dtype, e.g. { f32: 0.1, bf16: 22.5 }. */
function heldMiB(tensors: ReadonlyMap<string, Tensor>): Record<string, number> {
  const bytes: Record<string, number> = {};
  for (const t of tensors.values())
    bytes[t.dtype] = (bytes[t.dtype] ?? 0) + t.numel * (t.dtype === 'f32' ? 4 : 2);
  return Object.fromEntries(Object.entries(bytes).map(([d, b]) => [d, Math.round((b / 2 ** 20) * 10) / 10]));
}

export function loadTransformer(folder: string, options: LoadOptions = {}): LoadedTransformer {
  const started = performance.now();
  const checkFinite = options.checkFinite ?? finiteCheckRequested();
  const matrixDtypes = options.matrixDtypes ?? ops.cpuWeightDtypes();
  const files = new OpenedFiles();
  try {
    const opened = openTransformer(folder, files.open, options.blocks ? { stage: options.blocks } : {});
    const tensors = new Map<string, Tensor>();
    for (const expected of opened.tensors) {
      const path = opened.weights.fileOf(expected.name);
      if (path === undefined) {
        throw new ModelLoadError(`${opened.weights.label}: no file holds tensor "${expected.name}"`);
      }
      const file = files.file(path);
      const tensor = file.read(expected.name, {
        dtype: heldDtype(expected.shape, file.info(expected.name).dtype, matrixDtypes),
      });
      tensors.set(expected.name, tensor);
      const bad = checkFinite ? firstNonFiniteElement(tensor) : -1;
      if (bad >= 0) {
        throw new ModelLoadError(
          `tensor "${expected.name}" in ${path}: element ${bad} is ${tensor.toFloat32Array()[bad]}; the ` +
            'checkpoint is corrupt (re-download or re-save it)',
        );
      }
    }
    const weights = new WeightMap(tensors, `${folder}/transformer`);
    const { config } = opened;
    const loaded =
      config.className === 'FluxTransformer2DModel'
        ? ({
            family: 'flux',
            config,
            model: new FluxTransformer(config, weights, options.blocks),
            weights,
          } as const)
        : ({
            family: 'sd3',
            config,
            model: new Sd3Transformer(config, weights, options.blocks),
            weights,
          } as const);
    logger.info(
      {
        folder,
        className: config.className,
        tensors: tensors.size,
        heldMiB: heldMiB(tensors),
        blocks: options.blocks ?? null,
        ms: Math.round(performance.now() - started),
      },
      'transformer loaded',
    );
    return loaded;
  } finally {
    files.close();
  }
}
