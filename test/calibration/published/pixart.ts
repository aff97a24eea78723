/**
 * PixArt latencies xDiT published: the xDiT paper's scalability figures (xdit-project/xdit_assets,
 * commit e051d26, performance/scalability/Pixart-*.png) and the PipeFusion paper's 8×L20 figure
 * (latency-L20.png, shown by docs/performance/pixart_alpha_legacy.md of xdit-project/xDiT at 175e0bfe).
 * Modelled as PixArt-α: PixArt-Σ's transformer (28 blocks, 16 heads × 72) with 120 T5 tokens.
 */
import { BEST_ROWS, dg, fastestRow, namedRows, type PublishedTable } from './types.js';

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

const L20 = {
  model: 'pixart-alpha',
  gpu: 'NVIDIA-L20',
  gpusPerNode: 8,
  nodes: 1,
  intraNode: 'pcie',
  steps: 20,
  mode: 'eager',
  // Only 1 and 8 devices were measured: the planner chooses among plans on 8, without CFG parallel,
  // which the figure does not compare.
  gpus: { min: 8, max: 8 },
  cfgParallel: false,
  notes:
    "The PipeFusion paper's legacy PixArt-α runs (20-step DPM-Solver): one device, and 8 GPUs as PipeFusion " +
    '(warm-up 1), Ulysses 8, Ulysses 2 × Ring 4 and Ring 8 (the figure\'s "Seq Parallel (Ulysses=2)" and ' +
    '"(Ulysses=1)" on 8 devices). PipeFusion with warm-up 2, tensor parallel and DistriFusion bars are not used.',
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

const L20_ASSET = {
  url: ASSET('latency-L20.png'),
  file: 'xdit_assets: latency-L20.png, shown by docs/performance/pixart_alpha_legacy.md',
};

/**
 * One panel of the 8×L20 figure, its bars in the figure's order: one device, PipeFusion 8, Ulysses 8,
 * Ulysses 2 × Ring 4, Ring 8; `pipefusionNote` says why the PipeFusion label is less certain where it is.
 */
function l20(size: 1024 | 2048 | 4096, seconds: readonly number[], pipefusionNote?: string): PublishedTable {
  const rows = namedRows(
    [dg({}), dg({ pp: 8 }), dg({ u: 8 }), dg({ u: 2, r: 4 }), dg({ r: 8 })],
    seconds,
    'label',
    (d) => (d.pipefusion > 1 ? pipefusionNote : undefined),
  );
  return {
    ...L20,
    id: `pixart-alpha-l20-${size}`,
    source: { ...L20_ASSET, read: `${size}x${size} panel, bar labels` },
    height: size,
    width: size,
    rows,
    best: fastestRow(rows),
  };
}

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
  l20(
    1024,
    [3.34, 0.835, 5.99, 1.33, 1.74],
    'printed "0.?5" with the middle digit under the figure\'s arrow; 0.835 s is its "4.0x" over 3.34 s',
  ),
  l20(
    2048,
    [26.43, 4.99, 19.03, 6.03, 6.62],
    'printed "5.?1" with one digit under the figure\'s arrow; 4.99 s is its "5.3x" over 26.43 s',
  ),
  l20(4096, [306.6, 55.53, 116.88, 47.63, 49.87]),
];
