import type { ModelFacts } from '../plan/index.js';
import type { ModelSpec } from './model-spec.js';
import { modelPreset } from './presets.js';

/**
 * Weight parameters per block in units of D² by family (estimates from the block shapes,
 * refs/runtime.md §1–3): Flux averages 19 double (36·D²) and 38 single (15·D²) blocks, SD3's joint
 * blocks are 36·D², PixArt's blocks 16·D².
 */
const PARAMS_PER_BLOCK_D2: Record<ModelFacts['family'], number> = { flux: 22, sd3: 36, pixart: 16 };

export function estimateParameters(family: ModelFacts['family'], layers: number, hidden: number): number {
  return PARAMS_PER_BLOCK_D2[family] * hidden * hidden * layers;
}

/** Facts a user states explicitly; each overrides the base model's. */
export type FactOverrides = Partial<
  Pick<ModelFacts, 'layers' | 'heads' | 'headDim' | 'textTokens' | 'usesCfg' | 'parameters'>
>;

/** Representative preset of each family, the base for facts given without a model. */
const FAMILY_BASE = { flux: 'flux-dev', sd3: 'sd3-medium', pixart: 'pixart-sigma' } as const;

export function familyBase(family: ModelFacts['family']): ModelSpec {
  return { ...modelPreset(FAMILY_BASE[family]), name: `custom ${family}` };
}

/**
 * Lays explicit facts over a base model. When the shape changes and no parameter count is given, the
 * count is re-estimated from the new shape rather than kept from the base.
 */
export function withFacts(base: ModelSpec, overrides: FactOverrides): ModelSpec {
  const facts: ModelFacts = { ...base.facts };
  for (const [key, value] of Object.entries(overrides) as [
    keyof FactOverrides,
    number | boolean | undefined,
  ][]) {
    if (value !== undefined) (facts as unknown as Record<string, number | boolean>)[key] = value;
  }
  const shapeChanged =
    facts.layers !== base.facts.layers ||
    facts.heads !== base.facts.heads ||
    facts.headDim !== base.facts.headDim;
  if (overrides.parameters === undefined && shapeChanged) {
    facts.parameters = estimateParameters(facts.family, facts.layers, facts.heads * facts.headDim);
  }
  return { ...base, facts };
}
