/**
 * A rank's share of the VAE decode of a group (the images API's serve loop, `tessera generate`'s local
 * group). Each data-parallel replica decodes its own share
 * of a batch's images (near-equal, earlier replicas one more), patch-parallel over its VAE ranks
 * (plan.pipeline.vaeDecode.ranks, by contract all ranks of the replica) through the replica's decode
 * communicator (rank/decode-group.ts); each replica's first VAE rank then sends its images to the
 * leader, which answers in batch order. So the decode's time does not grow with the data-parallel
 * degree. When no rank but the leader would decode (one replica, one VAE rank), the leader decodes
 * alone and nothing is broadcast. Each rank loads the VAE on its first decode (the leader's warm-up
 * gives every replica an image), so a group that never serves images never holds it.
 */
import type { Logger } from '../../shared/log.js';
import type { Communicator } from '../comm/index.js';
import { Tensor } from '../native/index.js';
import type { RgbImage } from '../pipeline/image/pixels.js';
import type { ImagePipeline } from '../pipeline/image-pipeline.js';
import type { DecodePlacement } from '../rank/decode-group.js';

/** Tag of the decoded images each replica's first VAE rank sends to the leader over the world. */
const TAG_IMAGES = 41;

/** Images of a batch of `count` per replica: near-equal, earlier replicas one more. */
export function replicaShares(count: number, replicas: number): { start: number; count: number }[] {
  const base = Math.floor(count / replicas);
  const extra = count % replicas;
  let start = 0;
  return Array.from({ length: replicas }, (_, d) => {
    const share = { start, count: base + (d < extra ? 1 : 0) };
    start += share.count;
    return share;
  });
}

export class RankDecoder {
  private pipeline: ImagePipeline | null = null;
  /** Whether other ranks take part in each decode (the leader broadcasts the latents first). */
  readonly shared: boolean;

  constructor(
    private readonly open: () => ImagePipeline,
    private readonly world: Communicator,
    private readonly placement: DecodePlacement,
    private readonly logger: Logger,
  ) {
    const { decodeRanks } = placement;
    this.shared = decodeRanks.some((ranks) => ranks.some((r) => r !== 0));
    logger.info(
      { replica: placement.replica, decodes: placement.decodes, vaeRanks: decodeRanks },
      placement.decodes ? "this rank decodes its replica's images" : 'this rank takes no part in the decode',
    );
  }

  /**
   * latents [B, C, h, w] → images; when `shared`, every rank calls it for the same latents, the leader
   * gets all B images and the others their replica's.
   */
  async decode(latents: Tensor, requestId: string): Promise<RgbImage[]> {
    const { replica, replicas, decodeRanks, decodes, comm } = this.placement;
    const shares = replicaShares(latents.size(0), replicas);
    const share = shares[replica] as { start: number; count: number };
    let own: RgbImage[] = [];
    if (decodes && share.count > 0) {
      const slice = share.count === latents.size(0) ? latents : latents.narrow(0, share.start, share.count);
      try {
        this.pipeline ??= this.open();
        own = await this.pipeline.decode(slice, comm);
      } finally {
        if (slice !== latents) slice.release();
      }
    }
    const rank = this.world.rank;
    const decoded = decodes ? share.count : 0;
    if (decoded > 0) {
      this.logger.info(
        { requestId, replica, images: decoded, vaeRanks: comm?.size ?? 1 },
        "decoded its band of its replica's images",
      );
    }
    if (!this.shared) return own;
    if (rank !== 0) {
      if (share.count > 0 && decodeRanks[replica]?.[0] === rank) {
        await this.world.send(packImages(own), 0, TAG_IMAGES);
      }
      return own;
    }
    return this.gather(own, shares);
  }

  /** The leader: its replica's images, then each other replica's as its first VAE rank sends them. */
  private async gather(own: RgbImage[], shares: { count: number }[]): Promise<RgbImage[]> {
    const first = own[0];
    if (!first) throw new Error("the leader's replica decoded no image but holds the batch's first");
    const bytes = first.width * first.height * 3;
    const images = [...own];
    for (let d = 1; d < shares.length; d++) {
      const count = (shares[d] as { count: number }).count;
      if (count === 0) continue;
      const from = this.placement.decodeRanks[d]?.[0] as number;
      const buf = new Uint8Array(count * bytes);
      await this.world.recv(buf, from, TAG_IMAGES);
      for (let i = 0; i < count; i++) {
        images.push({
          width: first.width,
          height: first.height,
          data: buf.slice(i * bytes, (i + 1) * bytes),
        });
      }
    }
    return images;
  }
}

function packImages(images: readonly RgbImage[]): Uint8Array {
  const total = images.reduce((n, im) => n + im.data.length, 0);
  const out = new Uint8Array(total);
  let at = 0;
  for (const im of images) {
    out.set(im.data, at);
    at += im.data.length;
  }
  return out;
}

/** Latents are [B, C, h, w]. */
const LATENT_RANK = 4;

/**
 * One request's decode on a group that is not serving (`tessera generate`'s local group): the leader
 * holds the latents [B, C, h, w] and broadcasts their shape, then their values, and every rank decodes
 * its replica's share; resolves with every image on the leader, with its replica's elsewhere.
 */
export async function decodeOnGroup(
  decoder: RankDecoder,
  world: Communicator,
  latents: Tensor | null,
  requestId: string,
): Promise<RgbImage[]> {
  if (!decoder.shared) {
    if (!latents) return [];
    return decoder.decode(latents, requestId);
  }
  const shape = new Int32Array(LATENT_RANK);
  if (latents) {
    if (latents.rank !== LATENT_RANK)
      throw new Error(`expected latents [B, C, h, w], got [${latents.shape.join(', ')}]`);
    shape.set(latents.shape);
  }
  await world.broadcast(shape, 0);
  // f32 on every rank, whatever the denoiser's dtype: the decode starts from f32 latents anyway.
  const values = latents ? latents.to('f32') : Tensor.zeros([...shape]);
  try {
    await world.broadcast(values, 0);
    return await decoder.decode(values, requestId);
  } finally {
    if (values !== latents) values.release();
  }
}
