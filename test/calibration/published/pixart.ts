/**
 * PixArt latencies xDiT published in the xDiT paper's scalability figures (xdit-project/xdit_assets,
 * commit e051d26, performance/scalability/Pixart-*.png); the PipeFusion paper's legacy figures are in
 * pixart-legacy.ts. Modelled as PixArt-α: PixArt-Σ's transformer (28 blocks, 16 heads × 72) with 120 T5
 * tokens.
 */
import { BEST_ROWS, fastestRow, type PublishedTable } from './types.js';

const ASSET = (path: string) => `https://raw.githubusercontent.com/xdit-project/xdit_assets/e051d26/${path}`;

const SCALABILITY_NOTES =
  "The xDiT paper's scalability figure: the PixArt variant, the steps and whether torch.compile was used are not " +
  "stated (PixArt-α, 20 DPM-Solver steps as in xDiT's PixArt benchmarks, and eager assumed); the hybrid labels " +
  'do not name their degrees. DistriFusion and tensor-parallel curves are not Tessera methods and are not used.';

const A100 = {
  model: 'pixart-alpha',
  gpu: 'NVIDIA-A100-SXM4-80GB',
  gpusPerNode: 8,
  nodes: 1,
  intraNode: 'nvlink',
  steps: 20,
  mode: 'eager',
  gpus: { min: 1, max: 8 },
  notes: SCALABILITY_NOTES,
} as const;

const L40X16 = {
  model: 'pixart-alpha',
  gpu: 'NVIDIA-L40',
  gpusPerNode: 8,
  nodes: 2,
  intraNode: 'pcie',
  interNodeGbps: 100,
  steps: 20,
  mode: 'eager',
  gpus: { min: 1, max: 16 },
  notes: `${SCALABILITY_NOTES} Network between the two nodes not stated (100 Gbit/s assumed).`,
} as const;

const SCALE = (
  id: string,
  panel: string,
  base: typeof A100 | typeof L40X16,
  size: number,
  gpus: number[],
  seconds: number[],
): PublishedTable => {
  const rows = BEST_ROWS(gpus, seconds);
  return {
    ...base,
    id,
    source: {
      url: ASSET(
        `performance/scalability/${base.nodes === 2 ? 'Pixart-16L40-crop.png' : 'Pixart-A100-crop.png'}`,
      ),
      file: `xdit_assets: performance/scalability/${base.nodes === 2 ? 'Pixart-16L40-crop.png' : 'Pixart-A100-crop.png'} (${panel})`,
      read: 'labels on the hybrid curve',
    },
    height: size,
    width: size,
    rows,
    best: fastestRow(rows),
  };
};

export const PIXART_TABLES: readonly PublishedTable[] = [
  SCALE('pixart-a100-1024-scalability', 'first panel', A100, 1024, [1, 2, 4, 8], [1.99, 1.02, 0.88, 0.69]),
  SCALE('pixart-a100-2048-scalability', 'second panel', A100, 2048, [1, 2, 4, 8], [15.8, 8.32, 4.22, 2.27]),
  SCALE(
    'pixart-a100-4096-scalability',
    'third panel',
    A100,
    4096,
    [1, 2, 4, 8],
    [186.08, 91.01, 44.97, 22.11],
  ),
  SCALE(
    'pixart-2x8l40-1024-scalability',
    'first panel',
    L40X16,
    1024,
    [1, 2, 4, 8, 16],
    [2.8, 1.4, 0.82, 0.62, 0.69],
  ),
  SCALE(
    'pixart-2x8l40-2048-scalability',
    'second panel',
    L40X16,
    2048,
    [1, 2, 4, 8, 16],
    [21.6, 10.66, 5.43, 3.09, 2.07],
  ),
  SCALE(
    'pixart-2x8l40-4096-scalability',
    'third panel',
    L40X16,
    4096,
    [1, 2, 4, 8, 16],
    [244.89, 120.61, 60.81, 33, 16.9],
  ),
];
