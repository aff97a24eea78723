import type { GpuSpec } from '../../../src/shared/hardware/index.js';
import type { Degrees } from '../../../src/shared/plan/index.js';

/**
 * How a number was read from its source: `text` — a table or sentence; `label` — a value printed on a
 * chart; `axis` — a point's position read off a chart's axis (from the chart's pixels against its
 * tick marks; uncertain by about the size of the marker, stated per table).
 */
export type Reading = 'text' | 'label' | 'axis';

export interface PublishedRow {
  /** The degrees, when the source names them; absent: the source gives only the best time on `gpus` GPUs. */
  degrees?: Degrees;
  gpus: number;
  seconds: number;
  read: Reading;
  /** Why this number is less certain than its reading says (hidden digit, derived, degrees inferred). */
  note?: string;
}

/** The models the calibration predicts: Tessera's presets, plus PixArt-α (PixArt-Σ's transformer, 120 tokens). */
export type CalibrationModel = 'flux-dev' | 'flux-schnell' | 'sd3-medium' | 'pixart-alpha';

export interface PublishedTable {
  id: string;
  /** Where the numbers are: the published page or figure, the file in xDiT's repositories, and what was read. */
  source: { url: string; file: string; read: string };
  model: CalibrationModel;
  /** The GPU's product in Tessera's GPU table, or `gpuSpec`'s product. */
  gpu: string;
  /** A GPU Tessera does not plan for, with the figures xDiT's run used (for this table only). */
  gpuSpec?: GpuSpec;
  gpusPerNode: number;
  nodes: number;
  intraNode: 'nvlink' | 'pcie';
  /**
   * PCIe only: GPUs under one PCIe switch, where the source's box differs from Tessera's default
   * (ClusterTopology.gpusPerSwitch); the table's notes say why.
   */
  gpusPerSwitch?: number;
  /** Network between the nodes, Gbit/s per node (multi-node tables only). */
  interNodeGbps?: number;
  height: number;
  width: number;
  steps: number;
  /** torch.compile (`compiled`) or plain PyTorch (`eager`). */
  mode: 'compiled' | 'eager';
  /** The GPU counts the experiment covered: the planner chooses among the rows' counts in this range. */
  gpus: { min: number; max: number };
  /** `false` when the experiment compared no CFG-parallel plans: the planner's choice leaves them out too. */
  cfgParallel?: false;
  rows: PublishedRow[];
  /** The published best: its time and GPU count, and its degrees when the source names them. */
  best: { seconds: number; gpus: number; degrees?: Degrees; read: Reading };
  /** What the source does not say and what we assumed. */
  notes: string;
  /**
   * Why the fit leaves this table out (it is still checked and printed): the table tests the fitted
   * model instead of shaping it.
   */
  heldOut?: string;
}

/** A published table the calibration does not use, and why. */
export interface ExcludedTable {
  what: string;
  source: string;
  why: string;
}

/** Degrees from the axes a table uses; the others are 1. */
export function dg(d: Partial<{ u: number; r: number; pp: number; cfg: number; dp: number }>): Degrees {
  return {
    dataParallel: d.dp ?? 1,
    cfg: d.cfg ?? 1,
    pipefusion: d.pp ?? 1,
    ring: d.r ?? 1,
    ulysses: d.u ?? 1,
  };
}

/** Best-per-GPU-count rows of a scalability figure, whose hybrid labels name no degrees. */
export const BEST_ROWS = (gpus: readonly number[], seconds: readonly number[]) =>
  gpus.map((g, i) => ({
    gpus: g,
    seconds: seconds[i] ?? Number.NaN,
    read: 'label' as const,
    ...(g === 1 ? { degrees: dg({}) } : { note: 'the best on this GPU count; its degrees are not named' }),
  }));

/**
 * Rows of a figure or table that names each configuration, in its order: `seconds[i]` is `configs[i]`'s
 * time; `note` adds a caveat to the rows it returns one for.
 */
export function namedRows(
  configs: readonly Degrees[],
  seconds: readonly number[],
  read: Reading,
  note?: (d: Degrees) => string | undefined,
): PublishedRow[] {
  return configs.map((degrees, i) => {
    const caveat = note?.(degrees);
    return {
      degrees,
      gpus: degrees.dataParallel * degrees.cfg * degrees.pipefusion * degrees.ring * degrees.ulysses,
      seconds: seconds[i] ?? Number.NaN,
      read,
      ...(caveat ? { note: caveat } : {}),
    };
  });
}

/** A table's published best: its fastest row (with its degrees when the row names them). */
export function fastestRow(rows: readonly PublishedRow[]): PublishedTable['best'] {
  const best = rows.reduce((b, r) => (r.seconds < b.seconds ? r : b));
  return {
    seconds: best.seconds,
    gpus: best.gpus,
    read: best.read,
    ...(best.degrees ? { degrees: best.degrees } : {}),
  };
}
