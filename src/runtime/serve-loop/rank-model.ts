/**
 * A rank's long-lived share of the group: its weights (the PipeFusion stage's blocks only, read once at
 * start), its communicators, and how to run one denoise of a broadcast batch with them.
 */
import type { Logger } from '../../shared/log.js';
import type { PipelineSettings } from '../../shared/plan/index.js';
import type { DenoiseInputs } from '../denoise/inputs.js';
import type { FamilyName } from '../families/index.js';
import type { LoadedTransformer } from '../model-loader/index.js';
import type { Tensor } from '../native/index.js';
import { CommClock } from '../parallel/comm-steps.js';
import type { RankContext } from '../parallel-denoise/context.js';
import { parallelDenoise } from '../parallel-denoise/parallel-denoise.js';
import type { ParallelGroup } from '../rendezvous/group.js';
import type { SchedulerConfig } from '../scheduler/scheduler.js';

export interface RunSettings {
  requestId: string;
  steps: number;
  guidanceScale: number;
}

export class RankModel {
  constructor(
    private readonly loaded: LoadedTransformer,
    private readonly group: ParallelGroup,
    private readonly scheduler: SchedulerConfig,
    private readonly pipeline: PipelineSettings,
    private readonly logger: Logger,
  ) {}

  get family(): FamilyName {
    return this.loaded.family;
  }

  /** Every rank calls this with the same batch; resolves with the latents on the leader, null elsewhere. */
  async denoise(inputs: DenoiseInputs, settings: RunSettings): Promise<Tensor | null> {
    const logger = this.logger.child({ requestId: settings.requestId });
    const ctx: RankContext = {
      rank: this.group.rank,
      degrees: this.group.degrees,
      coords: this.group.coords,
      world: this.group.world,
      axes: this.group.axes,
      logger,
      clock: new CommClock(),
    };
    const started = performance.now();
    const result = await parallelDenoise(
      this.loaded,
      inputs,
      {
        steps: settings.steps,
        guidanceScale: settings.guidanceScale,
        scheduler: this.scheduler,
        pipeline: this.pipeline,
      },
      ctx,
    );
    logger.info(
      {
        steps: settings.steps,
        batch: inputs.latents.size(0),
        ms: Math.round(performance.now() - started),
        commMs: Math.round(ctx.clock.ms),
      },
      'batch denoised',
    );
    return result;
  }
}
