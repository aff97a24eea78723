/**
 * `model_index.json` of a Diffusers model folder: which pipeline, which components. (The transformer's
 * config.json is read through its family: src/runtime/families/checkpoint.ts.)
 */
import { join } from 'node:path';
import { CheckpointConfigError, readJsonObject } from './config-fields.js';

export interface ModelIndex {
  /** e.g. "FluxPipeline", "StableDiffusion3Pipeline". */
  pipelineClass: string;
  diffusersVersion: string | null;
  /** Component name → [library, class], or null for a component the folder does not have. */
  components: Record<string, [string, string] | null>;
}

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
