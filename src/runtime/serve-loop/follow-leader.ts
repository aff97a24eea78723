/**
 * A non-leader rank's serve loop: wait for the leader's next broadcast; on a run, take part in the same
 * parallel denoise; on a decode, decode its band of its replica's images with the VAE; on a heartbeat, wait
 * again; on shutdown, return. A failed receive, run or decode rejects — the group is broken and the
 * caller exits non-zero.
 */
import type { Logger } from '../../shared/log.js';
import type { Communicator } from '../comm/index.js';
import type { Tensor } from '../native/index.js';
import type { RankDecoder } from '../parallel/replica-decoder.js';
import { receiveMessage } from './group-channel.js';
import { inputsFromTensors } from './group-message.js';
import type { RankModel } from './rank-model.js';

export interface FollowOptions {
  /** Decodes the leader's decode messages (the images API). */
  decoder: RankDecoder;
  /** Called after the first run completes (the leader's warm-up run). */
  onFirstRun: () => void;
  logger: Logger;
}

export async function followLeader(
  model: RankModel,
  world: Communicator,
  options: FollowOptions,
): Promise<void> {
  let runs = 0;
  for (;;) {
    const { message, tensors } = await receiveMessage(world);
    if (message.kind === 'shutdown') {
      options.logger.info({ runs }, 'shutdown received from the leader');
      return;
    }
    if (message.kind === 'heartbeat') continue;
    if (message.kind === 'decode') {
      try {
        // The replica's first VAE rank sends the replica's images to the leader, which answers.
        await options.decoder.decode(tensors.get('latents') as Tensor, message.requestId);
      } finally {
        for (const t of tensors.values()) t.release();
      }
      continue;
    }
    if (message.family !== model.family) {
      throw new Error(
        `the leader sent a ${message.family} batch but this rank holds a ${model.family} model`,
      );
    }
    let result: Tensor | null = null;
    try {
      result = await model.denoise(inputsFromTensors(message.family, tensors), {
        requestId: message.requestId,
        steps: message.steps,
        guidanceScale: message.guidanceScale,
      });
    } finally {
      result?.release();
      for (const t of tensors.values()) t.release();
    }
    if (++runs === 1) options.onFirstRun();
  }
}
