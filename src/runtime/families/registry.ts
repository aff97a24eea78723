/**
 * The registry of model families: every architecture the runtime runs, found by the plan's family name
 * or by the checkpoint's transformer class. A new family is one adapter module added to FAMILIES
 * (docs/architecture.md, "Model families").
 */
import type { ModelFacts } from '../../shared/plan/index.js';
import type { Architecture, ModelFamily, TransformerConfig } from './family.js';
import { flux } from './flux.js';
import { pixart } from './pixart.js';
import { sd3 } from './sd3.js';

export const FAMILIES: readonly ModelFamily[] = [flux, sd3, pixart];

export class UnknownFamilyError extends Error {
  override readonly name = 'UnknownFamilyError';
}

const names = () => FAMILIES.map((f) => f.name).join(', ');

export function isServedFamily(name: string): name is ModelFacts['family'] {
  return FAMILIES.some((f) => f.name === name);
}

/** The family the plan names; errors say which ones this runtime runs. */
export function familyByName(name: string): ModelFamily {
  const family = FAMILIES.find((f) => f.name === name);
  if (!family) throw new UnknownFamilyError(`the runtime does not run ${name} models (it runs ${names()})`);
  return family;
}

/** The family of a Diffusers transformer class, or undefined. */
export function familyOfClass(className: string): ModelFamily | undefined {
  return FAMILIES.find((f) => f.className === className);
}

export const transformerClasses = (): string[] => FAMILIES.map((f) => f.className);

/** The architecture of a parsed config (its family found by className). */
export function architectureOf(config: TransformerConfig): Architecture {
  const family = familyOfClass(config.className);
  if (!family) {
    throw new UnknownFamilyError(
      `no family runs ${config.className} (supported: ${transformerClasses().join(', ')})`,
    );
  }
  return family.architecture(config);
}
