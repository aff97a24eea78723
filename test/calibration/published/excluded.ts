import type { ExcludedTable } from './types.js';

const PERF = 'https://github.com/xdit-project/xDiT/blob/175e0bfe/docs/performance';

/**
 * Published xDiT tables the calibration does not use, and why: models Tessera does not plan, methods it
 * does not have, or figures whose numbers cannot be read.
 */
export const EXCLUDED_TABLES: readonly ExcludedTable[] = [
  {
    what: 'HunyuanDiT on 8×A100, 8×L40, 8×L20, 8×V100, 4×T4 (bars) and 8×A100 1024/2048px (scalability)',
    source: `${PERF}/hunyuandit.md; xdit_assets performance/hunuyuandit/*.png, performance/scalability/Hunyuan-A100-crop.png`,
    why:
      'Tessera has no HunyuanDiT model: its U-shaped skip connections send extra tensors between PipeFusion ' +
      'stages k and N−1−k, which the cost model does not price. (Its 1024px scalability panel also prints the ' +
      "labels of FLUX.1's A100 panel.)",
  },
  {
    what: 'CogVideoX-2b/5b on 1–12 L40 and A100, CogVideoX1.5-5B on 8×L40/H20/L20',
    source: `${PERF}/cogvideo.md; xdit_assets performance/cogvideo/*.png`,
    why: 'A video model (3-D latents, 49–161 frames): Tessera plans image DiTs only.',
  },
  {
    what: 'ConsisID, Latte, HunyuanVideo, StepVideo, Mochi-1 latency tables and figures',
    source: `${PERF}/consisid.md, latte.md, hunyuanvideo.md, stepvideo.md`,
    why: 'Video models: Tessera plans image DiTs only.',
  },
  {
    what: 'SANA 1600M 4096px on 8×A100 (text table)',
    source: `${PERF}/sana.md`,
    why: 'Tessera has no SANA model (linear attention, 2-head Ulysses limit).',
  },
  {
    what: 'onediff bars of the FLUX.1-schnell L40 figure; TeaCache and First-Block-Cache table',
    source: `${PERF}/flux.md`,
    why: 'Other kernel compilers and cache methods, not parallel configurations Tessera plans.',
  },
  {
    what: 'Tensor-parallel and DistriFusion curves of the PixArt figures; PipeFusion with warm-up 2 on 8×L20',
    source: 'xdit_assets performance/scalability/Pixart-*.png, latency-L20.png',
    why: 'Methods Tessera does not plan (tensor parallel, DistriFusion), and a warm-up setting it does not default to.',
  },
];
