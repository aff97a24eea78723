/**
 * Stable Diffusion 3 (stable-diffusion-3-medium, 2B) latencies xDiT published, from
 * `docs/performance/sd3.md` of xdit-project/xDiT (commit 175e0bfe) and the figures it shows, plus the
 * xDiT paper's SD3 scalability figures kept in xdit-project/xdit_assets (commit e051d26).
 */
import { BEST_ROWS, dg, fastestRow, namedRows, type PublishedTable } from './types.js';

const DOC = 'https://github.com/xdit-project/xDiT/blob/175e0bfe/docs/performance/sd3.md';
const ASSET = (path: string) => `https://raw.githubusercontent.com/xdit-project/xdit_assets/e051d26/${path}`;

/** The bar figures name the best degrees per GPU count: 1, cfg 2, cfg 2 · PipeFusion 2, cfg 2 · PipeFusion 4. */
const BAR_ROWS = (seconds: readonly number[]) =>
  namedRows([dg({}), dg({ cfg: 2 }), dg({ cfg: 2, pp: 2 }), dg({ cfg: 2, pp: 4 })], seconds, 'label');

const SD3 = { model: 'sd3-medium', height: 1024, width: 1024, steps: 20, gpus: { min: 1, max: 8 } } as const;
const A100 = { gpu: 'NVIDIA-A100-SXM4-80GB', gpusPerNode: 8, nodes: 1, intraNode: 'nvlink' } as const;
const L40 = { gpu: 'NVIDIA-L40', gpusPerNode: 8, nodes: 1, intraNode: 'pcie' } as const;

const SCALABILITY_NOTES =
  "The xDiT paper's scalability figure: the steps and whether torch.compile was used are not stated (20 steps " +
  "as in the doc's SD3 runs, eager assumed); the hybrid labels do not name their degrees.";

/** One mode's bars (PyTorch or torch.compile) of an SD3 bar figure in xdit_assets' performance/sd3/. */
function bars(
  hardware: typeof A100 | typeof L40,
  figure: string,
  mode: 'compiled' | 'eager',
  seconds: readonly number[],
  notes: string,
): PublishedTable {
  const rows = BAR_ROWS(seconds);
  return {
    ...SD3,
    ...hardware,
    id: `sd3-${hardware === A100 ? 'a100' : 'l40'}-1024-${mode}`,
    source: {
      url: ASSET(`performance/sd3/${figure}`),
      file: `xdit_assets: performance/sd3/${figure}, shown by docs/performance/sd3.md`,
      read: `bar labels, ${mode === 'compiled' ? 'torch.compile' : 'PyTorch'} bars (degrees under the bars)`,
    },
    mode,
    rows,
    best: fastestRow(rows),
    notes,
  };
}

/** One panel of an xDiT-paper SD3 scalability figure (xdit_assets performance/scalability/). */
function scalability(
  id: string,
  hardware: typeof A100 | typeof L40X16,
  size: 1024 | 2048,
  figure: string,
  gpus: readonly number[],
  seconds: readonly number[],
): PublishedTable {
  const rows = BEST_ROWS(gpus, seconds);
  return {
    ...SD3,
    ...hardware,
    id,
    source: {
      url: ASSET(`performance/scalability/${figure.split(' (')[0]}`),
      file: `xdit_assets: performance/scalability/${figure}`,
      read: 'labels on the hybrid curve',
    },
    height: size,
    width: size,
    mode: 'eager',
    rows,
    best: fastestRow(rows),
    notes:
      hardware === A100
        ? SCALABILITY_NOTES
        : `${SCALABILITY_NOTES} Network between the two nodes not stated (100 Gbit/s assumed).`,
  };
}

const L40X16 = { ...L40, nodes: 2, interNodeGbps: 100, gpus: { min: 1, max: 16 } } as const;

export const SD3_TABLES: readonly PublishedTable[] = [
  bars(
    A100,
    'A100-SD3.png',
    'eager',
    [3.09, 1.73, 1.31, 0.9],
    `${DOC}: the best strategy per GPU count is the one printed under each bar.`,
  ),
  bars(
    A100,
    'A100-SD3.png',
    'compiled',
    [2.54, 1.51, 1.17, 1.15],
    'The doc: torch.compile helps except on 8 GPUs.',
  ),
  bars(
    L40,
    'L40-SD3.png',
    'eager',
    [3.92, 2.18, 1.52, 1.26],
    'The degrees are the ones printed under the bars.',
  ),
  bars(
    L40,
    'L40-SD3.png',
    'compiled',
    [3.59, 1.99, 1.41, 1.2],
    'The degrees are the ones printed under the bars.',
  ),
  scalability(
    'sd3-a100-1024-scalability',
    A100,
    1024,
    'SD3-A100-crop.png (left panel)',
    [1, 2, 4, 8],
    [2.71, 1.43, 1.01, 0.94],
  ),
  scalability(
    'sd3-a100-2048-scalability',
    A100,
    2048,
    'SD3-A100-crop.png (right panel)',
    [1, 2, 4, 8],
    [15.91, 8.11, 4.58, 2.81],
  ),
  scalability(
    'sd3-2x8l40-1024-scalability',
    L40X16,
    1024,
    'SD3-16L40-crop.pdf (first embedded image)',
    [1, 2, 4, 8, 16],
    [3.92, 1.91, 1.26, 0.91, 0.82],
  ),
  scalability(
    'sd3-2x8l40-2048-scalability',
    L40X16,
    2048,
    'SD3-16L40-crop.pdf (second embedded image)',
    [1, 2, 4, 8, 16],
    [22.82, 11.12, 6.15, 3.67, 2.54],
  ),
];
