/**
 * Model architectures Tessera knows by name. The API package will export the same list as
 * `MODEL_ARCHITECTURES` (src/shared/api/v1alpha1/model.ts); until it lands this list is the source,
 * and the two must be reconciled into one export.
 */
export const KNOWN_ARCHITECTURES = [
  'flux-dev',
  'flux-schnell',
  'sd3-medium',
  'sd3.5-medium',
  'sd3.5-large',
  'pixart-sigma',
] as const;

export type ArchitectureName = (typeof KNOWN_ARCHITECTURES)[number];

export function isArchitectureName(name: string): name is ArchitectureName {
  return (KNOWN_ARCHITECTURES as readonly string[]).includes(name);
}
