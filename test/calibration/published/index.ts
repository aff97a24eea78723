import { FLUX_TABLES } from './flux.js';
import { PIXART_TABLES } from './pixart.js';
import { PIXART_LEGACY_TABLES } from './pixart-legacy.js';
import { SD3_TABLES } from './sd3.js';
import type { PublishedTable } from './types.js';

export { EXCLUDED_TABLES } from './excluded.js';
export * from './types.js';

/** Every published xDiT table the calibration uses (docs/planner.md lists them with their results). */
export const PUBLISHED_TABLES: readonly PublishedTable[] = [
  ...FLUX_TABLES,
  ...SD3_TABLES,
  ...PIXART_TABLES,
  ...PIXART_LEGACY_TABLES,
];
