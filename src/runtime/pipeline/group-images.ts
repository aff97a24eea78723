/**
 * The VAE step of a one-request group (`tessera generate` with degree flags): after the parallel
 * denoise, each data-parallel replica decodes its share of the images patch-parallel over its VAE ranks
 * (the plan's pipeline.vaeDecode.ranks), as a serving group does, and the leader writes every image's
 * RGB8 bytes, in batch order, to one file for the command to turn into PNGs.
 */
import { writeFileSync } from 'node:fs';
import { pipelinePlacement } from '../../shared/plan/index.js';
import type { WorkerImagesArgs } from '../launcher/worker-args.js';
import type { Tensor } from '../native/index.js';
import { decodeOnGroup, RankDecoder } from '../parallel/replica-decoder.js';
import type { RankSetup } from '../rank/bootstrap.js';
import { joinDecodeGroup } from '../rank/decode-group.js';
import type { ParallelGroup } from '../rendezvous/group.js';
import { ImagePipeline } from './image-pipeline.js';

/** Every rank calls it; `latents` (the request file's layout) is the leader's result, null elsewhere. */
export async function writeGroupImages(
  group: ParallelGroup,
  setup: RankSetup,
  latents: Tensor | null,
  images: WorkerImagesArgs,
): Promise<void> {
  const placement = await joinDecodeGroup(group, pipelinePlacement(setup.plan).vaeDecode.ranks, true);
  try {
    const pipeline = ImagePipeline.open(setup.modelPath);
    const decoder = new RankDecoder(() => pipeline, group.world, placement, setup.logger);
    const spatial = latents ? pipeline.imageLatents(latents, images.height, images.width) : null;
    try {
      const decoded = await decodeOnGroup(decoder, group.world, spatial, 'generate');
      if (latents) {
        writeFileSync(images.path, Buffer.concat(decoded.map((im) => im.data)));
        setup.logger.info({ images: decoded.length, path: images.path }, 'images written');
      }
    } finally {
      if (spatial && spatial !== latents) spatial.release();
    }
  } finally {
    await placement.comm?.close();
  }
}
