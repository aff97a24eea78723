/**
 * FLUX.1 latencies xDiT published (end-to-end seconds, batch 1), from `docs/performance/flux.md` of
 * xdit-project/xDiT (commit 175e0bfe) and the figures it shows, which live in xdit-project/xdit_assets
 * (commit e051d26). Numbers are as printed; `axis` readings were taken from the figure's pixels against
 * its tick marks, and each table states their uncertainty.
 */
import { BEST_ROWS, dg, fastestRow, namedRows, type PublishedRow, type PublishedTable } from './types.js';

const DOC = 'https://github.com/xdit-project/xDiT/blob/175e0bfe/docs/performance/flux.md';
const ASSET = (path: string) => `https://raw.githubusercontent.com/xdit-project/xdit_assets/e051d26/${path}`;

const H100 = {
  model: 'flux-dev',
  gpu: 'NVIDIA-H100-80GB-HBM3',
  gpusPerNode: 8,
  nodes: 1,
  intraNode: 'nvlink',
  height: 1024,
  width: 1024,
  steps: 28,
  gpus: { min: 1, max: 4 },
  notes:
    'Only sequence-parallel configurations were measured (the doc: USP suits H100 better than PipeFusion).',
} as const;

const H100_ROWS = (seconds: readonly number[]) =>
  namedRows(
    [dg({}), dg({ u: 2 }), dg({ r: 2 }), dg({ u: 2, r: 2 }), dg({ u: 4 }), dg({ r: 4 })],
    seconds,
    'text',
  );

const A100 = {
  gpu: 'NVIDIA-A100-SXM4-80GB',
  gpusPerNode: 8,
  nodes: 1,
  intraNode: 'nvlink',
  gpus: { min: 1, max: 8 },
} as const;

const L40X16 = {
  model: 'flux-dev',
  gpu: 'NVIDIA-L40',
  gpusPerNode: 8,
  nodes: 2,
  intraNode: 'pcie',
  interNodeGbps: 100,
  steps: 28,
  mode: 'eager',
  gpus: { min: 1, max: 16 },
} as const;

const L40X16_NOTES =
  "The figure is the xDiT paper's scalability figure; the doc does not say whether torch.compile was used (taken " +
  'as eager, like the A100 figure the doc says excludes it) nor the network between the two nodes (100 Gbit/s ' +
  'assumed). The hybrid curve lies on the PipeFusion curve from 2 to 8 GPUs, so those labels are PipeFusion N.';

const SCHNELL_L40 = {
  model: 'flux-schnell',
  gpu: 'NVIDIA-L40',
  gpusPerNode: 8,
  nodes: 1,
  intraNode: 'pcie',
  steps: 4,
  gpus: { min: 1, max: 8 },
} as const;

/** The FLUX.1-schnell L40 bars name their degrees underneath: one GPU, u2, u2·r2, u2·r4. */
const SCHNELL_L40_ROWS = (seconds: readonly number[]) =>
  namedRows([dg({}), dg({ u: 2 }), dg({ u: 2, r: 2 }), dg({ u: 2, r: 4 })], seconds, 'label');

/** The 1024² FLUX.1-schnell bars on A100: one GPU, then Ulysses over all GPUs (the doc names it best). */
const SCHNELL_A100_1024_ROWS = (seconds: readonly number[]) =>
  namedRows([dg({}), dg({ u: 2 }), dg({ u: 4 }), dg({ u: 8 })], seconds, 'label', (d) =>
    d.ulysses > 1 ? 'degrees from the doc: ulysses = #GPUs' : undefined,
  );

/**
 * One mode's bars (torch.compile or PyTorch) of a FLUX.1-schnell bar figure in xdit_assets'
 * performance/flux/, which docs/performance/flux.md shows; the published best is the fastest bar.
 */
function schnellBars(
  hardware: { gpu: typeof A100 | typeof SCHNELL_L40; key: 'a100' | 'l40'; figure: string },
  size: 1024 | 2048,
  mode: 'compiled' | 'eager',
  rows: PublishedRow[],
  notes: string,
): PublishedTable {
  const bars = mode === 'compiled' ? 'torch.compile bars' : 'PyTorch bars';
  return {
    ...hardware.gpu,
    model: 'flux-schnell',
    steps: 4,
    id: `flux-schnell-${hardware.key}-${size}-${mode}`,
    source: {
      url: ASSET(`performance/flux/${hardware.figure}`),
      file: `xdit_assets: performance/flux/${hardware.figure}, shown by docs/performance/flux.md`,
      read: `bar labels, ${bars}${hardware.key === 'l40' ? ' (degrees under the bars)' : ''}`,
    },
    height: size,
    width: size,
    mode,
    rows,
    best: fastestRow(rows),
    notes,
  };
}

const A100_1K = { gpu: A100, key: 'a100', figure: 'Flux-1K-A100.png' } as const;
const A100_2K = { gpu: A100, key: 'a100', figure: 'Flux-2K-A100.png' } as const;
const L40_1K = { gpu: SCHNELL_L40, key: 'l40', figure: 'Flux-1k-L40.png' } as const;
const L40_2K = { gpu: SCHNELL_L40, key: 'l40', figure: 'Flux-2k-L40.png' } as const;

/** The 2048² A100 bars name no degrees: each is the best on its GPU count. */
const A100_2K_NOTES = 'The figure does not name the degrees of each bar; each is the best on its GPU count.';
const A100_1K_NOTES =
  'The doc: "the optimal strategy with USP is to apply ulysses_degree=#gpu". 4 steps: no PipeFusion.';

export const FLUX_TABLES: readonly PublishedTable[] = [
  {
    ...H100,
    id: 'flux-dev-h100-1024-compiled',
    source: { url: DOC, file: 'docs/performance/flux.md', read: 'the 4×H100 table, torch.compile column' },
    mode: 'compiled',
    rows: H100_ROWS([4.3, 2.68, 2.6, 1.8, 1.63, 1.98]),
    best: { seconds: 1.63, gpus: 4, degrees: dg({ u: 4 }), read: 'text' },
  },
  {
    ...H100,
    id: 'flux-dev-h100-1024-eager',
    source: { url: DOC, file: 'docs/performance/flux.md', read: 'the 4×H100 table, PyTorch column' },
    mode: 'eager',
    rows: H100_ROWS([6.71, 4.38, 5.31, 5.19, 4.24, 5.11]),
    best: { seconds: 4.24, gpus: 4, degrees: dg({ u: 4 }), read: 'text' },
  },
  {
    ...A100,
    id: 'flux-dev-a100-1024-eager',
    source: {
      url: ASSET('performance/scalability/Flux-A100-crop.png'),
      file: 'xdit_assets: performance/scalability/Flux-A100-crop.png (left panel), shown by docs/performance/flux.md',
      read: 'labels on the hybrid curve; the other curves read off the axis (±0.05 s)',
    },
    model: 'flux-dev',
    height: 1024,
    width: 1024,
    steps: 28,
    mode: 'eager',
    rows: [
      { gpus: 1, degrees: dg({}), seconds: 12.77, read: 'label' },
      { gpus: 2, seconds: 8.16, read: 'label', note: 'the best on 2 GPUs; its degrees are not named' },
      { gpus: 2, degrees: dg({ u: 2 }), seconds: 8.41, read: 'axis' },
      { gpus: 2, degrees: dg({ pp: 2 }), seconds: 8.68, read: 'axis' },
      {
        gpus: 4,
        degrees: dg({ u: 4 }),
        seconds: 5.55,
        read: 'label',
        note: 'the hybrid label sits on the Ulysses point',
      },
      { gpus: 4, degrees: dg({ r: 4 }), seconds: 5.93, read: 'axis' },
      { gpus: 4, degrees: dg({ pp: 4 }), seconds: 6.32, read: 'axis' },
      {
        gpus: 8,
        degrees: dg({ u: 8 }),
        seconds: 4.13,
        read: 'label',
        note: 'the hybrid label sits on the Ulysses point',
      },
      { gpus: 8, degrees: dg({ r: 8 }), seconds: 6.7, read: 'axis' },
      { gpus: 8, degrees: dg({ pp: 8 }), seconds: 5.38, read: 'axis' },
    ],
    best: { seconds: 4.13, gpus: 8, degrees: dg({ u: 8 }), read: 'label' },
    notes:
      'The doc: "the latency shown in the above figure does not yet include the use of torch.compile"; SP-Ulysses is the best hybrid.',
  },
  {
    ...A100,
    id: 'flux-dev-a100-2048-eager',
    source: {
      url: ASSET('performance/scalability/Flux-A100-crop.png'),
      file: 'xdit_assets: performance/scalability/Flux-A100-crop.png (right panel)',
      read: 'every point read off the axis (±0.3 s): the printed labels contradict the axis',
    },
    model: 'flux-dev',
    height: 2048,
    width: 2048,
    steps: 28,
    mode: 'eager',
    rows: [
      { gpus: 1, degrees: dg({}), seconds: 65.0, read: 'axis' },
      { gpus: 2, degrees: dg({ u: 2 }), seconds: 38.4, read: 'axis' },
      { gpus: 4, degrees: dg({ u: 4 }), seconds: 20.6, read: 'axis' },
      { gpus: 8, degrees: dg({ u: 8 }), seconds: 10.9, read: 'axis' },
      { gpus: 8, degrees: dg({ r: 8 }), seconds: 16.0, read: 'axis' },
      { gpus: 8, degrees: dg({ pp: 8 }), seconds: 14.25, read: 'axis' },
    ],
    best: { seconds: 10.9, gpus: 8, degrees: dg({ u: 8 }), read: 'axis' },
    notes:
      'The labels printed on this panel (90.23, 55.83, 31.66, 16.46) are those of the HunyuanDiT 2048px panel ' +
      '(Hunyuan-A100-crop.png, where they match its axis); the points here sit at 65, 38.4, 20.6 and 10.9 s on ' +
      'their own axis, which we use. SP-Ulysses is the best hybrid (the doc).',
  },
  {
    ...L40X16,
    id: 'flux-dev-2x8l40-1024-eager',
    source: {
      url: ASSET('performance/scalability/Flux-16L40-crop.png'),
      file: 'xdit_assets: performance/scalability/Flux-16L40-crop.png (left panel), shown by docs/performance/flux.md',
      read: 'labels on the hybrid curve; Ulysses and Ring read off the axis (±0.15 s)',
    },
    height: 1024,
    width: 1024,
    rows: [
      { gpus: 1, degrees: dg({}), seconds: 18.36, read: 'label' },
      { gpus: 2, degrees: dg({ pp: 2 }), seconds: 11.03, read: 'label' },
      {
        gpus: 2,
        degrees: dg({ u: 2 }),
        seconds: 12.15,
        read: 'axis',
        note: "the marker is half hidden by Ring's",
      },
      { gpus: 2, degrees: dg({ r: 2 }), seconds: 11.3, read: 'axis' },
      { gpus: 4, degrees: dg({ pp: 4 }), seconds: 7.05, read: 'label' },
      { gpus: 4, degrees: dg({ u: 4 }), seconds: 16.94, read: 'axis' },
      { gpus: 4, degrees: dg({ r: 4 }), seconds: 8.0, read: 'axis' },
      { gpus: 8, degrees: dg({ pp: 8 }), seconds: 5.53, read: 'label' },
      { gpus: 8, degrees: dg({ u: 8 }), seconds: 26.52, read: 'axis' },
      { gpus: 8, degrees: dg({ r: 8 }), seconds: 7.35, read: 'axis' },
      {
        gpus: 16,
        degrees: dg({ u: 4, pp: 4 }),
        seconds: 4.78,
        read: 'label',
        note: 'degrees named by the doc',
      },
      { gpus: 16, degrees: dg({ r: 16 }), seconds: 65.2, read: 'axis' },
    ],
    best: { seconds: 4.78, gpus: 16, degrees: dg({ u: 4, pp: 4 }), read: 'label' },
    notes: L40X16_NOTES,
  },
  {
    ...L40X16,
    id: 'flux-dev-2x8l40-2048-eager',
    source: {
      url: ASSET('performance/scalability/Flux-16L40-crop.png'),
      file: 'xdit_assets: performance/scalability/Flux-16L40-crop.png (middle panel)',
      read: 'labels on the hybrid curve; Ulysses and Ring read off the axis (±0.4 s)',
    },
    height: 2048,
    width: 2048,
    rows: [
      { gpus: 1, degrees: dg({}), seconds: 105.7, read: 'label' },
      { gpus: 2, degrees: dg({ pp: 2 }), seconds: 58.15, read: 'label' },
      { gpus: 2, degrees: dg({ u: 2 }), seconds: 62.7, read: 'axis' },
      { gpus: 2, degrees: dg({ r: 2 }), seconds: 58.3, read: 'axis' },
      { gpus: 4, degrees: dg({ pp: 4 }), seconds: 30.1, read: 'label' },
      { gpus: 4, degrees: dg({ u: 4 }), seconds: 59.9, read: 'axis' },
      { gpus: 4, degrees: dg({ r: 4 }), seconds: 31.2, read: 'axis' },
      { gpus: 8, degrees: dg({ pp: 8 }), seconds: 18.68, read: 'label' },
      { gpus: 8, degrees: dg({ u: 8 }), seconds: 76.3, read: 'axis' },
      { gpus: 8, degrees: dg({ r: 8 }), seconds: 23.5, read: 'axis' },
      { gpus: 16, seconds: 27.99, read: 'label', note: 'the best on 16 GPUs; its degrees are not named' },
    ],
    best: { seconds: 18.68, gpus: 8, degrees: dg({ pp: 8 }), read: 'label' },
    notes: `${L40X16_NOTES} The doc: at 2048px 16 GPUs bring no improvement.`,
  },
  {
    ...L40X16,
    id: 'flux-dev-2x8l40-4096-eager',
    source: {
      url: ASSET('performance/scalability/Flux-16L40-crop.png'),
      file: 'xdit_assets: performance/scalability/Flux-16L40-crop.png (right panel)',
      read: 'labels on the hybrid curve; Ulysses and Ring read off the axis (±4 s)',
    },
    height: 4096,
    width: 4096,
    rows: [
      { gpus: 1, degrees: dg({}), seconds: 855.13, read: 'label' },
      {
        gpus: 2,
        degrees: dg({ r: 2 }),
        seconds: 470.83,
        read: 'label',
        note: 'the hybrid label sits on the Ring point',
      },
      {
        gpus: 2,
        degrees: dg({ u: 2 }),
        seconds: 488,
        read: 'axis',
        note: "the marker is half hidden by Ring's",
      },
      { gpus: 4, degrees: dg({ pp: 4 }), seconds: 235.95, read: 'label' },
      { gpus: 4, degrees: dg({ u: 4 }), seconds: 367, read: 'axis' },
      { gpus: 4, degrees: dg({ r: 4 }), seconds: 278, read: 'axis' },
      { gpus: 8, degrees: dg({ pp: 8 }), seconds: 133.64, read: 'label' },
      { gpus: 8, degrees: dg({ u: 8 }), seconds: 407, read: 'axis' },
      { gpus: 8, degrees: dg({ r: 8 }), seconds: 200, read: 'axis' },
      {
        gpus: 16,
        degrees: dg({ u: 2, r: 2, pp: 4 }),
        seconds: 70.32,
        read: 'label',
        note: 'degrees named by the doc',
      },
    ],
    best: { seconds: 70.32, gpus: 16, degrees: dg({ u: 2, r: 2, pp: 4 }), read: 'label' },
    notes: `${L40X16_NOTES} No PipeFusion point is drawn at 2 GPUs.`,
  },
  schnellBars(A100_1K, 1024, 'compiled', SCHNELL_A100_1024_ROWS([1.88, 1.25, 0.96, 0.82]), A100_1K_NOTES),
  schnellBars(A100_1K, 1024, 'eager', SCHNELL_A100_1024_ROWS([2.18, 1.48, 1.12, 0.93]), A100_1K_NOTES),
  schnellBars(A100_2K, 2048, 'compiled', BEST_ROWS([1, 2, 4, 8], [10.31, 5.42, 3.4, 2.4]), A100_2K_NOTES),
  schnellBars(A100_2K, 2048, 'eager', BEST_ROWS([1, 2, 4, 8], [11.06, 6.17, 3.8, 2.63]), A100_2K_NOTES),
  schnellBars(
    L40_1K,
    1024,
    'compiled',
    SCHNELL_L40_ROWS([2.89, 2.07, 1.44, 1.45]),
    "The doc's 1.41 s for u2·r2 is the onediff bar (not used); 8 GPUs are no faster (cross-socket PCIe).",
  ),
  schnellBars(
    L40_1K,
    1024,
    'eager',
    SCHNELL_L40_ROWS([3.18, 1.87, 1.87, 1.53]),
    'The degrees are the ones printed under the bars.',
  ),
  schnellBars(
    L40_2K,
    2048,
    'compiled',
    SCHNELL_L40_ROWS([12.39, 8.86, 6.52, 4.01]),
    'The degrees are the ones printed under the bars.',
  ),
  schnellBars(
    L40_2K,
    2048,
    'eager',
    SCHNELL_L40_ROWS([14.71, 8.62, 4.46, 3.67]),
    'The doc\'s "fastest 3.67 s" at 2048px is this PyTorch bar.',
  ),
];
