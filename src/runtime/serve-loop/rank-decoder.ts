/**
 * A rank's share of the VAE decode for the images API. The plan says how many ranks decode one image
 * (plan.pipeline.vaeDecode.ranks, by contract all ranks of a data-parallel replica): when that is the
 * whole group, every rank decodes a band of the latents patch-parallel over the world communicator (the
 * leader broadcasts the latents first); otherwise the leader decodes alone, which needs no collective.
 * Each rank loads the VAE on its first decode (the leader's warm-up decodes once), so a group that
 * never serves images never holds it.
 */
import type { Logger } from '../../shared/log.js';
import type { Communicator } from '../comm/index.js';
import type { Tensor } from '../native/index.js';
import type { RgbImage } from '../pipeline/image/pixels.js';
import type { ImagePipeline } from '../pipeline/image-pipeline.js';

export class RankDecoder {
  private pipeline: ImagePipeline | null = null;
  /** Whether every rank takes part in each decode. */
  readonly shared: boolean;

  constructor(
    private readonly open: () => ImagePipeline,
    private readonly world: Communicator,
    /** plan.pipeline.vaeDecode.ranks (pipelinePlacement). */
    ranks: number,
    logger: Logger,
  ) {
    this.shared = world.size > 1 && ranks === world.size;
    if (world.size > 1 && !this.shared) {
      // A replica's ranks have no communicator of their own (data parallel > 1): the leader decodes.
      logger.info({ vaeDecodeRanks: ranks, groupRanks: world.size }, 'the VAE decodes on the leader alone');
    }
  }

  /** latents [B, C, h, w] → B images; every rank calls it for the same latents when `shared`. */
  async decode(latents: Tensor): Promise<RgbImage[]> {
    this.pipeline ??= this.open();
    return this.pipeline.decode(latents, this.shared ? this.world : undefined);
  }
}
