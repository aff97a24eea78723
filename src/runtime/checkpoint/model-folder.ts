/**
 * The JSON parts of a Diffusers model folder: `model_index.json` (which pipeline, which components) and
 * `transformer/config.json` (dispatched on `_class_name`).
 */
import { join } from 'node:path';
import { CheckpointConfigError, ConfigFields, readJsonObject, shown } from './config-fields.js';
import { type FluxTransformerConfig, parseFluxConfig } from './flux-config.js';
import { parseSd3Config, type Sd3TransformerConfig } from './sd3-config.js';

export type TransformerConfig = FluxTransformerConfig | Sd3TransformerConfig;

export interface ModelIndex {
  /** e.g. "FluxPipeline", "StableDiffusion3Pipeline". */
  pipelineClass: string;
  diffusersVersion: string | null;
  /** Component name → [library, class], or null for a component the folder does not have. */
  components: Record<string, [string, string] | null>;
}

const TRANSFORMER_CLASSES = ['FluxTransformer2DModel', 'SD3Transformer2DModel'];

export function readModelIndex(folder: string): ModelIndex {
  const path = join(folder, 'model_index.json');
  const raw = readJsonObject(path);
  const pipelineClass = raw._class_name;
  if (typeof pipelineClass !== 'string') {
    throw new CheckpointConfigError(
      `${path}: "_class_name" must name the pipeline class (e.g. "FluxPipeline")`,
    );
  }
  const components: Record<string, [string, string] | null> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (key.startsWith('_')) continue;
    if (Array.isArray(value) && value.length === 2) {
      const [lib, cls] = value;
      if (lib === null && cls === null) components[key] = null;
      else if (typeof lib === 'string' && typeof cls === 'string') components[key] = [lib, cls];
      else
        throw new CheckpointConfigError(
          `${path}: component "${key}" must be [library, class] or [null, null]`,
        );
    }
  }
  const version = raw._diffusers_version;
  return { pipelineClass, diffusersVersion: typeof version === 'string' ? version : null, components };
}

/** Reads `<folder>/transformer/config.json`; the model_index entry, when present, must agree with it. */
export function readTransformerConfig(folder: string, index?: ModelIndex): TransformerConfig {
  const path = join(folder, 'transformer', 'config.json');
  const raw = readJsonObject(path);
  const className = raw._class_name;
  if (typeof className !== 'string' || !TRANSFORMER_CLASSES.includes(className)) {
    throw new CheckpointConfigError(
      `${path}: "_class_name" is ${shown(className)}; supported: ${TRANSFORMER_CLASSES.join(', ')}`,
    );
  }
  const listed = index?.components.transformer;
  if (index && (listed === undefined || listed === null)) {
    throw new CheckpointConfigError(`${join(folder, 'model_index.json')}: no "transformer" component listed`);
  }
  if (listed && listed[1] !== className) {
    throw new CheckpointConfigError(
      `${join(folder, 'model_index.json')} lists transformer class ${listed[1]} but ${path} says ${className}`,
    );
  }
  const fields = new ConfigFields(raw, path);
  return className === 'FluxTransformer2DModel' ? parseFluxConfig(fields) : parseSd3Config(fields);
}
