/** PipeFusion's loop (placeholder until the stage ring lands). */
import type { DenoiseInputs } from '../../denoise/inputs.js';
import type { LoadedTransformer } from '../../model-loader/load-transformer.js';
import type { Tensor } from '../../native/index.js';
import type { RankContext } from '../context.js';
import type { ParallelDenoiseOptions } from '../parallel-denoise.js';

export async function pipefusionDenoise(
  _loaded: LoadedTransformer,
  _inputs: DenoiseInputs,
  _options: ParallelDenoiseOptions,
  ctx: RankContext,
): Promise<Tensor | null> {
  throw new Error(`PipeFusion (pp = ${ctx.degrees.pipefusion}) is not built yet`);
}
