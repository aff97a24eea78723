import { MODEL_ARCHITECTURES, type ModelArchitecture } from '../api/v1alpha1/model.js';

/**
 * Model architectures Tessera knows by name: the API's `MODEL_ARCHITECTURES`, one list for the CRD and
 * the presets. Every name must have a preset (presets.ts is keyed by this type, so the compiler checks).
 */
export const KNOWN_ARCHITECTURES = MODEL_ARCHITECTURES;

export type ArchitectureName = ModelArchitecture;

export function isArchitectureName(name: string): name is ArchitectureName {
  return (KNOWN_ARCHITECTURES as readonly string[]).includes(name);
}
