import type { Degrees } from '../../src/shared/plan/index.js';

/**
 * Published xDiT latencies (end-to-end seconds, batch 1) that calibrate the planner's cost model.
 * Source: /work/shared/refs/xdit.md §5.1 (xDiT `docs/performance/flux.md`, README and issue #230), and
 * refs/runtime.md §9 which restates the H100 table. Keep these exactly as published; rows marked
 * `approximate` are stated loosely at the source ("~10 s", "~2×") and weigh less in the fit.
 */
export interface PublishedRow {
  degrees: Degrees;
  seconds: number;
  approximate?: string;
}

/** "The best plan on `faster` GPUs beats the best plan on `slower` GPUs", as the source states. */
export interface PublishedOrdering {
  fasterGpus: number;
  slowerGpus: number;
  source: string;
}

export interface PublishedTable {
  id: string;
  source: string;
  model: 'flux-dev' | 'flux-schnell';
  gpu: string;
  gpusPerNode: number;
  intraNode: 'nvlink' | 'pcie';
  height: number;
  width: number;
  steps: number;
  /** Which efficiency profile the runs correspond to. */
  profile: 'compiled' | 'eager';
  /** GPU counts the experiment covered: the planner chooses among the same. */
  gpus: { min: number; max: number };
  rows: PublishedRow[];
  /** The published best: its time, and its degrees when the source names them. */
  best: { seconds: number; degrees?: Degrees; gpus: number };
  orderings: PublishedOrdering[];
  /** What the experiment did not cover, or what we assumed. */
  notes: string;
}

const dg = (ulysses: number, ring: number): Degrees => ({
  dataParallel: 1,
  cfg: 1,
  pipefusion: 1,
  ring,
  ulysses,
});

const H100_ROWS = (values: readonly [number, number, number, number, number, number]): PublishedRow[] => [
  { degrees: dg(1, 1), seconds: values[0] },
  { degrees: dg(2, 1), seconds: values[1] },
  { degrees: dg(1, 2), seconds: values[2] },
  { degrees: dg(2, 2), seconds: values[3] },
  { degrees: dg(4, 1), seconds: values[4] },
  { degrees: dg(1, 4), seconds: values[5] },
];

/** The experiment behind both H100 columns (compiled and eager): only the times differ. */
const FLUX_DEV_H100 = {
  model: 'flux-dev',
  gpu: 'NVIDIA-H100-80GB-HBM3',
  gpusPerNode: 8,
  intraNode: 'nvlink',
  height: 1024,
  width: 1024,
  steps: 28,
  gpus: { min: 1, max: 4 },
  orderings: [],
  notes: 'Only sequence-parallel configurations were measured, so PipeFusion is outside the compared space.',
} as const satisfies Partial<PublishedTable>;

export const PUBLISHED_TABLES: readonly PublishedTable[] = [
  {
    ...FLUX_DEV_H100,
    id: 'flux-dev-h100-compiled',
    source: 'xdit.md §5.1, Flux.1-dev 1024px 28 steps, H100, torch.compile column',
    profile: 'compiled',
    rows: H100_ROWS([4.3, 2.68, 2.6, 1.8, 1.63, 1.98]),
    best: { seconds: 1.63, degrees: dg(4, 1), gpus: 4 },
  },
  {
    ...FLUX_DEV_H100,
    id: 'flux-dev-h100-eager',
    source: 'xdit.md §5.1, Flux.1-dev 1024px 28 steps, H100, PyTorch (eager) column',
    profile: 'eager',
    rows: H100_ROWS([6.71, 4.38, 5.31, 5.19, 4.24, 5.11]),
    best: { seconds: 4.24, degrees: dg(4, 1), gpus: 4 },
  },
  {
    id: 'flux-schnell-a100-1024',
    source: 'xdit.md §5.1 and §9.9, Flux.1-schnell 1024px 4 steps, 8×A100-80GB NVLink, torch.compile',
    model: 'flux-schnell',
    gpu: 'NVIDIA-A100-SXM4-80GB',
    gpusPerNode: 8,
    intraNode: 'nvlink',
    height: 1024,
    width: 1024,
    steps: 4,
    profile: 'compiled',
    gpus: { min: 1, max: 8 },
    rows: [{ degrees: dg(8, 1), seconds: 0.82 }],
    best: { seconds: 0.82, degrees: dg(8, 1), gpus: 8 },
    orderings: [],
    notes: 'The source names the best configuration (ulysses=8) and its time only; other points are charts.',
  },
  {
    id: 'flux-schnell-a100-2048',
    source: 'xdit.md §5.1, Flux.1-schnell 2048px 4 steps, A100-80GB NVLink, torch.compile',
    model: 'flux-schnell',
    gpu: 'NVIDIA-A100-SXM4-80GB',
    gpusPerNode: 8,
    intraNode: 'nvlink',
    height: 2048,
    width: 2048,
    steps: 4,
    profile: 'compiled',
    gpus: { min: 1, max: 8 },
    rows: [
      { degrees: dg(1, 1), seconds: 10, approximate: 'the source says "~10 s" on a single A100' },
      { degrees: dg(8, 1), seconds: 2.4 },
    ],
    best: { seconds: 2.4, degrees: dg(8, 1), gpus: 8 },
    orderings: [],
    notes: 'Whether the single-A100 figure used torch.compile is not stated.',
  },
  {
    id: 'flux-schnell-l40-1024',
    source: 'xdit.md §2 and §5.1, Flux.1-schnell 1024px 4 steps, 8×L40 PCIe Gen4; issue #230',
    model: 'flux-schnell',
    gpu: 'NVIDIA-L40',
    gpusPerNode: 8,
    intraNode: 'pcie',
    height: 1024,
    width: 1024,
    steps: 4,
    profile: 'compiled',
    gpus: { min: 1, max: 8 },
    rows: [
      {
        degrees: dg(1, 1),
        seconds: 2.82,
        approximate: 'derived: issue #230 measured u2×r2 on 4×L40 "~2×" faster than one GPU (2 × 1.41 s)',
      },
      { degrees: dg(2, 2), seconds: 1.41 },
    ],
    best: { seconds: 1.41, degrees: dg(2, 2), gpus: 4 },
    orderings: [{ fasterGpus: 4, slowerGpus: 8, source: '"8 GPUs is slower" (cross-socket PCIe)' }],
    notes: 'Execution mode not stated; taken as compiled. L40 nodes: two sockets of 4 GPUs.',
  },
  {
    id: 'flux-schnell-l40-2048',
    source: 'xdit.md §5.1, Flux.1-schnell 2048px 4 steps, 8×L40 PCIe Gen4',
    model: 'flux-schnell',
    gpu: 'NVIDIA-L40',
    gpusPerNode: 8,
    intraNode: 'pcie',
    height: 2048,
    width: 2048,
    steps: 4,
    profile: 'compiled',
    gpus: { min: 1, max: 8 },
    rows: [],
    best: { seconds: 3.67, gpus: 8 },
    orderings: [{ fasterGpus: 8, slowerGpus: 4, source: '"At 2048px, 8 GPUs beat 4, fastest 3.67 s"' }],
    notes: 'The fastest configuration is not named; only its GPU count and time.',
  },
];
